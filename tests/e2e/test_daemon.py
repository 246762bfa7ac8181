"""The foundation end to end: a real barbossad subprocess driven by barbossactl and gRPC stubs."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import grpc
import pytest
from barbossa.v1 import (
    common_pb2,
    daemon_pb2,
    daemon_pb2_grpc,
    executions_pb2,
    executions_pb2_grpc,
    monitoring_pb2,
    monitoring_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from harness import DaemonProcess, MakeDaemon, pids_with_marker

SLOW = """
name: slow
tasks:
  - id: nap
    type: shell_command
    command: "echo started; sleep {{ seconds }}; echo done"
variables:
  seconds: "300"
"""


def channel(d: DaemonProcess) -> grpc.Channel:
    return grpc.insecure_channel(f"unix:{d.socket}")


def wait_run_state(
    d: DaemonProcess, run_id: int, states: set[int], timeout: float = 30
) -> executions_pb2.Run:
    """Follow WatchRun until the run reaches one of the states (a real event stream, no polling)."""
    with channel(d) as ch:
        stub = executions_pb2_grpc.ExecutionServiceStub(ch)
        for event in stub.WatchRun(executions_pb2.WatchRunRequest(run_id=run_id), timeout=timeout):
            if event.HasField("run") and event.run.state in states:
                break
        return stub.GetRun(executions_pb2.GetRunRequest(run_id=run_id), timeout=5)


def wait_task_running(d: DaemonProcess, run_id: int, task_id: str, timeout: float = 30) -> None:
    with channel(d) as ch:
        stub = executions_pb2_grpc.ExecutionServiceStub(ch)
        req = executions_pb2.WatchRunRequest(run_id=run_id, include_output=True)
        for event in stub.WatchRun(req, timeout=timeout):
            if (
                event.HasField("log")
                and event.log.task_id == task_id
                and "started" in event.log.text
            ):
                return
        raise AssertionError(f"run {run_id} ended before task {task_id} started")


def test_status_over_cli_and_grpc(daemon: DaemonProcess) -> None:
    with channel(daemon) as ch:
        status = daemon_pb2_grpc.DaemonServiceStub(ch).GetStatus(
            daemon_pb2.GetStatusRequest(), timeout=5
        )
    assert status.accepting
    assert status.socket == str(daemon.socket)
    assert status.template_count >= 1  # the bundled library was installed into the empty dir
    assert (daemon.templates_dir / "hello.yaml").exists()
    out = daemon.ctl("-o", "json", "status", check=True)
    data = json.loads(out.stdout)
    assert data["pid"] == daemon.proc.pid  # type: ignore[union-attr]
    assert data["database"] == str(daemon.state_dir / "workflows.db")


def test_exec_hello_then_runs_run_logs(daemon: DaemonProcess) -> None:
    result = daemon.ctl("exec", "hello", "-p", "name=tester")
    assert result.returncode == 0, result.stderr
    assert "Hello, tester!" in result.stdout

    runs = json.loads(daemon.ctl("-o", "json", "runs", check=True).stdout)
    assert runs["runs"][0]["workflow"] == "hello"
    assert runs["runs"][0]["state"] == "succeeded"
    run_id = runs["runs"][0]["id"]

    run = json.loads(daemon.ctl("-o", "json", "run", str(run_id), check=True).stdout)
    assert run["parameters"] == {"name": "tester"}
    assert run["tasks"][0]["task_id"] == "greet"
    assert run["tasks"][0]["state"] == "succeeded"
    assert run["tasks"][0]["exit_code"] == 0

    logs = daemon.ctl("logs", str(run_id), check=True)
    assert "Hello, tester!" in logs.stdout

    # The same record over gRPC, straight from the store.
    with channel(daemon) as ch:
        got = executions_pb2_grpc.ExecutionServiceStub(ch).GetRun(
            executions_pb2.GetRunRequest(run_id=run_id), timeout=5
        )
    assert got.state == common_pb2.RUN_STATE_SUCCEEDED
    assert got.trigger == common_pb2.TRIGGER_KIND_MANUAL
    assert len(got.definition_hash) == 64


def test_unknown_workflow_is_not_found(daemon: DaemonProcess) -> None:
    with channel(daemon) as ch, pytest.raises(grpc.RpcError) as err:
        executions_pb2_grpc.ExecutionServiceStub(ch).Execute(
            executions_pb2.ExecuteRequest(workflow="no-such-thing"), timeout=5
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-thing" in err.value.details()

    result = daemon.ctl("exec", "no-such-thing")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("barbossactl: ") and "no-such-thing" in lines[0]
    assert "Traceback" not in result.stderr


def test_unimplemented_methods_say_so(daemon: DaemonProcess) -> None:
    # A method no servicer defines yet (MonitoringService.GetMetrics arrives with monitoring).
    with channel(daemon) as ch, pytest.raises(grpc.RpcError) as err:
        monitoring_pb2_grpc.MonitoringServiceStub(ch).GetMetrics(
            monitoring_pb2.GetMetricsRequest(), timeout=5
        )
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_health_and_reflection(daemon: DaemonProcess) -> None:
    with channel(daemon) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        assert (
            health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
            == health_pb2.HealthCheckResponse.SERVING
        )
        svc = health.Check(
            health_pb2.HealthCheckRequest(service="barbossa.v1.ExecutionService"), timeout=5
        )
        assert svc.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        responses = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {s.name for r in responses for s in r.list_services_response.service}
    assert {
        "barbossa.v1.WorkflowService",
        "barbossa.v1.ExecutionService",
        "barbossa.v1.ScheduleService",
        "barbossa.v1.SchedulerService",
        "barbossa.v1.MonitoringService",
        "barbossa.v1.DaemonService",
        "grpc.health.v1.Health",
    } <= names


def _start_slow(d: DaemonProcess, marker: str) -> int:
    out = d.ctl("exec", "slow", "--detach", "-p", f"seconds={marker}", check=True)
    return int(out.stdout.strip())


def test_sigterm_drains_then_interrupts_and_kills_the_tree(make_daemon: MakeDaemon) -> None:
    d: DaemonProcess = make_daemon({"slow.yaml": SLOW}, extra_args=["--shutdown-grace", "1"])
    d.start()
    marker = "313.25"  # a unique sleep argument identifies the task's process
    run_id = _start_slow(d, marker)
    wait_task_running(d, run_id, "nap")
    assert pids_with_marker(f"sleep {marker}")
    started = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=1 + 2 + 5) == 0
    elapsed = time.monotonic() - started
    assert elapsed < 1 + 2, f"took {elapsed:.1f}s to stop"
    assert pids_with_marker(f"sleep {marker}") == []
    db = sqlite3.connect(d.state_dir / "workflows.db")
    state, task_state = db.execute(
        "SELECT r.state, t.state FROM runs r JOIN task_runs t ON t.run_id = r.id WHERE r.id=?",
        (run_id,),
    ).fetchone()
    assert (state, task_state) == ("interrupted", "interrupted")
    assert not d.socket.exists()


def test_sigkill_mid_run_then_restart_recovers(make_daemon: MakeDaemon) -> None:
    d: DaemonProcess = make_daemon({"slow.yaml": SLOW})
    d.start()
    marker = "271.5"
    run_id = _start_slow(d, marker)
    wait_task_running(d, run_id, "nap")
    d.signal(signal.SIGKILL)
    d.wait(timeout=10)
    # The orphaned task is not the daemon's to clean after a kill -9; end it so it can't leak.
    for pid in pids_with_marker(f"sleep {marker}"):
        subprocess.run(["kill", "-9", str(pid)], check=False)
    assert d.socket.exists()  # stale socket left behind
    d.start()  # replaces the stale socket
    with channel(d) as ch:
        run = executions_pb2_grpc.ExecutionServiceStub(ch).GetRun(
            executions_pb2.GetRunRequest(run_id=run_id), timeout=5
        )
    assert run.state == common_pb2.RUN_STATE_INTERRUPTED
    assert run.tasks[0].state == common_pb2.TASK_STATE_INTERRUPTED
    db = sqlite3.connect(d.state_dir / "workflows.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_ready_only_once_answering_and_watchdog_pings(make_daemon: MakeDaemon) -> None:
    d: DaemonProcess = make_daemon()
    d.start(wait=False, env={"WATCHDOG_USEC": "200000"})
    assert d.notify is not None
    messages = d.notify.wait_for("READY=1", 30)
    # The moment READY arrives, a call must succeed without waiting for the server.
    with channel(d) as ch:
        status = daemon_pb2_grpc.DaemonServiceStub(ch).GetStatus(
            daemon_pb2.GetStatusRequest(), timeout=2, wait_for_ready=False
        )
    assert status.pid == d.proc.pid  # type: ignore[union-attr]
    assert not any("WATCHDOG=1" in m for m in messages[:-1]), "watchdog pinged before READY"
    pings = 0
    deadline = time.monotonic() + 10
    while pings < 3 and time.monotonic() < deadline:
        if "WATCHDOG=1" in d.notify.receive(5):
            pings += 1
    assert pings == 3
    d.signal(signal.SIGTERM)
    d.notify.wait_for("STOPPING=1", 10)
    assert d.wait(10) == 0


def test_live_daemon_socket_is_never_stolen(daemon: DaemonProcess, make_daemon: MakeDaemon) -> None:
    other: DaemonProcess = make_daemon()
    other.socket = daemon.socket
    proc = subprocess.run(other.argv(), capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == f"barbossad: another barbossad is already serving on {daemon.socket}"
    assert daemon.ctl("status").returncode == 0


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("bad_config", "unknown setting 'sokcet' (did you mean 'socket'?)"),
        ("state_is_file", "cannot create state directory"),
        ("socket_is_file", "exists and is not a socket"),
    ],
)
def test_startup_failures_are_one_clear_line(
    make_daemon: MakeDaemon, setup: str, expected: str
) -> None:
    d: DaemonProcess = make_daemon()
    if setup == "bad_config":
        cfg = d.root / "barbossad.yaml"
        cfg.write_text("sokcet: /tmp/x.sock\n")
        d.extra_args = ["--config", str(cfg)]
    elif setup == "state_is_file":
        blocker = d.root / "blocker"
        blocker.write_text("")
        d.state_dir = blocker / "state"
    else:
        d.socket.write_text("not a socket")
    proc = subprocess.run(d.argv(), capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("barbossad: ") and expected in last
    assert "Traceback" not in proc.stderr


def test_execute_while_draining_is_unavailable(make_daemon: MakeDaemon) -> None:
    d: DaemonProcess = make_daemon({"slow.yaml": SLOW}, extra_args=["--shutdown-grace", "20"])
    d.start()
    run_id = _start_slow(d, "199.75")
    wait_task_running(d, run_id, "nap")
    d.signal(signal.SIGTERM)
    assert d.notify is not None
    d.notify.wait_for("STOPPING=1", 10)
    with channel(d) as ch, pytest.raises(grpc.RpcError) as err:
        executions_pb2_grpc.ExecutionServiceStub(ch).Execute(
            executions_pb2.ExecuteRequest(workflow="slow"), timeout=5
        )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    second = time.monotonic()
    d.signal(signal.SIGTERM)  # a second SIGTERM exits at once, without the 20 s drain
    assert d.wait(10) == 1
    assert time.monotonic() - second < 10
