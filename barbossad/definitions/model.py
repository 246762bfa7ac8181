"""Frozen workflow definitions: what a validated YAML, JSON or protobuf definition becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from barbossad.definitions.trigger_model import TriggerDef


class RunCondition(StrEnum):
    """When a task runs, given how its dependencies ended."""

    ALL_SUCCEEDED = "all_succeeded"
    ALWAYS = "always"
    ON_FAILURE = "on_failure"


class VariableType(StrEnum):
    """The declared type of a workflow variable."""

    STRING = "string"
    INT = "int"
    BOOL = "bool"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableDef:
    """A declared variable: its type drives validation, the CLI and the portal's form."""

    name: str
    type: VariableType = VariableType.STRING
    default: str | None = None  # the default as text, already checked against the type
    description: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often a task is attempted and how long to wait between attempts."""

    attempts: int = 1
    delay: float = 1.0
    backoff_factor: float = 2.0
    max_delay: float = 300.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (2 is the first retry)."""
        if attempt <= 1:
            return 0.0
        return float(min(self.max_delay, self.delay * self.backoff_factor ** (attempt - 2)))


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDef:
    """One task of a workflow.

    `spec` holds the type-specific fields as the frozen dataclass that the task type's
    handler declares (e.g. ShellCommandSpec); values may still contain `{{ ... }}` placeholders.
    """

    id: str
    name: str
    type: str
    spec: Any
    dependencies: tuple[str, ...] = ()
    timeout: float | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    condition: RunCondition = RunCondition.ALL_SUCCEEDED
    continue_on_error: bool = False
    working_directory: str | None = None
    line: int = 0  # where the task starts in its source file


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleDef:
    """A `schedule:` entry declared in a template."""

    cron: str
    timezone: str | None = None
    misfire: str = "skip"
    overlap: str = "skip"
    catch_up_limit: int = 10
    catch_up_window: float | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowDef:
    """A complete, validated workflow definition."""

    name: str
    tasks: tuple[TaskDef, ...]
    description: str = ""
    version: str = ""
    variables: tuple[VariableDef, ...] = ()
    max_parallel: int | None = None
    timeout: float | None = None
    schedules: tuple[ScheduleDef, ...] = ()
    triggers: tuple[TriggerDef, ...] = ()
    source: str = "<request>"  # file the definition came from
    hash: str = ""  # sha256 of the canonical definition

    def task(self, task_id: str) -> TaskDef:
        """The task with this id (KeyError if absent)."""
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)
