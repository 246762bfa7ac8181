"""States, kinds and run records shared by the engine, the store and the RPC layer.

Enum values are what the database stores and what `barbossactl -o json` prints: never rename one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RunState(StrEnum):
    """Lifecycle of a run."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    TIMED_OUT = "timed_out"

    @property
    def finished(self) -> bool:
        """True for a terminal state: a finished run never changes state again."""
        return self not in (RunState.PENDING, RunState.RUNNING)


class TaskState(StrEnum):
    """Lifecycle of a task within a run."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    TIMED_OUT = "timed_out"
    RETRYING = "retrying"

    @property
    def finished(self) -> bool:
        """True for a terminal state."""
        return self not in (TaskState.PENDING, TaskState.RUNNING, TaskState.RETRYING)

    @property
    def ok(self) -> bool:
        """True when dependents that need success may run."""
        return self is TaskState.SUCCEEDED


class TriggerType(StrEnum):
    """What started a run."""

    MANUAL = "manual"
    SCHEDULED = "scheduled"
    EVENT = "event"
    WEBHOOK = "webhook"
    FILE_WATCH = "file_watch"
    RETRY = "retry"
    WORKFLOW = "workflow"


class OutputStream(StrEnum):
    """Which stream a chunk of task output came from."""

    STDOUT = "stdout"
    STDERR = "stderr"
    SYSTEM = "system"


@dataclass(slots=True, kw_only=True)
class TaskRunRecord:
    """The stored state of one task in one run (its latest attempt)."""

    run_id: int
    task_id: str
    name: str
    type: str
    state: TaskState = TaskState.PENDING
    attempt: int = 0
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    output_truncated: bool = False
    reused: bool = False


@dataclass(slots=True, kw_only=True)
class RunRecord:
    """The stored state of one run."""

    id: int
    workflow: str
    state: RunState
    trigger: TriggerType
    parameters: Mapping[str, str]
    created_at: datetime
    definition_hash: str
    triggered_by: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str = ""
    retry_of: int | None = None
    tasks: list[TaskRunRecord] = field(default_factory=list)
