"""Hot reload: watchdog thread -> loop.call_soon_threadsafe -> per-path coalescing -> reload a path.

Three kinds of thread, each with one job:
- watchdog's threads turn inotify events into *looks* ("re-examine x.yaml in 50 ms") recorded in
  `PendingPaths`, coalesced per path, and wake the loop with `call_soon_threadsafe`;
- one worker thread reads and validates the files that are due, one at a time (so a hostile file
  costs at most one parse's memory, and a slow parse never blocks the loop);
- the event loop applies each result to the catalogue: an atomic swap of the template's entry,
  which tells the schedules and triggers through `TemplateCatalog.on_change`, and records the
  status in the database (`CatalogStatusRecorder`).
A file that is invalid keeps its last good version active; a file that is gone removes its
template (runs in flight keep the definition they started with).

Belt and braces: a stat sweep every `sweep_interval` seconds re-reads what changed unnoticed (a
lost inotify event, a filesystem without inotify), and a watch on the parent directory notices
the templates directory itself being replaced, removed or swapped for a symlink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver, ObservedWatch

from barbossad.catalog import (
    FileSignature,
    ReadResult,
    ReloadSummary,
    TemplateCatalog,
    is_template_file,
)
from barbossad.catalog_status import CatalogStatusRecorder
from barbossad.store.base import Store
from barbossad.watch_events import (
    ENTRY_EVENTS,
    FILE_EVENTS,
    IMMEDIATE,
    Look,
    PendingPaths,
    classify,
)
from barbossad.watch_observer import make_observer

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 30.0
MAX_PENDING = 10_000
READ_BUDGET = 0.05  # seconds of reading per trip to the worker thread before the loop applies


class _Handler(FileSystemEventHandler):
    """Runs on watchdog's thread: classify, record, never raise (that would end the observer)."""

    def __init__(self, directory: str, pending: PendingPaths) -> None:
        self.directory = directory
        self.pending = pending

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            for look in classify(event, self.directory):
                self.pending.add(look)
        except Exception:
            log.exception("file event %r could not be handled", event)


