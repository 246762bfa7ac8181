"""SQLiteStore group commit: the first task update of a loop turn commits at once, later ones in
that turn share a transaction; all in call order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from barbossad.models import RunRecord, RunState, TaskState, TriggerType
from barbossad.store.base import NewTask, TaskUpdate
from barbossad.store.sqlite import SQLiteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore.open(tmp_path / "db.sqlite")
    yield s
    await s.close()


async def new_run(store: SQLiteStore, tasks: int) -> RunRecord:
    return await store.create_run(
        workflow="w",
        trigger=TriggerType.MANUAL,
        triggered_by="test",
        parameters={},
        definition_hash="h",
        tasks=[NewTask(task_id=f"t{i}", name=f"t{i}", type="shell_command") for i in range(tasks)],
    )


def states_seen_by_another_connection(path: Path, run_id: int) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT task_id, state FROM task_runs WHERE run_id=?", (run_id,))
        return dict(rows.fetchall())


async def test_updates_of_one_turn_are_committed_when_each_caller_resumes(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run = await new_run(store, 5)
    running = TaskUpdate(state=TaskState.RUNNING)
    async with asyncio.timeout(10):
        await asyncio.gather(*(store.update_task(run.id, f"t{i}", running) for i in range(5)))
    seen = states_seen_by_another_connection(tmp_path / "db.sqlite", run.id)
    assert seen == {f"t{i}": "running" for i in range(5)}


async def test_a_later_write_of_another_kind_does_not_overtake_a_queued_update(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run = await new_run(store, 1)
    first = asyncio.ensure_future(
        store.update_task(run.id, "t0", TaskUpdate(state=TaskState.RUNNING))
    )
    queued = asyncio.ensure_future(
        store.update_task(run.id, "t0", TaskUpdate(state=TaskState.SUCCEEDED))
    )
    await asyncio.sleep(0)  # first is committed at once; the second update is queued behind it
    assert first.done()
    assert not queued.done()
    await store.set_run_state(run.id, RunState.SUCCEEDED)  # commits the queued update first
    async with asyncio.timeout(10):
        await queued
    got = await store.get_run(run.id)
    assert got is not None
    assert got.state is RunState.SUCCEEDED
    assert got.tasks[0].state is TaskState.SUCCEEDED


@pytest.mark.parametrize("queued", [False, True], ids=["awaited", "queued"])
async def test_a_failing_update_fails_only_its_caller(store: SQLiteStore, queued: bool) -> None:
    update = store.queue_task_update if queued else store.update_task
    run = await new_run(store, 2)
    good = update(run.id, "t0", TaskUpdate(state=TaskState.RUNNING))
    bad = update(run.id, "t1", TaskUpdate(state=TaskState.RUNNING, attempt=1.5j))  # type: ignore[arg-type]
    async with asyncio.timeout(10):
        results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0] is None
    assert isinstance(results[1], sqlite3.Error)
    got = await store.get_run(run.id)
    assert got is not None
    assert [t.state for t in got.tasks] == [TaskState.RUNNING, TaskState.PENDING]


async def test_a_cancelled_caller_resumes_only_after_its_update_is_committed(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run = await new_run(store, 2)
    first = asyncio.ensure_future(
        store.update_task(run.id, "t1", TaskUpdate(state=TaskState.RUNNING))
    )
    update = asyncio.ensure_future(
        store.update_task(run.id, "t0", TaskUpdate(state=TaskState.RUNNING))
    )
    await asyncio.sleep(0)  # first is committed at once; update is queued behind it
    assert first.done()
    update.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await update
    seen = states_seen_by_another_connection(tmp_path / "db.sqlite", run.id)
    assert seen["t0"] == "running"


async def test_a_lone_update_is_committed_without_waiting_a_turn(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run = await new_run(store, 1)
    await asyncio.sleep(0)  # a fresh turn
    coro = store.update_task(run.id, "t0", TaskUpdate(state=TaskState.RUNNING))
    with pytest.raises(StopIteration):  # finished at its first step: it never suspended
        coro.send(None)
    assert states_seen_by_another_connection(tmp_path / "db.sqlite", run.id) == {"t0": "running"}


async def test_queued_updates_return_at_once_and_are_committed_together_in_call_order(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run = await new_run(store, 2)
    path = tmp_path / "db.sqlite"
    running = store.queue_task_update(run.id, "t0", TaskUpdate(state=TaskState.RUNNING))
    ended = store.queue_task_update(run.id, "t0", TaskUpdate(state=TaskState.SUCCEEDED))
    other = store.queue_task_update(run.id, "t1", TaskUpdate(state=TaskState.RUNNING))
    # Nothing is written before the turn ends: the caller went on at once.
    assert not running.done()
    assert states_seen_by_another_connection(path, run.id) == {"t0": "pending", "t1": "pending"}
    async with asyncio.timeout(10):
        await asyncio.gather(running, ended, other)
    assert states_seen_by_another_connection(path, run.id) == {"t0": "succeeded", "t1": "running"}


async def test_commit_queued_commits_at_once_what_would_wait_for_the_delay(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run = await new_run(store, 1)
    queued = store.queue_task_update(run.id, "t0", TaskUpdate(state=TaskState.RUNNING))
    assert states_seen_by_another_connection(tmp_path / "db.sqlite", run.id) == {"t0": "pending"}
    store.commit_queued()
    assert queued.done() and queued.exception() is None
    assert states_seen_by_another_connection(tmp_path / "db.sqlite", run.id) == {"t0": "running"}
