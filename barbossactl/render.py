"""Plain data -> text: aligned tables, key/value blocks, JSON and a small YAML emitter.

Knows nothing of protobuf or grpc. The YAML emitter handles what `convert.to_plain` produces
(dicts, lists, str, int, float, bool, None) and quotes every string a YAML 1.1 or 1.2 reader
would otherwise take for something else.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

# ---- tables -----------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, a header line, no trailing blanks."""
    all_rows = [list(headers), *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    lines = []
    for row in all_rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def fields(pairs: Iterable[tuple[str, str]]) -> str:
    """A block of `key:  value` lines with the values aligned."""
    items = list(pairs)
    if not items:
        return ""
    width = max(len(key) for key, _ in items) + 1
    return "".join(f"{key + ':':<{width}}  {value}".rstrip() + "\n" for key, value in items)


def plural(count: int, noun: str) -> str:
    """ "1 task", "3 tasks"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def truncate(text: str, width: int) -> str:
    """The first line of text, cut to width with an ellipsis."""
    line = text.strip().split("\n", 1)[0]
    if len(line) > width or "\n" in text.strip():
        line = line[: width - 1].rstrip() + "…"
    return line


def duration(seconds: float | None) -> str:
    """Human duration: 45ms, 1.2s, 42s, 3m05s, 2h07m, 3d04h; "-" when unknown."""
    if seconds is None:
        return "-"
    if seconds < 0.1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def when(moment: datetime | None) -> str:
    """A local time as "2025-01-31 12:00:01"; "-" when unknown."""
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


# ---- json -------------------------------------------------------------------------------------


def dump_json(data: Any) -> str:
    """Indented JSON, UTF-8 kept as is, one trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---- yaml -------------------------------------------------------------------------------------

# Plain words YAML 1.1 (PyYAML) or 1.2 reads as booleans, null, merge keys or special floats.
_WORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", "<<", "="})
_RESERVED = _WORDS | {".inf", "-.inf", "+.inf", ".nan"}
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_BREAKS = "\x85\u2028\u2029"  # YAML 1.1 line breaks besides \n and \r
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\0": "\\0",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
_NUMBERISH = re.compile(r"[-+]?\.?[0-9]")


def _printable(ch: str) -> bool:
    """YAML's printable set, minus the BOM and the Unicode line breaks."""
    o = ord(ch)
    if o < 0x7F:
        return o >= 0x20 or ch in "\t\n\r"
    return (
        o >= 0xA0
        and o != 0xFEFF
        and ch not in _BREAKS
        and not 0xD800 <= o <= 0xDFFF
        and (o <= 0xFFFD or o >= 0x10000)
    )


def _plain_ok(text: str) -> bool:
    """True when text can be written unquoted and reads back as the same string."""
    if not text or text != text.strip(" ") or text.lower() in _RESERVED:
        return False
    if text[0] in _INDICATORS or _NUMBERISH.match(text) or text.startswith("..."):
        return False  # "..." at the start of a line ends a YAML document
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    return all(_printable(ch) and ch not in "\t\n\r" for ch in text)


def _quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _block_ok(text: str) -> bool:
    """True for multi-line text a literal block (`|`) keeps exactly."""
    first = text.split("\n", 1)[0]
    return (
        "\n" in text.rstrip("\n")
        and first != ""
        and first[0] not in " \t"
        and all(_printable(ch) and ch != "\r" for ch in text)
    )


def _block(text: str, indent: int) -> list[str]:
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    pad = " " * indent
    lines = [f"|{chomp}"] + [pad + line if line else "" for line in body.split("\n")]
    lines.extend("" for _ in range(max(trailing - 1, 0)))
    return lines


def yaml_scalar(value: Any) -> str:
    """One scalar as YAML text (strings quoted only when needed)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text:
            text = text.replace("e", ".0e")  # YAML 1.1 floats need a dot
        return text
    text = str(value)
    return text if _plain_ok(text) else _quote(text)


def _lines(value: Any, indent: int) -> list[str]:
    """The lines of a non-empty dict or list, each starting at `indent`."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            head = f"{pad}{yaml_scalar(str(key))}:"
            out.extend(_entry(head, item, indent + 2))
        return out
    for item in value:
        out.extend(_entry(f"{pad}-", item, indent + 2, in_list=True))
    return out


def _entry(head: str, item: Any, indent: int, in_list: bool = False) -> list[str]:
    """`head` (a key or a dash) followed by its value."""
    if isinstance(item, Mapping | list | tuple) and item:
        nested = _lines(item, indent)
        if in_list:  # "- " then the first key or dash on the same line
            return [head + " " + nested[0].lstrip(" "), *nested[1:]]
        return [head, *nested]
    if isinstance(item, Mapping):
        return [head + " {}"]
    if isinstance(item, list | tuple):
        return [head + " []"]
    if isinstance(item, str) and _block_ok(item):
        block = _block(item, indent)
        return [head + " " + block[0], *block[1:]]
    return [head + " " + yaml_scalar(item)]


def dump_yaml(data: Any) -> str:
    """A YAML document (block style) for plain data."""
    if isinstance(data, Mapping | list | tuple) and data:
        lines = _lines(data, 0)
    else:
        lines = _entry("", data, 2)
        lines[0] = lines[0].lstrip(" ")
    return "\n".join(lines) + "\n"
