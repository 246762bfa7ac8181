"""api_call against a real aiohttp server on 127.0.0.1: requests, status checks, extraction."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from taskkit import MakeCtx, sink_text

from barbossad.models import OutputStream
from barbossad.tasks.api_call import ApiCallHandler, ApiCallSpec, json_path, redact_url

pytestmark = pytest.mark.timeout(30)
handler = ApiCallHandler()


class Peer:
    """Echoes requests as JSON; /status/N answers N; /big sends 1 MiB; /hang never answers."""

    def __init__(self) -> None:
        self.base = ""
        self.seen: list[dict[str, Any]] = []
        self.release = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_get("/status/{code}", self.status)
        app.router.add_get("/big", self.big)
        app.router.add_get("/text", self.text)
        app.router.add_get("/hang", self.hang)
        return app

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.text()
        seen = {
            "method": request.method,
            "query": dict(request.query),
            "headers": dict(request.headers),
            "body": body,
        }
        self.seen.append(seen)
        reply = {"data": {"items": [{"id": 7, "ok": True}], "who": "peer"}, "echo": seen}
        return web.json_response(reply)

    async def status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status body")

    async def big(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (1024 * 1024))

    async def text(self, request: web.Request) -> web.Response:
        return web.Response(text="not json")

    async def hang(self, request: web.Request) -> web.Response:
        await self.release.wait()
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
    server.release.set()  # let a hanging handler finish so the runner can shut down
    await runner.cleanup()


async def test_get_with_extract(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = ApiCallSpec(
        url=f"{peer.base}/echo?page=2",
        extract={"first_id": "data.items.0.id", "ok": "data.items.0.ok", "who": "data.who"},
    )
    result = await handler.run(spec, make_ctx())
    assert result.ok, result.error
    assert result.outputs["status"] == "200"
    assert result.outputs["first_id"] == "7"
    assert result.outputs["ok"] == "true"
    assert result.outputs["who"] == "peer"
    assert json.loads(result.outputs["body"])["echo"]["query"] == {"page": "2"}


async def test_post_json_and_headers(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = ApiCallSpec(
        url=f"{peer.base}/echo",
        method="post",
        headers={"Authorization": "Bearer s3cret-token", "X-Trace": "abc"},
        json={"name": "deploy", "n": [1, 2]},
    )
    ctx = make_ctx()
    result = await handler.run(spec, ctx)
    assert result.ok, result.error
    seen = peer.seen[-1]
    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"name": "deploy", "n": [1, 2]}
    assert seen["headers"]["Authorization"] == "Bearer s3cret-token"
    log = sink_text(ctx, OutputStream.SYSTEM)
    assert "POST http://127.0.0.1" in log and "Authorization" in log
    assert "s3cret-token" not in log  # header values are never logged


async def test_put_raw_data(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = ApiCallSpec(url=f"{peer.base}/echo", method="PUT", data="line1\nline2")
    result = await handler.run(spec, make_ctx())
    assert result.ok and peer.seen[-1]["body"] == "line1\nline2"


async def test_unexpected_status_keeps_outputs(peer: Peer, make_ctx: MakeCtx) -> None:
    result = await handler.run(ApiCallSpec(url=f"{peer.base}/status/503"), make_ctx())
    assert not result.ok
    assert result.error == f"api_call: GET {peer.base}/status/503 returned 503, expected 2xx"
    assert result.outputs["status"] == "503" and result.outputs["body"] == "status body"


async def test_expected_status_exact(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = ApiCallSpec(url=f"{peer.base}/status/404", expected_status=404)
    assert (await handler.run(spec, make_ctx())).ok
    spec = ApiCallSpec(url=f"{peer.base}/status/200", expected_status=201)
    result = await handler.run(spec, make_ctx())
    assert not result.ok and result.error.endswith("returned 200, expected 201")


async def test_body_is_capped(peer: Peer, make_ctx: MakeCtx) -> None:
    result = await handler.run(ApiCallSpec(url=f"{peer.base}/big", max_body=100), make_ctx())
    assert result.ok
    assert result.outputs["body"] == "x" * 100
    assert result.outputs["body_truncated"] == "true"


async def test_extract_missing_path(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = ApiCallSpec(url=f"{peer.base}/echo", extract={"x": "data.items.3.id"})
    result = await handler.run(spec, make_ctx())
    assert not result.ok
    assert "extract path 'data.items.3.id': no index '3' in the list at data.items" in result.error
    assert result.outputs["status"] == "200"


async def test_extract_from_non_json(peer: Peer, make_ctx: MakeCtx) -> None:
    spec = ApiCallSpec(url=f"{peer.base}/text", extract={"x": "a"})
    result = await handler.run(spec, make_ctx())
    assert not result.ok and "reply is not JSON" in result.error


async def test_timeout(peer: Peer, make_ctx: MakeCtx) -> None:
    result = await handler.run(
        ApiCallSpec(url=f"{peer.base}/hang", request_timeout=0.3), make_ctx()
    )
    assert not result.ok
    assert result.error == f"api_call: GET {peer.base}/hang timed out after 0.3s"


async def test_connection_refused(make_ctx: MakeCtx) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await handler.run(ApiCallSpec(url=f"http://127.0.0.1:{port}/x"), make_ctx())
    assert not result.ok and result.error.startswith(
        f"api_call: GET http://127.0.0.1:{port}/x failed:"
    )


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (ApiCallSpec(url="ftp://example.com/x"), "url"),
        (ApiCallSpec(url="file:///etc/passwd"), "url"),
        (ApiCallSpec(url="http:///nohost"), "url"),
        (ApiCallSpec(url="http://h:99999/"), "url"),
        (ApiCallSpec(url="http://h/", method="TRACE"), "method"),
        (ApiCallSpec(url="http://h/", headers={"X-A": "v\r\nX-Injected: 1"}), "headers"),
        (ApiCallSpec(url="http://h/", headers={"Bad Name": "v"}), "headers"),
        (ApiCallSpec(url="http://h/", data="a", json={"b": 1}), "data"),
        (ApiCallSpec(url="http://h/", request_timeout=0), "request_timeout"),
        (ApiCallSpec(url="http://h/", max_body=-1), "max_body"),
        (ApiCallSpec(url="http://h/", expected_status=99), "expected_status"),
        (ApiCallSpec(url="http://h/", extract={"status": "a"}), "extract"),
        (ApiCallSpec(url="http://h/", extract={"x": "a..b"}), "extract"),
    ],
)
async def test_check_rejects(spec: ApiCallSpec, field: str, make_ctx: MakeCtx) -> None:
    assert field in [f for f, _ in handler.check(spec)]
    result = await handler.run(spec, make_ctx())
    assert not result.ok and result.error.startswith(f"api_call: {field}:")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@api.example.com/v1/x?token=abc#frag", "https://api.example.com/v1/x?…"),
        ("http://127.0.0.1:8080/health", "http://127.0.0.1:8080/health"),
        ("http://[::1]:81/a", "http://[::1]:81/a"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_json_path() -> None:
    doc = {"a": [{"b": None}, {"c": {"d": "e"}}]}
    assert json_path(doc, "a.1.c.d") == "e"
    assert json_path(doc, "a.-1.c") == {"d": "e"}
    assert json_path(doc, "a.0.b") is None
    with pytest.raises(ValueError, match=r"a\.0\.b is not an object or a list"):
        json_path(doc, "a.0.b.x")


def test_describe_hides_secrets(make_ctx: MakeCtx) -> None:
    spec = ApiCallSpec(url="https://u:p@h.example/x?key=secret", method="delete")
    assert (
        handler.describe(spec, make_ctx()).description == "would send DELETE https://h.example/x?…"
    )
