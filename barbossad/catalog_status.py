"""Template status in the database: kept in step with the catalogue, read back at startup.

Every change of a template's status (valid or not, its issues, the version in use) is written to
the store's `template_status` table, batched a few milliseconds, so `barbossactl templates`'
story survives a restart. At startup the stored rows also bring back the *last good version*
of a template whose file is broken: without them a restart would lose the version that was
running, since only the broken file is left on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from barbossad.catalog import TemplateCatalog, TemplateEntry
from barbossad.definitions.parse import dump_workflow, workflow_from_mapping
from barbossad.errors import BarbossaError
from barbossad.store.base import Store, StoredDefinition, TemplateStatus

log = logging.getLogger(__name__)

FLUSH_DELAY = 0.05


class CatalogStatusRecorder:
    """Writes catalogue status changes to the store; restores last good versions at startup."""

    def __init__(
        self, catalog: TemplateCatalog, store: Store, *, delay: float = FLUSH_DELAY
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.delay = delay
        self._stored: dict[str, TemplateStatus] = {}
        self._dirty: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task[None] | None = None
        catalog.on_status(self._mark)

    async def start(self) -> int:
        """Load stored statuses, restore last good versions, store what differs; count restores."""
        self._stored = {s.name: s for s in await self.store.list_template_status()}
        restored = 0
        for entry in self.catalog.entries():
            if entry.active is None and not entry.valid and await self._restore(entry):
                restored += 1
        self._dirty.update(self._stored)
        self._dirty.update(e.name for e in self.catalog.entries())
        await self.flush()
        return restored

    async def _restore(self, entry: TemplateEntry) -> bool:
        stored = self._stored.get(entry.name)
        if stored is None or not stored.active_hash or stored.path != str(entry.path):
            return False
        body = await self.store.get_definition(stored.active_hash)
        if body is None:
            return False
        try:
            definition = workflow_from_mapping(
                json.loads(body),
                source=f"{entry.path} (last good version)",
                registry=self.catalog.registry,
            )
        except (BarbossaError, ValueError) as exc:
            log.warning(
                "template %s: cannot restore its last good version %s: %s",
                entry.name,
                stored.active_hash[:12],
                exc,
            )
            return False
        return self.catalog.restore(entry.name, definition)

    async def stop(self) -> None:
        """Write what is still pending."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flush_task is not None:
            await self._flush_task
        await self.flush()

    def _mark(self, name: str) -> None:
        self._dirty.add(name)
        if self._timer is not None or (
            self._flush_task is not None and not self._flush_task.done()
        ):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not running on a loop (a synchronous embedding): flushed by start/stop
        self._timer = loop.call_later(self.delay, self._spawn_flush)

    def _spawn_flush(self) -> None:
        self._timer = None
        self._flush_task = asyncio.get_running_loop().create_task(self._flush_then_rearm())

    async def _flush_then_rearm(self) -> None:
        await self.flush()
        self._flush_task = None
        if self._dirty:
            self._mark(next(iter(self._dirty)))

    async def flush(self) -> None:
        """Write the statuses that changed since the last flush, in one transaction."""
        names, self._dirty = sorted(self._dirty), set()
        now = datetime.now(UTC)
        upserts: list[TemplateStatus] = []
        bodies: dict[str, StoredDefinition] = {}
        deletes: list[str] = []
        for name in names:
            entry = self.catalog.get(name)
            old = self._stored.get(name)
            if entry is None:
                if old is not None:
                    deletes.append(name)
                continue
            active = entry.active
            status = TemplateStatus(
                name=name,
                path=str(entry.path),
                valid=entry.valid,
                issues=entry.issues,
                active_hash=active.hash if active else "",
                updated_at=now,
            )
            if old is not None and _same(old, status):
                continue
            if active is not None and (old is None or old.active_hash != active.hash):
                body = json.dumps(dump_workflow(active), sort_keys=True)
                bodies[active.hash] = StoredDefinition(hash=active.hash, name=name, body=body)
            upserts.append(status)
        try:
            await self.store.save_template_status(upserts, list(bodies.values()))
            await self.store.delete_template_status(deletes)
        except Exception:
            # The in-memory catalogue stays authoritative; a template's next change (or the next
            # start) writes its row again. No retry loop: a broken database would spin it.
            log.exception("cannot store the status of %d template(s)", len(upserts) + len(deletes))
            return
        for status in upserts:
            self._stored[status.name] = status
        for name in deletes:
            self._stored.pop(name, None)


def _same(a: TemplateStatus, b: TemplateStatus) -> bool:
    return (a.path, a.valid, a.issues, a.active_hash) == (b.path, b.valid, b.issues, b.active_hash)
