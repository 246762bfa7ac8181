"""One attempt's call into its task type: rendering, environment, context, timeout and errors.

Also holds `EngineDeps`, what every run is given by the engine (store, bus, registry, spawner...).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from barbossad.definitions.model import TaskDef
from barbossad.definitions.render import render_spec, render_text
from barbossad.engine.events import EventBus
from barbossad.errors import BarbossaError
from barbossad.store.base import Store
from barbossad.tasks.base import (
    OutputSink,
    Spawner,
    TaskContext,
    TaskRegistry,
    TaskResult,
    TaskSettings,
)

log = logging.getLogger(__name__)

SubWorkflowRunner = Callable[[str, Mapping[str, str]], Awaitable[tuple[bool, dict[str, str], int]]]


@dataclass(slots=True, kw_only=True)
class EngineDeps:
    """What every run needs, wired once by the engine."""

    store: Store
    bus: EventBus
    registry: TaskRegistry
    spawner: Spawner
    settings: TaskSettings
    global_limit: asyncio.Semaphore
    scratch_root: Path
    default_max_parallel: int = 16
    output_head_bytes: int = 1024 * 1024
    output_tail_bytes: int = 256 * 1024
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    run_workflow: SubWorkflowRunner | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """Where one attempt of a task runs."""

    run_id: int
    workflow: str
    task: TaskDef
    number: int
    sink: OutputSink
    outputs_file: Path
    scratch_dir: Path


def _environment(
    attempt: Attempt, deps: EngineDeps, values: Mapping[str, str], extra: Mapping[str, str]
) -> dict[str, str]:
    env = dict(deps.base_env)
    env.update({k: render_text(v, values) for k, v in attempt.task.env.items()})
    env.update(extra)
    env.update(
        {
            "BARBOSSA_RUN_ID": str(attempt.run_id),
            "BARBOSSA_WORKFLOW": attempt.workflow,
            "BARBOSSA_TASK_ID": attempt.task.id,
            "BARBOSSA_ATTEMPT": str(attempt.number),
            "BARBOSSA_OUTPUT": str(attempt.outputs_file),
        }
    )
    return env


async def _call(attempt: Attempt, deps: EngineDeps, values: Mapping[str, str]) -> TaskResult:
    task = attempt.task
    handler = deps.registry.get(task.type)
    if handler is None:
        return TaskResult(ok=False, error=f"unknown task type {task.type!r}")
    spec, extra_env = render_spec(task.spec, values)
    cwd = render_text(task.working_directory, values) if task.working_directory else None
    ctx = TaskContext(
        run_id=attempt.run_id,
        task_id=task.id,
        attempt=attempt.number,
        env=_environment(attempt, deps, values, extra_env),
        working_directory=cwd,
        timeout=task.timeout,
        spawner=deps.spawner,
        sink=attempt.sink,
        settings=deps.settings,
        outputs_file=attempt.outputs_file,
        scratch_dir=attempt.scratch_dir,
        run_workflow=deps.run_workflow,
    )
    # One stat of a local path: cheaper than a hop to a thread.
    if cwd is not None and not os.path.isdir(cwd):  # noqa: ASYNC240
        return TaskResult(ok=False, error=f"working_directory {cwd!r} does not exist")
    # The spawner kills a timed-out process tree itself; this also bounds handlers that
    # do not spawn (HTTP calls, health checks) and is harmless when both fire.
    if task.timeout is None:
        return await handler.run(spec, ctx)
    try:
        async with asyncio.timeout(task.timeout) as scope:
            return await handler.run(spec, ctx)
    except TimeoutError:
        if not scope.expired():
            raise  # the handler's own, not the task's timeout
        return TaskResult(ok=False, error=f"timed out after {task.timeout:g}s", timed_out=True)


async def invoke(attempt: Attempt, deps: EngineDeps, values: Mapping[str, str]) -> TaskResult:
    """Render the task with `values` and run it once; every failure becomes a failed result."""
    task = attempt.task
    try:
        return await _call(attempt, deps, values)
    except BarbossaError as exc:  # e.g. a value that cannot be rendered; the task fails
        return TaskResult(ok=False, error=str(exc))
    except Exception as exc:
        log.exception("run %d task %s: task type %s raised", attempt.run_id, task.id, task.type)
        return TaskResult(ok=False, error=f"internal error in task type {task.type}: {exc}")
