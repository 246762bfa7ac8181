"""Dry runs: the rendered plan of a run, stage by stage, with nothing executed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.render import render_spec, render_text
from barbossad.engine.plan import plan as plan_dag
from barbossad.models import OutputStream
from barbossad.tasks.base import TaskContext, TaskRegistry, TaskSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedTask:
    """One task as it would run."""

    task_id: str
    name: str
    type: str
    dependencies: tuple[str, ...]
    description: str
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_directory: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionPlan:
    """Stages of tasks; the tasks of one stage may run in parallel."""

    workflow: str
    definition_hash: str
    parameters: Mapping[str, str]
    stages: tuple[tuple[PlannedTask, ...], ...]


class _Placeholders(dict[str, str]):
    """Values for a dry run: outputs of upstream tasks are not known yet."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


class _NullSink:
    def write(self, stream: OutputStream, data: bytes) -> None:
        return None


class _NoSpawner:
    async def run(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("a dry run must not spawn processes")


def build_plan(
    workflow: WorkflowDef, values: Mapping[str, str], registry: TaskRegistry, settings: TaskSettings
) -> ExecutionPlan:
    """Render every task and ask its handler what it would do."""
    rendering = _Placeholders(values)
    rendering.update({"workflow.name": workflow.name, "run.trigger": "manual"})
    stages = []
    for stage in plan_dag(workflow).stages:
        planned = []
        for task_id in stage:
            task = workflow.task(task_id)
            handler = registry.get(task.type)
            spec, extra_env = render_spec(task.spec, rendering)
            cwd = render_text(task.working_directory, rendering) if task.working_directory else ""
            env = {k: render_text(v, rendering) for k, v in task.env.items()}
            env.update(extra_env)
            ctx = TaskContext(
                run_id=0,
                task_id=task.id,
                attempt=1,
                env={**os.environ, **env},
                working_directory=cwd or None,
                timeout=task.timeout,
                spawner=_NoSpawner(),  # type: ignore[arg-type]
                sink=_NullSink(),
                settings=settings,
                outputs_file=Path(os.devnull),
                scratch_dir=Path(os.devnull),
            )
            action = handler.describe(spec, ctx) if handler else None
            planned.append(
                PlannedTask(
                    task_id=task.id,
                    name=task.name,
                    type=task.type,
                    dependencies=task.dependencies,
                    description=action.description if action else f"unknown task type {task.type}",
                    argv=action.argv if action else (),
                    env=env,
                    working_directory=cwd,
                )
            )
        stages.append(tuple(planned))
    return ExecutionPlan(
        workflow=workflow.name,
        definition_hash=workflow.hash,
        parameters=dict(values),
        stages=tuple(stages),
    )
