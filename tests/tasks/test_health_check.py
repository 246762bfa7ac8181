"""health_check against real loopback peers: an aiohttp server, TCP listeners, this host's disk,
memory and processes. The `service` check runs a STUB `systemctl` (no systemd as PID 1 here),
written by the `stub_bin` fixture into tmp_path/bin and put first on the task's PATH.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from aiohttp import web
from taskkit import MakeCtx, StubBin

from barbossad.tasks.health_check import HealthCheckHandler, HealthCheckSpec

pytestmark = pytest.mark.timeout(30)
handler = HealthCheckHandler()


class Peer:
    """An HTTP server on 127.0.0.1 whose /flaky answers 503 until `healthy_after` requests."""

    def __init__(self) -> None:
        self.base = ""
        self.flaky_requests = 0
        self.healthy_after = 3
        self.never = asyncio.Event()  # set only at teardown

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ok", self.ok)
        app.router.add_get("/fail", self.fail)
        app.router.add_get("/moved", self.moved)
        app.router.add_get("/flaky", self.flaky)
        app.router.add_get("/hang", self.hang)
        return app

    async def ok(self, request: web.Request) -> web.Response:
        return web.Response(text="status: all good")

    async def fail(self, request: web.Request) -> web.Response:
        return web.Response(status=500, text="down")

    async def moved(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def flaky(self, request: web.Request) -> web.Response:
        self.flaky_requests += 1
        return web.Response(status=200 if self.flaky_requests >= self.healthy_after else 503)

    async def hang(self, request: web.Request) -> web.Response:
        await self.never.wait()  # outlives the client's timeout
        return web.Response()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    server = Peer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.base = f"http://{host}:{port}"
    yield server
    server.never.set()  # release a hanging handler so the runner can shut down
    await runner.cleanup()


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_http_healthy(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = HealthCheckSpec(check_type="http", url=f"{peer.base}/ok", body_contains="all good")
    result = await handler.run(spec, make_ctx())
    assert result.ok, result.error
    assert result.outputs["healthy"] == "true"
    assert result.outputs["status"] == "200"
    assert float(result.outputs["latency_ms"]) >= 0


async def test_http_unexpected_status(peer: Peer, make_ctx: MakeCtx) -> None:
    result = await handler.run(
        HealthCheckSpec(check_type="http", url=f"{peer.base}/fail"), make_ctx()
    )
    assert not result.ok
    assert result.error == f"health_check http {peer.base}/fail: status 500, expected 200"
    assert result.outputs["healthy"] == "false" and result.outputs["status"] == "500"


async def test_http_body_mismatch(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = HealthCheckSpec(check_type="http", url=f"{peer.base}/ok", body_contains="on fire")
    result = await handler.run(spec, make_ctx())
    assert not result.ok and "body does not contain 'on fire'" in result.error


async def test_http_redirect_is_not_followed(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = HealthCheckSpec(check_type="http", url=f"{peer.base}/moved", expected_status=302)
    assert (await handler.run(spec, make_ctx())).ok


async def test_http_probe_timeout(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = HealthCheckSpec(check_type="http", url=f"{peer.base}/hang", probe_timeout=0.3)
    result = await handler.run(spec, make_ctx())
    assert not result.ok and result.error.endswith("request failed: timed out")


async def test_wait_until_healthy(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = HealthCheckSpec(
        check_type="http", url=f"{peer.base}/flaky", wait_timeout=20, interval=0.05
    )
    result = await handler.run(spec, make_ctx())
    assert result.ok, result.error
    assert result.outputs["attempts"] == "3" and peer.flaky_requests == 3


async def test_wait_gives_up(peer: Peer, make_ctx: MakeCtx) -> None:
    peer.healthy_after = 10**6
    spec = HealthCheckSpec(
        check_type="http", url=f"{peer.base}/flaky", wait_timeout=0.3, interval=0.05
    )
    result = await handler.run(spec, make_ctx())
    assert not result.ok
    assert int(result.outputs["attempts"]) >= 2
    assert "status 503, expected 200 (after" in result.error


async def test_http_connection_refused(make_ctx: MakeCtx) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    result = await handler.run(HealthCheckSpec(check_type="http", url=url), make_ctx())
    assert not result.ok and "request failed" in result.error


async def test_tcp(make_ctx: MakeCtx) -> None:
    connected = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        spec = HealthCheckSpec(check_type="tcp", host="127.0.0.1", port=port)
        result = await handler.run(spec, make_ctx())
        async with asyncio.timeout(5):
            await connected.wait()
    assert result.ok and result.outputs["healthy"] == "true"


async def test_tcp_closed_port(make_ctx: MakeCtx) -> None:
    spec = HealthCheckSpec(check_type="tcp", host="127.0.0.1", port=closed_port())
    result = await handler.run(spec, make_ctx())
    assert not result.ok and "connect failed" in result.error


async def test_disk(make_ctx: MakeCtx, tmp_path: Path) -> None:
    ok = await handler.run(
        HealthCheckSpec(check_type="disk", path=str(tmp_path), threshold_percent=100), make_ctx()
    )
    assert ok.ok and 0 <= float(ok.outputs["percent"]) <= 100
    full = await handler.run(
        HealthCheckSpec(check_type="disk", path=str(tmp_path), threshold_percent=0), make_ctx()
    )
    assert not full.ok and "above 0%" in full.error
    missing = await handler.run(
        HealthCheckSpec(check_type="disk", path=str(tmp_path / "nope")), make_ctx()
    )
    assert not missing.ok and "cannot measure" in missing.error


async def test_memory(make_ctx: MakeCtx) -> None:
    ok = await handler.run(HealthCheckSpec(check_type="memory", threshold_percent=100), make_ctx())
    assert ok.ok and "percent" in ok.outputs
    bad = await handler.run(HealthCheckSpec(check_type="memory", threshold_percent=0), make_ctx())
    assert not bad.ok


async def test_process(make_ctx: MakeCtx) -> None:
    me = psutil.Process().name()
    ok = await handler.run(HealthCheckSpec(check_type="process", process_name=me), make_ctx())
    assert ok.ok and int(ok.outputs["count"]) >= 1
    spec = HealthCheckSpec(check_type="process", process_name="no-such-process-xyz")
    missing = await handler.run(spec, make_ctx())
    assert not missing.ok and missing.outputs["count"] == "0"


async def test_service_uses_systemctl_is_active(make_ctx: MakeCtx, stub_bin: StubBin) -> None:
    spec = HealthCheckSpec(check_type="service", service_name="nginx")
    ok = await handler.run(spec, make_ctx(env=stub_bin.env()))
    assert ok.ok
    assert stub_bin.calls() == [["systemctl", "is-active", "--quiet", "--", "nginx.service"]]
    down = await handler.run(spec, make_ctx(env=stub_bin.env(exit_code=3)))
    assert not down.ok and down.outputs["active"] == "false"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (HealthCheckSpec(check_type="ping"), "check_type"),
        (HealthCheckSpec(check_type="http"), "url"),
        (HealthCheckSpec(check_type="http", url="ftp://x/"), "url"),
        (HealthCheckSpec(check_type="http", url="file:///etc/passwd"), "url"),
        (HealthCheckSpec(check_type="tcp", host="h"), "port"),
        (HealthCheckSpec(check_type="tcp", host="h", port=70000), "port"),
        (HealthCheckSpec(check_type="service"), "service_name"),
        (HealthCheckSpec(check_type="service", service_name=""), "service_name"),
        (HealthCheckSpec(check_type="service", service_name="-x"), "service_name"),
        (HealthCheckSpec(check_type="process"), "process_name"),
        (HealthCheckSpec(check_type="disk", threshold_percent=120), "threshold_percent"),
        (HealthCheckSpec(check_type="memory", probe_timeout=0), "probe_timeout"),
        (HealthCheckSpec(check_type="memory", interval=0), "interval"),
        (HealthCheckSpec(check_type="memory", wait_timeout=-1), "wait_timeout"),
    ],
)
def test_check_rejects(spec: HealthCheckSpec, field: str) -> None:
    assert field in [f for f, _ in handler.check(spec)]


def test_describe(make_ctx: MakeCtx) -> None:
    spec = HealthCheckSpec(check_type="http", url="http://127.0.0.1/health", wait_timeout=30)
    action = handler.describe(spec, make_ctx())
    assert action.description == "would check http http://127.0.0.1/health, retrying for up to 30s"
    service = handler.describe(HealthCheckSpec(check_type="service", service_name="db"), make_ctx())
    assert service.argv == ("systemctl", "is-active", "--quiet", "--", "db.service")
