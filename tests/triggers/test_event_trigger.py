"""`on_workflow` triggers with the real engine: runs start when another workflow's run ends,
filtered by outcome, and chains that loop are cut off at the depth limit."""

from __future__ import annotations

import pytest
from trigkit import FinishedRuns, output_of, write_template

from barbossad.engine.engine import WorkflowEngine
from barbossad.models import RunState, TriggerType
from barbossad.store.base import RunFilter
from barbossad.triggers.service import TriggerService

UPSTREAM = """
name: build
variables:
  fail: "no"
tasks:
  - {id: compile, type: shell_command, command: 'test "{{ fail }}" = no'}
"""


def downstream(outcome: str, message: str) -> str:
    return f"""
    name: after build {outcome}
    variables:
      note: ""
    triggers:
      - on_workflow: {{workflow: build, outcome: {outcome}, parameters: {{note: "{message}"}}}}
    tasks:
      - {{id: say, type: shell_command, command: "echo {{{{ note }}}}"}}
    """


@pytest.fixture(autouse=True)
def templates(engine: WorkflowEngine, service: TriggerService) -> None:
    write_template(engine, "build", UPSTREAM)
    write_template(engine, "deploy", downstream("succeeded", "ship it"))
    write_template(engine, "page", downstream("failed", "wake someone"))
    write_template(
        engine,
        "audit",
        "name: audit\ntriggers: [on_workflow: build]\n"
        "tasks: [{id: log, type: shell_command, command: 'true'}]\n",
    )


async def started(engine: WorkflowEngine) -> dict[str, list[int]]:
    runs, _ = await engine.store.list_runs(RunFilter(), limit=100, before_id=None)
    out: dict[str, list[int]] = {}
    for run in reversed(runs):
        out.setdefault(run.workflow, []).append(run.id)
    return out


async def test_success_starts_the_succeeded_and_any_triggers(
    engine: WorkflowEngine, finished: FinishedRuns
) -> None:
    build = await engine.execute_workflow("build")
    assert build.state is RunState.SUCCEEDED
    # The upstream's completion hooks have run once wait() returns: what started, started.
    runs = await started(engine)
    assert sorted(runs) == ["audit", "build", "deploy"]
    deploy = await finished.wait_for(lambda r: r.workflow == "deploy")
    assert deploy.state is RunState.SUCCEEDED
    assert deploy.trigger is TriggerType.EVENT
    assert deploy.triggered_by == f"workflow build run {build.id}"
    assert deploy.parameters["note"] == "ship it"
    assert "ship it" in await output_of(engine, deploy.id)
    await finished.wait_for(lambda r: r.workflow == "audit")


async def test_failure_starts_the_failed_and_any_triggers(
    engine: WorkflowEngine, finished: FinishedRuns
) -> None:
    build = await engine.execute_workflow("build", parameters={"fail": "yes"})
    assert build.state is RunState.FAILED
    assert sorted(await started(engine)) == ["audit", "build", "page"]
    page = await finished.wait_for(lambda r: r.workflow == "page")
    assert "wake someone" in await output_of(engine, page.id)
    await finished.wait_for(lambda r: r.workflow == "audit")


async def test_removed_template_no_longer_listens(
    engine: WorkflowEngine, service: TriggerService, finished: FinishedRuns
) -> None:
    path = engine.catalog.get("audit")
    assert path is not None
    path.path.unlink()
    engine.catalog.remove_file(path.path)
    await engine.execute_workflow("build")
    assert sorted(await started(engine)) == ["build", "deploy"]
    await finished.wait_for(lambda r: r.workflow == "deploy")


async def test_a_loop_stops_at_the_depth_limit(
    engine: WorkflowEngine, service: TriggerService, caplog: pytest.LogCaptureFixture
) -> None:
    service.registry.events.max_depth = 3
    write_template(
        engine,
        "ping",
        "name: ping\ntriggers: [on_workflow: pong]\n"
        "tasks: [{id: p, type: shell_command, command: 'true'}]\n",
    )
    write_template(
        engine,
        "pong",
        "name: pong\ntriggers: [on_workflow: ping]\n"
        "tasks: [{id: p, type: shell_command, command: 'true'}]\n",
    )
    finished = FinishedRuns(engine)  # after the registry's hook: sees a run once it has fired
    first = await engine.start(engine.catalog.definition("ping"), key="ping")  # type: ignore[arg-type]
    runs = await finished.wait_count(4)
    assert [r.workflow for r in runs] == ["ping", "pong", "ping", "pong"]
    assert runs[0].id == first.id and runs[0].trigger is TriggerType.MANUAL
    assert [r.triggered_by for r in runs[1:]] == [
        f"workflow {a.workflow} run {a.id}" for a in runs[:3]
    ]
    assert "would start ping as event 4 of a chain; the limit is 3" in caplog.text
    assert len(await started(engine)) == 2 and sum(map(len, (await started(engine)).values())) == 4
