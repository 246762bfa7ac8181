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
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import itertools
import logging
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psutil

from barbossad.fds import seal_inherited_fds
from barbossad.models import OutputStream
from barbossad.tasks.base import OutputSink, ProcessResult

log = logging.getLogger(__name__)

TOKEN_ENV = "BARBOSSA_TASK_TOKEN"
# After the leader exits, how long its pipes may stay open (held by a leftover child) before
# the leftovers are killed.
_DRAIN_GRACE = 0.5

# Task tokens: a random prefix per process (unguessable by tasks), then a serial number.
_TOKEN_PREFIX = os.urandom(12).hex() + "-"
_token_serial = itertools.count(1)

# Bytes read from a child's pipe at a time.
_READ_SIZE = 256 * 1024

# Pids of the task leaders we started and have not yet reaped (reap_orphans leaves them alone).
_managed: set[int] = set()
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
    """Reap exited children that we did not start ourselves (adopted orphans); returns how many."""
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
        # Children inherit what is not close-on-exec (posix_spawn closes nothing else).
        seal_inherited_fds()

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
        child = _spawn(argv, {**env, TOKEN_ENV: token}, cwd, sink, stdin)
        return await self._supervise(child, token, timeout)

    async def _supervise(
        self,
        child: _Child,
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


class _FdWatch:
    """One epoll set for the fds of every child, itself watched by the loop with one add_reader.

    Each child needs three fds watched (its two pipes and its pidfd): through loop.add_reader
    each costs a selector key, a handle and Python-level bookkeeping to add and again to remove.
    Here each is one epoll_ctl, and a turn of the loop dispatches every ready fd in one pass.
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

        Closing takes it out of the epoll set: we hold the only descriptor of each watched file
        (children get the other ends of the pipes, never ours), so no unregister call is needed.
        """
        self._callbacks.pop(fd, None)
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


class _Child:
    """A started child: its output fed to the sink, its exit reaped through a pidfd.

    No asyncio transports, protocols or pump tasks: the pipes and the pidfd are watched with
    add_reader, so when a child ends, its EOFs and its exit are usually handled in one turn of
    the loop and the waiting task wakes once. `exited` resolves once the leader is reaped;
    `drained` once its stdout and stderr are closed, which a leftover grandchild can put off
    forever.
    """

    def __init__(
        self,
        proc: _Spawned | subprocess.Popen[bytes],
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
        self._pidfd = os.pidfd_open(self.pid)
        watch.add(self._pidfd, self._on_exit)
        for fd in self._outputs:  # read only when epoll says readable: no need for O_NONBLOCK
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
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else: the status is lost
            log.warning("pid %d was reaped by another waiter; its exit status is unknown", self.pid)
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return
        self._watch.close(self._pidfd)
        self.returncode = self._proc.returncode = os.waitstatus_to_exitcode(status)
        _managed.discard(self.pid)
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


def _spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    sink: OutputSink,
    stdin: bytes | None,
) -> _Child:
    """Start argv in a new session and register it in `_managed`.

    Nothing awaits between the fork and the registration, so reap_orphans (a loop callback)
    cannot reap the new child first.
    """
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
        proc = _start(argv, env, cwd, child_stdin, out_w, err_w)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    _managed.add(proc.pid)
    return _Child(proc, {out_r: OutputStream.STDOUT, err_r: OutputStream.STDERR}, feed, sink)


class _Spawned:
    """The pid of a child started by posix_spawn (what _Child needs of a Popen)."""

    __slots__ = ("pid", "returncode")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None


def _start(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    stdin: int | None,
    stdout: int,
    stderr: int,
) -> _Spawned | subprocess.Popen[bytes]:
    """Start argv in a new session with stdin (None: /dev/null), stdout and stderr as 0, 1, 2.

    posix_spawn (vfork and exec, the environment encoded in C) costs a fraction of what Popen's
    Python-level preparation does, which matters when tasks are short; but it cannot change the
    directory, and it leaves descriptors to their close-on-exec flags (see barbossad.fds). So
    Popen (which closes every other descriptor) starts tasks that have a working directory, and
    the rare spawn whose pipes landed on 0-2.
    """
    if cwd is None and min(stdout, stderr, 3 if stdin is None else stdin) > 2:
        actions: list[tuple[Any, ...]] = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
            if stdin is None
            else (os.POSIX_SPAWN_DUP2, stdin, 0),
            (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
        ]
        args = list(argv)
        path = _executable(args[0], env)
        try:
            pid = os.posix_spawn(
                path, args, env, file_actions=actions, setsid=True, setsigdef=_DEFAULT_SIGNALS
            )
        except FileNotFoundError:  # the program moved since it was looked up: once more
            _found.clear()
            pid = os.posix_spawn(
                _executable(args[0], env),
                args,
                env,
                file_actions=actions,
                setsid=True,
                setsigdef=_DEFAULT_SIGNALS,
            )
        return _Spawned(pid)
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        stdout=stdout,
        stderr=stderr,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )


# Python ignores SIGPIPE and SIGXFSZ; a task gets the default action, as Popen gives it.
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


def _executable(name: str, env: Mapping[str, str]) -> str:
    """The file to run for argv[0]: as given when it has a slash, else found on the task's PATH.

    As subprocess does it, the PATH searched is the child environment's (os.defpath without).
    Found programs are remembered (a PATH search stats every directory on it); missing ones
    are not, as they may be installed later.
    """
    if "/" in name:
        return name
    key = (name, env.get("PATH", os.defpath))
    found = _found.get(key)
    if found is None:
        found = shutil.which(name, path=key[1])
        if found is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
        if len(_found) >= 256:
            _found.clear()
        _found[key] = found
    return found


_found: dict[tuple[str, str], str] = {}
