"""api_call: one HTTP(S) request; the status, the (capped) body and values extracted from JSON.

Header values and query strings are never logged: they often carry tokens. Only http and https
URLs are accepted. `extract` maps an output name to a simple path into the JSON reply, with
dots between keys and list indexes: `data.items.0.id`.
"""

from __future__ import annotations

import json as jsonlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp

from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult
from barbossad.tasks.support import deferred, flag

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PARSE_LIMIT = 16 * 1024 * 1024  # largest reply read for `extract`
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 header field name
_OUTPUT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_OUTPUTS = ("status", "body", "body_truncated", "latency_ms")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiCallSpec:
    """Fields of an api_call task."""

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    data: str | None = None
    json: Any = None
    request_timeout: float | None = None  # default: the task's timeout, else 30 s
    expected_status: int | None = None  # None: any 2xx
    extract: Mapping[str, str] = field(default_factory=dict)  # output name -> JSON path
    max_body: int = 64 * 1024  # bytes of the reply kept as the `body` output


class ApiCallHandler:
    """Sends the request with aiohttp and checks the status."""

    type_name: ClassVar[str] = "api_call"
    spec_type: ClassVar[type] = ApiCallSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Load-time checks; values still holding placeholders are checked when run."""
        return self.problems(spec, rendered=False)

    def problems(self, spec: Any, *, rendered: bool = True) -> list[tuple[str, str]]:
        """URL scheme, method, header syntax, body and extract rules."""
        problems: list[tuple[str, str]] = []
        if not deferred(spec.url, rendered):
            problems += url_problems(spec.url)
        if not deferred(spec.method, rendered) and spec.method.upper() not in METHODS:
            problems.append(
                ("method", f"unknown method {spec.method!r} (expected {', '.join(METHODS)})")
            )
        problems += _header_problems(spec.headers)
        if spec.data is not None and spec.json is not None:
            problems.append(("data", "give at most one of 'data' and 'json'"))
        if spec.request_timeout is not None and spec.request_timeout <= 0:
            problems.append(("request_timeout", "must be positive"))
        if spec.max_body < 0:
            problems.append(("max_body", "must not be negative"))
        if spec.expected_status is not None and not 100 <= spec.expected_status <= 599:
            problems.append(("expected_status", "must be an HTTP status code (100-599)"))
        problems += _extract_problems(spec.extract)
        return problems

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: the request line (header values and query left out)."""
        return PlannedAction(description=f"would send {spec.method.upper()} {redact_url(spec.url)}")

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Send the request; fail on an unexpected status or a failed extraction."""
        problems = self.problems(spec)
        if problems:
            where, message = problems[0]
            return TaskResult(ok=False, error=f"api_call: {where}: {message}")
        method = spec.method.upper()
        line = f"{method} {redact_url(spec.url)}"
        names = ", ".join(spec.headers) or "none"
        ctx.log(f"api_call: {line} (headers: {names})")
        start = time.monotonic()
        limit = max(spec.max_body, _PARSE_LIMIT if spec.extract else 0)
        try:
            async with (
                aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=_timeout(spec, ctx))
                ) as session,
                session.request(
                    method,
                    spec.url,
                    headers=dict(spec.headers),
                    data=spec.data.encode() if spec.data is not None else None,
                    json=spec.json,
                ) as resp,
            ):
                body, truncated = await read_capped(resp.content, limit)
                status = resp.status
        except TimeoutError:
            return TaskResult(
                ok=False, error=f"api_call: {line} timed out after {_timeout(spec, ctx):g}s"
            )
        except aiohttp.ClientError as exc:
            return TaskResult(
                ok=False, error=f"api_call: {line} failed: {exc or type(exc).__name__}"
            )
        latency = f"{(time.monotonic() - start) * 1000:.1f}"
        ctx.log(f"api_call: {line} -> {status} in {latency} ms")
        outputs = {
            "status": str(status),
            "body": body[: spec.max_body].decode("utf-8", "replace"),
            "body_truncated": flag(truncated or len(body) > spec.max_body),
            "latency_ms": latency,
        }
        if not _status_ok(status, spec.expected_status):
            expected = spec.expected_status or "2xx"
            error = f"api_call: {line} returned {status}, expected {expected}"
            return TaskResult(ok=False, outputs=outputs, error=error)
        try:
            outputs.update(extract_values(body, truncated, spec.extract))
        except ValueError as exc:
            return TaskResult(ok=False, outputs=outputs, error=f"api_call: {line}: {exc}")
        return TaskResult(ok=True, outputs=outputs)


def url_problems(url: str) -> list[tuple[str, str]]:
    """("url", message) unless `url` is a well-formed http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError as exc:
        return [("url", f"malformed URL: {exc}")]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [("url", f"must be an http:// or https:// URL, got {redact_url(url)!r}")]
    return []


def _header_problems(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    problems = []
    for name, value in headers.items():
        if not _TOKEN_RE.fullmatch(name):
            problems.append(("headers", f"invalid header name {name!r}"))
        if any(c in value for c in "\r\n\0"):
            # A line break would let a rendered value smuggle in extra headers.
            problems.append(("headers", f"value of header {name!r} contains a line break or NUL"))
    return problems


def _extract_problems(extract: Mapping[str, str]) -> list[tuple[str, str]]:
    problems = []
    for name, path in extract.items():
        if not _OUTPUT_RE.fullmatch(name) or name in _RESERVED_OUTPUTS:
            problems.append(("extract", f"invalid or reserved output name {name!r}"))
        if not path or any(not part for part in path.split(".")):
            problems.append(("extract", f"invalid path {path!r} for {name!r}"))
    return problems


def _status_ok(status: int, expected: int | None) -> bool:
    return 200 <= status < 300 if expected is None else status == expected


def redact_url(url: str) -> str:
    """The URL without credentials, query or fragment, which may carry secrets."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<malformed URL>"
    if ":" in host:
        host = f"[{host}]"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


async def read_capped(content: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of a response body, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await content.read(min(64 * 1024, limit - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), bool(await content.read(1))


def extract_values(body: bytes, truncated: bool, extract: Mapping[str, str]) -> dict[str, str]:
    """Apply the extract paths to a JSON body; ValueError naming what is missing."""
    if not extract:
        return {}
    if truncated:
        raise ValueError(f"reply larger than {_PARSE_LIMIT} bytes, cannot extract values")
    try:
        document = jsonlib.loads(body)
    except ValueError as exc:
        raise ValueError(f"reply is not JSON, cannot extract values ({exc})") from exc
    return {name: _as_text(json_path(document, path)) for name, path in extract.items()}


def json_path(document: Any, path: str) -> Any:
    """Follow a dotted path (`data.items.0.id`) through dicts and lists; ValueError if absent."""
    node = document
    for i, part in enumerate(path.split(".")):
        where = ".".join(path.split(".")[:i]) or "the top level"
        if isinstance(node, dict):
            if part not in node:
                raise ValueError(f"extract path {path!r}: no key {part!r} at {where}")
            node = node[part]
        elif isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise ValueError(
                    f"extract path {path!r}: no index {part!r} in the list at {where}"
                ) from None
        else:
            raise ValueError(f"extract path {path!r}: {where} is not an object or a list")
    return node


def _as_text(value: Any) -> str:
    # Strings as they are; everything else as compact JSON (true, 3, null, {"a":1}).
    return value if isinstance(value, str) else jsonlib.dumps(value, separators=(",", ":"))


def _timeout(spec: ApiCallSpec, ctx: TaskContext) -> float:
    """The request timeout: the spec's, else the task's, else 30 seconds."""
    return spec.request_timeout or ctx.timeout or 30.0
