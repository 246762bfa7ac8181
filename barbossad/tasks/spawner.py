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

Starting and watching are lean, because a daemon running many short tasks spends most of its
own time here: a child is started the way subprocess.Popen starts it (vfork and exec, every
other descriptor closed, signal dispositions restored) but without Popen's Python-level
preparation, by calling `_posixsubprocess.fork_exec` directly where its signature is known
(Popen otherwise); while other children run, the vfork wait happens on one of a few spawn
threads instead of blocking the event loop; and each child's pipes and pidfd are watched
through one epoll set of our own, not asyncio transports.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import errno
import fcntl
import functools
import itertools
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence

import psutil

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
# Exit statuses reap_orphans collected from children it did not know (see _status_of).
_reaped: dict[int, int] = {}
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
    by), its status is kept for its task (`_status_of`).
    """
    adopted = _unmanaged_children()
    if adopted is None:
        try:
            adopted = [c.pid for c in psutil.Process().children() if c.pid not in _managed]
        except psutil.Error:
            return 0
    reaped = 0
    for pid in adopted:
        with contextlib.suppress(ChildProcessError, OSError):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reaped += 1
                _reaped[done] = status
                if len(_reaped) > 1024:
                    del _reaped[next(iter(_reaped))]
    return reaped


def _status_of(pid: int) -> int:
    """The wait status of our child pid that someone else reaped: reap_orphans kept it."""
    status = _reaped.pop(pid, None)
    if status is None:
        log.warning("pid %d was reaped by another waiter; its exit status is unknown", pid)
        return 255 << 8
    return status


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
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:  # reaped already after all (see reap_orphans)
            self._pidfd = -1
            self._exited(_status_of(self.pid))
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
            pid, status = self.pid, _status_of(self.pid)
        if pid:
            self._exited(status)

    def _exited(self, status: int) -> None:
        if self._pidfd >= 0:
            self._watch.close(self._pidfd)
            self._pidfd = -1
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


async def _spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    sink: OutputSink,
    stdin: bytes | None,
) -> _Child:
    """Start argv in a new session and register it in `_managed` (see reap_orphans)."""
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
        start = _prepare(argv, env, cwd, child_stdin, out_w, err_w)
        proc = await _launch(start)
        _managed.add(proc.pid)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    return _Child(proc, {out_r: OutputStream.STDOUT, err_r: OutputStream.STDERR}, feed, sink)


async def _launch(
    start: _ForkExec | Callable[[], subprocess.Popen[bytes]],
) -> _Spawned | subprocess.Popen[bytes]:
    """Run a prepared start: the parent of a vfork waits until its child has exec'd.

    That wait is long when the CPUs are busy with other tasks, so while other children run it
    is done on a spawn thread (fork_exec lets go of the GIL), not on the event loop. A lone
    spawn (a chain of tasks) is done inline: no hand-off to pay.
    """
    if not isinstance(start, _ForkExec):
        return start()
    try:
        if not _managed:
            spawned = start.fork()
        else:
            forked = asyncio.get_running_loop().run_in_executor(_spawn_pool(), start.fork)
            try:
                spawned = await asyncio.shield(forked)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    _kill_unsupervised(await forked)  # it must not run unsupervised
                raise
    except BaseException:
        start.abandon()
        raise
    return start.finish(spawned)


def _kill_unsupervised(orphan: _Spawned) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(orphan.pid, signal.SIGKILL)
    asyncio.get_running_loop().run_in_executor(_spawn_pool(), _reap, orphan.pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _spawn_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=_SPAWN_THREADS, thread_name_prefix="barbossa-spawn"
        )
    return _pool


_SPAWN_THREADS = 4
_pool: concurrent.futures.ThreadPoolExecutor | None = None


class _Spawned:
    """The pid of a child started by fork_exec (what _Child needs of a Popen)."""

    __slots__ = ("pid", "returncode")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None


def _prepare(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    stdin: int | None,
    stdout: int,
    stderr: int,
) -> _ForkExec | Callable[[], subprocess.Popen[bytes]]:
    """What starts argv in a new session with stdin (None: /dev/null), stdout and stderr as 0-2.

    Every other descriptor is closed in the child, signal dispositions are restored, and the
    program is looked up on the child environment's PATH, all as subprocess.Popen does. Where
    the interpreter is one whose private `_posixsubprocess.fork_exec` has the signature we know
    (the same in 3.11, 3.12 and 3.13), it is called directly: Popen's Python-level preparation
    (environment encoding, ExitStack, a /dev/null open per child) costs more than the vfork and
    exec themselves when tasks are short. Anywhere else, Popen.
    """
    if _fork_exec is None:

        def popen() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=stdout,
                stderr=stderr,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )

        return popen
    executable = os.fsencode(_executable(argv[0], env))
    env_list = []
    for key, value in env.items():
        if "=" in key:
            raise ValueError(f"illegal environment variable name {key!r}")
        env_list.append(os.fsencode(f"{key}={value}"))
    stdin_fd = _devnull() if stdin is None else stdin
    return _ForkExec(list(argv), executable, env_list, cwd, (stdin_fd, stdout, stderr))


class _ForkExec:
    """A start by fork_exec, prepared on the loop: `fork` (the vfork and exec, which may run on
    a spawn thread; fork_exec lets go of the GIL meanwhile) then `finish` on the loop (the
    exec failure report, if any, as Popen reads it)."""

    def __init__(
        self,
        argv: list[str],
        executable: bytes,
        env_list: list[bytes],
        cwd: str | None,
        stdio: tuple[int, int, int],
    ) -> None:
        self.argv, self.executable, self.env_list, self.cwd = argv, executable, env_list, cwd
        self.stdio = stdio
        self.err_read, self.err_write = os.pipe()  # exec failures come back through it

    def fork(self) -> _Spawned:
        assert _fork_exec is not None
        stdin, stdout, stderr = self.stdio
        pid = _fork_exec(
            self.argv,
            (self.executable,),
            True,  # close_fds
            (self.err_write,),
            self.cwd,
            self.env_list,
            stdin,
            -1,
            -1,
            stdout,
            -1,
            stderr,
            self.err_read,
            self.err_write,
            True,  # restore_signals
            True,  # call_setsid
            -1,  # process group
            None,  # gid
            None,  # extra groups
            None,  # uid
            -1,  # umask
            None,  # preexec_fn
            subprocess._USE_VFORK,
        )
        return _Spawned(pid)

    def finish(self, spawned: _Spawned) -> _Spawned:
        """Read the child's report: raise what it reported if exec failed."""
        os.close(self.err_write)
        try:
            # The child has exec'd or exited by now (vfork), so this does not block: empty
            # (EOF) when exec succeeded.
            failure = os.read(self.err_read, 50_000)
        finally:
            os.close(self.err_read)
        if failure:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(spawned.pid, 0)
            raise _child_error(failure, self.argv[0], self.cwd)
        return spawned

    def abandon(self) -> None:
        """Close the report pipe of a start that did not happen."""
        for fd in (self.err_write, self.err_read):
            with contextlib.suppress(OSError):
                os.close(fd)


