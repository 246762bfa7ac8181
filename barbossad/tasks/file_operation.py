"""file_operation: copy, move, delete, compress, extract, mkdir, write, chmod inside allowed roots.

Done in the daemon (no child process) but in a worker thread, so a large copy never blocks the
event loop. Every path must resolve inside `TaskSettings.allowed_roots` (see `file_guard`); with
no roots configured every file operation is refused. Bad input is reported before anything on
disk changes, and results appear atomically (see `file_actions`).

Fields: copy/move/compress/extract take `source` and `destination`; delete, chmod, mkdir and
write act on one path, given as either `source` or `destination`. A destination that is an
existing directory (or ends with "/") receives the source under its own name.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from barbossad.errors import TaskError
from barbossad.tasks import file_actions
from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult
from barbossad.tasks.file_archive import FORMATS, Cancelled
from barbossad.tasks.file_guard import PathGuard
from barbossad.tasks.support import deferred, nul_problems


class FileOp(StrEnum):
    """What file_operation does."""

    COPY = "copy"
    MOVE = "move"
    DELETE = "delete"
    COMPRESS = "compress"
    EXTRACT = "extract"
    MKDIR = "mkdir"
    WRITE = "write"
    CHMOD = "chmod"


_TWO_PATHS = frozenset({FileOp.COPY, FileOp.MOVE, FileOp.COMPRESS, FileOp.EXTRACT})


@dataclass(frozen=True, slots=True, kw_only=True)
class FileOperationSpec:
    """Fields of a file_operation task."""

    operation: str
    source: str | None = None
    destination: str | None = None
    content: str | None = None  # write
    mode: str | None = None  # octal, e.g. "0644": chmod (required), mkdir and write
    format: str = ""  # compress/extract: tar.gz or zip; empty: from the file name
    recursive: bool = False  # delete of a directory; chmod of a whole tree


def path_field(spec: FileOperationSpec) -> str:
    """For one-path operations: which field holds the path ("source" or "destination")."""
    return "destination" if spec.destination is not None else "source"


class FileOperationHandler:
    """Runs one file operation in a worker thread."""

    type_name: ClassVar[str] = "file_operation"
    spec_type: ClassVar[type] = FileOperationSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Load-time checks; values still holding placeholders are checked when run."""
        return self.problems(spec, rendered=False)

    def problems(self, spec: Any, *, rendered: bool = True) -> list[tuple[str, str]]:
        """Known operation, the fields it needs, a valid mode and format."""
        if deferred(spec.operation, rendered):
            return []
        if spec.operation not in set(FileOp):
            choices = ", ".join(FileOp)
            return [("operation", f"unknown operation {spec.operation!r} (expected {choices})")]
        op = FileOp(spec.operation)
        problems: list[tuple[str, str]] = []
        if op in _TWO_PATHS:
            problems += [
                (f, f"required for {op.value}")
                for f in ("source", "destination")
                if not getattr(spec, f)
            ]
        elif (spec.source is None) == (spec.destination is None):
            problems.append(
                ("source", f"{op.value} takes one path: give either source or destination")
            )
        elif not getattr(spec, path_field(spec)):
            problems.append((path_field(spec), "must not be empty"))
        if op is FileOp.WRITE and spec.content is None:
            problems.append(("content", "required for write (may be empty)"))
        if op is FileOp.CHMOD and not spec.mode:
            problems.append(("mode", "required for chmod"))
        if spec.mode and not deferred(spec.mode, rendered):
            try:
                file_actions.parse_mode(spec.mode)
            except TaskError as exc:
                problems.append(("mode", str(exc)))
        if spec.format and not deferred(spec.format, rendered) and spec.format not in FORMATS:
            problems.append(
                ("format", f"unknown format {spec.format!r} (expected {', '.join(FORMATS)})")
            )
        problems += nul_problems([("source", spec.source), ("destination", spec.destination)])
        return problems

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: the operation and its paths, unresolved (nothing is looked at)."""
        if spec.operation in _TWO_PATHS:
            text = f"would {spec.operation} {spec.source} to {spec.destination}"
        elif spec.operation == FileOp.CHMOD:
            text = f"would chmod {spec.mode} {getattr(spec, path_field(spec))}"
        else:
            text = f"would {spec.operation} {getattr(spec, path_field(spec))}"
        return PlannedAction(description=text + (" (recursively)" if spec.recursive else ""))

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Check everything, then do the operation off the event loop."""
        problems = self.problems(spec)
        if problems:
            field, message = problems[0]
            return TaskResult(ok=False, error=f"file_operation: {field}: {message}")
        try:
            guard = PathGuard(ctx.settings.allowed_roots, ctx.working_directory)
        except TaskError as exc:
            return TaskResult(ok=False, error=str(exc))
        work = _operation(spec, guard)
        try:
            outputs = await _in_thread(work)
        except TaskError as exc:
            return TaskResult(ok=False, error=f"file_operation {spec.operation}: {exc}")
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            return TaskResult(
                ok=False, error=f"file_operation {spec.operation}: {exc.strerror or exc}{where}"
            )
        ctx.log(f"file_operation {spec.operation}: {outputs.get('path', '')}")
        return TaskResult(ok=True, outputs=outputs)


Work = Callable[[threading.Event], dict[str, str]]


def _operation(spec: FileOperationSpec, guard: PathGuard) -> Work:
    op = FileOp(spec.operation)
    field = path_field(spec)
    match op:
        case FileOp.COPY:
            return lambda cancel: file_actions.copy(spec, guard, cancel)
        case FileOp.MOVE:
            return lambda cancel: file_actions.move(spec, guard, cancel)
        case FileOp.COMPRESS:
            return lambda cancel: file_actions.compress(spec, guard, cancel)
        case FileOp.EXTRACT:
            return lambda cancel: file_actions.extract(spec, guard, cancel)
        case FileOp.WRITE:
            return lambda cancel: file_actions.write(spec, field, guard, cancel)
        case FileOp.DELETE:
            return lambda cancel: file_actions.delete(spec, field, guard)
        case FileOp.MKDIR:
            return lambda cancel: file_actions.mkdir(spec, field, guard)
        case _:
            return lambda cancel: file_actions.chmod(spec, field, guard)


async def _in_thread(work: Work) -> dict[str, str]:
    """Run `work` in a thread; on cancellation, stop it and wait for its clean-up, then re-raise."""
    cancel = threading.Event()
    future = asyncio.ensure_future(asyncio.to_thread(work, cancel))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancel.set()
        # The worker stops at its next checkpoint and removes its temporary files; waiting
        # here means "cancelled" is only reported once the tree is back as it was.
        with contextlib.suppress(Cancelled, TaskError, OSError):
            await future
        raise
