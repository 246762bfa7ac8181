"""The one place child processes are started, watched and killed.

Every child starts in a new session (so it leads its own process group) and carries a unique
`BARBOSSA_TASK_TOKEN` in its environment. Killing a task sends SIGTERM to its process group and
to every process that still carries its token (this finds double-forked daemons that called
setsid and left the group), then SIGKILL after the grace. A task is over when its leader exits;
anything it left behind is killed then too, so no process of a finished task survives.

Finding leftovers by token means reading the environment of every process on the host, which
is too dear to do at every task end. After a normal exit (leader reaped, pipes closed) the scan
runs only when something may be left: the process group still has a live member, or, when the
daemon is a child subreaper, one of our adopted children (not a task leader) carries the
token -- a double-forked process reparents to us. Limit: when not a subreaper (embedded use), a
process that left the group *and* closed the task's pipes is not looked for at a normal exit;
timeouts and cancels always scan.

Starting a child: barbossad.tasks.launch; watching it: barbossad.tasks.child.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence

import psutil

from barbossad.models import OutputStream
from barbossad.tasks.base import OutputSink, ProcessResult
from barbossad.tasks.child import Child, managed, reaped_statuses
from barbossad.tasks.launch import launch, prepare

log = logging.getLogger(__name__)

TOKEN_ENV = "BARBOSSA_TASK_TOKEN"
# After the leader exits, how long its pipes may stay open (held by a leftover child) before
# the leftovers are killed.
_DRAIN_GRACE = 0.5

# Task tokens: a random prefix per process (unguessable by tasks), then a serial number.
_TOKEN_PREFIX = os.urandom(12).hex() + "-"
_token_serial = itertools.count(1)

# Whether become_subreaper() succeeded: orphaned descendants then reparent to this process.
_subreaper = False


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
    """Reap exited children that we did not start ourselves (adopted orphans); returns how many.

    Only the main thread's children are looked at (orphans are given to it): a task leader a
    spawn thread is starting is that thread's child, so it cannot be mistaken for an orphan
    before it is registered. Should one be reaped all the same (no /proc children list to go
    by), its status is kept for its task (`barbossad.tasks.child.status_of`).
    """
    adopted = _unmanaged_children()
    if adopted is None:
        try:
            adopted = [c.pid for c in psutil.Process().children() if c.pid not in managed]
        except psutil.Error:
            return 0
    reaped = 0
    for pid in adopted:
        with contextlib.suppress(ChildProcessError, OSError):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reaped += 1
                reaped_statuses[done] = status
                if len(reaped_statuses) > 1024:
                    del reaped_statuses[next(iter(reaped_statuses))]
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
    """Our children that are not task leaders (adopted orphans); None if /proc cannot say.

    Only the main thread's children are read: the kernel gives an orphan to the first live
    thread of the subreaper, its main thread (which runs the event loop, so is alive).
    """
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as fh:
            children = fh.read().split()
    except OSError:  # no CONFIG_PROC_CHILDREN
        return None
    return [child for child in map(int, children) if child not in managed]


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
        token = f"{_TOKEN_PREFIX}{next(_token_serial)}"
        child = await _spawn(argv, {**env, TOKEN_ENV: token}, cwd, sink, stdin)
        return await self._supervise(child, token, timeout)

    async def _supervise(
        self,
        child: Child,
        token: str,
        timeout: float | None,  # noqa: ASYNC109 (as in run)
    ) -> ProcessResult:
        pid = child.pid
        timed_out = killed = False
        try:
            if timeout is None:
                await child.exited  # cancelling it with us is harmless: nothing else waits
            elif not (await asyncio.wait([child.exited], timeout=timeout))[0]:
                timed_out = killed = True
                await self.kill_tree(pid, token)
            # The leader is gone; leftovers holding the pipes are killed after a short drain.
            if not child.drained.done():
                _done, pending = await asyncio.wait([child.drained], timeout=_DRAIN_GRACE)
                if pending:
                    killed = True
                    await self.kill_tree(pid, token)
                    _done, pending = await asyncio.wait(
                        [child.drained], timeout=self.kill_grace + 1
                    )
                    if pending:
                        log.warning(
                            "pid %d: a process outside its group and without its token holds"
                            " its output open; closing our end",
                            pid,
                        )
        except asyncio.CancelledError:
            await asyncio.shield(self.kill_tree(pid, token))
            child.kill()  # reaped by its pidfd watch whenever it dies
            raise
        finally:
            child.close_pipes()
        # Resolves once the leader is reaped (after a timeout's kill).
        await child.exited
        # Leftovers that hold no pipe (e.g. double-forked with output redirected); checked once
        # the leader is reaped, so that it does not count as a member of its group.
        if not killed and _may_have_leftovers(pid, token):
            await self.kill_tree(pid, token)
        code = child.returncode
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


async def _spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    sink: OutputSink,
    stdin: bytes | None,
) -> Child:
    """Start argv in a new session and register it in `managed` (see reap_orphans)."""
    ours: list[int] = []  # our ends of the pipes
    theirs: list[int] = []  # the child's ends, closed here once it has them
    try:
        out_r, out_w = os.pipe()
        ours.append(out_r)
        theirs.append(out_w)
        err_r, err_w = os.pipe()
        ours.append(err_r)
        theirs.append(err_w)
        child_stdin: int | None = None
        feed = None
        if stdin is not None:
            in_r, in_w = os.pipe()
            ours.append(in_w)
            theirs.append(in_r)
            child_stdin, feed = in_r, (in_w, stdin)
        start = prepare(argv, env, cwd, child_stdin, out_w, err_w)
        proc = await launch(start, offload=bool(managed))
        managed.add(proc.pid)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    return Child(proc, {out_r: OutputStream.STDOUT, err_r: OutputStream.STDERR}, feed, sink)
