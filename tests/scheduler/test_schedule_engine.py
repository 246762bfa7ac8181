"""The scheduler with the real WorkflowEngine (trivial shell tasks) and the real APScheduler."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schedule_support import START, FakeEngine, slot_of

from barbossad.definitions.model import WorkflowDef
from barbossad.engine.engine import WorkflowEngine
from barbossad.models import RunRecord, RunState, TriggerType
from barbossad.scheduler.clock import SystemClock
from barbossad.scheduler.fakes import FakeClock, FakeTicker
from barbossad.scheduler.manager import Scheduler
from barbossad.scheduler.model import FireOutcome, OverlapPolicy, ScheduleSpec
from barbossad.scheduler.service import ApschedulerTicker
from barbossad.store.base import RunFilter
from barbossad.store.sqlite import SQLiteStore

QUICK = """
name: quick
variables:
  word: hello
tasks:
  - id: say
    type: shell_command
    command: "echo {{ word }}"
"""


def _engine(tmp_path: Path) -> WorkflowEngine:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "quick.yaml").write_text(QUICK)
    engine = WorkflowEngine(
        store=SQLiteStore.open(tmp_path / "db.sqlite"),
        templates_dir=templates,
        scratch_dir=tmp_path / "scratch",
    )
    engine.load_templates()
    return engine


async def test_queued_slots_run_one_after_another_with_the_real_engine(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    clock = FakeClock(START)
    ticker = FakeTicker(clock)
    scheduler = Scheduler(
        store=engine.store,
        engine=engine,
        ticker=ticker,
        clock=clock,
        catalog=engine.catalog,
        prune_interval=None,
    )
    await scheduler.open()
    await scheduler.activate()
    spec = ScheduleSpec(
        workflow="quick",
        expression="* * * * * *",
        timezone="UTC",
        overlap=OverlapPolicy.QUEUE_ALL,
        parameters={"word": "scheduled"},
    )
    sid = (await scheduler.add(spec)).record.id
    await ticker.advance(2)  # :01 starts, :02 waits
    first = await engine.wait(1)
    await scheduler.idle()
    second = await engine.wait(2)
    assert (first.state, second.state) == (RunState.SUCCEEDED, RunState.SUCCEEDED)
    assert second.started_at is not None and first.finished_at is not None
    assert second.started_at >= first.finished_at  # never overlapped
    runs, total = await engine.store.list_runs(
        RunFilter(trigger=TriggerType.SCHEDULED), limit=10, before_id=None
    )
    assert total == 2
    assert [slot_of(r) for r in sorted(runs, key=lambda r: r.id)] == [
        START.replace(microsecond=0) + timedelta(seconds=1),
        START.replace(microsecond=0) + timedelta(seconds=2),
    ]
    assert runs[0].parameters == {"word": "scheduled"}
    output = b"".join(c.data for c in await engine.store.get_output(2))
    assert b"scheduled" in output
    await scheduler.idle()
    record = (await scheduler.get(sid)).record
    assert (record.last_run_id, record.last_outcome) == (2, RunState.SUCCEEDED)
    assert [f.outcome for f in await engine.store.list_fires(sid)] == [FireOutcome.STARTED] * 2
    await scheduler.close()
    await engine.close()


class StartsQueue(FakeEngine):
    """A FakeEngine that reports each start on a queue the test can await."""

    def __init__(self, *names: str) -> None:
        super().__init__(*names)
        self.started: asyncio.Queue[RunRecord] = asyncio.Queue()

    async def start(
        self,
        workflow: WorkflowDef,
        trigger: TriggerType = TriggerType.MANUAL,
        parameters: Mapping[str, str] | None = None,
        *,
        key: str | None = None,
        triggered_by: str = "",
    ) -> RunRecord:
        run = await super().start(workflow, trigger, parameters, key=key, triggered_by=triggered_by)
        self.started.put_nowait(run)
        return run


async def test_apscheduler_ticks_every_second_and_never_drops_a_late_tick(tmp_path: Path) -> None:
    store = SQLiteStore.open(tmp_path / "db.sqlite")
    engine = StartsQueue("beat")
    scheduler = Scheduler(
        store=store, engine=engine, ticker=ApschedulerTicker(), clock=SystemClock()
    )
    await scheduler.open()
    await scheduler.activate()
    spec = ScheduleSpec(
        workflow="beat", expression="* * * * * *", timezone="UTC", overlap=OverlapPolicy.ALLOW
    )
    sid = (await scheduler.add(spec)).record.id
    first = await asyncio.wait_for(engine.started.get(), 5)
    second = await asyncio.wait_for(engine.started.get(), 5)
    assert slot_of(second) - slot_of(first) == timedelta(seconds=1)
    assert second.created_at - slot_of(second) < timedelta(seconds=0.5)
    time.sleep(2.3)  # block the event loop across two slots, as a stuck callback would  # noqa: ASYNC251
    unblocked = datetime.now(UTC)
    late = await asyncio.wait_for(engine.started.get(), 5)
    # The late tick fired (APScheduler's one-second grace would have dropped it): it runs the
    # newest slot due, and the slots the block swallowed are recorded missed.
    assert slot_of(second) < slot_of(late) <= unblocked
    await scheduler.close()
    fires = sorted(await store.list_fires(sid), key=lambda f: f.slot)
    covered = sum(f.slots for f in fires)
    span = int((fires[-1].slot - fires[0].slot).total_seconds()) + 1
    assert covered == span  # every slot has a row: started, or counted in a missed row
    missed = [f for f in fires if f.outcome is FireOutcome.MISSED]
    assert missed and "before its tick arrived" in missed[0].reason
    assert all(f.slot.tzinfo is UTC for f in fires)
    await store.close()


async def test_the_apscheduler_ticker_follows_pause_and_set(tmp_path: Path) -> None:
    ticker = ApschedulerTicker()
    ticks: asyncio.Queue[tuple[int, float]] = asyncio.Queue()

    async def handler(schedule_id: int) -> None:
        ticks.put_nowait((schedule_id, time.time()))

    from barbossad.scheduler.model import compile_expression

    ticker.start(handler)
    now = datetime.now(UTC)
    ticker.set(7, compile_expression("* * * * * *"), UTC, now)
    ticker.set(8, compile_expression("0 0 1 1 *"), UTC, now)
    ticker.remove(8)
    ticker.remove(99)  # unknown: no error
    ticker.resume()
    schedule_id, at = await asyncio.wait_for(ticks.get(), 3)
    assert schedule_id == 7
    assert 0 <= at - int(at) < 0.1  # on the second
    ticker.pause()
    ticker.clear()
    ticker.shutdown()
    ticker.shutdown()  # idempotent
