"""systemd notification (sd_notify): READY, STATUS, STOPPING and watchdog pings from the loop."""

from __future__ import annotations

import asyncio
import logging
import os

log = logging.getLogger(__name__)


class Notifier:
    """Talks to $NOTIFY_SOCKET when systemd (or a test) provides one; otherwise does nothing."""

    def __init__(self) -> None:
        self._notifier = None
        if os.environ.get("NOTIFY_SOCKET"):
            import sdnotify

            self._notifier = sdnotify.SystemdNotifier()

    @property
    def enabled(self) -> bool:
        """True when there is a notification socket."""
        return self._notifier is not None

    def send(self, message: str) -> None:
        """Send one notification message (e.g. 'READY=1')."""
        if self._notifier is not None:
            self._notifier.notify(message)

    def ready(self, status: str) -> None:
        """Startup is complete and the API answers."""
        self.send(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")

    def status(self, status: str) -> None:
        """A one-line status for `systemctl status`."""
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        """Shutdown has begun."""
        self.send("STOPPING=1")

    def watchdog_interval(self) -> float | None:
        """Half of $WATCHDOG_USEC in seconds, when the watchdog is on for this process."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 2_000_000
        except ValueError:
            log.warning("ignoring invalid WATCHDOG_USEC=%r", usec)
            return None

    async def watchdog(self, interval: float) -> None:
        """Ping from the event loop itself, so a stuck loop stops the pings and systemd notices."""
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(interval)
