"""Random DAGs run through the real engine: every dependency ends before its dependent starts.

Each example builds a workflow of `step` tasks (random dependencies, conditions, failures,
continue_on_error, max_parallel; definitions listed in a shuffled order), runs it in-process
and checks the journal of starts and ends, and every task's state against a small model.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enginekit import Journal, states, step_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barbossad import TriggerType
from barbossad.engine.events import TaskStateEvent
from barbossad.models import RunRecord, TaskState

CONDITIONS = ("all_succeeded", "all_succeeded", "always", "on_failure")


@dataclass(frozen=True)
class Node:
    id: str
    deps: tuple[str, ...]
    condition: str
    fails: bool
    continue_on_error: bool
    yields: int


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[Node], int | None]:
    size = draw(st.integers(1, 10))
    ids = [f"t{i}" for i in range(size)]
    nodes = []
    for i, task_id in enumerate(ids):
        deps = draw(st.lists(st.sampled_from(ids[:i]), unique=True, max_size=3)) if i else []
        nodes.append(
            Node(
                id=task_id,
                deps=tuple(deps),
                condition=draw(st.sampled_from(CONDITIONS)),
                fails=draw(st.booleans()) and draw(st.booleans()),
                continue_on_error=draw(st.booleans()) and draw(st.booleans()),
                yields=draw(st.integers(0, 3)),
            )
        )
    shuffled = draw(st.permutations(nodes))
    return list(shuffled), draw(st.one_of(st.none(), st.integers(1, 4)))


def config(nodes: list[Node], max_parallel: int | None) -> dict[str, Any]:
    tasks = [
        {
            "id": n.id,
            "type": "step",
            "dependencies": list(n.deps),
            "condition": n.condition,
            "continue_on_error": n.continue_on_error,
            "fail_attempts": 1 if n.fails else 0,
            "yields": n.yields,
        }
        for n in nodes
    ]
    data: dict[str, Any] = {"name": "dag", "tasks": tasks}
    if max_parallel is not None:
        data["max_parallel"] = max_parallel
    return data


def model(nodes: list[Node]) -> tuple[dict[str, str], str]:
    """Expected task states and run state (nodes are taken in index order: t0, t1, ...)."""
    state: dict[str, str] = {}
    flag: dict[str, bool] = {}
    by_id = {n.id: n for n in nodes}
    for node in sorted(nodes, key=lambda n: int(n.id[1:])):
        deps = [by_id[d] for d in node.deps]
        deps_ok = all(
            state[d.id] == "succeeded" or (state[d.id] == "failed" and d.continue_on_error)
            for d in deps
        )
        upstream_failed = any(flag[d.id] for d in deps)
        runs = {
            "always": True,
            "on_failure": upstream_failed,
            "all_succeeded": deps_ok,
        }[node.condition]
        state[node.id] = ("failed" if node.fails else "succeeded") if runs else "skipped"
        failure = state[node.id] == "failed" and not node.continue_on_error
        flag[node.id] = failure or upstream_failed
    failed = any(state[n.id] == "failed" and not n.continue_on_error for n in nodes)
    return state, "failed" if failed else "succeeded"


async def run_dag(
    nodes: list[Node], max_parallel: int | None
) -> tuple[RunRecord, Journal, list[TaskStateEvent]]:
    with tempfile.TemporaryDirectory(prefix="bb-dag-") as base:
        async with step_engine(Path(base)) as (engine, journal):
            workflow = engine.create_workflow_from_config(config(nodes, max_parallel))
            async with asyncio.timeout(20):
                started = await engine.start(workflow, TriggerType.MANUAL)
                events = [e.body async for e in engine.bus.subscribe(started.id)]
                run = await engine.wait(started.id)
            return run, journal, [e for e in events if isinstance(e, TaskStateEvent)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_random_dags_run_in_dependency_order(dag: tuple[list[Node], int | None]) -> None:
    nodes, max_parallel = dag
    run, journal, events = asyncio.run(run_dag(nodes, max_parallel))
    expected, run_state = model(nodes)
    assert states(run) == expected
    assert run.state.value == run_state
    for node in nodes:  # each task ends once, with the state stored, and nothing after
        own = [e.state for e in events if e.task_id == node.id]
        assert [s for s in own if s.finished] == [TaskState(expected[node.id])]
        assert own[-1].finished
    for node in nodes:
        assert journal.starts(node.id) == (0 if expected[node.id] == "skipped" else 1)
        if journal.starts(node.id):
            begin = journal.index("start", node.id)
            for dep in node.deps:
                if journal.starts(dep):
                    assert journal.index("end", dep) < begin, (
                        f"{node.id} started before {dep} ended"
                    )
    if max_parallel is not None:
        assert journal.peak <= max_parallel
