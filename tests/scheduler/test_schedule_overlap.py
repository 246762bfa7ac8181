"""Overlap policies, fired through a fake clock and ticker on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from schedule_support import START, FakeEngine, Rig, slot_of, utc

from barbossad.scheduler.fakes import FakeClock
from barbossad.scheduler.model import FireOutcome, MisfirePolicy, OverlapPolicy


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    yield rig
    await rig.down()


async def outcomes(rig: Rig, schedule_id: int) -> dict[str, tuple[FireOutcome, str, int | None]]:
    """Slot (HH:MM:SS) -> (outcome, reason, run id)."""
    fires = await rig.store.list_fires(schedule_id)
    return {f"{f.slot:%H:%M:%S}": (f.outcome, f.reason, f.run_id) for f in reversed(fires)}


async def test_skip_records_each_skipped_slot_with_the_run_it_would_overlap(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.SKIP)
    assert await rig.advance(3) == 3
    assert [r.id for r in rig.engine.runs] == [1]
    fires = await outcomes(rig, sid)
    assert fires["10:00:01"][0] is FireOutcome.STARTED and fires["10:00:01"][2] == 1
    for slot in ("10:00:02", "10:00:03"):
        outcome, reason, run_id = fires[slot]
        assert outcome is FireOutcome.SKIPPED and run_id is None
        assert reason == "skipped: run 1 of this schedule was still running (overlap policy skip)"
    record = (await rig.scheduler.get(sid)).record
    assert record.skipped_count == 2
    assert (record.last_slot_outcome, record.last_slot) == (
        FireOutcome.SKIPPED,
        utc("2026-03-02T10:00:03"),
    )
    await rig.finish_all()
    await rig.advance(1)
    assert [slot_of(r) for r in rig.engine.runs] == [
        utc("2026-03-02T10:00:01"),
        utc("2026-03-02T10:00:04"),
    ]


async def test_queue_one_keeps_only_the_newest_waiting_slot(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.QUEUE_ONE)
    await rig.advance(3)
    fires = await outcomes(rig, sid)
    assert fires["10:00:02"][0] is FireOutcome.SKIPPED
    assert (
        "replaced by the newer slot 2026-03-02T10:00:03Z (overlap policy queue_one)"
        in fires["10:00:02"][1]
    )
    assert fires["10:00:03"][0] is FireOutcome.QUEUED
    assert len(rig.engine.runs) == 1
    await rig.finish_all()  # run 1 ends: the waiting slot starts
    assert [f"{slot_of(r):%S}" for r in rig.engine.runs] == ["01", "03"]
    fires = await outcomes(rig, sid)
    assert fires["10:00:03"][0] is FireOutcome.STARTED and fires["10:00:03"][2] == 2
    assert (await rig.scheduler.get(sid)).record.skipped_count == 1


async def test_queue_all_runs_every_slot_one_after_another(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.QUEUE_ALL)
    await rig.advance(4)
    assert len(rig.engine.runs) == 1
    for expected in range(2, 5):
        assert len(rig.engine.running) == 1  # never two at once
        await rig.finish_all()
        assert len(rig.engine.runs) == expected
    assert [f"{slot_of(r):%S}" for r in rig.engine.runs] == ["01", "02", "03", "04"]
    record = (await rig.scheduler.get(sid)).record
    assert (record.skipped_count, record.missed_count) == (0, 0)


async def test_cancel_previous_cancels_then_starts(rig: Rig) -> None:
    sid = await rig.add("* * * * * *", overlap=OverlapPolicy.CANCEL_PREVIOUS)
    await rig.advance(2)
    assert rig.engine.cancelled == [1]
    assert [r.id for r in rig.engine.runs] == [1, 2]
    assert list(rig.engine.running) == [2]
    fires = await outcomes(rig, sid)
    assert fires["10:00:02"] == (
        FireOutcome.STARTED,
        "cancelled run 1 (overlap policy cancel_previous)",
        2,
    )
    record = (await rig.scheduler.get(sid)).record
    assert record.last_run_id == 2


async def test_allow_starts_every_slot_at_once(rig: Rig) -> None:
    await rig.add("* * * * * *", overlap=OverlapPolicy.ALLOW)
    await rig.advance(3)
    assert sorted(rig.engine.running) == [1, 2, 3]


async def test_overlap_is_per_schedule(rig: Rig) -> None:
    await rig.add("* * * * * *", overlap=OverlapPolicy.SKIP)
    await rig.add("*/2 * * * * *", overlap=OverlapPolicy.SKIP)
    await rig.advance(2)
    assert len(rig.engine.runs) == 2  # :01 of the first, :02 of the second


async def test_catch_up_runs_are_never_dropped_by_overlap_skip(rig: Rig) -> None:
    sid = await rig.add(
        "* * * * * *", overlap=OverlapPolicy.SKIP, misfire=MisfirePolicy.RUN_ALL, catch_up_limit=3
    )
    await rig.scheduler.stop()
    rig.clock.advance(5)  # 10:00:01 .. 10:00:05 pass while stopped
    await rig.scheduler.start()
    await rig.scheduler.idle()
    assert rig.engine.slots(catch_up=True) == [utc("2026-03-02T10:00:03")]  # oldest first
    await rig.advance(1)  # the live :06 finds the schedule busy: skipped
    for _ in range(2):
        await rig.finish_all()
    assert [f"{s:%S}" for s in rig.engine.slots(catch_up=True)] == ["03", "04", "05"]
    fires = await outcomes(rig, sid)
    assert fires["10:00:06"][0] is FireOutcome.SKIPPED
    assert fires["10:00:02"][0] is FireOutcome.MISSED


async def test_a_fire_that_cannot_start_is_recorded_failed(rig: Rig) -> None:
    sid = await rig.add("* * * * * *")
    rig.engine.refuse = "no workflow or template named 'backup'"
    await rig.advance(1)
    fires = await outcomes(rig, sid)
    assert fires["10:00:01"] == (FireOutcome.FAILED, "no workflow or template named 'backup'", None)
    rig.engine.refuse = ""
    await rig.advance(1)  # not busy: the failed slot left nothing in flight
    assert len(rig.engine.runs) == 1


async def test_the_completion_hook_records_the_outcome(rig: Rig) -> None:
    from barbossad.models import RunState

    sid = await rig.add("* * * * * *")
    await rig.advance(1)
    record = (await rig.scheduler.get(sid)).record
    assert (record.last_run_id, record.last_outcome) == (1, RunState.RUNNING)
    await rig.engine.finish(1, RunState.FAILED)
    record = (await rig.scheduler.get(sid)).record
    assert record.last_outcome is RunState.FAILED
    assert record.last_fire_time == utc("2026-03-02T10:00:01")
