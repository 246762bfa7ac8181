"""health_check: probe an HTTP endpoint, a TCP port, a service, disk, memory or a process.

One probe runs, bounded by `probe_timeout`; with `wait_timeout` the probe repeats every `interval`
seconds until it reports healthy or the wait is over (e.g. "wait until the app answers after a
deploy"). An unhealthy result is a failed task whose outputs still describe the last probe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import aiohttp
import psutil

from barbossad.tasks.api_call import read_capped, url_problems
from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult
from barbossad.tasks.service_management import unit_name
from barbossad.tasks.support import CaptureSink, deferred, flag, unrunnable

_BODY_LIMIT = 1024 * 1024  # how much of a response body_contains looks at


class CheckType(StrEnum):
    """What a health check probes."""

    HTTP = "http"
    TCP = "tcp"
    SERVICE = "service"
    DISK = "disk"
    MEMORY = "memory"
    PROCESS = "process"


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheckSpec:
    """Fields of a health_check task; which ones apply depends on `check_type`."""

    check_type: str
    url: str | None = None
    expected_status: int = 200
    body_contains: str | None = None
    host: str | None = None
    port: int | None = None
    path: str | None = None  # disk: a path on the filesystem to measure
    threshold_percent: float = 90.0  # disk/memory: unhealthy above this usage
    process_name: str | None = None
    service_name: str | None = None
    probe_timeout: float = 10.0  # seconds per probe
    wait_timeout: float = 0.0  # keep probing until healthy for up to this long; 0: one probe
    interval: float = 2.0  # seconds between probes while waiting


@dataclass(frozen=True, slots=True)
class _Probe:
    healthy: bool
    detail: str  # why, for the error message
    outputs: dict[str, str]


_REQUIRED: dict[CheckType, tuple[str, ...]] = {
    CheckType.HTTP: ("url",),
    CheckType.TCP: ("host", "port"),
    CheckType.SERVICE: ("service_name",),
    CheckType.PROCESS: ("process_name",),
    CheckType.DISK: (),
    CheckType.MEMORY: (),
}


class HealthCheckHandler:
    """Runs probes until healthy or out of time."""

    type_name: ClassVar[str] = "health_check"
    spec_type: ClassVar[type] = HealthCheckSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Load-time checks; values still holding placeholders are checked when run."""
        return self.problems(spec, rendered=False)

    def problems(self, spec: Any, *, rendered: bool = True) -> list[tuple[str, str]]:
        """Known check type with its required fields; sane numbers."""
        if deferred(spec.check_type, rendered):
            return []
        if spec.check_type not in set(CheckType):
            choices = ", ".join(CheckType)
            return [("check_type", f"unknown check_type {spec.check_type!r} (expected {choices})")]
        kind = CheckType(spec.check_type)
        problems = [
            (f, f"required for check_type {kind.value}")
            for f in _REQUIRED[kind]
            if getattr(spec, f) in (None, "")
        ]
        if kind is CheckType.HTTP and spec.url and not deferred(spec.url, rendered):
            problems += url_problems(spec.url)
        if kind is CheckType.TCP and spec.port is not None and not 0 < spec.port < 65536:
            problems.append(("port", f"must be 1-65535, got {spec.port}"))
        if (
            kind is CheckType.SERVICE
            and spec.service_name
            and not deferred(spec.service_name, rendered)
        ):
            try:
                unit_name(spec.service_name)
            except ValueError as exc:
                problems.append(("service_name", str(exc)))
        if not 0 <= spec.threshold_percent <= 100:
            problems.append(("threshold_percent", "must be between 0 and 100"))
        if spec.probe_timeout <= 0:
            problems.append(("probe_timeout", "must be positive"))
        if spec.wait_timeout < 0:
            problems.append(("wait_timeout", "must not be negative"))
        if spec.interval <= 0:
            problems.append(("interval", "must be positive"))
        return problems

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: what would be probed."""
        problems = self.problems(spec)
        if problems:
            return unrunnable(problems)
        argv: tuple[str, ...] = ()
        if spec.check_type == CheckType.SERVICE:
            argv = ("systemctl", "is-active", "--quiet", "--", unit_name(spec.service_name))
        wait = f", retrying for up to {spec.wait_timeout:g}s" if spec.wait_timeout else ""
        return PlannedAction(description=f"would check {_target(spec)}{wait}", argv=argv)

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Probe until healthy or `wait_timeout` has passed."""
        problems = self.problems(spec)
        if problems:
            field, message = problems[0]
            return TaskResult(ok=False, error=f"health_check: {field}: {message}")
        probe_once = self._prober(spec, ctx)
        deadline = time.monotonic() + spec.wait_timeout
        attempts = 0
        while True:
            attempts += 1
            probe = await probe_once()
            ctx.log(f"health_check {_target(spec)}: {'healthy' if probe.healthy else probe.detail}")
            remaining = deadline - time.monotonic()
            if probe.healthy or remaining <= 0:
                break
            # Waiting between probes is the feature itself (poll until healthy), not a sync hack.
            await asyncio.sleep(min(spec.interval, remaining))
        outputs = {**probe.outputs, "healthy": flag(probe.healthy), "attempts": str(attempts)}
        if probe.healthy:
            return TaskResult(ok=True, outputs=outputs)
        waited = f" (after {attempts} probes in {spec.wait_timeout:g}s)" if attempts > 1 else ""
        error = f"health_check {_target(spec)}: {probe.detail}{waited}"
        return TaskResult(ok=False, outputs=outputs, error=error)

    def _prober(self, spec: HealthCheckSpec, ctx: TaskContext) -> Callable[[], Awaitable[_Probe]]:
        kind = CheckType(spec.check_type)
        probes: dict[CheckType, Callable[[HealthCheckSpec, TaskContext], Awaitable[_Probe]]] = {
            CheckType.HTTP: _probe_http,
            CheckType.TCP: _probe_tcp,
            CheckType.SERVICE: _probe_service,
            CheckType.DISK: _probe_disk,
            CheckType.MEMORY: _probe_memory,
            CheckType.PROCESS: _probe_process,
        }
        return lambda: probes[kind](spec, ctx)


