"""The scheduler: schedules from templates and the API, kept in memory, ticked, stopped, started.

Life cycle (daemon.py): `open()` after crash recovery (loads schedules, settles slots a crash
left queued, syncs template schedules, subscribes to template changes), `activate()` just
before READY (catches up missed slots, then lets the ticker fire, unless the persisted state is
stopped), `close()` first on shutdown (nothing new fires while runs drain).

Catch-up (the misfire policy) happens at `activate()` and `start()`, and whenever a tick finds
older slots due besides its own; it is computed from the tables: the slots after each
schedule's newest decided slot, up to now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.variables import resolve_parameters
from barbossad.errors import BarbossaError, FailedPreconditionError, NotFoundError
from barbossad.scheduler.clock import Clock, SystemClock, Ticker
from barbossad.scheduler.firing import EnginePort, Firing, Runtime
from barbossad.scheduler.model import (
    ScheduleOrigin,
    ScheduleRecord,
    SchedulerState,
    SchedulerStatus,
    ScheduleSpec,
    ScheduleView,
)
from barbossad.scheduler.templates import TemplateSchedules
from barbossad.store.base import Store

log = logging.getLogger(__name__)

STATE_KEY = "scheduler.state"
FIRE_RETENTION = timedelta(days=7)
PRUNE_INTERVAL = 6 * 3600.0


class CatalogPort(Protocol):
    """The part of TemplateCatalog the scheduler follows."""

    def on_change(self, listener: Any) -> None: ...

    def entries(self) -> Iterable[Any]: ...


class Scheduler:
    """Owns the schedules' runtimes, the ticker, and the persisted running/stopped state."""

    def __init__(
        self,
        *,
        store: Store,
        engine: EnginePort,
        ticker: Ticker,
        clock: Clock | None = None,
        catalog: CatalogPort | None = None,
        prune_interval: float | None = PRUNE_INTERVAL,
    ) -> None:
        self._store = store
        self._engine = engine
        self._ticker = ticker
        self._clock = clock or SystemClock()
        self._prune_interval = prune_interval
        self._runtimes: dict[int, Runtime] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._firing = Firing(store, engine, self._clock, self._spawn, self._runtimes.get)
        self._templates = TemplateSchedules(self, store, self._clock, catalog, self._spawn)
        self.state = SchedulerState.RUNNING
        self._opened = False
        self._closed = False

    # ---- life cycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Load everything; no slot fires until `activate()`."""
        settled = await self._store.settle_after_restart("the daemon stopped first")
        if settled:
            log.warning(
                "%d scheduled slot(s) were waiting or starting when the daemon stopped", settled
            )
        stored = await self._store.get_state(STATE_KEY)
        self.state = (
            SchedulerState.STOPPED if stored == SchedulerState.STOPPED else SchedulerState.RUNNING
        )
        await self._templates.sync_all()
        for record in await self._store.list_schedules():
            self.load(record)
        self._engine.add_completion_hook(self._firing.on_run_finished)
        self._ticker.start(self.tick)
        self._opened = True
        log.info("scheduler %s with %d schedule(s)", self.state.value, len(self._runtimes))
        if self._prune_interval is not None:
            self._spawn(self._prune_forever(self._prune_interval))

    async def activate(self) -> None:
        """Begin firing (catching up first) unless the persisted state is stopped."""
        if self.state is SchedulerState.RUNNING:
            await self._begin("while the daemon was not running")

    async def close(self) -> None:
        """Stop firing for good (the persisted state is kept); runs in flight are not touched."""
        if self._closed:
            return
        self._closed = True
        await self._halt("the daemon is stopping")
        self._ticker.shutdown()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def start(self) -> SchedulerStatus:
        """`scheduler start`: persist running, catch up what was missed, fire again."""
        await self._store.set_state(STATE_KEY, SchedulerState.RUNNING.value)
        if self.state is not SchedulerState.RUNNING:
            self.state = SchedulerState.RUNNING
            log.info("scheduler started")
            if self._opened and not self._closed:
                await self._begin("while the scheduler was stopped")
        return await self.status()

    async def stop(self) -> SchedulerStatus:
        """`scheduler stop`: persist stopped; nothing fires until `start` (runs continue)."""
        await self._store.set_state(STATE_KEY, SchedulerState.STOPPED.value)
        if self.state is not SchedulerState.STOPPED:
            self.state = SchedulerState.STOPPED
            log.info("scheduler stopped")
            await self._halt("the scheduler was stopped")
        return await self.status()

    async def _begin(self, why: str) -> None:
        self._firing.active = True
        for rt in list(self._runtimes.values()):
            if rt.record.paused:
                continue
            try:
                async with rt.lock:
                    await self._firing.evaluate(rt, live=False, why=why)
            except Exception:  # one schedule's failure must not keep the others from firing
                log.exception("schedule %d (%s): catch-up failed", rt.id, rt.spec.workflow)
            if self._runtimes.get(rt.id) is rt:
                self._ticker.set(rt.id, rt.expression, rt.zone, rt.baseline)
        self._ticker.resume()

    async def _halt(self, reason: str) -> None:
        self._firing.active = False
        self._ticker.pause()
        self._ticker.clear()
        for rt in list(self._runtimes.values()):
            await self._firing.drop_waiting(rt, reason)

    async def tick(self, schedule_id: int) -> None:
        """The ticker's callback: decide the due slots of one schedule."""
        rt = self._runtimes.get(schedule_id)
        if rt is None or rt.record.paused or not self._firing.active:
            return
        try:
            async with rt.lock:
                if self._firing.active and self._runtimes.get(schedule_id) is rt:
                    await self._firing.evaluate(rt, live=True, why="before its tick arrived")
        except Exception:
            log.exception("schedule %d (%s): tick failed", schedule_id, rt.spec.workflow)

    # ---- runtimes --------------------------------------------------------------------------

    def load(self, record: ScheduleRecord) -> Runtime | None:
        """Hold a stored schedule in memory (replacing an older copy) and tick it if active."""
        old = self._runtimes.get(record.id)
        try:
            expression, zone = record.spec.compile()
        except BarbossaError as exc:
            log.error("schedule %d (%s) cannot fire: %s", record.id, record.workflow, exc)
            self.unload(record.id)
            return None
        rt = Runtime(record=record, expression=expression, zone=zone, baseline=record.baseline)
        if old is not None:  # keep what is in flight; a changed spec restarts from the record
            rt.inflight, rt.queue, rt.lock = old.inflight, old.queue, old.lock
        self._runtimes[record.id] = rt
        if record.paused or not self._firing.active:
            self._ticker.remove(record.id)
        else:
            self._ticker.set(record.id, expression, zone, rt.baseline)
        return rt

    def unload(self, schedule_id: int) -> Runtime | None:
        """Forget a schedule: no more ticks; its runs in flight go on."""
        self._ticker.remove(schedule_id)
        return self._runtimes.pop(schedule_id, None)

    async def drop_waiting(self, rt: Runtime, reason: str) -> None:
        """Give up a schedule's waiting slots (recorded skipped with `reason`)."""
        await self._firing.drop_waiting(rt, reason)

    def runtime(self, schedule_id: int) -> Runtime | None:
        """The in-memory state of a schedule."""
        return self._runtimes.get(schedule_id)

    # ---- schedules -------------------------------------------------------------------------

    async def add(self, spec: ScheduleSpec, *, paused: bool = False) -> ScheduleView:
        """Validate and persist an API schedule for an existing workflow; ticks from now."""
        spec.compile()
        definition: WorkflowDef = await self._engine.resolve(spec.workflow)
        resolve_parameters(definition, spec.parameters)
        record = await self._store.add_schedule(
            spec, origin=ScheduleOrigin.API, at=self._clock.now(), paused=paused
        )
        self.load(record)
        log.info("schedule %d added: %s %r", record.id, spec.workflow, spec.expression)
        return self._view(record)

    async def remove(self, schedule_id: int) -> None:
        """Delete an API schedule; its runs in flight finish."""
        record = await self._api_schedule(schedule_id, "removed")
        rt = self.unload(schedule_id)
        if rt is not None:
            rt.queue.clear()  # their rows go with the schedule's
        await self._store.delete_schedule(record.id)
        log.info("schedule %d (%s) removed", record.id, record.workflow)

    async def pause(self, schedule_id: int) -> ScheduleView:
        """Stop firing one schedule; its waiting slots are skipped, its runs go on."""
        return await self._set_paused(schedule_id, True)

    async def resume(self, schedule_id: int) -> ScheduleView:
        """Fire a paused schedule again, from now: slots during the pause are not caught up."""
        return await self._set_paused(schedule_id, False)

    async def _set_paused(self, schedule_id: int, paused: bool) -> ScheduleView:
        record = await self._api_schedule(schedule_id, "paused" if paused else "resumed")
        rt = self._runtimes.get(schedule_id)
        if rt is not None and paused:
            async with rt.lock:
                await self._firing.drop_waiting(rt, "the schedule was paused")
        updated = await self._store.update_schedule(record.id, paused=paused, at=self._clock.now())
        if updated is None:
            raise NotFoundError(f"no schedule with id {schedule_id}")
        self.load(updated)
        log.info(
            "schedule %d (%s) %s", record.id, record.workflow, "paused" if paused else "resumed"
        )
        return self._view(updated)

    async def _api_schedule(self, schedule_id: int, verb: str) -> ScheduleRecord:
        record = await self._store.get_schedule(schedule_id)
        if record is None:
            raise NotFoundError(
                f"no schedule with id {schedule_id} (see 'barbossactl schedule list')"
            )
        if record.origin is ScheduleOrigin.TEMPLATE:
            raise FailedPreconditionError(
                f"schedule {schedule_id} is declared by the `schedule:` of template "
                f"{record.workflow!r} and cannot be {verb} through the API; edit the template "
                "(`enabled: false` pauses an entry) or use 'barbossactl scheduler stop'"
            )
        return record

    async def get(self, schedule_id: int) -> ScheduleView:
        """One schedule, as listed."""
        record = await self._store.get_schedule(schedule_id)
        if record is None:
            raise NotFoundError(f"no schedule with id {schedule_id}")
        return self._view(record)

    async def list(self, workflow: str = "") -> list[ScheduleView]:
        """All schedules (of one workflow), with their next fire times."""
        return [self._view(r) for r in await self._store.list_schedules(workflow)]

    def _view(self, record: ScheduleRecord) -> ScheduleView:
        rt = self._runtimes.get(record.id)
        firing = self.state is SchedulerState.RUNNING and not record.paused and rt is not None
        return ScheduleView(
            record=record,
            next_fire_time=rt.next_fire_time(self._clock.now()) if firing and rt else None,
        )

    async def status(self) -> SchedulerStatus:
        """Running or stopped, how many schedules, and which fires next."""
        total, paused = await self._store.count_schedules()
        next_time: datetime | None = None
        next_workflow = ""
        if self.state is SchedulerState.RUNNING:
            now = self._clock.now()
            for rt in self._runtimes.values():
                if not rt.record.paused:
                    when = rt.next_fire_time(now)
                    if next_time is None or when < next_time:
                        next_time, next_workflow = when, rt.spec.workflow
        return SchedulerStatus(
            state=self.state,
            schedule_count=total,
            paused_count=paused,
            next_fire_time=next_time,
            next_workflow=next_workflow,
        )

    async def refresh(self) -> None:
        """Re-read the schedules table (picks up schedules added without the daemon)."""
        records = {r.id: r for r in await self._store.list_schedules()}
        for schedule_id in [i for i in self._runtimes if i not in records]:
            self.unload(schedule_id)
        for record in records.values():
            rt = self._runtimes.get(record.id)
            if rt is None or rt.record.spec != record.spec or rt.record.paused != record.paused:
                self.load(record)

    # ---- background work -------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._closed:
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduler background task failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Wait until background work (template syncs, queue drains) is done (for tests)."""
        while pending := [t for t in self._tasks if not t.done() and t.get_name() != "prune"]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _prune_forever(self, interval: float) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.set_name("prune")
        while True:
            try:
                pruned = await self._store.prune_fires(self._clock.now() - FIRE_RETENTION)
            except Exception:
                log.exception("pruning old schedule slot rows failed")
            else:
                if pruned:
                    log.info("pruned %d schedule slot row(s) older than %s", pruned, FIRE_RETENTION)
            await asyncio.sleep(interval)
