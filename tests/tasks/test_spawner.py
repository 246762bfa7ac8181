"""ProcessSpawner against real children: output, exit codes; timeouts and cancels kill trees."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from harness import pids_with_marker

from barbossad.models import OutputStream
from barbossad.tasks.spawner import ProcessSpawner, reap_orphans


class Collect:
    def __init__(self) -> None:
        self.data: dict[OutputStream, bytearray] = {s: bytearray() for s in OutputStream}

    def write(self, stream: OutputStream, data: bytes) -> None:
        self.data[stream] += data


async def test_streams_and_exit_code() -> None:
    sink = Collect()
    result = await ProcessSpawner().run(
        ["bash", "-c", "echo out; echo err >&2; exit 7"],
        env=dict(os.environ),
        cwd=None,
        sink=sink,
        timeout=10,
    )
    assert result.exit_code == 7 and not result.timed_out
    assert bytes(sink.data[OutputStream.STDOUT]) == b"out\n"
    assert bytes(sink.data[OutputStream.STDERR]) == b"err\n"


async def test_stdin_and_cwd(tmp_path: object) -> None:
    sink = Collect()
    result = await ProcessSpawner().run(
        ["bash", "-c", "cat; pwd"],
        env=dict(os.environ),
        cwd="/",
        sink=sink,
        timeout=10,
        stdin=b"fed\n",
    )
    assert result.exit_code == 0
    assert bytes(sink.data[OutputStream.STDOUT]) == b"fed\n/\n"


async def test_timeout_kills_children_that_ignore_sigterm() -> None:
    marker = f"{uuid.uuid4().int % 10**6}.5"
    script = f"trap '' TERM; (trap '' TERM; sleep {marker}) & sleep {marker}; wait"
    sink = Collect()
    result = await ProcessSpawner(kill_grace=0.5).run(
        ["bash", "-c", script], env=dict(os.environ), cwd=None, sink=sink, timeout=0.5
    )
    assert result.timed_out
    assert pids_with_marker(f"sleep {marker}") == []


async def test_leftover_background_processes_are_killed_when_the_leader_exits() -> None:
    marker = f"{uuid.uuid4().int % 10**6}.25"
    sink = Collect()
    result = await ProcessSpawner(kill_grace=0.5).run(
        ["bash", "-c", f"sleep {marker} & echo bye"],
        env=dict(os.environ),
        cwd=None,
        sink=sink,
        timeout=10,
    )
    assert result.exit_code == 0
    assert pids_with_marker(f"sleep {marker}") == []


async def test_cancel_kills_the_tree() -> None:
    marker = f"{uuid.uuid4().int % 10**6}.75"
    sink = Collect()
    spawner = ProcessSpawner(kill_grace=0.5)
    task = asyncio.create_task(
        spawner.run(
            ["bash", "-c", f"echo up; sleep {marker}"],
            env=dict(os.environ),
            cwd=None,
            sink=sink,
            timeout=None,
        )
    )
    async with asyncio.timeout(10):
        # An external process appearing has no event to wait on; bounded by the timeout.
        while not pids_with_marker(f"sleep {marker}"):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pids_with_marker(f"sleep {marker}") == []


async def test_reaping_orphans_never_takes_the_exit_status_of_a_child_being_spawned() -> None:
    """The daemon reaps adopted orphans on every SIGCHLD, also while another task is spawning."""
    stop = asyncio.Event()

    async def reap_constantly() -> None:
        while not stop.is_set():
            reap_orphans()
            await asyncio.sleep(0)

    reaper = asyncio.create_task(reap_constantly())
    try:
        for _ in range(30):
            result = await ProcessSpawner().run(
                ["true"], env=dict(os.environ), cwd=None, sink=Collect(), timeout=10
            )
            assert result.exit_code == 0  # was 255: asyncio's watcher found the child reaped
    finally:
        stop.set()
        await reaper


async def test_a_process_that_sheds_its_token_and_group_cannot_hold_the_task_open() -> None:
    marker = f"{uuid.uuid4().int % 10**6}.875"
    sink = Collect()
    try:
        async with asyncio.timeout(5):  # drain 0.5 s + kill grace 0.5 s + 1 s for the pumps
            result = await ProcessSpawner(kill_grace=0.5).run(
                ["bash", "-c", f"setsid env -i sleep {marker} & echo hi"],
                env=dict(os.environ),
                cwd=None,
                sink=sink,
                timeout=10,
            )
        assert result.exit_code == 0
        assert bytes(sink.data[OutputStream.STDOUT]) == b"hi\n"
    finally:  # it escaped on purpose (no token, own session): end it here
        for pid in pids_with_marker(f"sleep {marker}"):
            os.kill(pid, signal.SIGKILL)


# A process of its own (becoming a subreaper is for life), reaping on every SIGCHLD as
# barbossad does; BODY runs in main() with `spawner` and `Sink` at hand and prints a result.
SUBREAPER_SCRIPT = """
import asyncio, os, signal, sys
from barbossad.tasks.spawner import ProcessSpawner, become_subreaper, reap_orphans

class Sink:
    def write(self, stream, data):
        pass

async def main():
    assert become_subreaper()
    asyncio.get_running_loop().add_signal_handler(signal.SIGCHLD, reap_orphans)
    spawner = ProcessSpawner(kill_grace=0.5)
BODY

