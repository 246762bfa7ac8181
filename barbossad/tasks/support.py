"""Helpers shared by the built-in task types.

Capturing part of a child's output while still streaming all of it, turning a `ProcessResult`
into a failed `TaskResult` with a useful message, and recognising values that still hold
`{{ ... }}` placeholders at load time (those are checked at run time, once rendered).
"""

from __future__ import annotations

from collections.abc import Iterable

from barbossad.models import OutputStream
from barbossad.tasks.base import OutputSink, PlannedAction, ProcessResult, TaskResult

_HEAD_LIMIT = 1024 * 1024
_TAIL_LIMIT = 4096


def deferred(value: object, rendered: bool) -> bool:
    """True when a check of `value` waits for run time: not rendered yet and holding a placeholder.

    Once rendered, nothing is deferred: a value that merely *looks* templated (a parameter
    whose text is "-{{x}}") is checked like any other.
    """
    return not rendered and isinstance(value, str) and "{{" in value


def unrunnable(problems: list[tuple[str, str]]) -> PlannedAction:
    """A dry-run answer for a spec that, as rendered, would be refused when run."""
    field, message = problems[0]
    return PlannedAction(description=f"would be refused as rendered: {field}: {message}")


def flag(value: bool) -> str:
    """An output value for a boolean: "true" or "false"."""
    return "true" if value else "false"


def nul_problems(values: Iterable[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """(field, message) for every value containing a NUL byte, which no argv or path may hold."""
    return [
        (name, "must not contain a NUL byte") for name, value in values if value and "\0" in value
    ]


class CaptureSink:
    """An `OutputSink` that forwards every chunk and keeps the head and the tail of each stream.

    The head (up to `limit` bytes) is what a handler parses (e.g. `systemctl show` output); the
    tail is what goes into an error message (the last lines of git's stderr).
    """

    def __init__(self, forward: OutputSink | None, *, limit: int = _HEAD_LIMIT) -> None:
        self._forward = forward
        self._limit = limit
        self._head: dict[OutputStream, bytearray] = {}
        self._tail: dict[OutputStream, bytes] = {}

    def write(self, stream: OutputStream, data: bytes) -> None:
        """Keep what fits, remember the tail, pass the chunk on."""
        head = self._head.setdefault(stream, bytearray())
        if len(head) < self._limit:
            head += data[: self._limit - len(head)]
        self._tail[stream] = (self._tail.get(stream, b"") + data)[-_TAIL_LIMIT:]
        if self._forward is not None:
            self._forward.write(stream, data)

    def text(self, stream: OutputStream) -> str:
        """The kept head of a stream, decoded leniently."""
        return bytes(self._head.get(stream, b"")).decode("utf-8", "replace")

    def tail(self, stream: OutputStream = OutputStream.STDERR, lines: int = 5) -> str:
        """The last non-empty lines of a stream joined on one line, for an error message."""
        text = self._tail.get(stream, b"").decode("utf-8", "replace")
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])


def process_failure(
    result: ProcessResult, what: str, timeout: float | None, detail: str = ""
) -> TaskResult | None:
    """A failed TaskResult if the process timed out, was killed or exited non-zero; else None."""
    suffix = f": {detail}" if detail else ""
    if result.timed_out:
        return TaskResult(
            ok=False,
            exit_code=result.exit_code,
            timed_out=True,
            error=f"{what} timed out after {timeout or 0:g}s{suffix}",
        )
    if result.exit_code is None:
        return TaskResult(ok=False, error=f"{what} was killed by signal {result.signal}{suffix}")
    if result.exit_code != 0:
        return TaskResult(
            ok=False,
            exit_code=result.exit_code,
            error=f"{what} exited with status {result.exit_code}{suffix}",
        )
    return None
