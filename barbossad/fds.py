"""File descriptors a task must not inherit.

Task processes are started with posix_spawn (see barbossad.tasks.spawner), which, unlike
subprocess.Popen, does not close every other descriptor in the child: a descriptor is kept from
a task only by its close-on-exec flag. Python opens everything close-on-exec (PEP 446), and so do
SQLite and gRPC; watchdog's inotify descriptors are the exception we know of. `seal_inherited_fds`
sets the flag on whatever lacks it: the engine calls it when it starts (descriptors inherited
from whoever started the daemon) and the watchdog emitters call it once their inotify
descriptor exists.
"""

from __future__ import annotations

import contextlib
import os


def seal_inherited_fds() -> int:
    """Set close-on-exec on every open descriptor above 2 that lacks it; returns how many."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # no /proc: nothing to go by
        return 0
    sealed = 0
    for name in names:
        fd = int(name)
        if fd <= 2:
            continue
        with contextlib.suppress(OSError):  # e.g. the listing's own descriptor, closed by now
            if os.get_inheritable(fd):
                os.set_inheritable(fd, False)
                sealed += 1
    return sealed
