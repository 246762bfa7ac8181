"""A started task process, watched without asyncio transports.

Its two pipes and its pidfd sit in one epoll set of our own (`_FdWatch`), which the loop
watches through a single add_reader: when a child ends, its EOFs and its exit are usually
handled in one turn of the loop and the task waiting for it wakes once. Also the registry of
task leaders not yet reaped, which reap_orphans (barbossad.tasks.spawner) leaves alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import select
import signal
import subprocess
from collections.abc import Callable, Mapping

from barbossad.models import OutputStream
from barbossad.tasks.base import OutputSink
from barbossad.tasks.launch import Spawned

log = logging.getLogger(__name__)

# Bytes read from a child's pipe at a time.
_READ_SIZE = 256 * 1024

# Pids of the task leaders we started and have not yet reaped (reap_orphans leaves them alone).
managed: set[int] = set()
# Exit statuses reap_orphans collected from children it did not know (see status_of).
reaped_statuses: dict[int, int] = {}


def status_of(pid: int) -> int:
    """The wait status of our child pid that someone else reaped: reap_orphans kept it."""
    status = reaped_statuses.pop(pid, None)
    if status is None:
        log.warning("pid %d was reaped by another waiter; its exit status is unknown", pid)
        return 255 << 8
    return status


class _FdWatch:
    """One epoll set for the fds of every child, itself watched by the loop with one add_reader.

    Each child needs three fds watched (its two pipes and its pidfd): through loop.add_reader
    each costs a selector key, a handle and Python-level bookkeeping to add and again to remove.
    Here each is one epoll_ctl to add and one to remove, and a turn of the loop dispatches every
    ready fd in one pass.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._epoll = select.epoll()
        self._callbacks: dict[int, Callable[[], None]] = {}
        loop.add_reader(self._epoll.fileno(), self._dispatch)

    def add(self, fd: int, callback: Callable[[], None], events: int = select.EPOLLIN) -> None:
        """Call callback (in the loop) whenever fd is ready for events, until remove(fd)."""
        self._epoll.register(fd, events)
        self._callbacks[fd] = callback

    def close(self, fd: int) -> None:
        """Stop watching fd and close it.

        Unregistered explicitly: closing alone would leave the registration while another
        reference to the file lives (a child being forked on a spawn thread holds a copy of
        every descriptor until it execs), and a reused fd number could then hear its events.
        """
        if self._callbacks.pop(fd, None) is not None:
            self._epoll.unregister(fd)
        os.close(fd)

    def _dispatch(self) -> None:
        for fd, _events in self._epoll.poll(0):
            callback = self._callbacks.get(fd)
            if callback is not None:
                try:
                    callback()
                except Exception:  # one child's trouble must not stop the others' dispatch
                    log.exception("fd %d: watch callback failed", fd)

    def close_set(self) -> None:
        """Drop the set (its loop is closed or gone)."""
        self._callbacks.clear()
        self._epoll.close()


_watch: _FdWatch | None = None


def _fd_watch() -> _FdWatch:
    """The watch of the running loop (a new loop, e.g. in tests, gets a new one)."""
    global _watch
    loop = asyncio.get_running_loop()
    if _watch is None or _watch.loop is not loop:
        if _watch is not None and _watch.loop.is_closed():
            _watch.close_set()
        _watch = _FdWatch(loop)
    return _watch


class Child:
    """A started child: its output fed to the sink, its exit reaped through a pidfd.

    `exited` resolves once the leader is reaped;
    `drained` once its stdout and stderr are closed, which a leftover grandchild can put off
    forever.
    """

    def __init__(
        self,
        proc: Spawned | subprocess.Popen[bytes],
        outputs: Mapping[int, OutputStream],
        stdin: tuple[int, bytes] | None,
        sink: OutputSink,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._watch = watch = _fd_watch()
        self._proc = proc
        self.pid = proc.pid
        self.returncode: int | None = None
        self._sink = sink
        self._outputs = dict(outputs)
        self.exited: asyncio.Future[None] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()
        # The leader is ours until reaped here (reap_orphans leaves it alone), so its pid cannot
        # be reused before the pidfd is open.
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:  # reaped already after all (see reap_orphans)
            self._pidfd = -1
            self._exited(status_of(self.pid))
        else:
            watch.add(self._pidfd, self._on_exit)
        for fd in self._outputs:
            # A spurious wake-up must never block the loop. One F_SETFL (os.set_blocking reads
            # the flags first): a fresh pipe end has no other status flag to keep.
            fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK)
            watch.add(fd, functools.partial(self._on_output, fd))
        self._stdin: tuple[int, memoryview] | None = None
        self._stdin_watched = False
        if stdin is not None:
            fd, data = stdin
            os.set_blocking(fd, False)
            self._stdin = (fd, memoryview(data))
            self._on_writable()

    def _on_output(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_output(fd)
            return
        try:
            self._sink.write(self._outputs[fd], data)
        except Exception:  # keep reading: a stalled pipe would block the child
            log.exception("pid %d: output sink failed", self.pid)

    def _close_output(self, fd: int) -> None:
        if self._outputs.pop(fd, None) is None:
            return
        self._watch.close(fd)
        if not self._outputs and not self.drained.done():
            self.drained.set_result(None)
            # The child closes its descriptors a moment before it becomes a zombie (and its
            # pidfd readable): it is usually reapable already, which saves a wake-up.
            self._on_exit()

    def _on_writable(self) -> None:
        """Feed stdin without blocking; close it once written (or once the child stops reading)."""
        if self._stdin is None:
            return
        fd, rest = self._stdin
        try:
            while rest:
                rest = rest[os.write(fd, rest) :]
        except BlockingIOError:
            if not self._stdin_watched:
                self._watch.add(fd, self._on_writable, select.EPOLLOUT)
                self._stdin_watched = True
            self._stdin = (fd, rest)
            return
        except OSError:  # the child exited without reading it all: it loses the rest
            pass
        self._close_stdin()

    def _close_stdin(self) -> None:
        if self._stdin is not None:
            fd = self._stdin[0]
            self._stdin = None
            self._watch.close(fd)

    def _on_exit(self) -> None:
        if self.returncode is not None:
            return
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else
            pid, status = self.pid, status_of(self.pid)
        if pid:
            self._exited(status)

    def _exited(self, status: int) -> None:
        if self._pidfd >= 0:
            self._watch.close(self._pidfd)
            self._pidfd = -1
        self.returncode = self._proc.returncode = os.waitstatus_to_exitcode(status)
        managed.discard(self.pid)
        if not self.exited.done():
            self.exited.set_result(None)

    def kill(self) -> None:
        """SIGKILL the leader unless it has already been reaped."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def close_pipes(self) -> None:
        """Close our ends of the child's pipes, which an escaped process may still hold open."""
        self._close_stdin()
        for fd in list(self._outputs):
            self._close_output(fd)
