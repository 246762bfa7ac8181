"""Which due slots run and which are recorded missed: the misfire policy as pure functions.

An *evaluation* of a schedule looks at its due slots: the slots after its baseline (the newest
slot already decided, or the moment it was added/resumed/changed) up to now. A live tick's own
slot is the newest due slot and is the *current* slot; every other due slot is *missed* (no tick
fired it: the daemon was down, the scheduler stopped, or the loop was blocked past a slot). At
start-up and on `scheduler start` there is no current slot: all due slots are missed.

Missed slots run as *make-ups* according to the misfire policy:

* ``skip``: none.
* ``run_once``: the newest missed slot that is within the catch-up window, if any.
* ``run_all``: the newest ``catch_up_limit`` missed slots within the window, oldest first.

Counting is bounded: a schedule that fires every second and was down for a month has millions
of due slots, so past ``COUNT_BUDGET`` the count becomes a lower bound and the newest slots are
found by searching back from now.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from barbossad.scheduler.cron import CronExpression
from barbossad.scheduler.model import MisfirePolicy

COUNT_BUDGET = 2000  # next_after costs ~10 us: at most ~20 ms of counting per evaluation
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class DueSlots:
    """The due slots of one evaluation (UTC), summarised."""

    count: int  # how many; a lower bound when not `exact`
    exact: bool
    first: datetime | None  # the oldest due slot
    tail: tuple[datetime, ...]  # the newest due slots, ascending

    @property
    def newest(self) -> datetime | None:
        """The newest due slot."""
        return self.tail[-1] if self.tail else None


NOTHING_DUE = DueSlots(0, True, None, ())


def due_slots(
    expression: CronExpression,
    zone: tzinfo,
    after: datetime,
    now: datetime,
    keep: int,
    budget: int = COUNT_BUDGET,
) -> DueSlots:
    """Slots in (after, now]: their count, the oldest, and the newest `keep` of them."""
    keep = max(keep, 1)
    tail: deque[datetime] = deque(maxlen=keep)
    count = 0
    first: datetime | None = None
    for slot in expression.iter_after(after, zone):
        slot = slot.astimezone(UTC)
        if slot > now:
            return DueSlots(count, True, first, tuple(tail))
        if first is None:
            first = slot
        count += 1
        tail.append(slot)
        if count >= budget:
            break
    return _search_back(expression, zone, now, keep, DueSlots(count, True, first, tuple(tail)))


def _search_back(
    expression: CronExpression, zone: tzinfo, now: datetime, keep: int, counted: DueSlots
) -> DueSlots:
    """Find the newest `keep` slots after those `counted`, up to now, scanning ever longer
    spans back from now."""
    counted_to = counted.tail[-1]
    span = _SECOND
    while True:
        start = max(now - span, counted_to)
        tail: deque[datetime] = deque(counted.tail if start == counted_to else (), maxlen=keep)
        found = 0
        for slot in expression.iter_after(start, zone):
            slot = slot.astimezone(UTC)
            if slot > now:
                break
            found += 1
            tail.append(slot)
        if start == counted_to:  # the whole remaining range was scanned: exact
            return DueSlots(counted.count + found, True, counted.first, tuple(tail))
        if found >= keep:
            return DueSlots(counted.count + found, False, counted.first, tuple(tail))
        span *= 2


@dataclass(frozen=True, slots=True)
class Plan:
    """What an evaluation does with its due slots."""

    current: datetime | None  # the live tick's own slot: fires now, under the overlap policy
    makeups: tuple[datetime, ...]  # missed slots that run anyway, oldest first
    missed: int  # missed slots that do not run
    missed_exact: bool
    missed_newest: datetime | None  # the newest of those (its row stands for all of them)


NO_PLAN = Plan(None, (), 0, True, None)


def makeup_count(misfire: MisfirePolicy, limit: int) -> int:
    """At most how many missed slots a policy runs."""
    if misfire is MisfirePolicy.RUN_ALL:
        return limit
    return 1 if misfire is MisfirePolicy.RUN_ONCE else 0


def keep_for(misfire: MisfirePolicy, limit: int, *, live: bool) -> int:
    """How many of the newest due slots `plan` needs to see."""
    return makeup_count(misfire, limit) + 1 + (1 if live else 0)


def plan(
    due: DueSlots,
    *,
    live: bool,
    misfire: MisfirePolicy,
    limit: int,
    window: float | None,
    now: datetime,
) -> Plan:
    """Split due slots into the current slot, make-ups, and misses (see the module docstring)."""
    if not due.count:
        return NO_PLAN
    tail = list(due.tail)
    current = tail.pop() if live else None
    candidates = due.count - (1 if live else 0)
    oldest_allowed = now - timedelta(seconds=window) if window is not None else None
    eligible = [s for s in tail if oldest_allowed is None or s >= oldest_allowed]
    wanted = makeup_count(misfire, limit)
    makeups = eligible[len(eligible) - wanted :] if wanted else []
    rest = tail[: len(tail) - len(makeups)]
    missed = candidates - len(makeups)
    newest_missed = rest[-1] if rest else due.first if missed else None
    return Plan(current, tuple(makeups), missed, due.exact, newest_missed)
