"""APScheduler 3 as the tick source, and the embeddable `WorkflowSchedulerService`.

This is the only module that imports apscheduler. APScheduler only *ticks*: each schedule is one
job in a MemoryJobStore (no pickling) whose trigger wraps our `CronExpression` (APScheduler's
own CronTrigger numbers weekdays differently from cron), with coalescing on, no misfire grace
(a late tick still fires; it is never dropped) and no instance limit. A tick calls
`Scheduler.tick(schedule_id)`, which works out the due slots from our tables.

    from barbossad import WorkflowSchedulerService
    WorkflowSchedulerService(base_dir).add_scheduled_workflow("backup", "0 2 * * 0", enabled=True)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger

from barbossad.catalog import SUFFIXES
from barbossad.definitions.model import WorkflowDef
from barbossad.errors import NotFoundError
from barbossad.scheduler.clock import Clock, TickHandler
from barbossad.scheduler.cron import CronExpression
from barbossad.scheduler.manager import Scheduler
from barbossad.scheduler.model import (
    DEFAULT_CATCH_UP_LIMIT,
    MisfirePolicy,
    OverlapPolicy,
    ScheduleOrigin,
    ScheduleRecord,
    ScheduleSpec,
)
from barbossad.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from barbossad.engine.engine import WorkflowEngine

__all__ = ["ApschedulerTicker", "CronTrigger", "WorkflowSchedulerService", "build_scheduler"]

_T = TypeVar("_T")
_EPSILON = timedelta(microseconds=1)
# APScheduler sleeps on the loop's monotonic clock until the next fire time, computed from the
# wall clock: after the wall clock jumps forward (resume from suspend, an NTP step) that sleep
# ends late by the whole jump. A wakeup this often bounds the lateness; it costs nothing
# measurable (APScheduler then looks at the first job only).
WALL_CLOCK_CHECK = 60.0
_JOB_DEFAULTS = {
    "misfire_grace_time": None,  # never drop a late tick (the default grace is one second)
    "coalesce": True,  # one call covers every slot a late tick passed; we count them ourselves
    "max_instances": 2**31 - 1,  # overlap is our policy, not APScheduler's
}


class CronTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger that asks our CronExpression for the next fire time."""

    __slots__ = ("expression", "zone")

    def __init__(self, expression: CronExpression, zone: tzinfo) -> None:
        self.expression = expression
        self.zone = zone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        """The first fire time after the previous one, never before now (see coalesce)."""
        if previous_fire_time is not None and previous_fire_time >= now:
            return self.expression.next_after(previous_fire_time, self.zone)
        return self.expression.next_after(now - _EPSILON, self.zone)

    def __str__(self) -> str:
        return f"cron[{self.expression.text}]"


def _quiet_apscheduler() -> None:
    # APScheduler logs every job added and every execution at INFO; with thousands of schedules
    # that drowns the journal, and our own log line says what each fire did.
    logger = logging.getLogger("apscheduler")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


class ApschedulerTicker:
    """The production `Ticker`: an AsyncIOScheduler on the daemon's loop."""

    def __init__(self) -> None:
        _quiet_apscheduler()
        self._scheduler = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": AsyncIOExecutor()},
            job_defaults=_JOB_DEFAULTS,
            timezone=UTC,
        )
        self._handler: TickHandler | None = None
        self._check: asyncio.TimerHandle | None = None

    def start(self, handler: TickHandler) -> None:
        """Start on the running loop, paused."""
        self._handler = handler
        self._scheduler.start(paused=True)
        self._check = asyncio.get_running_loop().call_later(WALL_CLOCK_CHECK, self._wake)

    def _wake(self) -> None:
        if self._scheduler.state == STATE_RUNNING:
            self._scheduler.wakeup()
        if self._scheduler.state != STATE_STOPPED:
            self._check = asyncio.get_running_loop().call_later(WALL_CLOCK_CHECK, self._wake)

    def set(
        self, schedule_id: int, expression: CronExpression, zone: tzinfo, after: datetime
    ) -> None:
        """Add or replace a schedule's job; it first ticks at its first fire time after `after`."""
        self._scheduler.add_job(
            self._handler,
            CronTrigger(expression, zone),
            args=(schedule_id,),
            id=str(schedule_id),
            name=f"schedule {schedule_id}",
            next_run_time=expression.next_after(after, zone),
            replace_existing=True,
        )

    def remove(self, schedule_id: int) -> None:
        """Remove a schedule's job, if any."""
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(str(schedule_id))

    def clear(self) -> None:
        """Remove every job."""
        self._scheduler.remove_all_jobs()

    def resume(self) -> None:
        """Process jobs."""
        if self._scheduler.state != STATE_STOPPED:
            self._scheduler.resume()

    def pause(self) -> None:
        """Process none (a pending wakeup finds nothing to do)."""
        if self._scheduler.state == STATE_RUNNING:
            self._scheduler.pause()

    def shutdown(self) -> None:
        """Shut APScheduler down (it does so on the loop's next iteration)."""
        if self._check is not None:
            self._check.cancel()
        if self._scheduler.state != STATE_STOPPED:
            self._scheduler.pause()
            self._scheduler.shutdown(wait=False)


