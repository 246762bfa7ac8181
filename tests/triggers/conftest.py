"""Fixtures for trigger tests: a real engine, its trigger service on a loopback port, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from trigkit import SECRET, FinishedRuns, HookClient

from barbossad.engine.engine import WorkflowEngine
from barbossad.triggers.service import TriggerService


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[WorkflowEngine]:
    """A real engine: SQLite in tmp_path, templates in tmp_path/workflow_templates."""
    eng = WorkflowEngine(tmp_path / "base", kill_grace=1.0)
    yield eng
    await eng.shutdown(5.0)
    await eng.close()


@pytest.fixture
async def service(
    engine: WorkflowEngine, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TriggerService]:
    """The daemon's trigger service with its HTTP listener on a free loopback port."""
    monkeypatch.setenv("BB_TEST_HOOK_SECRET", SECRET)
    svc = TriggerService(engine, engine.catalog, http="127.0.0.1:0", deliveries=engine.store)
    await svc.start()
    yield svc
    await svc.stop()


@pytest.fixture
def finished(engine: WorkflowEngine, service: TriggerService) -> FinishedRuns:
    """Runs of `engine` as they end, collected after the triggers have seen them."""
    return FinishedRuns(engine)


@pytest.fixture
async def client(service: TriggerService) -> AsyncIterator[HookClient]:
    """A webhook client signing with SECRET, pointed at the service's listener."""
    async with aiohttp.ClientSession() as session:
        yield HookClient(session, service.url, SECRET.encode())
