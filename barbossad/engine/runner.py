"""Drives one run of a workflow: the DAG scheduler, retries, timeouts, cancellation, records."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import shutil
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime

from barbossad.definitions.model import TaskDef, WorkflowDef
from barbossad.engine.events import RunStateEvent, TaskStateEvent
from barbossad.engine.invoke import Attempt, EngineDeps, invoke
from barbossad.engine.output import OutputCapture
from barbossad.engine.outputs_file import read_outputs
from barbossad.engine.state import Decision, counts_as_failure, decide, dependency_ok, run_outcome
from barbossad.models import RunRecord, RunState, TaskRunRecord, TaskState
from barbossad.store.base import TaskUpdate
from barbossad.tasks.base import TaskResult

__all__ = ["RunDriver"]

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class RunDriver:
    """Executes one run; `cancel()` stops it with a given final state."""

    def __init__(
        self,
        *,
        workflow: WorkflowDef,
        run: RunRecord,
        values: Mapping[str, str],
        deps: EngineDeps,
        reused: Mapping[str, TaskRunRecord] | None = None,
    ) -> None:
        self.workflow = workflow
        self.run = run
        self.deps = deps
        self._values = dict(values)
        self._values.update(
            {
                "run.id": str(run.id),
                "workflow.name": workflow.name,
                "run.trigger": run.trigger.value,
            }
        )
        self._tasks = {t.id: t for t in workflow.tasks}
        self._records = {t.task_id: t for t in run.tasks}
        self._states: dict[str, TaskState] = {t.id: TaskState.PENDING for t in workflow.tasks}
        self._failed_flag: dict[str, bool] = {}
        self._dependents: dict[str, list[str]] = {t.id: [] for t in workflow.tasks}
        for t in workflow.tasks:
            for d in t.dependencies:
                self._dependents[d].append(t.id)
        self._waiting: dict[str, int] = {t.id: len(t.dependencies) for t in workflow.tasks}
        self._reused = dict(reused or {})
        # Ready tasks wait in _queue for one of at most _slots workers (asyncio tasks that run
        # queued tasks one after another: a chain runs in one of them, no hand-off per link).
        self._queue: deque[TaskDef] = deque()
        self._slots = workflow.max_parallel or deps.default_max_parallel
        self._workers: set[asyncio.Task[None]] = set()
        self._takers = 0  # workers about to take from the queue (see _enqueue)
        # Failed tasks waiting out their retry delay, which holds no slot; and their next attempt.
        self._retry_timers: dict[str, asyncio.TimerHandle] = {}
        self._next_attempt: dict[str, int] = {}
        self._idle: asyncio.Future[None] | None = None  # resolved when nothing is left to run
        # Queued task changes not yet committed and published; the run ends after them.
        self._unpublished = 0
        self._published: asyncio.Future[None] | None = None
        self._store_error: str | None = None
        self._stop_state: RunState | None = None
        self._scratch = deps.scratch_root / f"run-{run.id}"

    @property
    def run_id(self) -> int:
        """The run this driver executes."""
        return self.run.id

    def cancel(self, state: RunState = RunState.CANCELLED) -> None:
        """Stop the run: running tasks are killed, pending ones never start."""
        if self._stop_state is None:
            self._stop_state = state
        for timer in self._retry_timers.values():
            timer.cancel()
        self._retry_timers.clear()
        for worker in self._workers:
            worker.cancel()

    async def execute(self) -> RunState:
        """Run the workflow to its end and return the final state (already stored)."""
        store, bus = self.deps.store, self.deps.bus
        await store.set_run_state(self.run.id, RunState.RUNNING)
        bus.publish(self.run.id, RunStateEvent(state=RunState.RUNNING))
        log.info(
            "run %d of %s started (%s)", self.run.id, self.workflow.name, self.run.trigger.value
        )
        self._scratch.mkdir(parents=True, exist_ok=True)
        try:
            async with asyncio.timeout(self.workflow.timeout):
                await self._schedule()
        except TimeoutError:
            self.cancel(RunState.TIMED_OUT)
            await self._drain()
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)
        if self._unpublished:
            # Every task change is committed and published before the run's end is.
            self._published = asyncio.get_running_loop().create_future()
            store.commit_queued()
            await self._published
        state, error = self._final()
        await store.set_run_state(self.run.id, state, error=error)
        bus.publish(self.run.id, RunStateEvent(state=state, error=error))
        log.info("run %d of %s ended %s %s", self.run.id, self.workflow.name, state.value, error)
        return state

    def _final(self) -> tuple[RunState, str]:
        stop = self._stop_state
        if stop is RunState.TIMED_OUT:
            return stop, f"workflow timed out after {self.workflow.timeout or 0:g}s"
        if stop is RunState.INTERRUPTED:
            return stop, "interrupted: the daemon stopped"
        if stop is not None:
            return stop, stop.value
        if self._store_error is not None:
            return RunState.FAILED, f"could not record a task's state: {self._store_error}"
        return run_outcome(self.workflow.tasks, self._states)

    async def _schedule(self) -> None:
        # Roots are taken before any starts: a reused or skipped root finishes at once and
        # readies its dependents itself, which must not be readied a second time here.
        roots = [task for task in self.workflow.tasks if self._waiting[task.id] == 0]
        for task in roots:
            if self._ready(task):
                self._advance(task.id)
        if self._workers or self._retry_timers:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle
        await self._drain()

    async def _drain(self) -> None:
        """After a stop: wait for running tasks, then close out every task that never started."""
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        stop = self._stop_state
        if stop is None:
            # Nothing stopped the run, so every task has ended, unless a bug left some behind:
            # they fail (the run with them) rather than stay pending for ever.
            final, error = (
                TaskState.FAILED,
                "internal error: the engine never ran it, see daemon log",
            )
        else:
            final = {
                RunState.INTERRUPTED: TaskState.INTERRUPTED,
            }.get(stop, TaskState.CANCELLED)
            error = f"run {stop.value}"
        for task_id, state in self._states.items():
            if not state.finished:
                if stop is None:
                    log.error("run %d task %s: never ran (engine error)", self.run.id, task_id)
                self._set(task_id, final, finished_at=_now(), error=error)

    def _advance(self, task_id: str) -> None:
        """task_id has ended: ready its dependents, and theirs when those end at once.

        Iterative, so a long chain of reused or skipped tasks needs no deep stack.
        """
        ended = [task_id]
        while ended:
            done = ended.pop()
            task = self._tasks[done]
            self._failed_flag[done] = counts_as_failure(task, self._states[done]) or any(
                self._failed_flag.get(d, False) for d in task.dependencies
            )
            for dependent in self._dependents[done]:
                self._waiting[dependent] -= 1
                if self._waiting[dependent] == 0 and self._ready(self._tasks[dependent]):
                    ended.append(dependent)

    def _ready(self, task: TaskDef) -> bool:
        """All dependencies of task have ended: queue it to run, reuse it, or skip it.

        Returns True when it ended at once (reused or skipped): its dependents are then due.
        """
        if self._stop_state is not None:
            return False  # never started: _drain closes it out
        reused = self._reused.get(task.id)
        if reused is not None:  # stored as succeeded (reused) when the run was created
            self._states[task.id] = TaskState.SUCCEEDED
            self._publish_outputs(task.id, reused.outputs, reused.exit_code, "")
            self.deps.bus.publish(
                self.run.id,
                TaskStateEvent(
                    task_id=task.id,
                    state=TaskState.SUCCEEDED,
                    attempt=reused.attempt,
                    exit_code=reused.exit_code,
                ),
            )
            return True
        deps_ok = all(dependency_ok(self._tasks[d], self._states[d]) for d in task.dependencies)
        upstream_failed = any(self._failed_flag.get(d, False) for d in task.dependencies)
        if decide(task, deps_ok, upstream_failed) is Decision.SKIP:
            why = "a dependency did not succeed" if not deps_ok else "no upstream failure"
            self._set(task.id, TaskState.SKIPPED, finished_at=_now(), error=f"skipped: {why}")
            return True
        self._enqueue(task)
        return False

    def _enqueue(self, task: TaskDef) -> None:
        """Queue task to run, starting a worker for it while the run has a free slot."""
        self._queue.append(task)
        # A worker that just finished a task takes the first task it readied itself.
        if len(self._workers) < self._slots and len(self._queue) > self._takers:
            worker = asyncio.create_task(self._work(), name=f"run {self.run.id} worker")
            self._workers.add(worker)

    async def _work(self) -> None:
        """Run queued tasks one after another until none is left (or the run stops)."""
        try:
            while self._queue and self._stop_state is None:
                task = self._queue.popleft()
                if await self._run_task(task):
                    self._takers += 1  # this worker goes on with what the queue holds
                    try:
                        self._advance(task.id)
                    finally:
                        self._takers -= 1
        except Exception:  # a bug: tasks it left pending are closed out as never started
            log.exception("run %d: driver error", self.run.id)
        finally:
            worker = asyncio.current_task()
            assert worker is not None
            self._workers.discard(worker)
            self._maybe_idle()

    def _maybe_idle(self) -> None:
        if self._workers or self._retry_timers:
            return
        if self._idle is not None and not self._idle.done():
            self._idle.set_result(None)

    def _retry_due(self, task: TaskDef) -> None:
        """A retry delay is over: the task queues for a slot again."""
        del self._retry_timers[task.id]
        if self._stop_state is None:
            self._enqueue(task)
        self._maybe_idle()

    def _set(
        self,
        task_id: str,
        state: TaskState,
        *,
        attempt_state: TaskState | None = None,
        **fields: object,
    ) -> None:
        """Record the task's new state; with attempt_state, its attempt row too.

        The write is queued, not awaited (a process may start while it is being committed);
        the change is published once it is committed, so nobody hears of an unstored state.
        """
        self._states[task_id] = state
        record = self._records[task_id]
        record.state = state
        for key, value in fields.items():
            if value is not None:  # None means unchanged, as in TaskUpdate
                setattr(record, key, value)
        row = None if attempt_state is None else _with_state(record, attempt_state)
        update = TaskUpdate(state=state, **fields)  # type: ignore[arg-type]
        event = TaskStateEvent(
            task_id=task_id,
            state=state,
            attempt=record.attempt,
            exit_code=record.exit_code,
            error=record.error,
        )
        written = self.deps.store.queue_task_update(self.run.id, task_id, update, attempt=row)
        written.add_done_callback(functools.partial(self._written, event))
        self._unpublished += 1

    def _written(self, event: TaskStateEvent, written: asyncio.Future[None]) -> None:
        """A task change is committed (or failed to be): publish it either way."""
        error = None if written.cancelled() else written.exception()
        if error is not None:
            task_id = event.task_id
            log.error("run %d task %s: could not store its state: %s", self.run.id, task_id, error)
            self._store_error = self._store_error or str(error)
        self.deps.bus.publish(self.run.id, event)
        self._unpublished -= 1
        if not self._unpublished and self._published is not None:
            self._published.set_result(None)

    def _publish_outputs(
        self, task_id: str, outputs: Mapping[str, str], exit_code: int | None, stdout: str
    ) -> None:
        prefix = f"tasks.{task_id}."
        for key, value in outputs.items():
            self._values[f"{prefix}outputs.{key}"] = value
        self._values[f"{prefix}exit_code"] = "" if exit_code is None else str(exit_code)
        self._values[f"{prefix}stdout"] = stdout

    async def _run_task(self, task: TaskDef) -> bool:
        """Run the task's attempts from its next one; False when it now waits to retry."""
        try:
            return await self._attempts(task)
        except asyncio.CancelledError:
            if self._states[task.id] is TaskState.PENDING:
                raise  # never started (waiting for a slot): _drain closes it out
            final = {
                RunState.INTERRUPTED: TaskState.INTERRUPTED,
                RunState.TIMED_OUT: TaskState.TIMED_OUT,
            }.get(self._stop_state or RunState.CANCELLED, TaskState.CANCELLED)
            with contextlib.suppress(Exception):
                self._end_attempt(task, final, None, f"task {final.value}")
            raise
        except Exception:
            # A bug or a store failure: the task must still end, or the run would end
            # "succeeded" with it left running.
            log.exception("run %d task %s: engine error", self.run.id, task.id)
            with contextlib.suppress(Exception):
                error = "internal error, see daemon log"
                self._end_attempt(task, TaskState.FAILED, None, error)
            return True

    async def _attempts(self, task: TaskDef) -> bool:
        attempts = max(1, task.retry.attempts)
        attempt = self._next_attempt.pop(task.id, 1)
        while True:
            async with self.deps.global_limit:
                if self._stop_state is not None:
                    return True
                result = await self._attempt(task, attempt, last=attempt == attempts)
            if result.ok or attempt == attempts:
                return True
            attempt += 1
            delay = task.retry.delay_before(attempt)
            if delay > 0:  # the wait holds no slot: the task queues again when it is over
                self._next_attempt[task.id] = attempt
                loop = asyncio.get_running_loop()
                self._retry_timers[task.id] = loop.call_later(delay, self._retry_due, task)
                return False

    async def _attempt(self, task: TaskDef, attempt: int, *, last: bool) -> TaskResult:
        record = self._records[task.id]
        record.attempt = attempt
        record.exit_code = None
        record.finished_at = None
        self._set(
            task.id,
            TaskState.RUNNING,
            attempt_state=TaskState.RUNNING,
            attempt=attempt,
            started_at=_now(),
            error="",
        )
        capture = OutputCapture(
            store=self.deps.store,
            bus=self.deps.bus,
            run_id=self.run.id,
            task_id=task.id,
            attempt=attempt,
            head_bytes=self.deps.output_head_bytes,
            tail_bytes=self.deps.output_tail_bytes,
        )
        # Not created here: tasks append to it, and a missing file reads as no outputs.
        outputs_file = self._scratch / f"{task.id}.{attempt}.outputs"
        where = Attempt(
            run_id=self.run.id,
            workflow=self.workflow.name,
            task=task,
            number=attempt,
            sink=capture,
            outputs_file=outputs_file,
            scratch_dir=self._scratch,
        )
        try:
            result = await invoke(where, self.deps, self._values)
        finally:
            await capture.close()
        outputs = dict(result.outputs)
        outputs.update(read_outputs(outputs_file))
        record.outputs = outputs
        record.output_truncated = capture.truncated
        if result.ok:
            state = TaskState.SUCCEEDED
        elif result.timed_out:
            state = TaskState.TIMED_OUT
        else:
            state = TaskState.FAILED
        if state is TaskState.SUCCEEDED or last:
            self._publish_outputs(
                task.id, outputs, result.exit_code, capture.stdout.decode("utf-8", "replace")
            )
        # A failed attempt that will be retried leaves the task `retrying` (never a transient
        # `failed` that watchers would take for its end); the attempt's own row says failed.
        row_state = state if state is TaskState.SUCCEEDED or last else TaskState.RETRYING
        self._end_attempt(
            task, state, result.exit_code, result.error, outputs, capture.truncated, row_state
        )
        return result

    def _end_attempt(
        self,
        task: TaskDef,
        state: TaskState,
        exit_code: int | None,
        error: str,
        outputs: Mapping[str, str] | None = None,
        truncated: bool | None = None,
        row_state: TaskState | None = None,
    ) -> None:
        """Record how an attempt ended: its attempt row says `state`, the task row `row_state`."""
        record = self._records[task.id]
        in_attempt = self._states[task.id] is TaskState.RUNNING  # not between attempts
        record.exit_code = exit_code
        record.error = error
        record.finished_at = finished = _now()
        row_state = row_state or state
        self._set(
            task.id,
            row_state,
            attempt_state=state if in_attempt else None,
            exit_code=exit_code,
            error=error,
            finished_at=finished if row_state.finished else None,
            outputs=dict(outputs) if outputs is not None else None,
            output_truncated=truncated,
        )
        if error:
            log.info(
                "run %d task %s attempt %d %s: %s",
                self.run.id,
                task.id,
                record.attempt,
                state.value,
                error,
            )


def _with_state(record: TaskRunRecord, state: TaskState) -> TaskRunRecord:
    """A copy of record in another state (dataclasses.replace, without its per-field walk)."""
    return TaskRunRecord(
        run_id=record.run_id,
        task_id=record.task_id,
        name=record.name,
        type=record.type,
        state=state,
        attempt=record.attempt,
        exit_code=record.exit_code,
        started_at=record.started_at,
        finished_at=record.finished_at,
        error=record.error,
        outputs=record.outputs,
        output_truncated=record.output_truncated,
        reused=record.reused,
    )
