"""Test doubles for the scheduler's seams: a clock you set and a ticker that fires in its order.

clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
ticker = FakeTicker(clock)
scheduler = Scheduler(store=store, engine=engine, ticker=ticker, clock=clock)
await scheduler.open(); await scheduler.activate()
await ticker.advance(60)          # every tick due in the next minute, on time, in order
await ticker.advance(5, late=2)   # ticks arrive 2 s late
clock.advance(3600)               # an hour passes with no tick at all (a blocked loop)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from barbossad.scheduler.clock import TickHandler
from barbossad.scheduler.cron import CronExpression


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The time it was set to."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (backwards too: wall clocks do that)."""
        self._now = when.astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        """Move forward without any tick (as if the loop were blocked); returns the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now


class FakeTicker:
    """A `Ticker` that delivers ticks when the test advances time, one at a time, in order."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._handler: TickHandler | None = None
        self._jobs: dict[int, tuple[CronExpression, tzinfo, datetime]] = {}
        self.running = False
        self.shut_down = False

    def start(self, handler: TickHandler) -> None:
        """Remember the handler; paused until `resume`."""
        self._handler = handler

    def set(
        self, schedule_id: int, expression: CronExpression, zone: tzinfo, after: datetime
    ) -> None:
        """Tick at the schedule's fire times after `after`."""
        self._jobs[schedule_id] = (
            expression,
            zone,
            expression.next_after(after, zone).astimezone(UTC),
        )

    def remove(self, schedule_id: int) -> None:
        """Stop ticking a schedule."""
        self._jobs.pop(schedule_id, None)

    def clear(self) -> None:
        """Forget all schedules."""
        self._jobs.clear()

    def resume(self) -> None:
        """Deliver ticks."""
        self.running = True

    def pause(self) -> None:
        """Deliver none."""
        self.running = False

    def shutdown(self) -> None:
        """Stop for good."""
        self.running = False
        self.shut_down = True

    def next_ticks(self) -> dict[int, datetime]:
        """When each schedule ticks next."""
        return {schedule_id: job[2] for schedule_id, job in self._jobs.items()}

    async def advance(self, seconds: float, *, late: float = 0.0) -> int:
        """Advance the clock by `seconds`, delivering due ticks; see `advance_to`."""
        return await self.advance_to(self._clock.now() + timedelta(seconds=seconds), late=late)

    async def advance_to(self, when: datetime, *, late: float = 0.0) -> int:
        """Move the clock to `when`, delivering every tick due on the way in time order, each
        `late` seconds after its fire time (a late tick covers the slots it passed, as
        APScheduler's coalescing does). Returns how many ticks were delivered."""
        delivered = 0
        lateness = timedelta(seconds=late)
        while self.running and self._handler is not None:
            due = [(at, sid) for sid, (_, _, at) in self._jobs.items() if at <= when]
            if not due:
                break
            at, schedule_id = min(due)
            self._clock.set(max(self._clock.now(), at + lateness))
            expression, zone, _ = self._jobs[schedule_id]
            following = expression.next_after(max(at, self._clock.now()), zone).astimezone(UTC)
            self._jobs[schedule_id] = (expression, zone, following)
            await self._handler(schedule_id)
            delivered += 1
        if self._clock.now() < when:
            self._clock.set(when)
        return delivered
