"""`file_watch` triggers: a watchdog thread -> loop.call_soon_threadsafe -> debounce -> a run.

One Observer thread serves every watch. Its handler only forwards (kind, path) to the event loop;
matching, debouncing and starting runs happen on the loop. Each changed path of each trigger is
debounced on its own: a path's run starts once the path has been quiet for `debounce` seconds,
with the burst's net change (`deleted` if it ended deleted, else `created` or `moved` if it
appeared, else `modified`), and only if that change is one the trigger listens for. So a file
that is created and then written for a while starts one run, as `created`, after the last write.

A directory is watched itself (with `recursive`, its subdirectories too); a file, or a path that
does not exist yet, is watched through its parent directory, which must exist when the template
loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import logging
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from barbossad.definitions.trigger_model import FileChange, FileWatchTrigger
from barbossad.definitions.triggers import FILE_WATCH_PARAMETERS
from barbossad.models import TriggerType
from barbossad.triggers.base import Launcher

log = logging.getLogger(__name__)

_KINDS = frozenset({"created", "modified", "deleted", "moved"})


@dataclass(slots=True)
class _Watch:
    """One `file_watch` trigger of one workflow, resolved to what is watched."""

    workflow: str
    trigger: FileWatchTrigger
    target: str  # the trigger's path, normalised
    is_dir: bool
    directory: str  # what the observer watches: the target, or its parent
    passes: frozenset[str]  # the trigger parameters the workflow declares
    serial: int = 0

    def covers(self, path: str) -> bool:
        """True if a change of `path` concerns this trigger."""
        if not self.is_dir:
            return path == self.target
        if path == self.target:
            return False
        inside = path.startswith(self.target.rstrip(os.sep) + os.sep)
        if not inside or (not self.trigger.recursive and os.path.dirname(path) != self.target):
            return False
        pattern = self.trigger.pattern
        return pattern is None or fnmatch.fnmatchcase(os.path.basename(path), pattern)


@dataclass(slots=True)
class _Burst:
    changes: list[FileChange] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


def net_change(changes: Sequence[FileChange]) -> FileChange:
    """What a burst of changes to one path amounts to."""
    if changes[-1] is FileChange.DELETED:
        return FileChange.DELETED
    for appeared in (FileChange.CREATED, FileChange.MOVED):
        if appeared in changes:
            return appeared
    return changes[-1]


class _Forwarder(FileSystemEventHandler):
    """Runs on the observer thread: hands each relevant event to the loop, nothing else."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, deliver: Callable[[str, str, str, bool], None]
    ) -> None:
        self._loop = loop
        self._deliver = deliver

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _KINDS:
            return  # opened/closed/attrib: reading a file must not trigger a run
        src, dest = os.fsdecode(event.src_path), os.fsdecode(event.dest_path or "")
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            self._loop.call_soon_threadsafe(
                self._deliver, event.event_type, src, dest, event.is_directory
            )


