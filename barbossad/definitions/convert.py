"""Typed conversion of loaded values into dataclass fields, collecting every issue found.

A `Reader` wraps one `LoadedDocument`; converters turn raw JSON-like values into the type a
field's annotation names (str, int, float, bool, optionals, `tuple[T, ...]`, string mappings,
enums, `Any`, nested dataclasses) and raise `Bad` with a message when they cannot. `Reader.build`
fills a whole dataclass from a mapping, reporting unknown keys (with the closest known key),
missing required fields and wrong types, all at once.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import math
import re
import types
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from barbossad.definitions.loader import FieldPath, LoadedDocument, field_name
from barbossad.errors import Issue

Converter = Callable[["Reader", Any, FieldPath], Any]

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?\Z")
_BOOLS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


class Bad(Exception):
    """A value does not fit its field; `at` locates it below the field (e.g. a list index)."""

    def __init__(self, message: str, *, suggestion: str = "", at: FieldPath = ()) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion
        self.at = at


class Reported(Exception):
    """The problem was already reported to the Reader; the caller only needs to give up."""


def describe(value: Any) -> str:
    """A value as error messages show it: `'abc'`, `a list`, `null`, `true`, `3.5`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57]) + "..."
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)


def closest(word: str, candidates: Collection[str], hints: Mapping[str, str] | None = None) -> str:
    """The known name a misspelt `word` most likely meant, or ""."""
    if hints and word in hints:
        return hints[word]
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if found:
        return found[0]
    prefixed = [c for c in candidates if word and c.startswith(word)]  # "prod" -> "production"
    return prefixed[0] if len(prefixed) == 1 else ""


class Reader:
    """Converts parts of one document, recording an `Issue` for every problem."""

    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc
        self.issues: list[Issue] = []
        # Suggestions compare against every candidate; bound the total work so that thousands
        # of bad references to thousands of task ids still fail fast.
        self._suggestion_budget = 200_000

    def suggest(self, word: str, candidates: Collection[str]) -> str:
        """Like `closest`, until this document has spent its budget of comparisons."""
        self._suggestion_budget -= len(candidates)
        return closest(word, candidates) if self._suggestion_budget >= 0 else ""

    def report(self, path: FieldPath, message: str, suggestion: str = "") -> None:
        """Record a problem at `path` (positioned at the nearest recorded ancestor)."""
        line, column = self.doc.where(path)
        self.issues.append(
            Issue(
                file=self.doc.source,
                line=line,
                column=column,
                field=field_name(path),
                message=message,
                suggestion=suggestion,
            )
        )

    def text(self, value: Any, path: FieldPath) -> str:
        """A scalar as text, exactly as written where known (`1.10`, `yes`); Bad otherwise."""
        if isinstance(value, str):
            return value
        if value is None or isinstance(value, Mapping | list | tuple):
            raise Bad(f"expected text, got {describe(value)}")
        written = self.doc.texts.get(path)
        if written is not None:
            return written
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def convert(self, conv: Converter, value: Any, path: FieldPath, default: Any = None) -> Any:
        """conv(value), or `default` after reporting why it failed."""
        try:
            return conv(self, value, path)
        except Bad as bad:
            self.report((*path, *bad.at), bad.message, bad.suggestion)
        except Reported:
            pass
        return default

    def get(
        self,
        data: Mapping[str, Any],
        path: FieldPath,
        key: str,
        conv: Converter,
        default: Any = None,
    ) -> Any:
        """data[key] converted, or `default` when it is absent, null, or wrong (reported)."""
        value = data.get(key)
        return default if value is None else self.convert(conv, value, (*path, key), default)

    def required_text(self, data: Mapping[str, Any], path: FieldPath, key: str) -> str:
        """data[key] as non-empty text, or "" after reporting that it is missing or empty."""
        if data.get(key) is None:
            self.report((*path, key), f"required field {key!r} missing")
            return ""
        text: str | None = self.convert(to_str, data[key], (*path, key))
        if text is None:
            return ""
        if not text.strip():
            self.report((*path, key), f"{key!r} must not be empty")
            return ""
        return text

    def unknown_keys(
        self,
        data: Mapping[str, Any],
        path: FieldPath,
        allowed: Collection[str],
        *,
        what: str = "",
        also_known: Collection[str] = (),
        hints: Mapping[str, str] | None = None,
    ) -> None:
        """Report every key of `data` not in `allowed`, suggesting the closest known key."""
        for key in data:
            if key in allowed:
                continue
            suggestion = closest(key, [*allowed, *also_known], hints)
            where = f" for {what}" if what else ""
            message = f"unknown key {key!r}{where}"
            if not suggestion:
                message += f" (expected one of: {', '.join(sorted({*allowed, *also_known}))})"
            self.report((*path, key), message, suggestion)

    def build(
        self,
        cls: type,
        data: Any,
        path: FieldPath,
        *,
        what: str,
        exclude: Collection[str] = (),
        also_known: Collection[str] = (),
        hints: Mapping[str, str] | None = None,
    ) -> Any:
        """An instance of dataclass `cls` from a mapping, or None after reporting why not."""
        if not isinstance(data, Mapping):
            self.report(path, f"expected a mapping for {what}, got {describe(data)}")
            return None
        specs = [spec for spec in field_specs(cls) if spec[0] not in exclude]
        names = [spec[0] for spec in specs]
        self.unknown_keys(data, path, names, what=what, also_known=also_known, hints=hints)
        values: dict[str, Any] = {}
        ok = True
        for name, conv, required in specs:
            if name in data:
                values[name] = self.convert(conv, data[name], (*path, name), _FAILED)
                ok = ok and values[name] is not _FAILED
            elif required:
                self.report((*path, name), f"required field {name!r} missing for {what}")
                ok = False
        if not ok:
            return None
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:  # a spec's own __post_init__ checks
            self.report(path, f"invalid {what}: {exc}")
            return None


