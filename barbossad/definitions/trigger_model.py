"""Frozen trigger definitions: the entries of a template's `triggers:` list.

Each entry is a one-key mapping naming its kind (`webhook`, `on_workflow`, `file_watch`); the
dataclass's `kind` is that key. Manual runs need no trigger (every workflow can be run by hand,
with the typed parameters its `variables:` declare) and cron schedules live in `schedule:`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_FILE_CHANGES = ("created", "modified", "moved")


class WorkflowOutcome(StrEnum):
    """Which endings of the upstream workflow's run start an `on_workflow` trigger."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # failed or timed out
    ANY = "any"  # any finished state, cancelled and interrupted included


class FileChange(StrEnum):
    """What happened to a watched path (the net change of a burst of events)."""

    CREATED = "created"
    MODIFIED = "modified"
    DELETED = "deleted"
    MOVED = "moved"  # renamed into place: the path is the rename's destination


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTrigger:
    """`POST /hooks/NAME` on the daemon's HTTP listener, signed with a per-hook secret.

    `secret_env` names an environment variable of the daemon and `secret_file` a file holding
    the secret; exactly one is set. The secret itself never appears in a definition.
    """

    kind: ClassVar[str] = "webhook"

    name: str = ""  # "" = the workflow's template name
    secret_env: str | None = None
    secret_file: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    parameters: Mapping[str, str] = field(default_factory=dict)  # variable -> dotted JSON path
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowTrigger:
    """Start a run when a run of another (or the same) workflow finishes."""

    kind: ClassVar[str] = "on_workflow"

    workflow: str
    outcome: WorkflowOutcome = WorkflowOutcome.ANY
    parameters: Mapping[str, str] = field(default_factory=dict)
    line: int = 0

    def matches(self, workflow: str, *, succeeded: bool, failed: bool) -> bool:
        """True when a finished run of `workflow` ending like this should start a run."""
        if workflow != self.workflow:
            return False
        if self.outcome is WorkflowOutcome.SUCCEEDED:
            return succeeded
        if self.outcome is WorkflowOutcome.FAILED:
            return failed
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class FileWatchTrigger:
    """Start a run when a watched file, or something in a watched directory, changes."""

    kind: ClassVar[str] = "file_watch"

    path: str
    events: tuple[FileChange, ...] = tuple(FileChange(e) for e in DEFAULT_FILE_CHANGES)
    pattern: str | None = None  # glob on the changed file's name
    recursive: bool = False
    debounce: float = 1.0  # seconds a path must stay quiet before its run starts
    line: int = 0


TriggerDef = WebhookTrigger | WorkflowTrigger | FileWatchTrigger
TRIGGER_KINDS: tuple[type[WebhookTrigger] | type[WorkflowTrigger] | type[FileWatchTrigger], ...] = (
    WebhookTrigger,
    WorkflowTrigger,
    FileWatchTrigger,
)
