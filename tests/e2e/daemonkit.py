"""Helpers for end-to-end tests: gRPC stubs on a DaemonProcess and waits on WatchRun events."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import psutil
from barbossa.v1 import common_pb2, executions_pb2, executions_pb2_grpc
from harness import DaemonProcess, MakeDaemon

DONE = {
    common_pb2.RUN_STATE_SUCCEEDED,
    common_pb2.RUN_STATE_FAILED,
    common_pb2.RUN_STATE_CANCELLED,
    common_pb2.RUN_STATE_INTERRUPTED,
    common_pb2.RUN_STATE_TIMED_OUT,
}


def task_state(name: str) -> int:
    """TaskState enum number from its short name ("succeeded")."""
    return int(common_pb2.TaskState.Value(f"TASK_STATE_{name.upper()}"))


def run_state(name: str) -> int:
    """RunState enum number from its short name."""
    return int(common_pb2.RunState.Value(f"RUN_STATE_{name.upper()}"))


@contextmanager
def executions(d: DaemonProcess) -> Iterator[Any]:
    """An ExecutionService stub on the daemon's socket."""
    with grpc.insecure_channel(f"unix:{d.socket}") as channel:
        yield executions_pb2_grpc.ExecutionServiceStub(channel)  # type: ignore[no-untyped-call]


def execute(d: DaemonProcess, workflow: str, parameters: Mapping[str, str] | None = None) -> int:
    """Start a run over gRPC; returns its id."""
    with executions(d) as stub:
        request = executions_pb2.ExecuteRequest(
            workflow=workflow, parameters=dict(parameters or {})
        )
        return int(stub.Execute(request, timeout=10).run.id)


def wait_run(d: DaemonProcess, run_id: int, timeout: float = 60) -> Any:
    """Follow WatchRun (a real event stream, no polling) until the run ends; its final Run."""
    with executions(d) as stub:
        for event in stub.WatchRun(executions_pb2.WatchRunRequest(run_id=run_id), timeout=timeout):
            if event.HasField("run") and event.run.state in DONE:
                break
        return stub.GetRun(executions_pb2.GetRunRequest(run_id=run_id), timeout=10)


def wait_output(d: DaemonProcess, run_id: int, needle: str, timeout: float = 30) -> None:
    """Return once any task of the run has printed `needle` (AssertionError if the run ends)."""
    with executions(d) as stub:
        request = executions_pb2.WatchRunRequest(run_id=run_id, include_output=True)
        seen = ""
        for event in stub.WatchRun(request, timeout=timeout):
            if event.HasField("log"):
                seen += event.log.text
                if needle in seen:
                    return
    raise AssertionError(f"run {run_id} ended before printing {needle!r}; printed {seen!r}")


def tasks_of(run: Any) -> dict[str, Any]:
    """task id -> TaskRun."""
    return {t.task_id: t for t in run.tasks}


def wait_for_sleeps(arguments: list[str], timeout: float = 10) -> list[psutil.Process]:
    """The `sleep ARG` processes for each argument, once all of them exist."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, psutil.Process] = {}
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if len(cmdline) == 2 and cmdline[0] == "sleep" and cmdline[1] in arguments:
                found[cmdline[1]] = proc
        if len(found) == len(arguments):
            return [found[a] for a in arguments]
        if time.monotonic() > deadline:
            raise AssertionError(f"not all of {arguments} appeared: {sorted(found)}")
        time.sleep(0.01)  # waiting for external processes to appear; bounded by the deadline


def zombie_children(pid: int) -> list[psutil.Process]:
    """Zombie processes among pid's descendants."""
    result = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                result.append(child)
        except psutil.NoSuchProcess:
            continue
    return result


def quick_daemon(
    make_daemon: MakeDaemon, templates: dict[str, str], **settings: object
) -> DaemonProcess:
    """A started daemon with these templates and config settings (e.g. kill_grace=0.5)."""
    d: DaemonProcess = make_daemon(templates)
    if settings:
        config = Path(d.root) / "barbossad.yaml"
        config.write_text("".join(f"{key}: {value}\n" for key, value in settings.items()))
        d.extra_args = [*d.extra_args, "--config", str(config)]
    return d.start()
