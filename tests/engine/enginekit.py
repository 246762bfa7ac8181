"""Engine test kit: a task type that records when it runs, and an in-process WorkflowEngine.

`StepHandler` (type `step`) runs nothing: it notes its start and end in a `Journal`, yields to
the loop, and fails, hangs or publishes outputs as its spec says. Tests can wait on the journal
for a task to start (an asyncio condition, no sleeps).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from barbossad import WorkflowEngine
from barbossad.models import RunRecord, TaskRunRecord
from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult

WAIT = 10.0  # seconds any single wait in these tests may take


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSpec:
    """Fields of a `step` task."""

    fail_attempts: int = 0  # the first N attempts fail
    hang: bool = False  # run until cancelled
    yields: int = 1  # times to yield to the loop while running
    outputs: Mapping[str, str] = field(default_factory=dict)
    raises: str = ""  # "timeout": raise TimeoutError; other text: raise RuntimeError(text)


@dataclass
class Journal:
    """What ran when: ("start" | "end", task id, attempt) in order, and peak concurrency."""

    events: list[tuple[str, str, int]] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    peak: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def starts(self, task_id: str) -> int:
        return sum(1 for kind, tid, _ in self.events if kind == "start" and tid == task_id)

    def index(self, kind: str, task_id: str) -> int:
        """Position of the first `kind` event of a task (ValueError if none)."""
        for i, (k, tid, _) in enumerate(self.events):
            if k == kind and tid == task_id:
                return i
        raise ValueError(f"no {kind} of {task_id}")

    async def wait_started(self, task_id: str) -> None:
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: task_id in self.running)

    async def note(self, kind: str, task_id: str, attempt: int) -> None:
        self.events.append((kind, task_id, attempt))
        if kind == "start":
            self.running.add(task_id)
            self.peak = max(self.peak, len(self.running))
        else:
            self.running.discard(task_id)
        async with self.changed:
            self.changed.notify_all()


class StepHandler:
    """The `step` task type (see the module docstring)."""

    type_name: ClassVar[str] = "step"
    spec_type: ClassVar[type] = StepSpec

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def check(self, spec: Any) -> list[tuple[str, str]]:
        return [("fail_attempts", "must be >= 0")] if spec.fail_attempts < 0 else []

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        return PlannedAction(description=f"would step ({spec.yields} yields)")

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        await self.journal.note("start", ctx.task_id, ctx.attempt)
        try:
            for _ in range(spec.yields):
                await asyncio.sleep(0)
            if spec.hang:
                await asyncio.Event().wait()
        finally:
            await asyncio.shield(self.journal.note("end", ctx.task_id, ctx.attempt))
        if spec.raises == "timeout":
            raise TimeoutError  # e.g. a library's own timeout, not the task's
        if spec.raises:
            raise RuntimeError(spec.raises)
        if ctx.attempt <= spec.fail_attempts:
            return TaskResult(
                ok=False, exit_code=1, error=f"attempt {ctx.attempt} failed on purpose"
            )
        return TaskResult(ok=True, exit_code=0, outputs=dict(spec.outputs))


@asynccontextmanager
async def step_engine(base: Path, **kwargs: Any) -> AsyncIterator[tuple[WorkflowEngine, Journal]]:
    """A WorkflowEngine on `base` with the `step` type registered; shut down and closed after."""
    engine = WorkflowEngine(base, **kwargs)
    journal = Journal()
    engine.register_task_type(StepHandler(journal))
    try:
        yield engine, journal
    finally:
        await engine.shutdown(1.0)
        await engine.close()


def task_of(run: RunRecord, task_id: str) -> TaskRunRecord:
    """The record of one task of a run."""
    return next(t for t in run.tasks if t.task_id == task_id)


def states(run: RunRecord) -> dict[str, str]:
    """task id -> state value."""
    return {t.task_id: t.state.value for t in run.tasks}
