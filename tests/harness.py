"""Test harness: a real barbossad subprocess on a Unix socket, a real NOTIFY_SOCKET listener."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


@dataclass
class NotifyListener:
    """A real datagram socket standing in for systemd's NOTIFY_SOCKET."""

    path: Path
    sock: socket.socket = field(init=False)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))

    def receive(self, timeout: float) -> str:
        """The next message, or TimeoutError."""
        self.sock.settimeout(timeout)
        return self.sock.recv(65536).decode()

    def wait_for(self, needle: str, timeout: float) -> list[str]:
        """Messages received until one contains needle (all of them, in order)."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {needle!r} within {timeout}s; got {seen}")
            msg = self.receive(left)
            seen.append(msg)
            if needle in msg:
                return seen

    def close(self) -> None:
        self.sock.close()


@dataclass
class DaemonProcess:
    """A barbossad started by a test."""

    root: Path
    state_dir: Path
    templates_dir: Path
    socket: Path
    proc: subprocess.Popen[bytes] | None = None
    notify: NotifyListener | None = None
    log_path: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "barbossad",
            "--state-dir",
            str(self.state_dir),
            "--templates-dir",
            str(self.templates_dir),
            "--socket",
            str(self.socket),
            "--log-level",
            "debug",
            "--http",  # off unless a test asks: daemons run in parallel and would share a port
            "off",
            *self.extra_args,
        ]

    def start(self, *, wait: bool = True, env: dict[str, str] | None = None) -> DaemonProcess:
        """Start the daemon; with wait, block until it reports READY=1 (a real sd_notify)."""
        if self.notify is None:
            self.notify = NotifyListener(self.root / "notify.sock")
        full_env = dict(os.environ)
        full_env["NOTIFY_SOCKET"] = str(self.notify.path)
        full_env.pop("WATCHDOG_USEC", None)
        full_env.update(self.env)
        full_env.update(env or {})
        self.log_path = self.root / f"daemon-{int(time.time() * 1000)}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, env=full_env
            )
        if wait:
            try:
                self.notify.wait_for("READY=1", START_TIMEOUT)
            except TimeoutError:
                raise AssertionError(f"daemon did not become ready:\n{self.log()}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def ctl(
        self, *args: str, check: bool = False, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run barbossactl against this daemon."""
        result = subprocess.run(
            [sys.executable, "-m", "barbossactl", "--socket", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"barbossactl {args} exited {result.returncode}: {result.stderr}")
        return result

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pids_with_marker(marker: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker in cmdline:
                status = (entry / "status").read_text()
                if "\nState:\tZ" not in status:
                    found.append(int(entry.name))
    return found


MakeDaemon = Callable[..., DaemonProcess]
