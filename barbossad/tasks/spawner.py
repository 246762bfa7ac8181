"""The one place child processes are started, watched and killed.

Every child starts in a new session (so it leads its own process group) and carries a unique
`BARBOSSA_TASK_TOKEN` in its environment. Killing a task sends SIGTERM to its process group and
to every process that still carries its token (this finds double-forked daemons that called
setsid and left the group), then SIGKILL after the grace. A task is over when its leader exits;
anything it left behind is killed then too, so no process of a finished task survives.

Finding leftovers by token means reading the environment of every process on the host, which
is too dear to do at every task end. After a normal exit (leader reaped, pipes closed) the scan
runs only when something may be left: the process group still has a live member, or, when the
daemon is a child subreaper, one of our adopted (not asyncio-managed) children carries the
token -- a double-forked process reparents to us. Limit: when not a subreaper (embedded use), a
process that left the group *and* closed the task's pipes is not looked for at a normal exit;
timeouts and cancels always scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence

import psutil

from barbossad.models import OutputStream
from barbossad.tasks.base import OutputSink, ProcessResult

log = logging.getLogger(__name__)

TOKEN_ENV = "BARBOSSA_TASK_TOKEN"
# After the leader exits, how long its pipes may stay open (held by a leftover child) before
# the leftovers are killed.
_DRAIN_GRACE = 0.5

# Pids started through asyncio (reaped by asyncio's child watcher, never by reap_orphans).
_managed: set[int] = set()
# Spawns between fork and registration in _managed: reaping must wait for them (see reap_orphans).
_spawning = 0
_reap_deferred = False


_watched_loop: asyncio.AbstractEventLoop | None = None
# Whether become_subreaper() succeeded: orphaned descendants then reparent to this process.
_subreaper = False


def install_child_watcher() -> None:
    """Use pidfd-based child watching on Python 3.11 (no thread per child); call inside the loop.

    Python 3.12+ does this by default; 3.11's default ThreadedChildWatcher starts one thread per
    child process.
    """
    global _watched_loop
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    loop = asyncio.get_running_loop()
    if _watched_loop is loop:
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(loop)
        asyncio.set_child_watcher(watcher)
    _watched_loop = loop


def become_subreaper() -> bool:
    """Make this process adopt orphaned descendants (PR_SET_CHILD_SUBREAPER) so none escape."""
    global _subreaper
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_child_subreaper = 36
        _subreaper = bool(libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        _subreaper = False
    return _subreaper


def reap_orphans() -> int:
    """Reap exited children that asyncio does not manage (adopted orphans); returns how many.

    While a spawn is between fork and its registration in `_managed`, nothing is reaped (the
    reap is done once the spawn is registered): a fast-exiting new child would otherwise be
    reaped here and asyncio's watcher would report its exit status as 255.
    """
    global _reap_deferred
    if _spawning:
        _reap_deferred = True
        return 0
    _reap_deferred = False
    reaped = 0
    try:
        children = psutil.Process().children()
    except psutil.Error:
        return 0
    for child in children:
        if child.pid in _managed:
            continue
        with contextlib.suppress(ChildProcessError, OSError):
            pid, _ = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                reaped += 1
    return reaped


def _token_processes(token: str) -> list[psutil.Process]:
    """Live processes whose environment carries this task token."""
    found = []
    needle = f"{TOKEN_ENV}={token}".encode()
    for pid in psutil.pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if needle in fh.read():
                    found.append(psutil.Process(pid))
        except (OSError, psutil.Error):
            continue
    return found


def _carries(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return needle in fh.read()
    except OSError:
        return False


def _unmanaged_children() -> list[int] | None:
    """Our children that asyncio does not manage (adopted orphans); None if /proc cannot say.

    Only the main thread's children are read: the kernel gives an orphan to the first live
    thread of the subreaper, its main thread (which runs the event loop, so is alive).
    """
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as fh:
            children = fh.read().split()
    except OSError:  # no CONFIG_PROC_CHILDREN
        return None
    return [child for child in map(int, children) if child not in _managed]


def _may_have_leftovers(pgid: int, token: str) -> bool:
    """After the leader was reaped: could a process of this task still be running?

    Cheap unless the answer may be yes (see the module docstring for what it cannot see).
    """
    if _group_alive(pgid):
        return True
    if not _subreaper:
        return False
    adopted = _unmanaged_children()
    if adopted is None:
        return True
    needle = f"{TOKEN_ENV}={token}".encode()
    return any(_carries(pid, needle) for pid in adopted)


def _signal_all(pgid: int, procs: Sequence[psutil.Process], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)


def _alive(procs: Sequence[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.Error:
            continue
    return alive


def _group_alive(pgid: int) -> bool:
    """True while a process of the group is alive (zombies do not count: they are dead)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    for pid in psutil.pids():
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp ...
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


