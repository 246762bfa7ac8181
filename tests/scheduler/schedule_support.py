"""Shared by the scheduler tests: a hand-written fake engine, a scheduler on a real SQLite file."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from barbossad.definitions.model import VariableDef, WorkflowDef
from barbossad.errors import NotFoundError
from barbossad.models import RunRecord, RunState, TriggerType
from barbossad.scheduler.fakes import FakeClock, FakeTicker
from barbossad.scheduler.manager import Scheduler
from barbossad.scheduler.model import ScheduleSpec
from barbossad.store.sqlite import SQLiteStore

START = datetime(2026, 3, 2, 10, 0, 0, 500000, tzinfo=UTC)  # a Monday, half a second past
_SLOT = re.compile(r"slot (\S+Z)")

Hook = Callable[[RunRecord], Awaitable[None] | None]


def slot_of(run: RunRecord) -> datetime:
    """The slot a scheduled run was started for (from its triggered_by)."""
    found = _SLOT.search(run.triggered_by)
    assert found, run.triggered_by
    return datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class FakeEngine:
    """Runs that start at once and end only when the test says so."""

    def __init__(self, *names: str) -> None:
        variables = (VariableDef(name="target", default="prod"),)
        self.definitions = {n: WorkflowDef(name=n, tasks=(), variables=variables) for n in names}
        self.runs: list[RunRecord] = []
        self.running: dict[int, RunRecord] = {}
        self.cancelled: list[int] = []
        self.hooks: list[Hook] = []
        self.refuse: str = ""  # when set, start() fails with this message

    async def resolve(self, name: str) -> WorkflowDef:
        if name not in self.definitions:
            raise NotFoundError(f"no workflow or template named {name!r}")
        return self.definitions[name]

    async def start(
        self,
        workflow: WorkflowDef,
        trigger: TriggerType = TriggerType.MANUAL,
        parameters: Mapping[str, str] | None = None,
        *,
        key: str | None = None,
        triggered_by: str = "",
    ) -> RunRecord:
        if self.refuse:
            raise NotFoundError(self.refuse)
        run = RunRecord(
            id=len(self.runs) + 1,
            workflow=key or workflow.name,
            state=RunState.RUNNING,
            trigger=trigger,
            parameters=dict(parameters or {}),
            created_at=datetime.now(UTC),
            definition_hash="",
            triggered_by=triggered_by,
        )
        self.runs.append(run)
        self.running[run.id] = run
        return run

    async def cancel(self, run_id: int) -> RunRecord:
        self.cancelled.append(run_id)
        return await self.finish(run_id, RunState.CANCELLED)

    async def finish(self, run_id: int, state: RunState = RunState.SUCCEEDED) -> RunRecord:
        run = self.running.pop(run_id)
        run.state = state
        for hook in self.hooks:
            result = hook(run)
            if result is not None:
                await result
        return run

    async def finish_all(self, state: RunState = RunState.SUCCEEDED) -> None:
        for run_id in list(self.running):
            await self.finish(run_id, state)

    def add_completion_hook(self, hook: Hook) -> None:
        self.hooks.append(hook)

    def slots(self, *, catch_up: bool | None = None) -> list[datetime]:
        """Slots of the runs started so far (only catch-up ones, or only live ones)."""
        return [
            slot_of(r)
            for r in self.runs
            if catch_up is None or ("(catch-up)" in r.triggered_by) == catch_up
        ]


@dataclass
class Rig:
    """A scheduler on a real SQLite file, with a fake clock, ticker and engine."""

    path: Path
    clock: FakeClock
    engine: FakeEngine
    catalog: Any = None
    store: SQLiteStore = field(init=False)
    ticker: FakeTicker = field(init=False)
    scheduler: Scheduler = field(init=False)

    def __post_init__(self) -> None:
        self.store = SQLiteStore.open(self.path)
        self.ticker = FakeTicker(self.clock)
        self.scheduler = Scheduler(
            store=self.store,
            engine=self.engine,
            ticker=self.ticker,
            clock=self.clock,
            catalog=self.catalog,
            prune_interval=None,
        )

    async def up(self) -> Rig:
        """open() then activate(), as the daemon does."""
        await self.scheduler.open()
        await self.scheduler.activate()
        await self.scheduler.idle()
        return self

    async def add(self, expression: str, **fields: Any) -> int:
        """Add an API schedule (zone UTC unless given) and return its id."""
        fields.setdefault("workflow", next(iter(self.engine.definitions)))
        fields.setdefault("timezone", "UTC")
        paused = fields.pop("paused", False)
        view = await self.scheduler.add(
            ScheduleSpec(expression=expression, **fields), paused=paused
        )
        return view.record.id

    async def advance(self, seconds: float, *, late: float = 0.0) -> int:
        """Let time pass with ticks, then wait for background work."""
        ticks = await self.ticker.advance(seconds, late=late)
        await self.scheduler.idle()
        return ticks

    async def finish_all(self) -> None:
        """End every run in flight (succeeded) and let queued slots start."""
        await self.engine.finish_all()
        await self.scheduler.idle()

    async def crash(self) -> None:
        """Drop everything in memory without any shutdown work (kill -9)."""
        self.ticker.shutdown()
        self.store._db.close()

    async def down(self) -> None:
        """A clean shutdown."""
        await self.scheduler.close()
        await self.store.close()

    def restarted(self, engine: FakeEngine | None = None) -> Rig:
        """A new scheduler on the same database and clock (call `up()` on it)."""
        return Rig(
            self.path, self.clock, engine or FakeEngine(*self.engine.definitions), self.catalog
        )


def utc(text: str) -> datetime:
    """2026-03-02T10:00:01 -> an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
