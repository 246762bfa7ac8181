"""barbossactl as a process: what it imports, how it fails without a daemon, Ctrl-C, the bench."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fakes import FakeDaemon, fake_daemon, run_module

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("aiohttp", "apscheduler", "watchdog", "psutil", "yaml", "barbossad")

# Runs barbossactl in-process (as the program would, minus the final os._exit) and prints the
# top-level packages imported by then.
PROBE = """
import json, sys
from barbossactl.cli import run
try:
    code = run(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDaemon]:
    with fake_daemon() as fake:
        yield fake


def probe(*args: str) -> tuple[int, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_help_imports_neither_grpc_nor_protobuf() -> None:
    code, modules = probe("--help")
    assert code == 0
    assert heavy(modules) == set()
    assert not {m for m in modules if m.startswith(("grpc", "google", "barbossa."))} - {
        "barbossactl.cli", "barbossactl.context", "barbossactl.errors", "barbossactl.parser",
    }  # fmt: skip


def test_status_imports_only_what_it_needs(server: FakeDaemon) -> None:
    code, modules = probe("--socket", str(server.socket), "status")
    assert code == 0
    assert heavy(modules) == set()
    assert "barbossa.v1.daemon_pb2_grpc" in modules
    for other in ("workflows_pb2", "executions_pb2", "monitoring_pb2"):
        assert f"barbossa.v1.{other}" not in modules
    assert "google.protobuf.json_format" not in modules  # only -o json/yaml needs it


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "yaml", "status"],
        ["-o", "yaml", "runs"],
        ["exec", "deploy"],
        ["-o", "yaml", "schedule", "list"],
        ["-o", "yaml", "show", "deploy"],
    ],
    ids=" ".join,
)
def test_no_command_imports_the_daemon_or_its_libraries(
    server: FakeDaemon, args: list[str]
) -> None:
    code, modules = probe("--socket", str(server.socket), *args)
    assert code == 0
    assert heavy(modules) == set()


def test_status_attempt_without_daemon_imports_nothing_heavy(tmp_path: Path) -> None:
    code, modules = probe("--socket", str(tmp_path / "none.sock"), "status")
    assert code == 6
    assert heavy(modules) == set()


def test_no_daemon_gives_the_one_line_hint(tmp_path: Path) -> None:
    sock = tmp_path / "none.sock"
    started = time.monotonic()
    result = run_module("status", "--socket", str(sock))
    assert time.monotonic() - started < 10
    assert result.returncode == 6 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    line = result.stderr.strip()
    assert line == (
        f"barbossactl: cannot reach barbossad at {sock} (no such socket); "
        "start it with 'barbossad' or 'systemctl start barbossad', or pass --socket"
    )


def test_socket_from_the_environment(tmp_path: Path) -> None:
    sock = tmp_path / "env.sock"
    result = subprocess.run(
        [sys.executable, "-m", "barbossactl", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"BARBOSSA_SOCKET": str(sock), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 6
    assert f"at {sock} (no such socket)" in result.stderr


def test_a_socket_nobody_listens_on_is_refused(tmp_path: Path) -> None:
    sock = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock))  # bound, never listening: what a crashed daemon leaves behind
        result = run_module("--socket", str(sock), "status")
    assert result.returncode == 6
    assert f"cannot reach barbossad at {sock} (connection refused)" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_file_that_is_not_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    path.write_text("")
    result = run_module("--socket", str(path), "status")
    assert result.returncode == 6 and "(not a socket)" in result.stderr


def test_tcp_address_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nobody listens once closed
    result = run_module("--address", f"127.0.0.1:{port}", "status")
    assert result.returncode == 6
    assert f"cannot reach barbossad at 127.0.0.1:{port} (connection refused)" in result.stderr


def test_ctrl_c_while_waiting_leaves_the_run_going(server: FakeDaemon) -> None:
    server.script.hang = True
    proc = subprocess.Popen(
        [sys.executable, "-m", "barbossactl", "--socket", str(server.socket), "exec", "deploy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # If it ever hangs after Ctrl-C (seen once, not reproduced), SIGABRT below makes it
        # print every thread's stack, so the failure says where.
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # synchronise on output, not on time
            if "succeeded in" in line:
                break
        else:
            raise AssertionError("barbossactl ended before the task finished")
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            _, stacks = proc.communicate(timeout=10)
            raise AssertionError(f"barbossactl did not stop on Ctrl-C; stacks:\n{stacks}") from None
    finally:
        server.script.hang = False
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert (
        err == "barbossactl: stopped waiting; run 42 continues (barbossactl cancel 42 to stop it)\n"
    )


def test_bench_runs_standalone() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_cli.py"), "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    assert "ratio" in result.stdout