def _target(spec: HealthCheckSpec) -> str:
    match spec.check_type:
        case CheckType.HTTP:
            return f"http {spec.url}"
        case CheckType.TCP:
            return f"tcp {spec.host}:{spec.port}"
        case CheckType.SERVICE:
            return f"service {spec.service_name}"
        case CheckType.DISK:
            return f"disk {spec.path or '/'} <= {spec.threshold_percent:g}%"
        case CheckType.MEMORY:
            return f"memory <= {spec.threshold_percent:g}%"
        case _:
            return f"process {spec.process_name}"


def _ms(start: float) -> str:
    return f"{(time.monotonic() - start) * 1000:.1f}"


async def _probe_http(spec: HealthCheckSpec, ctx: TaskContext) -> _Probe:
    assert spec.url is not None
    start = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=spec.probe_timeout)
    try:
        # Redirects are not followed: a health endpoint that redirects (to a login page, say)
        # is reported as it is; expect the 30x explicitly if that is healthy.
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(spec.url, allow_redirects=False) as resp,
        ):
            body, _ = await read_capped(resp.content, _BODY_LIMIT if spec.body_contains else 0)
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        return _Probe(False, f"request failed: {reason}", {"latency_ms": _ms(start)})
    outputs = {"status": str(status), "latency_ms": _ms(start)}
    if status != spec.expected_status:
        return _Probe(False, f"status {status}, expected {spec.expected_status}", outputs)
    if spec.body_contains is not None and spec.body_contains not in body.decode("utf-8", "replace"):
        return _Probe(False, f"body does not contain {spec.body_contains!r}", outputs)
    return _Probe(True, "", outputs)


async def _probe_tcp(spec: HealthCheckSpec, ctx: TaskContext) -> _Probe:
    assert spec.host is not None and spec.port is not None
    start = time.monotonic()
    try:
        async with asyncio.timeout(spec.probe_timeout):
            _reader, writer = await asyncio.open_connection(spec.host, spec.port)
            latency = _ms(start)
            writer.close()
            await writer.wait_closed()
    except TimeoutError:
        return _Probe(
            False, f"connect timed out after {spec.probe_timeout:g}s", {"latency_ms": _ms(start)}
        )
    except OSError as exc:
        return _Probe(False, f"connect failed: {exc.strerror or exc}", {"latency_ms": _ms(start)})
    return _Probe(True, "", {"latency_ms": latency})


async def _probe_service(spec: HealthCheckSpec, ctx: TaskContext) -> _Probe:
    assert spec.service_name is not None
    argv = ["systemctl", "is-active", "--quiet", "--", unit_name(spec.service_name)]
    capture = CaptureSink(ctx.sink)
    try:
        result = await ctx.spawner.run(
            argv, env=ctx.env, cwd=None, sink=capture, timeout=spec.probe_timeout
        )
    except OSError as exc:
        return _Probe(False, f"cannot run systemctl: {exc.strerror}", {})
    if result.exit_code == 0:
        return _Probe(True, "", {"active": "true"})
    reason = "timed out" if result.timed_out else f"systemctl is-active exited {result.exit_code}"
    return _Probe(False, f"not active ({reason})", {"active": "false"})


async def _probe_disk(spec: HealthCheckSpec, ctx: TaskContext) -> _Probe:
    path = spec.path or "/"
    try:
        # statvfs can hang on a dead network mount: keep it off the loop.
        usage = await asyncio.wait_for(
            asyncio.to_thread(psutil.disk_usage, path), spec.probe_timeout
        )
    except TimeoutError:
        return _Probe(False, f"disk_usage({path!r}) timed out", {})
    except OSError as exc:
        return _Probe(False, f"cannot measure {path!r}: {exc.strerror or exc}", {})
    outputs = {
        "percent": f"{usage.percent:.1f}",
        "free_bytes": str(usage.free),
        "total_bytes": str(usage.total),
    }
    healthy = usage.percent <= spec.threshold_percent
    return _Probe(healthy, f"usage {usage.percent:.1f}% above {spec.threshold_percent:g}%", outputs)


async def _probe_memory(spec: HealthCheckSpec, ctx: TaskContext) -> _Probe:
    memory = psutil.virtual_memory()
    outputs = {"percent": f"{memory.percent:.1f}", "available_bytes": str(memory.available)}
    healthy = memory.percent <= spec.threshold_percent
    return _Probe(
        healthy, f"memory usage {memory.percent:.1f}% above {spec.threshold_percent:g}%", outputs
    )


def _find_processes(name: str) -> list[int]:
    pids = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == name:
            pids.append(proc.pid)
    return pids


async def _probe_process(spec: HealthCheckSpec, ctx: TaskContext) -> _Probe:
    assert spec.process_name is not None
    # Walking /proc takes a while on a busy host: keep it off the loop.
    pids = await asyncio.to_thread(_find_processes, spec.process_name)
    outputs = {"count": str(len(pids)), "pids": ",".join(map(str, pids[:20]))}
    return _Probe(bool(pids), f"no process named {spec.process_name!r}", outputs)