def build_scheduler(engine: WorkflowEngine, *, clock: Clock | None = None) -> Scheduler:
    """The daemon's scheduler: the engine's store and catalogue, ticked by APScheduler."""
    return Scheduler(
        store=engine.store,
        engine=engine,
        ticker=ApschedulerTicker(),
        clock=clock,
        catalog=engine.catalog,
    )


def _drive(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a SQLiteStore coroutine to completion synchronously, inside or outside a loop.

    SQLiteStore's methods are async for the Protocol's sake but never suspend (they run short
    sqlite3 transactions directly), so one send() finishes them.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a SQLiteStore call suspended; use the daemon's API instead")


class WorkflowSchedulerService:
    """Persist API schedules without a daemon, in the database under `base_dir`.

    A running daemon on the same state directory picks new schedules up on its next start or
    `barbossactl reload`. Methods are synchronous and safe to call from inside an event loop.
    """

    def __init__(self, base_dir: str | Path, *, templates_dir: str | Path | None = None) -> None:
        base = Path(base_dir)
        base.mkdir(parents=True, exist_ok=True)
        self.store = SQLiteStore.open(base / "workflows.db")
        self.templates_dir = Path(templates_dir) if templates_dir else base / "workflow_templates"

    def add_scheduled_workflow(
        self,
        workflow_id: str | WorkflowDef,
        cron: str,
        enabled: bool = True,
        *,
        timezone: str = "",
        misfire: MisfirePolicy | str = MisfirePolicy.SKIP,
        overlap: OverlapPolicy | str = OverlapPolicy.SKIP,
        catch_up_limit: int = DEFAULT_CATCH_UP_LIMIT,
        catch_up_window: float | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> int:
        """Schedule a stored workflow or a template; returns the id (paused unless enabled)."""
        name = workflow_id.name if isinstance(workflow_id, WorkflowDef) else workflow_id
        spec = ScheduleSpec(
            workflow=name,
            expression=cron,
            timezone=timezone,
            misfire=MisfirePolicy(misfire),
            overlap=OverlapPolicy(overlap),
            catch_up_limit=catch_up_limit,
            catch_up_window=catch_up_window,
            parameters=dict(parameters or {}),
        )
        spec.compile()
        if not self._exists(name):
            raise NotFoundError(
                f"no workflow named {name!r}: neither stored in {self.store.path} nor a template "
                f"in {self.templates_dir}"
            )
        record = _drive(
            self.store.add_schedule(
                spec, origin=ScheduleOrigin.API, at=datetime.now(UTC), paused=not enabled
            )
        )
        return record.id

    def _exists(self, name: str) -> bool:
        if _drive(self.store.get_workflow(name)) is not None:
            return True
        return any((self.templates_dir / f"{name}{suffix}").is_file() for suffix in SUFFIXES)

    def remove_scheduled_workflow(self, schedule_id: int) -> bool:
        """Delete a schedule; False when there was none."""
        return _drive(self.store.delete_schedule(schedule_id))

    def list_scheduled_workflows(self, workflow: str = "") -> list[ScheduleRecord]:
        """The stored schedules (of one workflow)."""
        return _drive(self.store.list_schedules(workflow))

    def close(self) -> None:
        """Close the database."""
        _drive(self.store.close())

    def __enter__(self) -> WorkflowSchedulerService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
