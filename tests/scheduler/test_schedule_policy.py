"""The misfire policy as pure functions: due slots and the plan, by table and by property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_support import utc

from barbossad.scheduler.cron import CronExpression
from barbossad.scheduler.model import MisfirePolicy
from barbossad.scheduler.policy import DueSlots, due_slots, keep_for, plan

EVERY_SECOND = CronExpression.parse("* * * * * *")
HOURLY = CronExpression.parse("0 * * * *")
NOW = utc("2026-03-02T10:00:00.500000")


def _brute(expr: CronExpression, after: datetime, now: datetime) -> list[datetime]:
    return [t.astimezone(UTC) for t in expr.fire_times_between(after, now, UTC)]


def test_nothing_due_before_the_first_slot() -> None:
    due = due_slots(HOURLY, UTC, utc("2026-03-02T09:00:00"), utc("2026-03-02T09:59:59"), keep=3)
    assert (due.count, due.exact, due.first, due.tail) == (0, True, None, ())


def test_due_slots_counts_and_keeps_the_newest() -> None:
    due = due_slots(HOURLY, UTC, utc("2026-03-01T23:30:00"), NOW, keep=2)
    assert due.count == 11  # 00:00 .. 10:00
    assert due.exact
    assert due.first == utc("2026-03-02T00:00:00")
    assert due.tail == (utc("2026-03-02T09:00:00"), utc("2026-03-02T10:00:00"))


def test_a_month_of_seconds_is_bounded_and_still_finds_the_newest() -> None:
    after = NOW - timedelta(days=30)
    due = due_slots(EVERY_SECOND, UTC, after, NOW, keep=3, budget=1000)
    assert not due.exact
    assert 1000 <= due.count < 30 * 86400
    assert due.tail == (
        utc("2026-03-02T09:59:58"),
        utc("2026-03-02T09:59:59"),
        utc("2026-03-02T10:00:00"),
    )
    assert due.first == after.replace(microsecond=0) + timedelta(seconds=1)


@settings(max_examples=60, deadline=None)
@given(
    expression=st.sampled_from(
        ["* * * * * *", "*/7 * * * * *", "0 * * * *", "*/5 1-3 * * *", "0 0 1 * *"]
    ),
    span=st.integers(min_value=0, max_value=3 * 86400),
    keep=st.integers(min_value=1, max_value=6),
    budget=st.integers(min_value=1, max_value=400),
)
def test_due_slots_agrees_with_brute_force(
    expression: str, span: int, keep: int, budget: int
) -> None:
    expr = CronExpression.parse(expression)
    after = NOW - timedelta(seconds=span)
    expected = _brute(expr, after, NOW)
    due = due_slots(expr, UTC, after, NOW, keep=keep, budget=budget)
    assert due.tail == tuple(expected[-keep:])
    assert due.first == (expected[0] if expected else None)
    if due.exact:
        assert due.count == len(expected)
    else:
        assert min(budget, len(expected)) <= due.count <= len(expected)


def _due(n: int) -> DueSlots:  # n hourly slots ending at 10:00
    return due_slots(HOURLY, UTC, NOW - timedelta(hours=n), NOW, keep=20)


# (live, policy, limit, window hours, missed slots due) -> (current?, make-ups, missed)
PLANS = [
    (False, MisfirePolicy.SKIP, 10, None, 5, False, 0, 5),
    (False, MisfirePolicy.RUN_ONCE, 10, None, 5, False, 1, 4),
    (False, MisfirePolicy.RUN_ALL, 10, None, 5, False, 5, 0),
    (False, MisfirePolicy.RUN_ALL, 3, None, 5, False, 3, 2),
    (False, MisfirePolicy.RUN_ALL, 0, None, 5, False, 0, 5),
    (False, MisfirePolicy.RUN_ALL, 10, 2.5, 5, False, 3, 2),  # 08:00, 09:00, 10:00 are recent
    (False, MisfirePolicy.RUN_ONCE, 10, 0.1, 5, False, 1, 4),  # only 10:00 is within 6 min
    (True, MisfirePolicy.SKIP, 10, None, 5, True, 0, 4),
    (True, MisfirePolicy.RUN_ONCE, 10, None, 5, True, 1, 3),
    (True, MisfirePolicy.RUN_ALL, 2, None, 5, True, 2, 2),
    (True, MisfirePolicy.RUN_ALL, 10, None, 1, True, 0, 0),
    (False, MisfirePolicy.SKIP, 10, None, 0, False, 0, 0),
]


@pytest.mark.parametrize(
    ("live", "policy", "limit", "window", "n", "current", "makeups", "missed"), PLANS
)
def test_plan(
    live: bool,
    policy: MisfirePolicy,
    limit: int,
    window: float | None,
    n: int,
    current: bool,
    makeups: int,
    missed: int,
) -> None:
    due = _due(n)
    decided = plan(
        due, live=live, misfire=policy, limit=limit, window=window and window * 3600, now=NOW
    )
    assert (decided.current is not None) == current
    assert len(decided.makeups) == makeups
    assert decided.missed == missed
    if current:
        assert decided.current == due.newest
    assert list(decided.makeups) == sorted(decided.makeups)
    if decided.makeups:  # make-ups are the newest missed slots
        assert decided.makeups[-1] == (due.tail[-2] if live else due.tail[-1])
    if missed:
        assert decided.missed_newest is not None
        assert decided.missed_newest not in decided.makeups
        assert all(decided.missed_newest < m for m in decided.makeups)


def test_plan_with_a_window_too_short_for_any_slot() -> None:
    decided = plan(
        _due(3), live=False, misfire=MisfirePolicy.RUN_ALL, limit=10, window=0.1, now=NOW
    )
    assert (decided.makeups, decided.missed) == ((), 3)
    assert decided.missed_newest == utc("2026-03-02T10:00:00")


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=12),
    live=st.booleans(),
    policy=st.sampled_from(list(MisfirePolicy)),
    limit=st.integers(min_value=0, max_value=6),
)
def test_every_due_slot_is_accounted_for_once(
    n: int, live: bool, policy: MisfirePolicy, limit: int
) -> None:
    after = NOW - timedelta(hours=n)
    due = due_slots(HOURLY, UTC, after, NOW, keep=keep_for(policy, limit, live=live))
    decided = plan(due, live=live, misfire=policy, limit=limit, window=None, now=NOW)
    runs = len(decided.makeups) + (decided.current is not None)
    assert runs + decided.missed == due.count
    if due.count and decided.missed:
        assert decided.missed_newest is not None
