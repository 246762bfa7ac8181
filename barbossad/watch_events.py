"""File events -> which template paths to look at again, and when; coalesced across threads.

Pure and thread-safe, no asyncio: the watchdog thread calls `classify` and `PendingPaths.add`,
the event loop calls `PendingPaths.take_due`. Events only say *which path* to re-examine; what
the path holds is decided by reading it when it is due, so the order in which inotify reports a
rename, a delete and a re-create does not matter.

How soon a path is due depends on what happened to it:
- the write is over (IN_CLOSE_WRITE) or a file was renamed into place: at once;
- a file was created, modified or chmod-ed: after SETTLE seconds of quiet (a writer may still be
  writing, and its close will make it due at once anyway);
- a file was deleted or renamed away: after GONE seconds, so an editor that moves the old file
  aside and writes a new one (vim's backup dance) never makes the workflow blink out;
- the directory itself was removed, replaced or renamed: after DIRECTORY seconds.
A path that keeps changing is still looked at MAX_WAIT seconds after its first event.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
)

from barbossad.catalog import is_template_file

IMMEDIATE = 0.0
SETTLE = 0.05
GONE = 0.1
DIRECTORY = 0.2
MAX_WAIT = 1.0

# The events the directory watch asks the kernel for (IN_OPEN/IN_ACCESS/IN_CLOSE_NOWRITE are
# left out: our own reads would otherwise echo back as events).
FILE_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
# What the watch on the parent needs to see the templates directory (or its symlink) replaced.
ENTRY_EVENTS: list[type[FileSystemEvent]] = [
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
]
_ENTRY_TYPES = tuple(ENTRY_EVENTS)
_SETTLE_TYPES = (FileCreatedEvent, FileModifiedEvent, FileAttribEvent)


@dataclass(frozen=True, slots=True)
class Look:
    """Look at this template file (by file name) again after `delay`; name None: the directory."""

    name: str | None
    delay: float


def classify(event: FileSystemEvent, directory: str) -> list[Look]:
    """The looks an event asks for; `directory` is the watched path, normalised."""
    src = os.fsdecode(event.src_path)
    dest = os.fsdecode(event.dest_path) if event.dest_path else ""
    if directory in (src, dest):
        return [Look(None, DIRECTORY)] if isinstance(event, _ENTRY_TYPES) else []
    if event.is_directory:
        return []
    if isinstance(event, FileMovedEvent):
        candidates = [(src, GONE), (dest, IMMEDIATE)]
    elif isinstance(event, FileClosedEvent):
        candidates = [(src, IMMEDIATE)]
    elif isinstance(event, FileDeletedEvent):
        candidates = [(src, GONE)]
    elif isinstance(event, _SETTLE_TYPES):
        candidates = [(src, SETTLE)]
    else:
        return []
    return [
        Look(os.path.basename(path), delay)
        for path, delay in candidates
        if path and os.path.dirname(path) == directory and is_template_file(Path(path))
    ]


@dataclass(slots=True)
class Batch:
    """What is due now, from `PendingPaths.take_due`."""

    names: list[str] = field(default_factory=list)  # file names, the earliest due first
    directory: bool = False  # check whether the directory was replaced
    rescan: bool = False  # events were lost: reconcile the whole directory
    next_due: float | None = None  # monotonic time of the next due look, if any


class PendingPaths:
    """Looks not yet due, one per path (the earliest deadline wins only for IMMEDIATE ones).

    Bounded: past `limit` distinct paths the looks are dropped for one full rescan, which covers
    them all. `wake` is called (from the adding thread) when the consumer must re-check.
    """

    def __init__(
        self, limit: int, wake: Callable[[], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._wake = wake
        self._clock = clock
        self._lock = threading.Lock()
        self._due: dict[str, tuple[float, float]] = {}  # name -> (deadline, first seen)
        self._directory: float | None = None
        self._rescan = False
        self._wake_pending = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._due)

    def add(self, look: Look) -> None:
        """Record a look; for one path, a later event postpones a settling deadline."""
        now = self._clock()
        with self._lock:
            if look.name is None:
                deadline = now + look.delay
                self._directory = (
                    deadline if self._directory is None else max(self._directory, deadline)
                )
            elif look.name in self._due or len(self._due) < self._limit:
                self._due[look.name] = _deadline(self._due.get(look.name), look.delay, now)
            else:
                self._due.clear()
                self._rescan = True
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self._wake()

    def request_rescan(self) -> None:
        """Ask for a full rescan (the kernel dropped events, or an operator asked)."""
        with self._lock:
            self._due.clear()
            self._rescan = True
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self._wake()

    def take_due(self) -> Batch:
        """Remove and return what is due now; re-arms the wake-up for later adds."""
        now = self._clock()
        batch = Batch()
        with self._lock:
            self._wake_pending = False
            batch.rescan, self._rescan = self._rescan, False
            if self._directory is not None and self._directory <= now:
                batch.directory, self._directory = True, None
            due = sorted((d, n) for n, (d, _) in self._due.items() if d <= now)
            for _, name in due:
                del self._due[name]
            batch.names = [name for _, name in due]
            later = [d for d, _ in self._due.values()]
            if self._directory is not None:
                later.append(self._directory)
            batch.next_due = min(later) if later else None
        return batch


def _deadline(current: tuple[float, float] | None, delay: float, now: float) -> tuple[float, float]:
    first = current[1] if current else now
    if delay == IMMEDIATE:
        return now, first
    deadline = max(current[0], now + delay) if current else now + delay
    return min(deadline, first + MAX_WAIT), first
