"""The scheduler's two seams: the clock it reads and the tick source that wakes it.

Production uses `SystemClock` and the APScheduler-backed ticker in `service.py`; tests use
`barbossad.scheduler.fakes` (a clock they advance and a ticker that fires in clock order).
A ticker only says "schedule N may have a due slot now"; which slots are due, and what happens
to them, the scheduler works out from its own tables, so a late, early or repeated tick is
harmless.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from barbossad.scheduler.cron import CronExpression

TickHandler = Callable[[int], Awaitable[None]]


class Clock(Protocol):
    """Tells the time."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """datetime.now(UTC)."""
        return datetime.now(UTC)


class Ticker(Protocol):
    """Calls the handler with a schedule id at each of its fire times, once running."""

    def start(self, handler: TickHandler) -> None:
        """Begin, paused: no ticks until `resume`."""
        ...

    def set(
        self, schedule_id: int, expression: CronExpression, zone: tzinfo, after: datetime
    ) -> None:
        """Tick this schedule at its fire times after `after` (replacing an earlier `set`)."""
        ...

    def remove(self, schedule_id: int) -> None:
        """Stop ticking this schedule (no error if unknown)."""
        ...

    def clear(self) -> None:
        """Forget every schedule."""
        ...

    def resume(self) -> None:
        """Deliver ticks."""
        ...

    def pause(self) -> None:
        """Deliver no ticks until `resume`."""
        ...

    def shutdown(self) -> None:
        """Stop for good."""
        ...
