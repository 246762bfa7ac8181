"""Misfire policies: each catch-up policy starts exactly its documented number of runs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from schedule_support import START, FakeEngine, Rig, slot_of, utc

from barbossad.scheduler.fakes import FakeClock
from barbossad.scheduler.model import FireOutcome, MisfirePolicy, OverlapPolicy

# (policy fields, slots missed) -> catch-up runs expected
CATCH_UPS = [
    ({"misfire": MisfirePolicy.SKIP}, 5, 0),
    ({"misfire": MisfirePolicy.RUN_ONCE}, 5, 1),
    ({"misfire": MisfirePolicy.RUN_ALL, "catch_up_limit": 3}, 5, 3),
    ({"misfire": MisfirePolicy.RUN_ALL, "catch_up_limit": 10}, 5, 5),
    ({"misfire": MisfirePolicy.RUN_ALL, "catch_up_limit": 10, "catch_up_window": 2.0}, 5, 2),
    ({"misfire": MisfirePolicy.RUN_ONCE, "catch_up_window": 0.2}, 5, 0),
]


async def _run_everything(rig: Rig) -> None:
    """Finish runs until nothing more starts (queued catch-ups run one after another)."""
    while rig.engine.running:
        await rig.finish_all()


@pytest.mark.parametrize(("fields", "missed", "expected"), CATCH_UPS)
async def test_catch_up_after_a_crash(
    tmp_path: Path, fields: dict[str, Any], missed: int, expected: int
) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    sid = await rig.add("* * * * * *", **fields)
    await rig.advance(2)  # 10:00:01 and :02 fire
    await rig.finish_all()
    await rig.crash()  # kill -9 at 10:00:02.5
    rig.clock.advance(missed)  # down until 10:00:07.5: :03 .. :07 pass
    again = await rig.restarted().up()
    await _run_everything(again)
    caught_up = again.engine.slots(catch_up=True)
    assert len(caught_up) == expected
    assert caught_up == sorted(caught_up)
    assert all(utc("2026-03-02T10:00:03") <= s <= utc("2026-03-02T10:00:07") for s in caught_up)
    record = (await again.scheduler.get(sid)).record
    assert record.missed_count == missed - expected
    if missed > expected:
        fires = await again.store.list_fires(sid)
        summary = [f for f in fires if f.outcome is FireOutcome.MISSED]
        assert len(summary) == 1 and summary[0].slots == missed - expected
        assert "while the daemon was not running" in summary[0].reason
    # Every slot has at most one run, across both daemons; live ticks go on afterwards.
    await again.advance(1)
    slots = rig.engine.slots() + again.engine.slots()
    assert max(Counter(slots).values()) == 1
    assert utc("2026-03-02T10:00:08") in slots
    await again.down()


@pytest.mark.parametrize(("fields", "missed", "expected"), CATCH_UPS)
async def test_catch_up_on_scheduler_start(
    tmp_path: Path, fields: dict[str, Any], missed: int, expected: int
) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    sid = await rig.add("* * * * * *", **fields)
    await rig.scheduler.stop()
    rig.clock.advance(missed)
    assert await rig.advance(0) == 0  # stopped: no ticks
    await rig.scheduler.start()
    await rig.scheduler.idle()
    await _run_everything(rig)
    assert len(rig.engine.slots(catch_up=True)) == expected
    record = (await rig.scheduler.get(sid)).record
    assert record.missed_count == missed - expected
    if expected < missed:
        fires = await rig.store.list_fires(sid)
        summary = [f for f in fires if f.outcome is FireOutcome.MISSED]
        assert len(summary) == 1 and summary[0].slots == missed - expected
        assert "while the scheduler was stopped" in summary[0].reason
        assert f"misfire policy {fields['misfire'].value}" in summary[0].reason
    await rig.down()


@pytest.mark.parametrize(
    ("policy", "makeups"),
    [(MisfirePolicy.SKIP, 0), (MisfirePolicy.RUN_ONCE, 1), (MisfirePolicy.RUN_ALL, 2)],
)
async def test_a_tick_after_a_blocked_loop(
    tmp_path: Path, policy: MisfirePolicy, makeups: int
) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    sid = await rig.add("* * * * * *", misfire=policy, overlap=OverlapPolicy.ALLOW)
    await rig.advance(1)  # :01 on time
    rig.clock.advance(3)  # the loop is blocked until 10:00:04.5: no tick for :02 .. :04
    assert await rig.advance(0) == 1  # one coalesced tick: :04 is its own slot
    live = rig.engine.slots(catch_up=False)
    assert live == [utc("2026-03-02T10:00:01"), utc("2026-03-02T10:00:04")]
    assert len(rig.engine.slots(catch_up=True)) == makeups
    record = (await rig.scheduler.get(sid)).record
    assert record.missed_count == 2 - makeups
    await rig.down()


async def test_a_late_tick_still_fires_its_slot(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    sid = await rig.add("0 * * * *")  # hourly: 11:00 is the first slot
    assert await rig.advance(3600, late=900) == 1  # the tick arrives a quarter of an hour late
    assert rig.engine.slots() == [utc("2026-03-02T11:00:00")]
    record = (await rig.scheduler.get(sid)).record
    assert (record.missed_count, record.last_slot_outcome) == (0, FireOutcome.STARTED)
    await rig.down()


async def test_a_long_outage_is_counted_boundedly(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    sid = await rig.add("* * * * * *", misfire=MisfirePolicy.RUN_ONCE)
    await rig.crash()
    rig.clock.advance(7 * 86400)  # a week of per-second slots
    again = await rig.restarted().up()
    assert again.engine.slots(catch_up=True) == [utc("2026-03-09T10:00:00")]  # the newest
    record = (await again.scheduler.get(sid)).record
    assert record.missed_count >= 1999
    fires = await again.store.list_fires(sid)
    assert any("missed at least" in f.reason for f in fires)
    await again.down()


async def test_slots_before_a_schedule_existed_are_never_due(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    await rig.add("* * * * *", misfire=MisfirePolicy.RUN_ALL)  # every minute; added 10:00:00.5
    await rig.crash()
    rig.clock.advance(30)  # no minute boundary passed
    again = await rig.restarted().up()
    assert again.engine.runs == []
    await again.advance(30)
    assert [slot_of(r) for r in again.engine.runs] == [utc("2026-03-02T10:01:00")]
    await again.down()
