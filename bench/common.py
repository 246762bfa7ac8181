"""Helpers shared by the benchmarks: a daemon in a temporary directory, timing, reporting."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """One benchmark figure against its same-run baseline."""

    name: str
    value: float
    baseline: float
    unit: str
    target: str
    ok: bool
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")


@contextlib.contextmanager
def running_daemon(
    templates: dict[str, str] | None = None, extra: list[str] | None = None
) -> Iterator[Path]:
    """Start barbossad on a temporary state dir; yield its socket path once READY=1 arrives."""
    root = Path(tempfile.mkdtemp(prefix="bbb-", dir="/tmp"))
    tdir = root / "templates"
    tdir.mkdir()
    for name, text in (templates or {}).items():
        (tdir / name).write_text(text)
    sock = root / "api.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(root / "notify.sock"))
    notify.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=str(root / "notify.sock"))
    log = (root / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "barbossad",
            "--state-dir",
            str(root / "state"),
            "--templates-dir",
            str(tdir),
            "--socket",
            str(sock),
            "--log-level",
            "warning",
            "--http",
            "off",
            *(extra or []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        yield sock
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        notify.close()
        log.close()


def median_time(fn: object, repeats: int) -> float:
    """Median wall time of calling fn() `repeats` times."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(results: list[Result]) -> str:
    """A plain table of results."""
    lines = [f"{'benchmark':48} {'value':>12} {'baseline':>12} {'ratio':>7}  target  verdict"]
    for r in results:
        lines.append(
            f"{r.name:48} {r.value:>10.3f}{r.unit:>2} {r.baseline:>10.3f}{r.unit:>2} "
            f"{r.ratio:>6.2f}x  {r.target:6}  {'ok' if r.ok else 'MISSED'} {r.note}"
        )
    return "\n".join(lines)
