"""Task outputs published the GitHub Actions way: `key=value` lines in the file $BARBOSSA_OUTPUT.

Multi-line values use a delimiter: a line `key<<EOF`, the value's lines, then `EOF`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MAX_OUTPUTS_BYTES = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def parse_outputs(text: str) -> dict[str, str]:
    """Parse the outputs file's text; malformed lines are ignored."""
    outputs: dict[str, str] = {}
    # Lines end at "\n" only: str.splitlines() would also break values at "\r", "\f", "\x1c"...
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            value_lines: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                value_lines.append(lines[i])
                i += 1
            i += 1  # the delimiter
            if _KEY.match(key):
                outputs[key] = "\n".join(value_lines)
        elif "=" in line:
            key, value = line.split("=", 1)
            if _KEY.match(key):
                outputs[key] = value
    return outputs


def read_outputs(path: Path) -> dict[str, str]:
    """Read and parse an outputs file (at most 1 MiB of it); missing file means no outputs."""
    if not os.access(path, os.F_OK):  # the usual case, answered without raising an exception
        return {}
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_OUTPUTS_BYTES)
    except FileNotFoundError:
        return {}
    return parse_outputs(data.decode("utf-8", "replace"))