class ProcessSpawner:
    """Runs argv vectors as whole-tree-killable child processes; implements `Spawner`."""

    def __init__(self, kill_grace: float = 5.0) -> None:
        self.kill_grace = kill_grace

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | None,
        sink: OutputSink,
        # Part of the Spawner protocol: on expiry the tree is killed, not just a scope cancelled.
        timeout: float | None,  # noqa: ASYNC109
        stdin: bytes | None = None,
    ) -> ProcessResult:
        """Run argv to completion; see `barbossad.tasks.base.Spawner`."""
        install_child_watcher()
        token = os.urandom(16).hex()  # as unique as uuid4, for less work
        child_env = {**env, TOKEN_ENV: token}
        transport, protocol = await _spawn(argv, child_env, cwd, sink, stdin)
        pid = transport.get_pid()
        try:
            return await self._supervise(transport, protocol, token, timeout)
        finally:
            if transport.get_returncode() is not None:
                _managed.discard(pid)
            else:  # killed on cancel, not yet reaped by asyncio: keep reap_orphans off it a while
                asyncio.get_running_loop().call_later(self.kill_grace + 5, _managed.discard, pid)

    async def _supervise(
        self,
        transport: asyncio.SubprocessTransport,
        protocol: _Protocol,
        token: str,
        timeout: float | None,  # noqa: ASYNC109 (as in run)
    ) -> ProcessResult:
        pid = transport.get_pid()
        timed_out = killed = False
        try:
            if timeout is None:
                await protocol.exited  # cancelling it with us is harmless: nothing else waits
            elif not (await asyncio.wait([protocol.exited], timeout=timeout))[0]:
                timed_out = killed = True
                await self.kill_tree(pid, token)
            # The leader is gone; leftovers holding the pipes are killed after a short drain.
            if not protocol.drained.done():
                _done, pending = await asyncio.wait([protocol.drained], timeout=_DRAIN_GRACE)
                if pending:
                    killed = True
                    await self.kill_tree(pid, token)
                    _done, pending = await asyncio.wait(
                        [protocol.drained], timeout=self.kill_grace + 1
                    )
                    if pending:
                        log.warning(
                            "pid %d: a process outside its group and without its token holds"
                            " its output open; closing our end",
                            pid,
                        )
        except asyncio.CancelledError:
            await asyncio.shield(self.kill_tree(pid, token))
            with contextlib.suppress(ProcessLookupError):
                transport.kill()
            raise
        finally:
            _close_pipes(transport)
        # Resolves once asyncio's child watcher has reaped the leader (after a timeout's kill).
        await protocol.exited
        # Leftovers that hold no pipe (e.g. double-forked with output redirected); checked once
        # the leader is reaped, so that it does not count as a member of its group.
        if not killed and _may_have_leftovers(pid, token):
            await self.kill_tree(pid, token)
        code = transport.get_returncode()
        if code is not None and code < 0:
            return ProcessResult(exit_code=None, timed_out=timed_out, signal=-code)
        return ProcessResult(exit_code=code, timed_out=timed_out)

    async def kill_tree(self, pgid: int, token: str) -> None:
        """SIGTERM the group and every token-carrying process, SIGKILL survivors after the grace."""
        procs = _token_processes(token)
        _signal_all(pgid, procs, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace
        # Polling here is the mechanism (processes outside our children cannot be awaited),
        # not test synchronisation.
        while time.monotonic() < deadline:
            reap_orphans()
            procs = _alive(procs)
            if not procs and not _group_alive(pgid):
                break
            await asyncio.sleep(0.05)
        survivors = _alive(_token_processes(token))
        if survivors or _group_alive(pgid):
            log.info(
                "process group %d outlived %.1fs grace; sending SIGKILL", pgid, self.kill_grace
            )
            _signal_all(pgid, survivors, signal.SIGKILL)
            for _ in range(40):
                reap_orphans()
                if not _alive(survivors) and not _group_alive(pgid):
                    break
                await asyncio.sleep(0.025)
        reap_orphans()


class _Protocol(asyncio.SubprocessProtocol):
    """Feeds the child's output straight to the sink and tells when the leader has exited.

    No StreamReaders or pump tasks: each chunk goes from the pipe's data callback to the sink
    (whose write never blocks). `exited` resolves once the leader is reaped; `drained` once its
    stdout and stderr are closed, which a leftover grandchild can put off forever.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sink: OutputSink, stdin: bytes | None
    ) -> None:
        self._sink = sink
        self._stdin = stdin
        self._open = {1, 2}
        self._transport: asyncio.SubprocessTransport | None = None
        self.exited: asyncio.Future[None] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._transport = transport
        if self._stdin is not None:
            pipe = transport.get_pipe_transport(0)
            if pipe is not None:
                assert isinstance(pipe, asyncio.WriteTransport)
                # close() sends what is buffered first; a child that exits without reading
                # merely loses the rest (the broken pipe closes it).
                pipe.write(self._stdin)
                pipe.close()
            self._stdin = None

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        stream = OutputStream.STDOUT if fd == 1 else OutputStream.STDERR
        try:
            self._sink.write(stream, data)
        except Exception:  # keep reading: a stalled pipe would block the child
            log.exception("pid %s: output sink failed", self._pid())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open.discard(fd)
        if not self._open and not self.drained.done():
            self.drained.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        # The leader is reaped and every pipe closed: release the transport.
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _pid(self) -> int | None:
        return None if self._transport is None else self._transport.get_pid()


async def _spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    sink: OutputSink,
    stdin: bytes | None,
) -> tuple[asyncio.SubprocessTransport, _Protocol]:
    """Start argv in a new session and register it in `_managed` before any reap can run.

    The protocol feeds its output to sink and stdin (if any) to it.
    """
    global _spawning
    loop = asyncio.get_running_loop()
    _spawning += 1
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(loop, sink, stdin),
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        _managed.add(transport.get_pid())
    finally:
        _spawning -= 1
        if _reap_deferred and not _spawning:
            reap_orphans()
    return transport, protocol


def _close_pipes(transport: asyncio.SubprocessTransport) -> None:
    """Close our ends of the child's pipes, which an escaped process may still hold open."""
    for fd in (0, 1, 2):
        pipe = transport.get_pipe_transport(fd)
        if pipe is not None:
            pipe.close()
