"""An empty RPC through the daemon (DaemonService.Ping, guard included) against a bare grpc.aio
echo server on a Unix socket, both measured in this run with the same client code."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from barbossa.v1 import daemon_pb2, daemon_pb2_grpc

from bench.common import Result, running_daemon

CALLS = 3000
WARMUP = 300


async def _measure(target: str, method: str, request: bytes) -> float:
    """Mean seconds per sequential unary call of `method` with raw bytes."""
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        for _ in range(WARMUP):
            await call(request)
        start = time.perf_counter()
        for _ in range(CALLS):
            await call(request)
        return (time.perf_counter() - start) / CALLS


ECHO_SERVER = """
import asyncio, sys
import grpc

async def echo(request, context):
    return request

async def main(path):
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Ping": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("unix:" + path)
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()

asyncio.run(main(sys.argv[1]))
"""


def _bare_echo(sock: Path) -> float:
    """The floor: a bare grpc.aio echo server in its own process, like the daemon."""
    proc = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER, str(sock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return asyncio.run(_measure(f"unix:{sock}", "/bench.Echo/Ping", b""))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench_rpc() -> Result:
    """Ping through a real daemon vs the bare echo server."""
    with tempfile.TemporaryDirectory(prefix="bbe-", dir="/tmp") as tmp:
        baseline = _bare_echo(Path(tmp) / "echo.sock")
    with running_daemon() as sock:
        request = daemon_pb2.PingRequest().SerializeToString()
        method = "/" + daemon_pb2.DESCRIPTOR.services_by_name["DaemonService"].full_name + "/Ping"
        assert daemon_pb2_grpc  # the stub module exists; raw calls keep the client identical
        value = asyncio.run(_measure(f"unix:{sock}", method, request))
    ratio = value / baseline
    return Result(
        name="empty RPC round trip (Ping) vs bare grpc.aio echo",
        value=value * 1e3,
        baseline=baseline * 1e3,
        unit="ms",
        target="<=1.3x",
        ok=ratio <= 1.3,
    )
