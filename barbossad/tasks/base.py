"""The seams every task type plugs into: its spec, its handler, the spawner and the output sink.

A task type is a frozen *spec* dataclass (the YAML fields of that type, parsed generically by
`barbossad.definitions`) plus a *handler* that checks, describes (dry run) and runs it.
Only handlers spawn processes, and only through the `Spawner` they are given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from barbossad.models import OutputStream

# Marks a spec field whose text is a shell script: placeholders in it are rendered as
# references to environment variables, never spliced in as text.  Use as
# `command: str = field(metadata=SHELL_FIELD)`.
SHELL_FIELD: Mapping[str, Any] = {"shell": True}


class OutputSink(Protocol):
    """Receives a task's output as it is produced."""

    def write(self, stream: OutputStream, data: bytes) -> None:
        """Take one chunk; must not block."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessResult:
    """How a spawned process ended."""

    exit_code: int | None  # None when it was killed by a signal we sent
    timed_out: bool = False
    signal: int | None = None


class Spawner(Protocol):
    """Starts child processes in their own session and kills their whole tree on timeout/cancel."""

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | None,
        sink: OutputSink,
        timeout: float | None,  # noqa: ASYNC109 - the spawner must own the deadline to kill the tree
        stdin: bytes | None = None,
    ) -> ProcessResult:
        """Run argv to completion, streaming stdout/stderr to sink.

        On timeout the process group (and every descendant, including double-forked ones) gets
        SIGTERM, then SIGKILL after the grace; the result says timed_out. On cancellation the
        same happens and CancelledError propagates.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSettings:
    """Daemon-wide settings task handlers need."""

    allowed_roots: tuple[Path, ...] = ()  # file_operation paths must stay inside one of these
    git_allowed_protocols: tuple[str, ...] = ("https", "ssh", "file")
    git_block_patterns: tuple[str, ...] = ("*zkp2p*",)  # the documented default
    git_allow_patterns: tuple[str, ...] = ()
    python_executable: str = ""  # empty: sys.executable
    default_shell: str = "bash"


@dataclass(slots=True, kw_only=True)
class TaskContext:
    """Everything a handler may use while running one attempt of one task."""

    run_id: int
    task_id: str
    attempt: int
    env: dict[str, str]  # full environment for children (daemon env + task env + values)
    working_directory: str | None
    timeout: float | None
    spawner: Spawner
    sink: OutputSink
    settings: TaskSettings
    outputs_file: Path  # the task appends key=value lines here (env BARBOSSA_OUTPUT)
    scratch_dir: Path  # a private directory for this run
    # Start another workflow and wait for it (sub-workflows); returns (succeeded, outputs, run_id).
    run_workflow: (
        Callable[[str, Mapping[str, str]], Awaitable[tuple[bool, dict[str, str], int]]] | None
    ) = None

    def log(self, text: str) -> None:
        """Write a line about the task into its output, marked as from the daemon."""
        self.sink.write(OutputStream.SYSTEM, (text.rstrip("\n") + "\n").encode())


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult:
    """How one attempt of a task ended."""

    ok: bool
    exit_code: int | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    error: str = ""
    timed_out: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedAction:
    """What a task would do, for a dry run."""

    description: str  # e.g. "would restart nginx.service via systemctl"
    argv: tuple[str, ...] = ()


class TaskHandler(Protocol):
    """A task type. Register an instance with `TaskRegistry.register`."""

    type_name: ClassVar[str]
    spec_type: ClassVar[type]  # a frozen, slotted, kw_only dataclass

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Semantic checks beyond field types: a list of (field, message); pure, no I/O."""
        ...

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """What running this (already rendered) spec would do; must not change anything."""
        ...

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Run one attempt of the (already rendered) spec."""
        ...


class TaskRegistry:
    """Task types by name."""

    def __init__(self) -> None:
        self._handlers: dict[str, TaskHandler] = {}

    def register(self, handler: TaskHandler, *, replace: bool = False) -> None:
        """Add a task type; a name already taken needs replace=True."""
        name = handler.type_name
        if name in self._handlers and not replace:
            raise ValueError(f"task type {name!r} is already registered")
        self._handlers[name] = handler

    def get(self, name: str) -> TaskHandler | None:
        """The handler for a type name, or None."""
        return self._handlers.get(name)

    def names(self) -> list[str]:
        """Registered type names, sorted."""
        return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers
