"""A loaded definition document: JSON-like data plus where each part of it was written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from barbossad.errors import DefinitionError, Issue

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """JSON-like data from one file, with the (line, column) of every key and list item.

    `positions` maps a field path such as `("tasks", 0, "command")` to a 1-based position.
    """

    data: dict[str, Any]
    source: str
    positions: Mapping[FieldPath, tuple[int, int]] = field(default_factory=dict)
    # Source text of scalars YAML did not read as strings (`1.10`, `yes`, `0o17`), so that a
    # text field gets exactly what was written rather than str() of the number.
    texts: Mapping[FieldPath, str] = field(default_factory=dict)

    def where(self, path: FieldPath) -> tuple[int, int]:
        """(line, column) of `path`, or of its nearest recorded ancestor; (0, 0) if unknown."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return (0, 0)


def field_name(path: FieldPath) -> str:
    """A path as users read it: `tasks[0].retry.attempts`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def document_error(
    source: str, line: int, column: int, message: str, path: FieldPath = ()
) -> DefinitionError:
    """A DefinitionError with a single issue."""
    issue = Issue(file=source, line=line, column=column, field=field_name(path), message=message)
    return DefinitionError([issue])
