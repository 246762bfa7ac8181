"""DAG planning: orders and stages that respect every dependency; cycles named; fast."""

from __future__ import annotations

import graphlib
import itertools
import time
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barbossad.definitions.model import TaskDef, WorkflowDef
from barbossad.engine.plan import CycleError, find_cycle, plan, plan_graph
from barbossad.errors import DefinitionError

DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}


def test_stages_are_longest_path_levels() -> None:
    p = plan_graph(["a", "b", "c", "d", "e"], DIAMOND)
    assert p.stages == (("a", "e"), ("b", "c"), ("d",))
    assert p.order == ("a", "e", "b", "c", "d")
    assert p.stage_of == {"a": 0, "e": 0, "b": 1, "c": 1, "d": 2}


def test_stages_keep_definition_order() -> None:
    p = plan_graph(["z", "y", "x"], {"x": [], "y": [], "z": []})
    assert p.stages == (("z", "y", "x"),)


def test_skipped_level() -> None:
    p = plan_graph(["a", "b", "c"], {"b": ["a"], "c": ["a", "b"]})
    assert p.stages == (("a",), ("b",), ("c",))


def test_relations() -> None:
    p = plan_graph(["a", "b", "c", "d", "e"], DIAMOND)
    assert p.dependencies["d"] == ("b", "c")
    assert p.dependents == {"a": ("b", "c"), "b": ("d",), "c": ("d",), "d": (), "e": ()}
    assert p.upstream("d") == {"a", "b", "c"}
    assert p.upstream("a") == frozenset()
    assert p.downstream("a") == {"b", "c", "d"}
    assert p.is_upstream("a", "d") and p.is_upstream("b", "d")
    assert not p.is_upstream("d", "a") and not p.is_upstream("e", "d")
    assert not p.is_upstream("b", "c") and not p.is_upstream("zz", "d")


def test_bad_graphs() -> None:
    with pytest.raises(ValueError, match="duplicate node"):
        plan_graph(["a", "a"], {})
    with pytest.raises(ValueError, match="'a' depends on unknown node 'x'"):
        plan_graph(["a"], {"a": ["x"]})
    with pytest.raises(CycleError, match=r"^dependency cycle: a -> a$"):
        plan_graph(["a"], {"a": ["a"]})


@pytest.mark.parametrize(
    ("nodes", "edges", "cycle"),
    [
        (["a", "b"], {"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        (["a", "b", "c"], {"a": ["b"], "b": ["c"], "c": ["b"]}, ["b", "c", "b"]),
        (["a", "b", "c"], {"a": ["b"], "b": ["c"]}, None),
        (["a"], {"a": ["ghost"]}, None),  # edges to unknown nodes are ignored
        ([], {}, None),
    ],
)
def test_find_cycle(nodes: list[str], edges: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(nodes, edges) == cycle


def workflow(edges: Mapping[str, Sequence[str]]) -> WorkflowDef:
    tasks = tuple(
        TaskDef(id=i, name=i, type="t", spec=None, dependencies=tuple(d), line=n + 1)
        for n, (i, d) in enumerate(edges.items())
    )
    return WorkflowDef(name="w", tasks=tasks, source="w.yaml")


def test_plan_workflow() -> None:
    assert plan(workflow(DIAMOND)).stages == (("a", "e"), ("b", "c"), ("d",))
    with pytest.raises(DefinitionError) as caught:
        plan(workflow({"a": ["c"], "b": ["a"], "c": ["b"]}))
    assert str(caught.value) == "w.yaml:1: dependencies: dependency cycle: a -> c -> b -> a"


def test_long_chain_is_iterative_and_fast() -> None:
    n = 10_000
    nodes = [f"t{i}" for i in range(n)]
    edges = {nodes[i]: [nodes[i - 1]] if i else [] for i in range(n)}
    started = time.perf_counter()
    p = plan_graph(nodes, edges)
    assert p.order == tuple(nodes) and len(p.stages) == n
    assert p.is_upstream("t0", "t9999") and not p.is_upstream("t9999", "t0")
    assert len(p.upstream("t9999")) == n - 1
    edges["t0"] = ["t9999"]
    with pytest.raises(CycleError) as caught:
        plan_graph(nodes, edges)
    assert len(caught.value.cycle) == n + 1
    assert time.perf_counter() - started < 2.0


def best_of(runs: int, action: object) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


@pytest.mark.parametrize("shape", ["chain", "random", "wide"])
def test_speed_against_graphlib(shape: str) -> None:
    import random

    n = 10_000
    rnd = random.Random(7)
    nodes = [f"t{i}" for i in range(n)]
    pick = {
        "chain": lambda i: [nodes[i - 1]],
        "random": lambda i: sorted({nodes[rnd.randrange(i)] for _ in range(3)}),
        "wide": lambda i: [nodes[0]],
    }[shape]
    edges = {nodes[i]: pick(i) if i else [] for i in range(n)}
    ours = best_of(5, lambda: plan_graph(nodes, edges))
    theirs = best_of(5, lambda: list(graphlib.TopologicalSorter(edges).static_order()))
    assert ours <= 3 * theirs, f"plan_graph {ours * 1e3:.1f} ms vs graphlib {theirs * 1e3:.1f} ms"


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    n = draw(st.integers(0, 40))
    nodes = [f"n{i}" for i in draw(st.permutations(range(n)))]
    edges = {}
    for index, node in enumerate(nodes):
        edges[node] = draw(st.lists(st.sampled_from(nodes[:index]), unique=True)) if index else []
    order = draw(st.permutations(nodes))  # definition order need not be topological
    return list(order), edges


def reachable(edges: Mapping[str, Sequence[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges[node])
    return seen


@settings(max_examples=200, deadline=None)
@given(graph=dags())
def test_any_dag_plans_respecting_every_dependency(
    graph: tuple[list[str], dict[str, list[str]]],
) -> None:
    nodes, edges = graph
    p = plan_graph(nodes, edges)
    position = {node: i for i, node in enumerate(p.order)}
    assert sorted(p.order) == sorted(nodes)
    for node in nodes:
        assert all(position[dep] < position[node] for dep in edges[node])
        level = max((p.stage_of[dep] + 1 for dep in edges[node]), default=0)
        assert p.stage_of[node] == level  # stage = longest dependency path
        assert p.upstream(node) == reachable(edges, node)
        for other in nodes:
            assert p.is_upstream(other, node) == (other in p.upstream(node))
    assert [n for stage in p.stages for n in stage] == list(p.order)
    for stage in p.stages:
        assert list(stage) == sorted(stage, key=nodes.index)


@settings(max_examples=200, deadline=None)
@given(graph=dags(), data=st.data())
def test_any_cyclic_graph_is_rejected_naming_a_real_cycle(
    graph: tuple[list[str], dict[str, list[str]]], data: st.DataObject
) -> None:
    nodes, edges = graph
    candidates = [(a, b) for a in nodes for b in reachable(edges, a) | {a}]
    if not candidates:
        return
    low, high = data.draw(st.sampled_from(candidates))  # high depends on low: add the reverse
    edges[high] = [*edges[high], low] if low != high else [*edges[high], high]
    with pytest.raises(CycleError) as caught:
        plan_graph(nodes, edges)
    cycle = caught.value.cycle
    assert cycle[0] == cycle[-1] and len(set(cycle)) == len(cycle) - 1
    for node, dep in itertools.pairwise(cycle):
        assert dep in edges[node]
    assert str(caught.value) == "dependency cycle: " + " -> ".join(cycle)
