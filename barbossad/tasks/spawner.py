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
import uuid
from collections.abc import Mapping, Sequence

import psutil

from barbossad.models import OutputStream
from barbossad.tasks.base import OutputSink, ProcessResult

log = logging.getLogger(__name__)

TOKEN_ENV = "BARBOSSA_TASK_TOKEN"
_CHUNK = 64 * 1024
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
        token = uuid.uuid4().hex
        child_env = dict(env)
        child_env[TOKEN_ENV] = token
        proc, exited = await _spawn(argv, child_env, cwd, stdin is not None)
        try:
            return await self._supervise(proc, exited, token, sink, timeout, stdin)
        finally:
            if proc.returncode is not None:
                _managed.discard(proc.pid)
            else:  # killed on cancel, not yet reaped by asyncio: keep reap_orphans off it a while
                asyncio.get_running_loop().call_later(
                    self.kill_grace + 5, _managed.discard, proc.pid
                )

    async def _supervise(
        self,
        proc: asyncio.subprocess.Process,
        exited: asyncio.Future[None],
        token: str,
        sink: OutputSink,
        timeout: float | None,  # noqa: ASYNC109 (as in run)
        stdin: bytes | None,
    ) -> ProcessResult:
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [
            asyncio.create_task(_pump(proc.stdout, OutputStream.STDOUT, sink)),
            asyncio.create_task(_pump(proc.stderr, OutputStream.STDERR, sink)),
        ]
        if stdin is not None and proc.stdin is not None:
            pumps.append(asyncio.create_task(_feed(proc.stdin, stdin)))
        timed_out = killed = False
        try:
            try:
                await asyncio.wait_for(exited, timeout)
            except TimeoutError:
                timed_out = killed = True
                await self.kill_tree(proc.pid, token)
            # The leader is gone; leftovers holding the pipes are killed after a short drain.
            _done, pending = await asyncio.wait(pumps, timeout=_DRAIN_GRACE)
            if pending:
                killed = True
                await self.kill_tree(proc.pid, token)
                _done, pending = await asyncio.wait(pumps, timeout=self.kill_grace + 1)
                if pending:
                    log.warning(
                        "pid %d: a process outside its group and without its token holds its"
                        " output open; closing our end",
                        proc.pid,
                    )
        except asyncio.CancelledError:
            await asyncio.shield(self.kill_tree(proc.pid, token))
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        finally:
            for p in pumps:
                p.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            _close_pipes(proc)
        # The leader has exited and the pipes are closed: this resolves as soon as asyncio's
        # child watcher has reaped it (it would otherwise also wait for pipes held elsewhere).
        await proc.wait()
        # Leftovers that hold no pipe (e.g. double-forked with output redirected); checked once
        # the leader is reaped, so that it does not count as a member of its group.
        if not killed and _may_have_leftovers(proc.pid, token):
            await self.kill_tree(proc.pid, token)
        code = proc.returncode
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


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's, also telling when the leader itself has exited.

    Process.wait() resolves only once every pipe is closed too, which a leftover grandchild
    can hold open forever.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_CHUNK, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


async def _spawn(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None, with_stdin: bool
) -> tuple[asyncio.subprocess.Process, asyncio.Future[None]]:
    """Start argv in a new session and register it in `_managed` before any reap can run.

    Returns the process and a future resolved when its leader has exited (and been reaped).
    """
    global _spawning
    loop = asyncio.get_running_loop()
    _spawning += 1
    try:
        # What asyncio.create_subprocess_exec does, with a protocol that reports the exit.
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(loop),
            *argv,
            stdin=asyncio.subprocess.PIPE if with_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        _managed.add(proc.pid)
    finally:
        _spawning -= 1
        if _reap_deferred and not _spawning:
            reap_orphans()
    return proc, protocol.exited


def _close_pipes(proc: asyncio.subprocess.Process) -> None:
    """Close our ends of the child's pipes, which an escaped process may still hold open."""
    # asyncio.subprocess.Process offers no public handle on its transport.
    transport: asyncio.SubprocessTransport | None = getattr(proc, "_transport", None)
    if transport is None:
        return
    for fd in (0, 1, 2):
        pipe = transport.get_pipe_transport(fd)
        if pipe is not None:
            pipe.close()


async def _pump(reader: asyncio.StreamReader, stream: OutputStream, sink: OutputSink) -> None:
    while True:
        data = await reader.read(_CHUNK)
        if not data:
            return
        sink.write(stream, data)


async def _feed(writer: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        writer.write(data)
        await writer.drain()
        writer.close()
