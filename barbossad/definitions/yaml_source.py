"""YAML text -> JSON-like data with positions, building only plain values.

PyYAML (libyaml when available) only parses the text into events; turning events into values is
done here, so we control exactly what may be built: text, numbers, booleans, null, lists and
text-keyed mappings. Any other tag (`!!python/object/apply:...`, `!!binary`, local `!tags`) is
an error. Aliases are counted, and each adds its expanded size to a node budget, so a "billion
laughs" document is refused after a bounded amount of work; a recursive alias is an error.
Duplicate keys are errors, `<<` merge keys work as YAML 1.1 specifies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from barbossad.definitions.document import (
    FieldPath,
    LoadedDocument,
    document_error,
    field_name,
)
from barbossad.errors import DefinitionError, Issue

try:
    from yaml import CSafeLoader as _EventSource
except ImportError:  # PyYAML built without libyaml: slower, same results
    from yaml import SafeLoader as _EventSource  # type: ignore[assignment]

MAX_DEPTH = 100

_T = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_T + n for n in ("str", "null", "bool", "int", "float"))
_TIMESTAMP, _MAP, _SEQ = (_T + n for n in ("timestamp", "map", "seq"))
_KEY_TAGS = frozenset((_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP))
_SCALARS = SafeConstructor()
_IMPLICIT = Resolver.yaml_implicit_resolvers


def _at(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def load_yaml(text: str, source: str, max_aliases: int, max_nodes: int) -> LoadedDocument:
    """YAML text whose top level is a mapping, with positions; DefinitionError otherwise."""
    loader = _EventSource(text)
    builder = _Builder(source, max_aliases, max_nodes)
    try:
        data = builder.document(loader.get_event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        line, column = _at(mark)
        raise document_error(source, line, column, f"invalid YAML: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise document_error(source, 0, 0, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if builder.issues:
        raise DefinitionError(builder.issues)
    return LoadedDocument(data, source, builder.positions, builder.texts)


def _resolve_plain(value: str) -> str:
    """The tag YAML 1.1 gives an untagged plain scalar (as PyYAML's resolver does)."""
    for tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return tag if tag in _KEY_TAGS else _STR
    return _STR


class _Frame:
    """A list or mapping being built."""

    __slots__ = (
        "anchor",
        "is_map",
        "key",
        "mark",
        "merges",
        "path",
        "seen",
        "size",
        "skip",
        "value",
    )

    def __init__(self, event: CollectionStartEvent, path: FieldPath) -> None:
        self.is_map = isinstance(event, MappingStartEvent)
        self.value: Any = {} if self.is_map else []
        self.path = path
        self.anchor = event.anchor
        self.mark = event.start_mark
        self.size = 1
        self.key: str | None = None  # in a mapping: the key whose value comes next
        self.skip = False  # the next value belongs to a duplicate key
        self.merges: list[tuple[Any, Any]] = []
        self.seen: dict[str, int] = {}

    def child_path(self) -> FieldPath:
        return (*self.path, self.key or "" if self.is_map else len(self.value))

    def finish(self) -> Any:
        for source, _ in self.merges:  # explicit keys win; among merged mappings the first wins
            for key, item in source.items():
                self.value.setdefault(key, item)
        return self.value


class _Builder:
    """Builds JSON-like values from parser events, counting aliases and nodes.

    Works on events rather than composed nodes: libyaml's events are several times cheaper
    than PyYAML's composer, and an alias only costs a lookup (its expanded size is counted).
    """

    def __init__(self, source: str, max_aliases: int, max_nodes: int) -> None:
        self.source = source
        self.max_aliases = max_aliases
        self.max_nodes = max_nodes
        self.positions: dict[FieldPath, tuple[int, int]] = {}
        self.texts: dict[FieldPath, str] = {}
        self.issues: list[Issue] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, expanded node count)
        self.aliases = 0
        self.nodes = 0

    def fail(self, mark: Any, path: FieldPath, message: str) -> DefinitionError:
        line, column = _at(mark)
        issue = Issue(
            file=self.source, line=line, column=column, field=field_name(path), message=message
        )
        return DefinitionError([*self.issues, issue])

    def document(self, next_event: Callable[[], Any]) -> dict[str, Any]:
        event = next_event()  # StreamStartEvent
        event = next_event()
        if not isinstance(event, StreamEndEvent):
            event = next_event()  # after DocumentStartEvent: the root
        if isinstance(event, StreamEndEvent) or (
            isinstance(event, ScalarEvent) and not event.value
        ):
            raise document_error(
                self.source, 0, 0, "the file is empty; expected a mapping with 'name' and 'tasks'"
            )
        if not isinstance(event, MappingStartEvent):
            got = "a list" if isinstance(event, SequenceStartEvent) else "a single value"
            raise self.fail(event.start_mark, (), f"expected a mapping at the top level, got {got}")
        data: dict[str, Any] = self.collection(event, next_event)
        next_event()  # DocumentEndEvent
        event = next_event()
        if not isinstance(event, StreamEndEvent):
            raise self.fail(
                event.start_mark, (), "expected a single document, found another ('---')"
            )
        return data

    def collection(self, first: CollectionStartEvent, next_event: Callable[[], Any]) -> Any:
        self.positions[()] = _at(first.start_mark)
        stack = [self.open(first, ())]
        open_anchors = {first.anchor}
        while True:
            event = next_event()
            kind = type(event)
            top = stack[-1]
            if kind is ScalarEvent:
                if top.is_map and top.key is None:
                    self.key(top, event)
                    continue
                path = top.child_path()
                self.count(event.start_mark, path)
                value = self.scalar(event, path)
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
                self.put(top, value, 1, event.start_mark, path)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if top.is_map and top.key is None:
                    raise self.fail(event.start_mark, top.path, "mapping keys must be plain text")
                path = top.child_path()
                self.count(event.start_mark, path)
                if len(stack) >= MAX_DEPTH:
                    message = f"nested more than {MAX_DEPTH} levels deep"
                    raise self.fail(event.start_mark, path, message)
                stack.append(self.open(event, path))
                open_anchors.add(event.anchor)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                value = frame.finish()
                open_anchors.discard(frame.anchor)
                if frame.anchor:
                    self.anchors[frame.anchor] = (value, frame.size)
                if not stack:
                    return value
                self.put(stack[-1], value, frame.size, frame.mark, frame.path)
            elif kind is AliasEvent:
                self.alias(top, event, event.anchor in open_anchors)

    def open(self, event: CollectionStartEvent, path: FieldPath) -> _Frame:
        expected = _MAP if isinstance(event, MappingStartEvent) else _SEQ
        if event.tag not in (None, "!", expected):
            raise self.fail(event.start_mark, path, _tag_message(str(event.tag)))
        return _Frame(event, path)

    def count(self, mark: Any, path: FieldPath, size: int = 1) -> None:
        self.nodes += size
        if self.nodes > self.max_nodes:
            raise self.fail(mark, path, f"too many YAML nodes (more than {self.max_nodes})")

    def key(self, frame: _Frame, event: ScalarEvent) -> None:
        self.count(event.start_mark, frame.path)
        if event.tag is None and event.implicit[0] and event.value == "<<":
            frame.key = "<<"
            frame.skip = False
            return
        if event.tag not in (None, "!") and event.tag not in _KEY_TAGS:
            raise self.fail(event.start_mark, frame.path, "mapping keys must be plain text")
        key = event.value  # `on:` / `1:` keys stay as written, never True / 1
        line, column = _at(event.start_mark)
        path = (*frame.path, key)
        frame.key = key
        frame.skip = key in frame.seen
        if frame.skip:
            message = f"duplicate key {key!r} (first defined at line {frame.seen[key]})"
            issue = Issue(
                file=self.source, line=line, column=column, field=field_name(path), message=message
            )
            self.issues.append(issue)
            return
        frame.seen[key] = line
        self.positions[path] = (line, column)

    def put(self, frame: _Frame, value: Any, size: int, mark: Any, path: FieldPath) -> None:
        frame.size += size
        if not frame.is_map:
            self.positions[path] = _at(mark)
            frame.value.append(value)
            return
        key, frame.key = frame.key, None
        if key == "<<" and "<<" not in frame.seen:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(s, dict) for s in sources):
                raise self.fail(
                    mark, frame.path, "'<<' merges only mappings (or a list of mappings)"
                )
            frame.merges.extend((s, mark) for s in sources)
        elif not frame.skip and key is not None:
            frame.value[key] = value

    def alias(self, frame: _Frame, event: AliasEvent, recursive: bool) -> None:
        path = frame.child_path() if not (frame.is_map and frame.key is None) else frame.path
        if frame.is_map and frame.key is None:
            raise self.fail(event.start_mark, path, "mapping keys must be plain text, not aliases")
        if recursive:
            raise self.fail(
                event.start_mark, path, "recursive YAML alias (a value that contains itself)"
            )
        if event.anchor not in self.anchors:
            raise self.fail(event.start_mark, path, f"undefined YAML alias '*{event.anchor}'")
        self.aliases += 1
        if self.aliases > self.max_aliases:
            raise self.fail(
                event.start_mark, path, f"too many YAML aliases (more than {self.max_aliases})"
            )
        value, size = self.anchors[event.anchor]
        if self.nodes + size > self.max_nodes:
            message = (
                f"too many YAML aliases: '*{event.anchor}' expands past {self.max_nodes} nodes"
            )
            raise self.fail(event.start_mark, path, message)
        self.nodes += size
        self.put(frame, value, size, event.start_mark, path)

    def scalar(self, event: ScalarEvent, path: FieldPath) -> Any:
        text = event.value
        tag = event.tag
        if tag is None:
            if not event.implicit[0]:  # quoted: always text
                return text
            if text.isascii() and text.isdigit() and (text[0] != "0" or text == "0"):
                self.texts[path] = text  # fast path for the commonest number
                return int(text)
            tag = _resolve_plain(text)
        if tag in (_STR, _TIMESTAMP, "!"):  # timestamps stay text: definitions hold no datetimes
            return text
        if tag == _NULL:
            return None
        self.texts[path] = text
        node = ScalarNode(tag, text)
        try:
            if tag == _BOOL:
                return _SCALARS.construct_yaml_bool(node)
            if tag == _INT:
                return _SCALARS.construct_yaml_int(node)
            if tag == _FLOAT:
                number = _SCALARS.construct_yaml_float(node)
                if math.isfinite(number):
                    return number
                raise self.fail(event.start_mark, path, f"expected a finite number, got {text!r}")
        except (ValueError, KeyError, TypeError):
            raise self.fail(
                event.start_mark, path, f"{text!r} is not a valid {tag[len(_T) :]}"
            ) from None
        raise self.fail(event.start_mark, path, _tag_message(tag))


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_T) :] if tag.startswith(_T) else tag
    return f"YAML tag {shown!r} is not allowed (only text, numbers, booleans, lists and mappings)"