def _load_fork_exec() -> Callable[..., int] | None:
    if sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)):
        return None
    try:
        import _posixsubprocess
    except ImportError:
        return None
    return getattr(_posixsubprocess, "fork_exec", None)


_fork_exec = _load_fork_exec()


def _child_error(data: bytes, program: str, cwd: str | None) -> Exception:
    """The exception a failed exec reported ("Name:hex errno:message", _posixsubprocess's form)."""
    try:
        name, hex_errno, raw = data.split(b":", 2)
        number, message = int(hex_errno, 16), raw.decode(errors="replace")
    except ValueError:
        return subprocess.SubprocessError(f"bad exception data from the child: {data!r}")
    kind = getattr(builtins, name.decode("ascii", "replace"), subprocess.SubprocessError)
    if isinstance(kind, type) and issubclass(kind, OSError) and number:
        # "noexec": it failed before exec, i.e. changing to the working directory
        filename = cwd if message == "noexec" else program
        return OSError(number, os.strerror(number), filename)  # FileNotFoundError etc.
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(message)
    return subprocess.SubprocessError(message)


def _devnull() -> int:
    """A descriptor of /dev/null for children's stdin, opened once (close-on-exec)."""
    global _devnull_fd
    if _devnull_fd is None:
        _devnull_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    return _devnull_fd


_devnull_fd: int | None = None


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
    if found is None or not os.access(found, os.X_OK):
        found = shutil.which(name, path=key[1])
        if found is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
        if len(_found) >= 256:
            _found.clear()
        _found[key] = found
    return found


_found: dict[tuple[str, str], str] = {}