_FAILED = object()


@functools.cache
def field_specs(cls: type) -> tuple[tuple[str, Converter, bool], ...]:
    """(name, converter, required) for each init field of dataclass `cls`."""
    hints = get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        specs.append((f.name, converter_for(hints[f.name]), required))
    return tuple(specs)


@functools.cache
def converter_for(tp: Any) -> Converter:
    """The converter for a field annotation; TypeError for annotations we cannot parse."""
    simple: dict[Any, Converter] = {str: to_str, int: to_int, float: to_float, bool: to_bool}
    if tp in simple:
        return simple[tp]
    if tp is Any or tp is object:
        return to_json
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        return _optional(converter_for(next(a for a in args if a is not type(None))))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tuple_of(converter_for(args[0]))
    if origin in (Mapping, dict) and args and args[0] is str:
        return _mapping_of(converter_for(args[1]))
    if origin is Literal:
        return _choice_of(tuple(str(a) for a in args), lambda text: text)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _choice_of(tuple(str(m.value) for m in tp), tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _nested(tp)
    raise TypeError(f"cannot parse a definition field of type {tp!r}")


def to_str(reader: Reader, value: Any, path: FieldPath) -> str:
    """Text; numbers and booleans become the text they were written as."""
    return reader.text(value, path)


def to_int(reader: Reader, value: Any, path: FieldPath) -> int:
    """An integer (also `3.0` from protobuf and the text "3")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        _no_placeholder(value)
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise Bad(f"expected an integer, got {describe(value)}")


def to_float(reader: Reader, value: Any, path: FieldPath) -> float:
    """A finite number; text may be a duration like "30s", "5m", "1h30m" (in seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        _no_placeholder(value)
        seconds = parse_duration(value)
        if seconds is not None:
            return seconds
    raise Bad(f"expected a number or a duration like '90s', '5m', '1h30m', got {describe(value)}")


def parse_duration(text: str) -> float | None:
    """Seconds for "12", "1.5", "30s", "5m", "1h30m"; None if `text` is neither."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if not text or match is None:
            return None
        hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return hours * 3600 + minutes * 60 + seconds
    return number if math.isfinite(number) else None


def to_bool(reader: Reader, value: Any, path: FieldPath) -> bool:
    """A boolean; the texts true/false/yes/no/on/off/1/0 are accepted too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise Bad(f"expected true or false, got {describe(value)}")


def to_json(reader: Reader, value: Any, path: FieldPath) -> Any:
    """A JSON-like value (text, finite number, boolean, null, lists, text-keyed mappings)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise Bad(f"expected a finite number, got {value}")
    if isinstance(value, list | tuple):
        return [to_json(reader, item, (*path, i)) for i, item in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: to_json(reader, v, (*path, k)) for k, v in value.items()}
    raise Bad(f"expected plain data (text, numbers, lists, mappings), got {type(value).__name__}")


def _no_placeholder(text: str) -> None:
    if "{{" in text:
        raise Bad(f"placeholders are only allowed in text fields, got {text!r}")


def _optional(inner: Converter) -> Converter:
    def convert(reader: Reader, value: Any, path: FieldPath) -> Any:
        return None if value is None else inner(reader, value, path)

    return convert


def _tuple_of(inner: Converter) -> Converter:
    def convert(reader: Reader, value: Any, path: FieldPath) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise Bad(f"expected a list, got {describe(value)}")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(inner(reader, item, (*path, index)))
            except Bad as bad:
                raise Bad(bad.message, suggestion=bad.suggestion, at=(index, *bad.at)) from None
        return tuple(items)

    return convert


def _mapping_of(inner: Converter) -> Converter:
    def convert(reader: Reader, value: Any, path: FieldPath) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise Bad(f"expected a mapping, got {describe(value)}")
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise Bad(f"expected text keys, got {describe(key)}")
            try:
                result[key] = inner(reader, item, (*path, key))
            except Bad as bad:
                raise Bad(bad.message, suggestion=bad.suggestion, at=(key, *bad.at)) from None
        return result

    return convert


def _choice_of(choices: tuple[str, ...], make: Callable[[str], Any]) -> Converter:
    def convert(reader: Reader, value: Any, path: FieldPath) -> Any:
        text = reader.text(value, path)
        if text in choices:
            return make(text)
        expected = ", ".join(choices)
        raise Bad(f"expected one of {expected}, got {text!r}", suggestion=closest(text, choices))

    return convert


def _nested(cls: type) -> Converter:
    def convert(reader: Reader, value: Any, path: FieldPath) -> Any:
        built = reader.build(cls, value, path, what=f"'{path[-1]}'" if path else cls.__name__)
        if built is None:
            raise Reported
        return built

    return convert
