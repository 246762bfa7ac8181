"""JSON text -> JSON-like data with positions.

The json module parses; it reports no positions, so a small tokenizer then walks the (known
well-formed) text to record where each key and array item starts, and to find duplicate keys,
which json.loads would silently collapse. Both are iterative: deep nesting cannot exhaust
the stack.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

from barbossad.definitions.document import FieldPath, LoadedDocument, document_error, field_name
from barbossad.errors import DefinitionError, Issue

_Duplicate = tuple[FieldPath, int, int, int]  # path, line, column, line of the first occurrence

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+', re.S)


class _Frame:
    __slots__ = ("expect_key", "index", "is_object", "key", "keys", "path")

    def __init__(self, path: FieldPath, is_object: bool) -> None:
        self.path = path
        self.is_object = is_object
        self.expect_key = is_object
        self.index = 0
        self.key = ""
        self.keys: dict[str, int] = {}


def json_positions(
    text: str, max_nodes: int
) -> tuple[dict[FieldPath, tuple[int, int]], list[_Duplicate]]:
    """(line, column) of every key and array item of well-formed JSON, and duplicate keys.

    Raises ValueError past `max_nodes` keys and values.
    """
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    positions: dict[FieldPath, tuple[int, int]] = {}
    duplicates: list[_Duplicate] = []
    stack: list[_Frame] = []

    def locate(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    for count, match in enumerate(_TOKEN.finditer(text)):
        if count > 2 * max_nodes:  # tokens include ',' and ':'
            raise ValueError(f"too many JSON values (more than {max_nodes})")
        token = match.group()
        top = stack[-1] if stack else None
        if token in (",", ":"):
            if token == "," and top is not None and top.is_object:
                top.expect_key = True
            continue
        if token in ("}", "]"):
            stack.pop()
            continue
        if top is not None and top.expect_key:
            key = json.loads(token)
            where = locate(match.start())
            path = (*top.path, key)
            if key in top.keys:
                duplicates.append((path, *where, top.keys[key]))
            else:
                top.keys[key] = where[0]
                positions[path] = where
            top.key = key
            top.expect_key = False
            continue
        if top is None:
            path = ()
            positions[path] = locate(match.start())
        elif top.is_object:
            path = (*top.path, top.key)
        else:
            path = (*top.path, top.index)
            top.index += 1
            positions[path] = locate(match.start())
        if token in ("{", "["):
            stack.append(_Frame(path, token == "{"))
    return positions, duplicates


def load_json(text: str, source: str, max_nodes: int) -> LoadedDocument:
    """JSON text whose top level is an object, with positions; DefinitionError otherwise."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise document_error(source, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise document_error(source, 0, 0, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise document_error(source, 0, 0, "invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise document_error(
            source, 1, 1, f"expected an object at the top level, got a {type(data).__name__}"
        )
    try:
        positions, duplicates = json_positions(text, max_nodes)
    except ValueError as exc:
        raise document_error(source, 0, 0, str(exc)) from None
    if duplicates:
        raise DefinitionError(
            [
                Issue(
                    file=source,
                    line=line,
                    column=column,
                    field=field_name(path),
                    message=f"duplicate key {path[-1]!r} (first defined at line {first})",
                )
                for path, line, column, first in duplicates
            ]
        )
    return LoadedDocument(data, source, positions)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed; numbers must be finite")
