"""Checks that span tasks: unique ids, known dependencies, no cycles, known placeholders.

A placeholder must name a declared variable, a built-in (`run.id`, `run.trigger`,
`workflow.name`), or a result of an *upstream* task (a direct or indirect dependency):
`tasks.ID.outputs.KEY`, `tasks.ID.exit_code`, `tasks.ID.stdout`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from barbossad.definitions.convert import Reader, closest
from barbossad.definitions.loader import FieldPath
from barbossad.definitions.model import TaskDef, VariableDef
from barbossad.definitions.render import BUILTINS, Placeholder, scan, shell_problems, spec_strings
from barbossad.engine.plan import CycleError, Plan, plan_graph

_RESULTS = "tasks.ID.outputs.KEY, tasks.ID.exit_code or tasks.ID.stdout"


def check_graph(reader: Reader, tasks: Sequence[TaskDef | None]) -> Plan | None:
    """Report duplicate ids, unknown or repeated dependencies and cycles; the plan if sound."""
    first: dict[str, int] = {}
    for index, task in enumerate(tasks):
        if task is None or not task.id:
            continue
        if task.id in first:
            line = reader.doc.where(("tasks", first[task.id]))[0]
            where = f" (first used at line {line})" if line else ""
            reader.report(("tasks", index, "id"), f"duplicate task id {task.id!r}{where}")
        else:
            first[task.id] = index
    edges: dict[str, list[str]] = {}
    for index, task in enumerate(tasks):
        if task is None or first.get(task.id) != index:
            continue
        deps: list[str] = []
        for position, dep in enumerate(task.dependencies):
            path = ("tasks", index, "dependencies", position)
            if dep == task.id:
                reader.report(path, f"task {task.id!r} depends on itself")
            elif dep not in first:
                reader.report(path, f"unknown dependency {dep!r}", reader.suggest(dep, first))
            elif dep in deps:
                reader.report(path, f"dependency {dep!r} is listed twice")
            else:
                deps.append(dep)
        edges[task.id] = deps
    try:
        return plan_graph(list(first), edges)
    except CycleError as exc:
        at = ("tasks", first[exc.cycle[0]], "dependencies")
        reader.report(at, f"dependency cycle: {' -> '.join(exc.cycle)}")
        return None


def check_placeholders(
    reader: Reader,
    tasks: Sequence[TaskDef | None],
    variables: Sequence[VariableDef],
    plan: Plan | None,
) -> None:
    """Report malformed placeholders, unknown names, and results of non-upstream tasks."""
    declared = {v.name for v in variables}
    ids = {task.id for task in tasks if task is not None and task.id}
    for index, task in enumerate(tasks):
        if task is None or not task.id:
            continue
        for sub, text, shell in _texts(task):
            if "{{" not in text:
                continue
            path: FieldPath = ("tasks", index, *sub)
            for placeholder in scan(text):
                problem = _problem(reader, placeholder, task.id, declared, ids, plan)
                if problem is not None:
                    reader.report(path, *problem)
            if shell:
                for message in shell_problems(text):
                    reader.report(path, message)


def _texts(task: TaskDef) -> Iterator[tuple[FieldPath, str, bool]]:
    if task.working_directory:
        yield ("working_directory",), task.working_directory, False
    for key, value in task.env.items():
        yield ("env", key), value, False
    if task.spec is not None:
        yield from spec_strings(task.spec)


def _problem(
    reader: Reader,
    placeholder: Placeholder,
    task_id: str,
    declared: set[str],
    ids: set[str],
    plan: Plan | None,
) -> tuple[str, str] | None:
    """(message, suggestion) for a placeholder that is not allowed here, else None."""
    raw = placeholder.raw if len(placeholder.raw) <= 60 else placeholder.raw[:57] + "..."
    name = placeholder.name
    if name is None:
        return (
            f"{raw!r} is not a placeholder: write {{{{ name }}}} with a variable, a built-in "
            f"or {_RESULTS}; expressions and filters are not supported",
            "",
        )
    if "." not in name:
        if name in declared:
            return None
        return f"{raw!r} uses undeclared variable {name!r}", reader.suggest(name, declared)
    if name in BUILTINS:
        return None
    parts = name.split(".")
    if parts[0] != "tasks":
        known = ", ".join(sorted(BUILTINS))
        return f"{raw!r} is not a built-in (built-ins: {known})", closest(name, BUILTINS)
    shape_ok = (len(parts) == 4 and parts[2] == "outputs") or (
        len(parts) == 3 and parts[2] in ("exit_code", "stdout")
    )
    if not shape_ok:
        return f"{raw!r}: expected {_RESULTS}", ""
    ref = parts[1]
    if ref == task_id:
        return f"{raw!r}: a task cannot use its own results", ""
    if ref not in ids:
        return f"{raw!r} refers to unknown task {ref!r}", reader.suggest(ref, ids)
    if plan is not None and not plan.is_upstream(ref, task_id):
        return (
            f"{raw!r}: task {ref!r} is not upstream of {task_id!r}; add it to 'dependencies' "
            "(directly or through another dependency)",
            "",
        )
    return None
