"""The event bus and output capture: bounded memory, state never dropped, whole characters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from barbossad.engine.events import (
    _LOG_HISTORY_BYTES,
    _SUBSCRIBER_LOG_BYTES,
    EventBody,
    EventBus,
    LogEvent,
    RunEvent,
    RunStateEvent,
    TaskStateEvent,
)
from barbossad.engine.output import OutputCapture
from barbossad.models import OutputStream, RunState, TaskState, TriggerType
from barbossad.store.base import NewTask
from barbossad.store.sqlite import SQLiteStore

CHUNK = "x" * 65536


def log(text: str = CHUNK) -> LogEvent:
    return LogEvent(task_id="t", attempt=1, stream=OutputStream.STDOUT, text=text)


def task(state: TaskState) -> TaskStateEvent:
    return TaskStateEvent(task_id="t", state=state, attempt=1)


async def collect(events: AsyncIterator[RunEvent]) -> list[EventBody]:
    async with asyncio.timeout(5):
        return [e.body async for e in events]


async def test_a_lagging_subscriber_holds_bounded_output_but_every_state_event() -> None:
    bus = EventBus()
    bus.open(1)
    watcher = bus.subscribe(1, output=True)
    first = asyncio.ensure_future(anext(watcher))  # subscribed, then never read while publishing
    await asyncio.sleep(0)
    bus.publish(1, task(TaskState.RUNNING))
    for _ in range(1600):  # 100 MiB of output, nobody reading
        bus.publish(1, log())
    bus.publish(1, task(TaskState.SUCCEEDED))
    bus.publish(1, RunStateEvent(state=RunState.SUCCEEDED))
    bus.close(1)
    rest = [(await first).body, *await collect(watcher)]
    logs = [b for b in rest if isinstance(b, LogEvent)]
    assert sum(len(b.text) for b in logs) <= _SUBSCRIBER_LOG_BYTES
    assert [b for b in rest if not isinstance(b, LogEvent)] == [
        task(TaskState.RUNNING),
        task(TaskState.SUCCEEDED),
        RunStateEvent(state=RunState.SUCCEEDED),
    ]


async def test_a_reading_subscriber_gets_all_output() -> None:
    bus = EventBus()
    bus.open(1)
    received = 0

    async def watch() -> None:
        nonlocal received
        async for event in bus.subscribe(1):
            if isinstance(event.body, LogEvent):
                received += len(event.body.text)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)
    for _ in range(200):  # 12.5 MiB, read as it comes
        bus.publish(1, log())
        await asyncio.sleep(0)
    bus.close(1)
    await asyncio.wait_for(watcher, 5)
    assert received == 200 * len(CHUNK)


async def test_without_output_no_log_event_is_queued_or_replayed() -> None:
    bus = EventBus()
    bus.open(1)
    bus.publish(1, log("early"))
    watcher = bus.subscribe(1, output=False)
    first = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0)
    bus.publish(1, log("late"))
    bus.publish(1, RunStateEvent(state=RunState.FAILED, error="x"))
    bus.close(1)
    assert [(await first).body, *await collect(watcher)] == [
        RunStateEvent(state=RunState.FAILED, error="x")
    ]


async def test_history_is_capped_and_nobody_wants_output_past_it() -> None:
    bus = EventBus()
    bus.open(1)
    assert bus.wants_output(1) and not bus.wants_output(2)
    while bus.wants_output(1):
        bus.publish(1, log())
    bus.publish(1, log("dropped"))  # nobody would receive it
    bus.publish(1, RunStateEvent(state=RunState.RUNNING))
    late = bus.subscribe(1)
    first = asyncio.ensure_future(anext(late))
    await asyncio.sleep(0)
    bus.close(1)
    bodies = [(await first).body, *await collect(late)]
    logs = [b for b in bodies if isinstance(b, LogEvent)]
    assert _LOG_HISTORY_BYTES <= sum(len(b.text) for b in logs) < _LOG_HISTORY_BYTES + len(CHUNK)
    assert bodies[-1] == RunStateEvent(state=RunState.RUNNING)
    assert log("dropped") not in bodies


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    db = SQLiteStore.open(tmp_path / "t.db")
    await db.create_run(
        workflow="w",
        trigger=TriggerType.MANUAL,
        triggered_by="",
        parameters={},
        definition_hash="h",
        tasks=[NewTask(task_id="t", name="t", type="shell_command")],
    )
    yield db
    await db.close()


async def test_capture_keeps_head_and_tail_and_sends_whole_characters(store: SQLiteStore) -> None:
    bus = EventBus()
    bus.open(1)
    watcher = bus.subscribe(1)
    first = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0)
    capture = OutputCapture(
        store=store, bus=bus, run_id=1, task_id="t", attempt=1, head_bytes=8, tail_bytes=6
    )
    text = "héllo wörld ünd mehr".encode()
    for i in range(len(text)):  # one byte at a time: characters split across every chunk
        capture.write(OutputStream.STDOUT, text[i : i + 1])
    await capture.close()
    bus.close(1)
    live = "".join(
        b.text for b in [(await first).body, *await collect(watcher)] if isinstance(b, LogEvent)
    )
    assert live == "héllo wörld ünd mehr"
    assert capture.truncated and capture.total_bytes == len(text)
    chunks = await store.get_output(1)
    head = b"".join(c.data for c in chunks if c.part == "head")
    tail = b"".join(c.data for c in chunks if c.part == "tail")
    assert (head, tail) == (text[:8], text[-6:])
