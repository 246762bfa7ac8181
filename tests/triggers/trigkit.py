"""Trigger test kit: a real engine on SQLite in tmp_path, templates written to its directory,
a collector of finished runs to wait on, and a signing webhook client.

Imported by name (not as `conftest`) so its names are importable from the test modules."""

from __future__ import annotations

import asyncio
import json
import textwrap
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp

from barbossad.engine.engine import WorkflowEngine
from barbossad.http.signing import sign, signed_bytes
from barbossad.models import RunRecord

WAIT = 20.0
SECRET = "It's a secret to everybody"  # the hooks' secret in BB_TEST_HOOK_SECRET


class FinishedRuns:
    """Every run that ends, collected by a completion hook; tests wait on it (never sleep)."""

    def __init__(self, engine: WorkflowEngine) -> None:
        self.runs: list[RunRecord] = []
        self._changed = asyncio.Event()
        engine.add_completion_hook(self._add)

    def _add(self, run: RunRecord) -> None:
        self.runs.append(run)
        self._changed.set()

    async def wait_for(self, match: Callable[[RunRecord], bool], within: float = WAIT) -> RunRecord:
        """The first finished run that matches; TimeoutError after `within` seconds."""
        async with asyncio.timeout(within):
            while True:
                for run in self.runs:
                    if match(run):
                        return run
                self._changed.clear()
                await self._changed.wait()

    async def wait_count(self, count: int, within: float = WAIT) -> list[RunRecord]:
        """Wait until `count` runs have finished; returns them in order."""
        await self.wait_for(lambda _run: len(self.runs) >= count, within)
        return list(self.runs)


def write_template(engine: WorkflowEngine, name: str, text: str) -> Path:
    """Write NAME.yaml into the engine's templates directory and load it (as hot reload would)."""
    directory = engine.catalog.directory
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    assert engine.catalog.load_file(path), engine.catalog.get(name)
    return path


async def output_of(engine: WorkflowEngine, run_id: int) -> str:
    """All stdout and stderr a run's tasks wrote."""
    return "".join(chunk.data.decode() for chunk in await engine.store.get_output(run_id))


class HookClient:
    """Posts signed deliveries to a listener, the way GitHub (or a script) would."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, secret: bytes) -> None:
        self.session = session
        self.base_url = base_url
        self.secret = secret

    @staticmethod
    def next_id() -> str:
        return f"delivery-{uuid.uuid4()}"

    async def post(
        self,
        hook: str,
        payload: Any = None,
        *,
        body: bytes | None = None,
        delivery: str | None = "auto",
        signature: str | None = "auto",
        timestamp: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST /hooks/HOOK; returns (status, JSON answer)."""
        data = body if body is not None else json.dumps(payload or {}).encode()
        sent: dict[str, str] = {"Content-Type": "application/json"}
        if delivery is not None:
            sent["X-GitHub-Delivery"] = self.next_id() if delivery == "auto" else delivery
        if timestamp is not None:
            sent["X-Barbossa-Timestamp"] = timestamp
        if signature is not None:
            auto = sign(self.secret, signed_bytes(data, timestamp))
            sent["X-Hub-Signature-256"] = auto if signature == "auto" else signature
        sent.update(headers or {})
        async with self.session.post(
            f"{self.base_url}/hooks/{hook}", data=data, headers=sent
        ) as answer:
            return answer.status, await answer.json()
