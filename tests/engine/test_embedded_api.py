"""The embeddable Python API, used exactly as the README documents it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from barbossad import RunState, TriggerType, WorkflowEngine
from barbossad.errors import NotFoundError
from barbossad.models import OutputStream, RunRecord, TaskState
from barbossad.store.base import RunFilter
from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult

HELLO = """
name: hello
variables:
  name: world
tasks:
  - id: greet
    type: shell_command
    command: echo "Hello, {{ name }}!"
"""

CHILD = """
name: child
variables:
  who: nobody
tasks:
  - id: build
    type: shell_command
    command: |
      echo "building for {{ who }}"
      echo "artifact=build-of-{{ who }}.tar.gz" >> "$BARBOSSA_OUTPUT"
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class GreetingSpec:
    """Fields of the custom `greeting` type."""

    to: str
    punctuation: str = "!"
    extra: Mapping[str, str] = field(default_factory=dict)


class GreetingHandler:
    """A custom task type: builds a greeting in-process and publishes it as an output."""

    type_name: ClassVar[str] = "greeting"
    spec_type: ClassVar[type] = GreetingSpec

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def check(self, spec: Any) -> list[tuple[str, str]]:
        return [("to", "must not be empty")] if not spec.to.strip() else []

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        return PlannedAction(description=f"would greet {spec.to}")

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        self.seen.append((spec.to, ctx.run_id))
        ctx.log(f"greeting {spec.to}")
        return TaskResult(ok=True, outputs={"text": f"Hi {spec.to}{spec.punctuation}"})


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A base directory with two templates, as /srv/barbossa would hold them."""
    templates = tmp_path / "srv" / "workflow_templates"
    templates.mkdir(parents=True)
    (templates / "hello.yaml").write_text(HELLO)
    (templates / "child.yaml").write_text(CHILD)
    return tmp_path / "srv"


async def stdout_of(engine: WorkflowEngine, run: RunRecord, task_id: str) -> str:
    chunks = await engine.store.get_output(run.id, task_id)
    return b"".join(c.data for c in chunks if c.stream is OutputStream.STDOUT).decode()


async def test_documented_usage(base: Path) -> None:
    engine = WorkflowEngine(base)  # SQLite + templates under this dir
    try:
        ended: list[tuple[int, RunState]] = []
        engine.add_completion_hook(lambda run: ended.append((run.id, run.state)))

        wf = engine.create_workflow_from_template("hello", {"name": "ops"})
        run = await engine.execute_workflow(wf, TriggerType.MANUAL)
        assert run.state is RunState.SUCCEEDED
        assert run.trigger is TriggerType.MANUAL
        assert await stdout_of(engine, run, "greet") == "Hello, ops!\n"

        config = {
            "name": "adhoc",
            "tasks": [{"id": "a", "type": "shell_command", "command": "uptime"}],
        }
        wf2 = engine.create_workflow_from_config(config)
        run2 = await engine.execute_workflow(wf2, TriggerType.MANUAL)
        assert run2.state is RunState.SUCCEEDED and run2.workflow == "adhoc"
        assert "load average" in await stdout_of(engine, run2, "a")
        assert ended == [(run.id, RunState.SUCCEEDED), (run2.id, RunState.SUCCEEDED)]
        assert (base / "workflows.db").exists()
    finally:
        await engine.shutdown(1)
        await engine.close()


async def test_by_name_with_parameters_and_async_hooks(base: Path) -> None:
    engine = WorkflowEngine(base)
    try:
        ended: list[int] = []

        async def hook(run: RunRecord) -> None:
            ended.append(run.id)

        def broken(run: RunRecord) -> None:
            raise RuntimeError("a broken hook must not break the engine")

        engine.add_completion_hook(broken)
        engine.add_completion_hook(hook)
        run = await engine.execute_workflow("hello", parameters={"name": "by-name"})
        assert run.state is RunState.SUCCEEDED and run.parameters == {"name": "by-name"}
        assert await stdout_of(engine, run, "greet") == "Hello, by-name!\n"
        assert ended == [run.id]
        with pytest.raises(NotFoundError, match="no-such"):
            await engine.execute_workflow("no-such")
    finally:
        await engine.shutdown(1)
        await engine.close()


async def test_custom_task_type_and_sub_workflow(base: Path) -> None:
    engine = WorkflowEngine(base)
    handler = GreetingHandler()
    engine.register_task_type(handler)
    try:
        wf = engine.create_workflow_from_config(
            {
                "name": "parent",
                "variables": {"team": "ops"},
                "tasks": [
                    {"id": "hi", "type": "greeting", "to": "{{ team }}"},
                    {
                        "id": "sub",
                        "type": "workflow",
                        "workflow": "child",
                        "parameters": {"who": "{{ tasks.hi.outputs.text }}"},
                        "dependencies": ["hi"],
                    },
                    {
                        "id": "ship",
                        "type": "shell_command",
                        "command": "echo shipping {{ tasks.sub.outputs.artifact }}",
                        "dependencies": ["sub"],
                    },
                ],
            }
        )
        run = await engine.execute_workflow(wf, TriggerType.MANUAL)
        assert run.state is RunState.SUCCEEDED, run.error
        assert handler.seen == [("ops", run.id)]
        tasks = {t.task_id: t for t in run.tasks}
        assert tasks["hi"].outputs == {"text": "Hi ops!"}
        child_id = int(tasks["sub"].outputs["run_id"])
        assert tasks["sub"].outputs["artifact"] == "build-of-Hi ops!.tar.gz"
        assert await stdout_of(engine, run, "ship") == "shipping build-of-Hi ops!.tar.gz\n"
        child = await engine.wait(child_id)
        assert child.workflow == "child" and child.trigger is TriggerType.WORKFLOW
        assert child.parameters == {"who": "Hi ops!"}
        assert [t.state for t in child.tasks] == [TaskState.SUCCEEDED]
        with pytest.raises(ValueError, match="already registered"):
            engine.register_task_type(GreetingHandler())
    finally:
        await engine.shutdown(1)
        await engine.close()


async def test_a_workflow_that_runs_itself_is_stopped(base: Path) -> None:
    (base / "workflow_templates" / "loop.yaml").write_text(
        "name: loop\ntasks:\n  - {id: again, type: workflow, workflow: loop}\n"
    )
    engine = WorkflowEngine(base)
    try:
        run = await engine.execute_workflow("loop")
        assert run.state is RunState.FAILED
        runs, total = await engine.store.list_runs(RunFilter(), limit=50, before_id=None)
        assert total == 9  # the top run and eight nested levels, then a clear refusal
        assert all(r.state is RunState.FAILED for r in runs)
        deepest = await engine.wait(max(r.id for r in runs))
        assert "sub-workflows nest deeper than 8 levels" in deepest.tasks[0].error
    finally:
        await engine.shutdown(1)
        await engine.close()