asyncio.run(main())
"""


async def run_as_subreaper(body: str, *args: str) -> bytes:
    script = SUBREAPER_SCRIPT.replace("BODY", textwrap.indent(textwrap.dedent(body), "    "))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, *args, stdout=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        out, _ = await child.communicate()
    return out


async def test_a_subreaper_kills_a_double_forked_leftover_that_closed_the_pipes() -> None:
    """Nothing holds the pipes or stays in the group: the token on an adopted orphan finds it."""
    marker = f"{uuid.uuid4().int % 10**6}.625"
    command = f"( setsid sleep {marker} >/dev/null 2>&1 </dev/null & ); echo hi"
    body = """
    result = await spawner.run(
        ["bash", "-c", sys.argv[1]], env=dict(os.environ), cwd=None, sink=Sink(), timeout=10
    )
    print(result.exit_code)
    """
    try:
        assert await run_as_subreaper(body, command) == b"0\n"
        assert pids_with_marker(f"sleep {marker}") == []
    finally:
        for pid in pids_with_marker(f"sleep {marker}"):
            os.kill(pid, signal.SIGKILL)


async def test_concurrent_spawns_keep_their_exit_codes_while_a_subreaper_reaps() -> None:
    """Many children start (on spawn threads) and end at once while every SIGCHLD runs
    reap_orphans: none of them is taken for an orphan and loses its exit status."""
    body = """
    results = await asyncio.gather(*(
        spawner.run(["bash", "-c", f"exit {i % 100}"], env=dict(os.environ), cwd=None,
                    sink=Sink(), timeout=30)
        for i in range(300)
    ))
    print(sum(r.exit_code != i % 100 for i, r in enumerate(results)))
    """
    assert await run_as_subreaper(body) == b"0\n"


async def test_a_task_inherits_no_descriptor_but_its_stdio(tmp_path: object) -> None:
    # An inheritable descriptor, as one left open by whoever started the daemon would be.
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        spawner = ProcessSpawner()
        for cwd in (None, "/"):
            sink = Collect()
            result = await spawner.run(
                ["bash", "-c", "ls /proc/$$/fd; true"],  # the shell's own descriptors
                env=dict(os.environ),
                cwd=cwd,
                sink=sink,
                timeout=10,
            )
            assert result.exit_code == 0
            assert bytes(sink.data[OutputStream.STDOUT]).split() == [b"0", b"1", b"2"]
    finally:
        os.close(leaked)


async def test_programs_are_found_on_the_tasks_own_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "only-here"
    tool.write_text('#!/bin/sh\necho found "$1"\n')
    tool.chmod(0o755)
    sink = Collect()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = await ProcessSpawner().run(
        ["only-here", "-x"], env=env, cwd=None, sink=sink, timeout=10
    )
    assert result.exit_code == 0
    assert bytes(sink.data[OutputStream.STDOUT]) == b"found -x\n"
    with pytest.raises(FileNotFoundError, match="only-here"):
        await ProcessSpawner().run(
            ["only-here"], env=dict(os.environ), cwd=None, sink=Collect(), timeout=10
        )


async def test_a_task_gets_the_default_sigpipe(tmp_path: Path) -> None:
    # Python ignores SIGPIPE; a task must not inherit that, or `yes | head` would never end
    # by the signal and report write errors instead.
    sink = Collect()
    result = await ProcessSpawner().run(
        ["bash", "-c", "yes | head -n 1; echo ${PIPESTATUS[0]}"],
        env=dict(os.environ),
        cwd=None,
        sink=sink,
        timeout=10,
    )
    assert result.exit_code == 0
    assert bytes(sink.data[OutputStream.STDOUT]) == b"y\n141\n"  # 128 + SIGPIPE


async def test_exec_failures_come_back_as_the_os_error(tmp_path: Path) -> None:
    not_executable = tmp_path / "script.sh"
    not_executable.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(PermissionError) as denied:
        await ProcessSpawner().run(
            [str(not_executable)], env=dict(os.environ), cwd=None, sink=Collect(), timeout=10
        )
    assert denied.value.filename == str(not_executable)
    missing_dir = str(tmp_path / "gone")
    with pytest.raises(FileNotFoundError) as missing:
        await ProcessSpawner().run(
            ["bash", "-c", "true"],
            env=dict(os.environ),
            cwd=missing_dir,
            sink=Collect(),
            timeout=10,
        )
    assert missing.value.filename == missing_dir


@pytest.mark.parametrize("fast_path", [True, False], ids=["fork_exec", "popen"])
async def test_both_ways_of_starting_behave_alike(
    fast_path: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interpreters without the known fork_exec signature fall back to subprocess.Popen."""
    from barbossad.tasks import launch

    if not fast_path:
        monkeypatch.setattr(launch, "_fork_exec", None)
    elif launch._fork_exec is None:
        assert sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)), "fork_exec not found"
        pytest.skip("this interpreter's fork_exec signature is not known: Popen is used")
    sink = Collect()
    result = await ProcessSpawner().run(
        ["bash", "-c", 'echo "$X" $(pwd); ls /proc/$$/fd; cat; exit 3'],
        env={**os.environ, "X": "from env"},
        cwd=str(tmp_path),
        sink=sink,
        timeout=10,
        stdin=b"fed",
    )
    assert result.exit_code == 3
    assert bytes(sink.data[OutputStream.STDOUT]).split(b"\n") == [
        f"from env {tmp_path}".encode(),
        b"0",
        b"1",
        b"2",
        b"fed",
    ]
