"""1 GiB to stdout and 1 GiB to stderr through the daemon: bounded memory, capped storage."""

from __future__ import annotations

import threading
import time

import psutil
from barbossa.v1 import executions_pb2
from daemonkit import execute, executions, quick_daemon, run_state, tasks_of
from harness import MakeDaemon

FLOOD = """
name: flood
tasks:
  - id: flood
    type: shell_command
    timeout: 120
    command: |
      head -c 1G /dev/zero | tr '\\0' a &
      head -c 1G /dev/zero | tr '\\0' b >&2 &
      wait
"""
HEAD = 1024 * 1024
TAIL = 256 * 1024
MIB = 1024 * 1024


class PeakRss:
    """Samples a process's resident set size in a thread until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> int:
        """Stop sampling; the growth over the starting RSS in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak - self.before


def test_two_gib_of_output_keeps_the_daemon_small_and_storage_capped(
    make_daemon: MakeDaemon,
) -> None:
    d = quick_daemon(
        make_daemon, {"flood.yaml": FLOOD}, output_head_bytes=HEAD, output_tail_bytes=TAIL
    )
    assert d.proc is not None
    rss = PeakRss(d.proc.pid)
    started = time.monotonic()
    run_id = execute(d, "flood")
    watched = 0
    with executions(d) as stub:  # a watcher of the output too: the bus must not buffer for it
        request = executions_pb2.WatchRunRequest(run_id=run_id, include_output=True)
        for event in stub.WatchRun(request, timeout=110):
            if event.HasField("log"):
                watched += len(event.log.text)
        run = stub.GetRun(executions_pb2.GetRunRequest(run_id=run_id), timeout=10)
        logs = stub.GetLogs(executions_pb2.GetLogsRequest(run_id=run_id), timeout=30)
    elapsed = time.monotonic() - started
    growth = rss.stop()

    assert run.state == run_state("succeeded"), run.error
    assert elapsed < 60, f"2 GiB took {elapsed:.1f}s"
    assert growth < 64 * MIB, f"the daemon's RSS grew by {growth / MIB:.1f} MiB"
    assert watched > 0
    assert tasks_of(run)["flood"].output_truncated
    assert list(logs.truncated_tasks) == ["flood"]

    markers = [
        i for i, line in enumerate(logs.lines) if line.stream == executions_pb2.OUTPUT_STREAM_SYSTEM
    ]
    assert len(markers) == 1 and logs.lines[markers[0]].text == "[... output truncated ...]\n"
    head = logs.lines[: markers[0]]
    tail = logs.lines[markers[0] + 1 :]
    assert sum(len(line.text) for line in head) == HEAD
    assert sum(len(line.text) for line in tail) == TAIL
    for part in (head, tail):
        for line in part:
            expected = "a" if line.stream == executions_pb2.OUTPUT_STREAM_STDOUT else "b"
            assert line.text == expected * len(line.text)
