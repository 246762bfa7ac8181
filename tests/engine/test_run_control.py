"""Run control in-process: workflow timeout, max_parallel, cancel, retries, conditions, reuse."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from enginekit import WAIT, states, step_engine, task_of
from harness import pids_with_marker

from barbossad import RunState, TriggerType, WorkflowEngine
from barbossad.engine.events import TaskStateEvent
from barbossad.errors import FailedPreconditionError
from barbossad.models import TaskState


def workflow(engine: WorkflowEngine, *tasks: dict[str, Any], **top: Any) -> Any:
    return engine.create_workflow_from_config({"name": "wf", **top, "tasks": list(tasks)})


def step(task_id: str, *deps: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "type": "step", "dependencies": list(deps), **fields}


async def task_events(engine: WorkflowEngine, run_id: int) -> list[TaskStateEvent]:
    """Every task state event of a run, from its start to its end."""
    async with asyncio.timeout(WAIT):
        bodies = [e.body async for e in engine.bus.subscribe(run_id)]
    return [b for b in bodies if isinstance(b, TaskStateEvent)]


async def test_workflow_timeout_kills_running_tasks_and_cancels_the_rest(tmp_path: Path) -> None:
    marker = f"{uuid.uuid4().int % 10**6}.125"
    async with step_engine(tmp_path, kill_grace=0.5) as (engine, journal):
        wf = workflow(
            engine,
            step("hang", hang=True),
            {"id": "sleeper", "type": "shell_command", "command": f"sleep {marker}"},
            step("after", "hang", "sleeper"),
            timeout=0.5,
        )
        run = await engine.execute_workflow(wf, TriggerType.MANUAL)
    assert run.state is RunState.TIMED_OUT
    assert run.error == "workflow timed out after 0.5s"
    assert states(run) == {"hang": "timed_out", "sleeper": "timed_out", "after": "cancelled"}
    assert journal.starts("after") == 0
    assert pids_with_marker(f"sleep {marker}") == []


async def test_max_parallel_bounds_a_run(tmp_path: Path) -> None:
    async with step_engine(tmp_path) as (engine, journal):
        tasks = [step(f"s{i}", yields=5) for i in range(6)]
        run = await engine.execute_workflow(workflow(engine, *tasks, max_parallel=2))
    assert run.state is RunState.SUCCEEDED
    assert journal.peak == 2


async def test_cancel_stops_running_tasks_and_pending_ones_never_start(tmp_path: Path) -> None:
    marker = f"{uuid.uuid4().int % 10**6}.375"
    async with step_engine(tmp_path, kill_grace=0.5) as (engine, journal):
        wf = workflow(
            engine,
            step("hang", hang=True),
            {"id": "sleeper", "type": "shell_command", "command": f"echo up; sleep {marker}"},
            step("after", "hang"),
        )
        started = await engine.start(wf)
        await journal.wait_started("hang")
        async with asyncio.timeout(WAIT):
            # An external process appearing has no event to wait on; bounded by the timeout.
            while not pids_with_marker(f"sleep {marker}"):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        run = await engine.cancel(started.id)
        assert run.state is RunState.CANCELLED
        assert states(run) == {"hang": "cancelled", "sleeper": "cancelled", "after": "cancelled"}
        assert journal.starts("after") == 0
        assert pids_with_marker(f"sleep {marker}") == []
        with pytest.raises(FailedPreconditionError, match="is not running"):
            await engine.cancel(started.id)


async def test_retry_goes_through_retrying_never_a_transient_failed(tmp_path: Path) -> None:
    async with step_engine(tmp_path) as (engine, journal):
        wf = workflow(engine, step("flaky", fail_attempts=2, retry={"attempts": 3, "delay": 0}))
        started = await engine.start(wf)
        events = await task_events(engine, started.id)
        run = await engine.wait(started.id)
    assert run.state is RunState.SUCCEEDED
    assert task_of(run, "flaky").attempt == 3
    assert [(e.state.value, e.attempt) for e in events] == [
        ("running", 1),
        ("retrying", 1),
        ("running", 2),
        ("retrying", 2),
        ("running", 3),
        ("succeeded", 3),
    ]
    assert events[1].error == "attempt 1 failed on purpose" and events[1].exit_code == 1
    assert journal.starts("flaky") == 3


async def test_retries_exhausted_fail_the_task(tmp_path: Path) -> None:
    async with step_engine(tmp_path) as (engine, _journal):
        wf = workflow(engine, step("bad", fail_attempts=5, retry={"attempts": 2, "delay": 0}))
        run = await engine.execute_workflow(wf)
    assert run.state is RunState.FAILED and run.error == "failed tasks: bad"
    bad = task_of(run, "bad")
    assert (bad.state, bad.attempt, bad.error) == (
        TaskState.FAILED,
        2,
        "attempt 2 failed on purpose",
    )


@pytest.mark.parametrize(
    ("fails", "expected", "run_state"),
    [
        (
            False,
            {"a": "succeeded", "b": "succeeded", "always": "succeeded", "cleanup": "skipped"},
            "succeeded",
        ),
        (
            True,
            {"a": "failed", "b": "skipped", "always": "succeeded", "cleanup": "succeeded"},
            "failed",
        ),
    ],
)
async def test_conditions(
    tmp_path: Path, fails: bool, expected: dict[str, str], run_state: str
) -> None:
    async with step_engine(tmp_path) as (engine, _journal):
        wf = workflow(
            engine,
            step("a", fail_attempts=1 if fails else 0),
            step("b", "a"),
            step("always", "b", condition="always"),
            step("cleanup", "b", condition="on_failure"),
        )
        run = await engine.execute_workflow(wf)
    assert states(run) == expected
    assert run.state.value == run_state


async def test_continue_on_error_neither_fails_the_run_nor_blocks_dependents(
    tmp_path: Path,
) -> None:
    async with step_engine(tmp_path) as (engine, journal):
        wf = workflow(
            engine,
            step("lint", fail_attempts=1, continue_on_error=True),
            step("build", "lint"),
            step("cleanup", "build", condition="on_failure"),
        )
        run = await engine.execute_workflow(wf)
    assert run.state is RunState.SUCCEEDED, run.error
    assert states(run) == {"lint": "failed", "build": "succeeded", "cleanup": "skipped"}
    assert journal.starts("build") == 1


async def test_engine_retry_reuses_only_what_precedes_the_failure(tmp_path: Path) -> None:
    async with step_engine(tmp_path) as (engine, journal):
        wf = workflow(
            engine,
            step("a", outputs={"artifact": "a.tgz"}),
            step("side"),
            step("b", "a", fail_attempts=1),
            step("c", "b"),
            step("cleanup", "b", condition="on_failure"),
        )
        first = await engine.execute_workflow(wf)
        assert states(first) == {
            "a": "succeeded",
            "side": "succeeded",
            "b": "failed",
            "c": "skipped",
            "cleanup": "succeeded",
        }
        started = await engine.retry(first.id)
        second = await engine.wait(started.id)
        with pytest.raises(FailedPreconditionError, match="succeeded; there is nothing to retry"):
            await engine.retry((await engine.execute_workflow(workflow(engine, step("ok")))).id)
    assert second.retry_of == first.id and second.trigger is TriggerType.RETRY
    assert {t.task_id for t in second.tasks if t.reused} == {"a", "side"}
    assert task_of(second, "a").outputs == {"artifact": "a.tgz"}
    # The cleanup that ran because of the first failure is decided afresh, and runs again.
    assert states(second)["cleanup"] == "succeeded" and not task_of(second, "cleanup").reused
    assert (journal.starts("a"), journal.starts("b"), journal.starts("cleanup")) == (1, 2, 2)


async def test_cancelling_a_parent_cancels_its_sub_workflow(tmp_path: Path) -> None:
    templates = tmp_path / "workflow_templates"
    templates.mkdir()
    (templates / "child.yaml").write_text(
        "name: child\ntasks:\n  - {id: inner, type: step, hang: true}\n"
    )
    async with step_engine(tmp_path) as (engine, journal):
        wf = workflow(engine, {"id": "sub", "type": "workflow", "workflow": "child"})
        parent = await engine.start(wf)
        await journal.wait_started("inner")
        child_id = max(engine.running_ids())
        run = await engine.cancel(parent.id)
        child = await engine.wait(child_id)
    assert run.state is RunState.CANCELLED and states(run) == {"sub": "cancelled"}
    assert child.state is RunState.CANCELLED and states(child) == {"inner": "cancelled"}


async def test_reused_roots_ready_their_dependents_once(tmp_path: Path) -> None:
    """A retry whose root is reused starts its dependent exactly once."""
    async with step_engine(tmp_path) as (engine, journal):
        # The dependent is listed after its root: the case that used to start twice.
        wf = workflow(engine, step("root"), step("leaf", "root", fail_attempts=1))
        first = await engine.execute_workflow(wf)
        started = await engine.retry(first.id)
        events = await task_events(engine, started.id)
        second = await engine.wait(started.id)
    assert states(second) == {"root": "succeeded", "leaf": "failed"}
    assert (journal.starts("root"), journal.starts("leaf")) == (1, 2)
    assert [(e.task_id, e.state.value) for e in events] == [
        ("root", "succeeded"),
        ("leaf", "running"),
        ("leaf", "failed"),
    ]


async def test_a_retry_delay_holds_no_slot(tmp_path: Path) -> None:
    async with step_engine(tmp_path) as (engine, journal):
        wf = workflow(
            engine,
            step("flaky", fail_attempts=1, retry={"attempts": 2, "delay": 0.3}),
            step("other"),
            max_parallel=1,
        )
        run = await engine.execute_workflow(wf)
    assert run.state is RunState.SUCCEEDED
    # `other` ran while `flaky` waited to retry, not after both of its attempts.
    assert [(kind, task_id) for kind, task_id, _ in journal.events] == [
        ("start", "flaky"),
        ("end", "flaky"),
        ("start", "other"),
        ("end", "other"),
        ("start", "flaky"),
        ("end", "flaky"),
    ]


@pytest.mark.parametrize(
    ("raises", "error"),
    [
        ("boom", "internal error in task type step: boom"),
        ("timeout", "internal error in task type step: "),
    ],
)
async def test_a_handler_that_raises_fails_its_task(
    tmp_path: Path, raises: str, error: str
) -> None:
    async with step_engine(tmp_path) as (engine, _journal):
        run = await engine.execute_workflow(
            workflow(engine, step("bad", raises=raises), step("next", "bad"))
        )
    assert run.state is RunState.FAILED
    assert states(run) == {"bad": "failed", "next": "skipped"}
    assert task_of(run, "bad").error == error


async def test_a_task_change_is_published_only_once_the_store_has_committed_it(
    tmp_path: Path,
) -> None:
    """The engine does not wait for a task change to be committed before going on (the task
    may start meanwhile), but nobody hears of the change before the store says it is stored."""
    async with step_engine(tmp_path) as (engine, journal):
        store: Any = engine.store
        queue = store.queue_task_update
        held: list[asyncio.Future[None]] = []  # what the engine is told: resolved by this test

        def held_queue(*args: Any, **kwargs: Any) -> asyncio.Future[None]:
            queue(*args, **kwargs)  # really queued (and committed) as usual
            told: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            held.append(told)
            return told

        store.queue_task_update = held_queue
        started = await engine.start(workflow(engine, step("only", hang=True)))
        heard: list[TaskStateEvent] = []
        arrived = asyncio.Event()

        async def listen() -> None:
            async for event in engine.bus.subscribe(started.id, output=False):
                if isinstance(event.body, TaskStateEvent):
                    heard.append(event.body)
                    arrived.set()

        listener = asyncio.create_task(listen())
        await journal.wait_started("only")  # running, though the store has not said "stored"
        assert len(held) == 1
        assert heard == []
        held[0].set_result(None)
        async with asyncio.timeout(WAIT):
            await arrived.wait()
        assert [(e.task_id, e.state) for e in heard] == [("only", TaskState.RUNNING)]
        store.queue_task_update = queue
        run = await engine.cancel(started.id)
        for told in held[1:]:
            told.set_result(None)
        listener.cancel()
    assert run.state is RunState.CANCELLED


async def test_a_driver_bug_fails_the_tasks_it_left_behind_instead_of_leaving_them_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from barbossad.engine.runner import RunDriver

    def broken_advance(self: RunDriver, task_id: str) -> None:
        raise RuntimeError("bug")  # nothing after the first task is ever readied

    monkeypatch.setattr(RunDriver, "_advance", broken_advance)
    async with step_engine(tmp_path) as (engine, journal):
        run = await engine.execute_workflow(workflow(engine, step("a"), step("b", "a")))
    assert journal.starts("b") == 0
    assert states(run) == {"a": "succeeded", "b": "failed"}
    assert run.state is RunState.FAILED
    assert "never ran it" in task_of(run, "b").error
