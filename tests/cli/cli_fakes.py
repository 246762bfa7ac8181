"""A real grpc.aio server on a Unix socket with the canned servicers, and ways to run barbossactl.

The server runs on its own event loop in a background thread, so tests can call
`barbossactl.cli.main(argv)` in-process or run `python -m barbossactl` as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from barbossa.v1 import (
    daemon_pb2_grpc,
    executions_pb2_grpc,
    monitoring_pb2_grpc,
    schedules_pb2_grpc,
    workflows_pb2_grpc,
)
from cli_servicers import Daemon, Executions, Monitoring, Schedules, Script, Workflows

WAIT = 10.0


class FakeDaemon:
    """The fake services on `unix:<socket>`, served from a background thread's event loop.

    The SchedulerService is deliberately not added: its calls answer UNIMPLEMENTED.
    """

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.script = Script()
        self.executions = Executions(self.script)
        self.schedules = Schedules()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="fake-barbossad", daemon=True
        )
        self.server: Any = None

    async def _start(self) -> None:
        self.server = grpc.aio.server()
        daemon_pb2_grpc.add_DaemonServiceServicer_to_server(Daemon(self.script), self.server)
        workflows_pb2_grpc.add_WorkflowServiceServicer_to_server(Workflows(), self.server)
        executions_pb2_grpc.add_ExecutionServiceServicer_to_server(self.executions, self.server)
        schedules_pb2_grpc.add_ScheduleServiceServicer_to_server(self.schedules, self.server)
        monitoring_pb2_grpc.add_MonitoringServiceServicer_to_server(Monitoring(), self.server)
        self.server.add_insecure_port(f"unix:{self.socket}")
        await self.server.start()

    def start(self) -> FakeDaemon:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(WAIT)
        return self

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(None), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        self.loop.close()


@contextlib.contextmanager
def local_zone(zone: str) -> Iterator[None]:
    """Make `zone` the process's local time zone for a while (tables print local times)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@contextlib.contextmanager
def fake_daemon() -> Iterator[FakeDaemon]:
    """A started FakeDaemon in a short temporary dir (socket paths are limited to 108 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="bbctl-", dir="/tmp"))
    fake = FakeDaemon(root / "api.sock").start()
    try:
        yield fake
    finally:
        fake.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Result:
    """What one in-process barbossactl invocation did."""

    code: int
    out: str
    err: str


def ctl(socket: Path | str, *args: str) -> Result:
    """Run `barbossactl --socket SOCKET ARGS...` in-process, capturing stdout and stderr."""
    from barbossactl.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--socket", str(socket), *args])
        except SystemExit as exc:  # usage errors and --help
            code = int(exc.code or 0)
    return Result(code, out.getvalue(), err.getvalue())


def run_module(*args: str, timeout: float = 30) -> Any:
    """`python -m barbossactl ARGS...` as a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "barbossactl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