class FileWatcher:
    """Every loaded workflow's `file_watch` triggers, on one watchdog Observer thread."""

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher
        self._watches: dict[str, list[_Watch]] = {}
        self._scheduled: dict[tuple[str, bool], tuple[Any, int]] = {}  # -> (ObservedWatch, users)
        self._bursts: dict[tuple[int, str], _Burst] = {}  # (watch serial, path) -> burst
        self._by_id: dict[int, _Watch] = {}
        self._serials = itertools.count(1)
        self._tasks: set[asyncio.Task[object]] = set()
        self._observer: Any = None
        self._handler: _Forwarder | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Bind to the running loop; the observer thread starts with the first watch."""
        self._loop = asyncio.get_running_loop()
        self._handler = _Forwarder(self._loop, self._on_event)

    def set_workflow(
        self, workflow: str, triggers: Sequence[FileWatchTrigger], declared: Collection[str]
    ) -> None:
        """Replace the `file_watch` triggers of `workflow` (none: stop watching for it)."""
        for old in self._watches.pop(workflow, []):
            self._forget(old)
        watches = [
            w for w in (self._resolve(workflow, t, declared) for t in triggers) if w is not None
        ]
        for watch in watches:
            if self._schedule(watch.directory, watch.trigger.recursive and watch.is_dir):
                watch.serial = next(self._serials)
                self._by_id[watch.serial] = watch
                self._watches.setdefault(workflow, []).append(watch)
                log.info("workflow %s watches %s", workflow, watch.target)

    def watched(self, workflow: str) -> list[str]:
        """The paths `workflow`'s triggers watch."""
        return [w.target for w in self._watches.get(workflow, [])]

    async def stop(self) -> None:
        """Stop the observer thread and drop pending bursts; let started launches finish."""
        for burst in self._bursts.values():
            if burst.timer is not None:
                burst.timer.cancel()
        self._bursts.clear()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            await asyncio.to_thread(observer.join, 10)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- loop side ------------------------------------------------------------------------

    def _resolve(
        self, workflow: str, trigger: FileWatchTrigger, declared: Collection[str]
    ) -> _Watch | None:
        target = os.path.normpath(trigger.path)
        is_dir = os.path.isdir(target)
        directory = target if is_dir else os.path.dirname(target)
        if not os.path.isdir(directory):
            log.warning(
                "workflow %s: file_watch (line %d): %s does not exist; not watched until a reload",
                workflow,
                trigger.line,
                directory,
            )
            return None
        passes = frozenset(name for name in FILE_WATCH_PARAMETERS if name in declared)
        return _Watch(
            workflow=workflow,
            trigger=trigger,
            target=target,
            is_dir=is_dir,
            directory=directory,
            passes=passes,
        )

    def _forget(self, watch: _Watch) -> None:
        self._by_id.pop(watch.serial, None)
        for key in [k for k in self._bursts if k[0] == watch.serial]:
            timer = self._bursts.pop(key).timer
            if timer is not None:
                timer.cancel()
        self._unschedule(watch.directory, watch.trigger.recursive and watch.is_dir)

    def _on_event(self, kind: str, src: str, dest: str, is_dir: bool) -> None:
        if kind == "modified" and is_dir:
            return  # a directory's mtime changes whenever an entry does; the entry's event counts
        if kind == "moved":
            changes = [(src, FileChange.DELETED), (dest, FileChange.MOVED)]
        else:
            changes = [(src, FileChange(kind))]
        for path, change in changes:
            for watch in list(self._by_id.values()):
                if path and watch.covers(path):
                    self._note(watch, path, change)

    def _note(self, watch: _Watch, path: str, change: FileChange) -> None:
        assert self._loop is not None
        key = (watch.serial, path)
        burst = self._bursts.setdefault(key, _Burst())
        burst.changes.append(change)
        if burst.timer is not None:
            burst.timer.cancel()
        burst.timer = self._loop.call_later(watch.trigger.debounce, self._fire, key)

    def _fire(self, key: tuple[int, str]) -> None:
        burst = self._bursts.pop(key, None)
        watch = self._by_id.get(key[0])
        if burst is None or watch is None:
            return
        path, change = key[1], net_change(burst.changes)
        if change not in watch.trigger.events:
            log.debug(
                "workflow %s: %s %s, not a change its file_watch listens for",
                watch.workflow,
                path,
                change,
            )
            return
        values = {"changed_path": path, "change": change.value}
        parameters = {name: values[name] for name in watch.passes}
        launch = self.launcher.launch(
            watch.workflow,
            TriggerType.FILE_WATCH,
            parameters,
            triggered_by=f"file {change.value}: {path}",
        )
        task: asyncio.Task[object] = asyncio.ensure_future(launch)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- the observer ---------------------------------------------------------------------

    def _schedule(self, directory: str, recursive: bool) -> bool:
        key = (directory, recursive)
        if key in self._scheduled:
            watch, users = self._scheduled[key]
            self._scheduled[key] = (watch, users + 1)
            return True
        if self._handler is None:
            raise RuntimeError("FileWatcher.start() must be called on the event loop first")
        if self._observer is None:
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
        try:
            watch = self._observer.schedule(self._handler, directory, recursive=recursive)
        except OSError as exc:
            log.warning("cannot watch %s: %s", directory, exc.strerror or exc)
            return False
        self._scheduled[key] = (watch, 1)
        return True

    def _unschedule(self, directory: str, recursive: bool) -> None:
        key = (directory, recursive)
        entry = self._scheduled.get(key)
        if entry is None:
            return
        watch, users = entry
        if users > 1:
            self._scheduled[key] = (watch, users - 1)
            return
        del self._scheduled[key]
        if self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except (KeyError, OSError) as exc:
                log.debug("unscheduling %s: %r", directory, exc)
