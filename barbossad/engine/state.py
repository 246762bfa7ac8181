"""Pure decisions of a run: may a task start, and how did the run end."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum

from barbossad.definitions.model import RunCondition, TaskDef
from barbossad.models import RunState, TaskState

_FAILED = (TaskState.FAILED, TaskState.TIMED_OUT)


class Decision(Enum):
    """What to do with a task whose dependencies have all finished."""

    RUN = "run"
    SKIP = "skip"


def counts_as_failure(task: TaskDef, state: TaskState) -> bool:
    """True when this task's end is a failure that fails the run and trips on_failure tasks."""
    return state in _FAILED and not task.continue_on_error


def dependency_ok(task: TaskDef, state: TaskState) -> bool:
    """True when a dependency lets an all_succeeded dependent run."""
    return state is TaskState.SUCCEEDED or (state in _FAILED and task.continue_on_error)


def decide(task: TaskDef, deps_ok: bool, upstream_failed: bool) -> Decision:
    """Run or skip a task, given its condition and how its upstream ended."""
    if task.condition is RunCondition.ALWAYS:
        return Decision.RUN
    if task.condition is RunCondition.ON_FAILURE:
        return Decision.RUN if upstream_failed else Decision.SKIP
    return Decision.RUN if deps_ok else Decision.SKIP


def run_outcome(tasks: Iterable[TaskDef], states: Mapping[str, TaskState]) -> tuple[RunState, str]:
    """The final state of a run whose tasks have all finished, and a one-line reason."""
    failed = [t.id for t in tasks if counts_as_failure(t, states[t.id])]
    if failed:
        return RunState.FAILED, "failed tasks: " + ", ".join(failed)
    return RunState.SUCCEEDED, ""
