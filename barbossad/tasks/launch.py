"""Starting a task process: the way subprocess.Popen does, without Popen's cost.

A child is started as Popen starts it (vfork and exec, every other descriptor closed, signal
dispositions restored, a new session), by calling `_posixsubprocess.fork_exec` directly where
its signature is the one we know (Popen's preparation in Python -- environment encoding, an
ExitStack, a /dev/null opened per child -- costs more than the vfork and exec themselves when
tasks are short); with subprocess.Popen anywhere else. The parent of a vfork waits until the
child has exec'd, long when the CPUs are busy with other tasks: then that wait happens on one of
a few spawn threads (fork_exec lets go of the GIL), not on the event loop.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence


async def launch(
    start: _ForkExec | Callable[[], subprocess.Popen[bytes]], *, offload: bool
) -> Spawned | subprocess.Popen[bytes]:
    """Run a prepared start: the parent of a vfork waits until its child has exec'd.

    That wait is long when the CPUs are busy with other tasks, so with offload (other children
    are running) it is done on a spawn thread (fork_exec lets go of the GIL), not on the event
    loop. A lone spawn (a chain of tasks) is done inline: no hand-off to pay.
    """
    if not isinstance(start, _ForkExec):
        return start()
    try:
        if not offload:
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


def _kill_unsupervised(orphan: Spawned) -> None:
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


class Spawned:
    """The pid of a child started by fork_exec (what _Child needs of a Popen)."""

    __slots__ = ("pid", "returncode")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None


def prepare(
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
        # os.fsencode, without its Python-level call per variable
        env_list.append(f"{key}={value}".encode(_FS_ENCODING, _FS_ERRORS))
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

    def fork(self) -> Spawned:
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
            None,  # no Python function runs in the child before exec
            subprocess._USE_VFORK,
        )
        return Spawned(pid)

    def finish(self, spawned: Spawned) -> Spawned:
        """Read the child's report: raise what it reported if exec failed."""
        os.close(self.err_write)
        try:
            # After a vfork the child has exec'd or failed: this waits at most the microseconds
            # until exec has closed the child's copy (or a sibling being forked on a spawn
            # thread closes its own), as Popen's read does in asyncio's subprocess support.
            # Empty (EOF) when exec succeeded.
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


_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()


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
