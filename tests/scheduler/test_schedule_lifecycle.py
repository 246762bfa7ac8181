"""One run per slot, pause/resume, scheduler stop/start (persisted), and add-time validation."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from schedule_support import START, FakeEngine, Rig, utc

from barbossad.errors import (
    DefinitionError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from barbossad.scheduler.cron import CronError
from barbossad.scheduler.fakes import FakeClock
from barbossad.scheduler.model import (
    FireOutcome,
    MisfirePolicy,
    OverlapPolicy,
    SchedulerState,
    ScheduleSpec,
    TemplateSchedule,
)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    yield rig
    await rig.down()


# ---- at most one automatic run per slot ---------------------------------------------------


async def test_record_fire_is_unique_per_slot(rig: Rig) -> None:
    sid = await rig.add("* * * * * *")
    slot = utc("2026-03-02T11:00:00")
    assert await rig.store.record_fire(sid, slot, FireOutcome.STARTED)
    assert not await rig.store.record_fire(sid, slot, FireOutcome.STARTED)
    assert not await rig.store.record_missed(sid, slot, 3, "x")
    assert [f.outcome for f in await rig.store.list_fires(sid)] == [FireOutcome.STARTED]


async def test_a_repeated_tick_does_not_refire_its_slot(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.ALLOW)
    await rig.advance(1)
    await rig.scheduler.tick(sid)
    await rig.scheduler.tick(sid)
    assert len(rig.engine.runs) == 1


async def test_restarts_at_the_same_instant_never_refire(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    await rig.add("* * * * * *", misfire=MisfirePolicy.RUN_ALL, overlap=OverlapPolicy.ALLOW)
    engines = [rig.engine]
    for _ in range(3):
        await rig.advance(2)
        await rig.crash()  # kill -9, and back up within the same second
        rig = await rig.restarted().up()
        engines.append(rig.engine)
    await rig.advance(1)
    slots = [s for e in engines for s in e.slots()]
    assert max(Counter(slots).values()) == 1
    assert len(slots) == 7  # 10:00:01 .. :07, each once
    await rig.down()


async def test_a_crash_between_the_row_and_the_run_gives_no_second_run(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    sid = await rig.add("* * * * * *", misfire=MisfirePolicy.RUN_ALL)
    slot = utc("2026-03-02T10:00:01")
    assert await rig.store.record_fire(sid, slot, FireOutcome.STARTED)  # ... and then kill -9
    await rig.crash()
    rig.clock.advance(1)
    again = await rig.restarted().up()
    assert slot not in again.engine.slots()
    fires = {f.slot: f for f in await again.store.list_fires(sid)}
    assert fires[slot].outcome is FireOutcome.FAILED
    assert "stopped first while its run was being started" in fires[slot].reason
    await again.down()


async def test_slots_left_queued_by_a_crash_become_missed(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.QUEUE_ALL)
    await rig.advance(3)  # :01 runs, :02 and :03 wait
    await rig.crash()
    again = await rig.restarted().up()
    fires = {f"{f.slot:%S}": f for f in await again.store.list_fires(sid)}
    assert [fires[s].outcome for s in ("01", "02", "03")] == [
        FireOutcome.STARTED,
        FireOutcome.MISSED,
        FireOutcome.MISSED,
    ]
    assert (await again.scheduler.get(sid)).record.missed_count == 2
    assert again.engine.runs == []
    await again.down()


# ---- pause and resume ---------------------------------------------------------------------


async def test_pause_stops_ticks_and_resume_does_not_catch_up(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", misfire=MisfirePolicy.RUN_ALL)
    view = await rig.scheduler.pause(sid)
    assert view.record.paused and view.next_fire_time is None
    assert sid not in rig.ticker.next_ticks()
    await rig.advance(5)
    assert rig.engine.runs == []
    view = await rig.scheduler.resume(sid)
    assert not view.record.paused
    assert view.next_fire_time == utc("2026-03-02T10:00:06")
    await rig.advance(1)
    assert rig.engine.slots() == [utc("2026-03-02T10:00:06")]  # nothing from the pause


async def test_pause_gives_up_waiting_slots(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.QUEUE_ALL)
    await rig.advance(2)
    await rig.scheduler.pause(sid)
    await rig.finish_all()
    assert len(rig.engine.runs) == 1
    fires = {f"{f.slot:%S}": f for f in await rig.store.list_fires(sid)}
    assert fires["02"].outcome is FireOutcome.SKIPPED
    assert fires["02"].reason == "skipped: the schedule was paused"


async def test_remove_stops_the_schedule_but_not_its_run(rig: Rig) -> None:
    sid = await rig.add("* * * * * *")
    await rig.advance(1)
    await rig.scheduler.remove(sid)
    await rig.advance(3)
    assert len(rig.engine.runs) == 1 and rig.engine.cancelled == []
    with pytest.raises(NotFoundError, match=f"no schedule with id {sid}"):
        await rig.scheduler.get(sid)
    await rig.finish_all()  # the hook of a removed schedule's run is harmless


# ---- scheduler stop / start ---------------------------------------------------------------


async def test_stop_and_start_are_persisted_across_restarts(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    await rig.add("* * * * * *", misfire=MisfirePolicy.RUN_ONCE)
    status = await rig.scheduler.stop()
    assert status.state is SchedulerState.STOPPED and status.next_fire_time is None
    await rig.advance(3)
    assert rig.engine.runs == []
    await rig.down()
    rig.clock.advance(3)
    again = await rig.restarted().up()
    status = await again.scheduler.status()
    assert (status.state, status.schedule_count) == (SchedulerState.STOPPED, 1)
    await again.advance(3)
    assert again.engine.runs == []  # still stopped: no catch-up, no ticks
    status = await again.scheduler.start()
    await again.scheduler.idle()
    assert status.state is SchedulerState.RUNNING
    assert status.next_fire_time == utc("2026-03-02T10:00:10") and status.next_workflow == "backup"
    assert again.engine.slots(catch_up=True) == [utc("2026-03-02T10:00:09")]  # run_once
    await again.finish_all()
    await again.advance(1)
    assert again.engine.slots(catch_up=False) == [utc("2026-03-02T10:00:10")]
    await again.down()
    third = await again.restarted().up()
    assert (await third.scheduler.status()).state is SchedulerState.RUNNING
    await third.down()


async def test_stop_gives_up_waiting_slots_but_lets_runs_finish(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.QUEUE_ONE)
    await rig.advance(2)
    await rig.scheduler.stop()
    assert rig.engine.cancelled == [] and len(rig.engine.running) == 1
    await rig.finish_all()
    assert len(rig.engine.runs) == 1
    fires = {f"{f.slot:%S}": f for f in await rig.store.list_fires(sid)}
    assert fires["02"].reason == "skipped: the scheduler was stopped"


# ---- validation ---------------------------------------------------------------------------


async def test_add_validates_with_clear_messages(rig: Rig) -> None:
    with pytest.raises(CronError, match=r"cron expression '61 \* \* \* \*'"):
        await rig.add("61 * * * *")
    with pytest.raises(CronError, match="unknown time zone 'Mars/Base'"):
        await rig.add("0 2 * * 0", timezone="Mars/Base")
    with pytest.raises(NotFoundError, match="'nope'"):
        await rig.add("0 2 * * 0", workflow="nope")
    with pytest.raises(DefinitionError, match=r"parameters\.tagret"):
        await rig.add("0 2 * * 0", parameters={"tagret": "x"})
    with pytest.raises(
        InvalidArgumentError, match="catch_up_limit must be within 0-1000, got 5000"
    ):
        await rig.add("0 2 * * 0", catch_up_limit=5000)
    assert (await rig.scheduler.status()).schedule_count == 0


async def test_add_uses_the_zone_it_names(rig: Rig) -> None:
    spec = ScheduleSpec(workflow="backup", expression="0 2 * * *", timezone="Asia/Tokyo")
    view = await rig.scheduler.add(spec)
    assert view.next_fire_time == utc("2026-03-02T17:00:00")  # 02:00 JST on March 3rd


async def test_unknown_ids_are_not_found(rig: Rig) -> None:
    for action in (rig.scheduler.pause, rig.scheduler.resume, rig.scheduler.remove):
        with pytest.raises(NotFoundError, match="no schedule with id 42"):
            await action(42)


async def test_template_schedules_cannot_be_changed_through_the_api(rig: Rig) -> None:
    spec = ScheduleSpec(workflow="backup", expression="* * * * *")
    sync = await rig.store.upsert_template_schedules(
        "backup", [TemplateSchedule(origin_key="template:backup#0", spec=spec)], START
    )
    (sid,) = sync.added
    with pytest.raises(
        FailedPreconditionError, match="declared by the `schedule:` of template 'backup'"
    ):
        await rig.scheduler.remove(sid)
    with pytest.raises(FailedPreconditionError, match="cannot be paused"):
        await rig.scheduler.pause(sid)
