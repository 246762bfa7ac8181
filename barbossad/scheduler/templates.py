"""Template schedules follow their template: `schedule:` is declarative and hot-reloaded.

The index-th entry of template T is stored under the origin key ``template:T#index``. On every
change the catalogue reports, T's stored schedules are made to match its entries: new entries
are added, removed ones deleted (with their slot rows), and a changed entry keeps its id and
history but starts afresh, as a new schedule would: only slots after the change are due.
`enabled: false` pauses an entry. A deleted template takes its schedules with it; runs in
flight finish. A template whose file turned invalid keeps its last good schedules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from barbossad.definitions.model import WorkflowDef
from barbossad.scheduler.clock import Clock
from barbossad.scheduler.model import TemplateSchedule, TemplateSync, template_schedule
from barbossad.store.schedules import ScheduleStore

if TYPE_CHECKING:
    from barbossad.scheduler.manager import CatalogPort, Scheduler

log = logging.getLogger(__name__)


def declared(name: str, definition: WorkflowDef | None) -> list[TemplateSchedule]:
    """The schedules a template's active definition declares (none once it is removed)."""
    found = []
    for index, entry in enumerate(definition.schedules if definition else ()):
        try:
            found.append(template_schedule(name, index, entry))
        except ValueError as exc:  # parse validates policies; this guards older stored files
            log.error("template %s: schedule entry %d ignored: %s", name, index, exc)
    return found


class TemplateSchedules:
    """Keeps the stored template schedules, and the scheduler's runtimes, in step."""

    def __init__(
        self,
        scheduler: Scheduler,
        store: ScheduleStore,
        clock: Clock,
        catalog: CatalogPort | None,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._scheduler = scheduler
        self._store = store
        self._clock = clock
        self._catalog = catalog
        self._spawn = spawn
        self._lock = asyncio.Lock()  # syncs apply in the order the catalogue reported them

    async def sync_all(self) -> None:
        """At start-up: match every template in the catalogue, then follow its changes."""
        if self._catalog is None:
            return
        names = set()
        for entry in self._catalog.entries():
            names.add(entry.name)
            if entry.active is not None:
                await self._store.upsert_template_schedules(
                    entry.name, declared(entry.name, entry.active), self._clock.now()
                )
        removed = await self._store.remove_template_schedules(names)
        if removed:
            log.info("removed %d schedule(s) of templates that no longer exist", len(removed))
        self._catalog.on_change(self._on_change)

    def _on_change(self, name: str, definition: WorkflowDef | None) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            log.error(
                "template %s changed outside the event loop; its schedules follow on reload", name
            )
            return
        self._spawn(self._sync_quietly(name, definition))

    async def _sync_quietly(self, name: str, definition: WorkflowDef | None) -> None:
        await self.sync(name, definition)

    async def sync(self, name: str, definition: WorkflowDef | None) -> TemplateSync:
        """Make template `name`'s schedules match its definition (None: it was removed)."""
        async with self._lock:
            result = await self._store.upsert_template_schedules(
                name, declared(name, definition), self._clock.now()
            )
            for schedule_id in result.removed:
                rt = self._scheduler.unload(schedule_id)
                if rt is not None:
                    rt.queue.clear()  # their rows went with the schedule's
            for schedule_id in (*result.changed, *result.added):
                record = await self._store.get_schedule(schedule_id)
                if record is None:
                    continue
                old = self._scheduler.runtime(schedule_id)
                if old is not None:
                    async with old.lock:
                        await self._scheduler.drop_waiting(old, "the template's schedule changed")
                self._scheduler.load(record)
        if result.added or result.changed or result.removed:
            log.info(
                "template %s: schedules %d added, %d changed, %d removed",
                name,
                len(result.added),
                len(result.changed),
                len(result.removed),
            )
        return result
