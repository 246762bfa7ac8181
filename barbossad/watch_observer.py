"""The watchdog observer hot reload runs on: inotify without the move-pairing stall, else polling.

watchdog holds every IN_MOVED_FROM for up to 0.5 s to pair it with its IN_MOVED_TO, and its
queue is first-in first-out, so one file moved *out* of the directory delays every later event
by half a second (https://github.com/gorakhargosh/watchdog/issues/390, and PR #477 which kept
"move events will stall the queue"). The watcher does not need pairs: an event only names a path
to re-examine. So the emitter here sets that delay to zero, and reports unpaired moves as moves
(`InotifyFullEmitter`) so a rename into place is not mistaken for a file being created.

Both tweaks reach into watchdog internals, guarded: if a watchdog release moves them, hot reload
still works, with the old half-second stall after a move out of the directory. The emitter also
tells the watcher when the kernel's inotify queue overflowed (events were lost: rescan).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0


def make_observer(on_overflow: Callable[[], None]) -> BaseObserver:
    """An inotify observer with prompt moves, or a polling one where inotify is unavailable."""
    try:
        from watchdog.observers.inotify import InotifyFullEmitter, InotifyObserver
    except ImportError:  # not Linux
        log.warning(
            "inotify is not available; polling the templates directory every %.0fs", POLL_INTERVAL
        )
        return PollingObserver(timeout=POLL_INTERVAL)

    class PromptEmitter(InotifyFullEmitter):
        """InotifyFullEmitter without the move-pairing delay, reporting queue overflows."""

        def on_thread_start(self) -> None:
            super().on_thread_start()
            _tune(self, on_overflow)

    try:
        observer = InotifyObserver(generate_full_events=True)
    except OSError as exc:  # e.g. fs.inotify.max_user_instances reached
        log.warning(
            "cannot use inotify (%s); polling the templates directory every %.0fs",
            exc,
            POLL_INTERVAL,
        )
        return PollingObserver(timeout=POLL_INTERVAL)
    if hasattr(observer, "_emitter_class"):
        observer._emitter_class = PromptEmitter
    else:
        log.debug(
            "watchdog internals changed: moves out of the directory may stall events for 0.5s"
        )
    return observer


def _tune(emitter: Any, on_overflow: Callable[[], None]) -> None:
    group = getattr(emitter, "_inotify", None)
    # watchdog >= 7: a watch group with a move grouper; 5.x-6.x: an InotifyBuffer with the queue.
    grouper = getattr(group, "_move_event_grouper", group)
    queue = getattr(grouper, "_queue", None)
    if queue is not None and hasattr(queue, "delay"):
        queue.delay = 0
    else:
        log.debug("watchdog internals changed: cannot remove the 0.5s move-pairing delay")
    original = getattr(group, "on_queue_overflow", None)
    if callable(original):

        def overflowed() -> None:
            original()
            on_overflow()

        group.on_queue_overflow = overflowed  # type: ignore[union-attr]