class TemplateWatcher:
    """Keeps a `TemplateCatalog` in step with its directory while the daemon runs."""

    def __init__(
        self,
        catalog: TemplateCatalog,
        *,
        store: Store | None = None,
        sweep_interval: float = SWEEP_INTERVAL,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.catalog = catalog
        self.recorder = CatalogStatusRecorder(catalog, store) if store is not None else None
        self.sweep_interval = sweep_interval
        self.directory = os.path.normpath(os.path.abspath(catalog.directory))
        self.pending = PendingPaths(max_pending, self._wake_threadsafe)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="barbossa-reload")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._observer: BaseObserver | None = None
        self._handler = _Handler(self.directory, self.pending)
        self._watch: ObservedWatch | None = None
        self._dir_id: tuple[int, int] | None = None
        self._rescans: list[asyncio.Future[ReloadSummary]] = []
        self._task: asyncio.Task[None] | None = None
        self._next_sweep = 0.0
        self.applied = 0  # results applied (for tests and status)

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore stored status, start watching, and catch up with changes since the last scan."""
        self._loop = asyncio.get_running_loop()
        if self.recorder is not None:
            restored = await self.recorder.start()
            if restored:
                log.info("restored the last good version of %d invalid template(s)", restored)
        observer = self._observer = make_observer(self.pending.request_rescan)
        # Started before scheduling: on a running observer a watch that cannot be added fails
        # alone, in schedule(), instead of failing observer.start() for every watch.
        observer.start()
        self._watch_directory()
        parent = os.path.dirname(self.directory)
        try:
            observer.schedule(self._handler, parent, event_filter=ENTRY_EVENTS)
        except OSError as exc:
            log.info("not watching %s for the templates directory being replaced: %s", parent, exc)
        self._task = asyncio.create_task(self._run(), name="template-watcher")
        await self._sweep()  # what changed between the initial scan and the watch
        log.info("watching %s for template changes", self.directory)

    async def stop(self) -> None:
        """Stop watching; pending looks are dropped, the status written."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for future in self._rescans:
            future.cancel()
        if self._observer is not None:
            self._observer.stop()
            await asyncio.to_thread(self._observer.join, 5.0)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.recorder is not None:
            await self.recorder.stop()

    async def rescan(self) -> ReloadSummary:
        """Re-read every file now (SIGHUP, `barbossactl reload`); waits for the result."""
        if self._task is None or self._task.done():
            return self.catalog.scan()  # not watching (yet, or any more): scan in place
        future: asyncio.Future[ReloadSummary] = asyncio.get_running_loop().create_future()
        self._rescans.append(future)
        self._wake.set()
        return await future

    def _wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._wake.set)

    # ---- the pump: one consumer, so results for a path are applied in order ---------------

    async def _run(self) -> None:
        self._next_sweep = time.monotonic() + self.sweep_interval
        while True:
            try:
                await self._step()
            except Exception:
                log.exception("template watcher: unexpected error; carrying on")
                await asyncio.sleep(0.1)  # never spin on a persistent fault

    async def _step(self) -> None:
        batch = self.pending.take_due()
        if batch.directory:
            self._check_directory()
        if batch.rescan or self._rescans:
            await self._full_rescan()
        elif batch.names:
            await self._reload([self.catalog.directory / n for n in batch.names])
        elif time.monotonic() >= self._next_sweep:
            await self._sweep()
            self._next_sweep = time.monotonic() + self.sweep_interval
        else:
            until = min(batch.next_due or self._next_sweep, self._next_sweep)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, until - time.monotonic())):
                    await self._wake.wait()

    async def _reload(self, paths: list[Path], summary: ReloadSummary | None = None) -> None:
        loop = asyncio.get_running_loop()
        while paths:
            results = await loop.run_in_executor(self._executor, self._read_some, paths)
            for result in results:
                self._apply(result, summary)
            paths = paths[len(results) :]

    def _read_some(self, paths: list[Path]) -> list[ReadResult]:
        """Worker thread: read paths until READ_BUDGET is spent (at least one)."""
        started = time.perf_counter()
        results: list[ReadResult] = []
        for path in paths:
            results.append(self.catalog.read(path))
            if time.perf_counter() - started >= READ_BUDGET:
                break
        return results

    def _apply(self, result: ReadResult, summary: ReloadSummary | None) -> None:
        name = result.path.stem
        before = self.catalog.definition(name)
        try:
            valid = self.catalog.apply(result)
        except Exception:
            log.exception("template file %s: could not apply the reload", result.path)
            return
        self.applied += 1
        if summary is not None and result.present:
            summary.loaded += valid
            summary.invalid += not valid
            if self.catalog.definition(name) is not before:
                summary.changed.append(name)

    async def _full_rescan(self) -> None:
        futures, self._rescans = self._rescans, []
        summary = ReloadSummary()
        try:
            loop = asyncio.get_running_loop()
            paths = sorted(await loop.run_in_executor(self._executor, self.catalog.list_files))
            await self._reload(paths, summary)
            summary.removed = self.catalog.forget_missing(set(paths))
        except Exception as exc:
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
            raise
        log.info(
            "templates rescanned: %d valid, %d invalid, %d removed",
            summary.loaded,
            summary.invalid,
            summary.removed,
        )
        for future in futures:
            if not future.done():
                future.set_result(summary)

    async def _sweep(self) -> None:
        """Look again at every file whose stat changed unnoticed, and at vanished ones."""
        self._check_directory()
        loop = asyncio.get_running_loop()
        listing = await loop.run_in_executor(self._executor, _stat_all, self.catalog.directory)
        known = self.catalog.signatures()
        stale = [p for p, sig in listing.items() if known.get(p) != sig]
        stale += [p for p in known if p not in listing]
        if stale:
            log.info("sweep: %d template file(s) changed without an event", len(stale))
        for path in stale:
            self.pending.add(Look(path.name, IMMEDIATE))

    # ---- the directory itself ---------------------------------------------------------------

    def _watch_directory(self) -> None:
        assert self._observer is not None
        if self._watch is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._observer.unschedule(self._watch)
            self._watch = None
        self._dir_id = _identity(self.directory)
        if self._dir_id is None:
            return
        try:
            self._watch = self._observer.schedule(
                self._handler, self.directory, event_filter=FILE_EVENTS, follow_symlink=True
            )
        except OSError as exc:
            log.warning(
                "cannot watch %s (%s); changes are found by the sweep every %.0fs",
                self.directory,
                exc,
                self.sweep_interval,
            )

    def _check_directory(self) -> None:
        identity = _identity(self.directory)
        if identity == self._dir_id:
            if self._watch is None and identity is not None:
                self._watch_directory()  # an earlier attempt failed: try again
            return
        log.warning(
            "templates directory %s was replaced or removed: watching it anew", self.directory
        )
        self._watch_directory()
        self.pending.request_rescan()


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _stat_all(directory: Path) -> dict[Path, FileSignature]:
    out: dict[Path, FileSignature] = {}
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            path = directory / entry.name
            if not is_template_file(path):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat()
                if not entry.is_dir():
                    out[path] = FileSignature.of(st)
    return out
