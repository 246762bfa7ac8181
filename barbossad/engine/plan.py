"""DAG planning: the order tasks may run in, grouped into stages. Pure and iterative.

Stage k holds the tasks whose longest chain of dependencies has k links, so the tasks of one
stage never depend on each other and a stage can start once the ones before it are done.
Planning is Kahn's algorithm over integer indices: linear, no recursion, so a 10,000-task
chain plans in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from barbossad.definitions.model import WorkflowDef
from barbossad.errors import DefinitionError, Issue


class CycleError(ValueError):
    """The graph has a cycle; `cycle` lists it with the first node repeated at the end."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The planned order of a workflow's tasks."""

    order: tuple[str, ...]  # a topological order: every task after all of its dependencies
    stages: tuple[tuple[str, ...], ...]  # each stage in definition order
    dependencies: Mapping[str, tuple[str, ...]]
    dependents: Mapping[str, tuple[str, ...]]
    stage_of: Mapping[str, int]
    # Filled on first use by is_upstream: ancestors of each task as a bitset over `order`.
    _bits: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _position: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def upstream(self, task_id: str) -> frozenset[str]:
        """Every task `task_id` depends on, directly or not."""
        return _reach(task_id, self.dependencies)

    def downstream(self, task_id: str) -> frozenset[str]:
        """Every task that depends on `task_id`, directly or not."""
        return _reach(task_id, self.dependents)

    def is_upstream(self, ancestor: str, task_id: str) -> bool:
        """True if `task_id` depends on `ancestor`, directly or not."""
        if ancestor in self.dependencies.get(task_id, ()):
            return True
        if self.stage_of.get(ancestor, len(self.order)) >= self.stage_of.get(task_id, -1):
            return False  # an ancestor is always in an earlier stage
        if not self._bits:
            self._compute_ancestors()
        return bool(self._bits[task_id] >> self._position[ancestor] & 1)

    def _compute_ancestors(self) -> None:
        # Memory is O(n^2 / 16) bytes at worst (a chain): 6 MB for 10,000 tasks, 25 MB at the
        # parser's limit of 20,000; time is tens of milliseconds.
        position = self._position
        position.update((node, i) for i, node in enumerate(self.order))
        bits = self._bits
        for node in self.order:
            mine = 0
            for dep in self.dependencies[node]:
                mine |= bits[dep] | (1 << position[dep])
            bits[node] = mine


def _reach(start: str, edges: Mapping[str, tuple[str, ...]]) -> frozenset[str]:
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges[node])
    return frozenset(seen)


def find_cycle(nodes: Iterable[str], edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as [a, b, ..., a] (a depends on b ...), or None; unknown targets are ignored."""
    ordered = list(nodes)  # start from nodes in the given order: the answer is deterministic
    known = set(ordered)
    done: set[str] = set()
    for start in ordered:
        if start in done:
            continue
        path = [start]
        on_path = {start: 0}
        stack = [iter(edges.get(start, ()))]
        while stack:
            for nxt in stack[-1]:
                if nxt not in known or nxt in done:
                    continue
                if nxt in on_path:
                    return [*path[on_path[nxt] :], nxt]
                on_path[nxt] = len(path)
                path.append(nxt)
                stack.append(iter(edges.get(nxt, ())))
                break
            else:
                stack.pop()
                node = path.pop()
                del on_path[node]
                done.add(node)
    return None


def plan_graph(nodes: Sequence[str], edges: Mapping[str, Sequence[str]]) -> Plan:
    """Plan `nodes`, where edges[n] lists the nodes n depends on; CycleError on a cycle."""
    index = {node: i for i, node in enumerate(nodes)}
    if len(index) != len(nodes):
        raise ValueError("duplicate node in graph")
    children: list[list[int]] = [[] for _ in nodes]
    waiting = [0] * len(nodes)
    for i, node in enumerate(nodes):
        deps = edges.get(node, ())
        waiting[i] = len(deps)
        for dep in deps:
            if dep not in index:
                raise ValueError(f"{node!r} depends on unknown node {dep!r}")
            children[index[dep]].append(i)
    stage = [i for i, count in enumerate(waiting) if not count]
    stages: list[list[int]] = []
    while stage:
        stages.append(stage)
        following = []
        for i in stage:
            for child in children[i]:
                waiting[child] -= 1
                if not waiting[child]:
                    following.append(child)
        following.sort()
        stage = following
    if sum(map(len, stages)) != len(nodes):
        raise CycleError(find_cycle(nodes, edges) or [])
    named = tuple(tuple(nodes[i] for i in s) for s in stages)
    return Plan(
        order=tuple(node for s in named for node in s),
        stages=named,
        dependencies={node: tuple(edges.get(node, ())) for node in nodes},
        dependents={nodes[i]: tuple(nodes[c] for c in kids) for i, kids in enumerate(children)},
        stage_of={node: k for k, s in enumerate(named) for node in s},
    )


def plan(workflow: WorkflowDef) -> Plan:
    """Plan a workflow's tasks; DefinitionError naming the cycle if there is one."""
    try:
        return plan_graph(
            [t.id for t in workflow.tasks], {t.id: t.dependencies for t in workflow.tasks}
        )
    except CycleError as exc:
        task = workflow.task(exc.cycle[0]) if exc.cycle else workflow.tasks[0]
        issue = Issue(
            file=workflow.source, line=task.line, column=0, field="dependencies", message=str(exc)
        )
        raise DefinitionError([issue]) from None
