"""The HTTP listener for machine endpoints (`--http HOST:PORT`): webhooks and `/healthz`.

It is separate from the gRPC API on the Unix socket and carries no API: only endpoints that
other machines call (webhooks, health probes, and later `/metrics`). Routes are added to `app`
before `start()`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from barbossad.errors import StartupError

log = logging.getLogger(__name__)

DISABLED = frozenset({"", "off", "none", "no", "false"})


def parse_listen_address(text: str) -> tuple[str, int] | None:
    """(host, port) from "HOST:PORT" or "[V6]:PORT"; None when the listener is disabled ("off")."""
    text = text.strip()
    if text.lower() in DISABLED:
        return None
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise StartupError(
            f"--http: expected HOST:PORT like 127.0.0.1:9740, or 'off'; got {text!r}"
        )
    return host, int(port)


class HttpListener:
    """An aiohttp server on one TCP address; `healthy()` decides what `/healthz` answers."""

    def __init__(self, host: str, port: int, *, healthy: Callable[[], bool]) -> None:
        self.host = host
        self.port = port
        self.healthy = healthy
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.url = ""
        self._runner: web.AppRunner | None = None

    def add_post(
        self, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> None:
        """Route POST `path` (aiohttp pattern, e.g. `/hooks/{name}`) to `handler`."""
        self.app.router.add_post(path, handler)

    async def start(self) -> str:
        """Bind and serve; returns the URL (with the real port when 0 was asked for)."""
        runner = web.AppRunner(
            self.app, handle_signals=False, access_log=None, shutdown_timeout=5.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise StartupError(
                f"cannot listen on {self.host}:{self.port} for webhooks and /healthz: "
                f"{exc.strerror or exc}; choose another --http HOST:PORT, or --http off"
            ) from exc
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        log.info("HTTP listener on %s (webhooks: POST /hooks/NAME, GET /healthz)", self.url)
        return self.url

    async def stop(self) -> None:
        """Stop accepting connections; requests in progress get a few seconds (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("HTTP listener on %s stopped", self.url)

    async def _healthz(self, request: web.Request) -> web.Response:
        if self.healthy():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="draining\n")
