"""Workflow definitions: YAML/JSON text or a mapping -> a validated, frozen `WorkflowDef`.

Every problem found is collected (wrong types, unknown keys with the closest known one, missing
fields, unknown task types, bad references, cycles, undefined placeholders) and raised together
as one `DefinitionError` whose issues name the file, line, field and what was expected.

    wf = parse_workflow(path.read_bytes(), source=str(path), registry=registry)
    values = resolve_parameters(wf, {"app_dir": "/srv/app"})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from barbossad.definitions.convert import Reader, describe, to_float, to_int, to_str
from barbossad.definitions.dump import canonical_json, definition_hash, dump_workflow
from barbossad.definitions.loader import FieldPath, LoadedDocument, load_document
from barbossad.definitions.model import ScheduleDef, VariableDef, WorkflowDef
from barbossad.definitions.tasks import parse_tasks
from barbossad.definitions.triggers import parse_triggers
from barbossad.definitions.validate import check_graph, check_placeholders
from barbossad.definitions.variables import check_values, parse_variables, resolve_parameters
from barbossad.errors import DefinitionError
from barbossad.scheduler.cron import CronError, CronExpression, resolve_timezone
from barbossad.scheduler.model import MAX_CATCH_UP_LIMIT, MisfirePolicy, OverlapPolicy
from barbossad.tasks.base import TaskRegistry

__all__ = [
    "canonical_json",
    "definition_hash",
    "dump_workflow",
    "parse_workflow",
    "resolve_parameters",
    "workflow_from_mapping",
]

_KEYS = [
    "name",
    "description",
    "version",
    "variables",
    "max_parallel",
    "timeout",
    "schedule",
    "triggers",
    "tasks",
]
_HINTS = {
    "vars": "variables",
    "params": "variables",
    "parameters": "variables",
    "steps": "tasks",
    "jobs": "tasks",
    "schedules": "schedule",
    "cron": "schedule",
    "trigger": "triggers",
    "concurrency": "max_parallel",
}


def parse_workflow(
    text: str | bytes, *, source: str, registry: TaskRegistry, fmt: str = "auto"
) -> WorkflowDef:
    """Parse and validate YAML or JSON text (`fmt`: yaml, json, or auto by `source` suffix)."""
    return _workflow(load_document(text, source=source, fmt=fmt), registry)


def workflow_from_mapping(
    data: Mapping[str, Any], *, source: str, registry: TaskRegistry
) -> WorkflowDef:
    """Validate a definition that is already a mapping (from protobuf or stored JSON).

    Issues carry no line numbers; fields are named by path (`tasks[2].command`).
    """
    return _workflow(LoadedDocument(dict(data), source), registry)


def _workflow(doc: LoadedDocument, registry: TaskRegistry) -> WorkflowDef:
    reader = Reader(doc)
    data = doc.data
    reader.unknown_keys(data, (), _KEYS, what="a workflow", hints=_HINTS)
    name = reader.required_text(data, (), "name")
    variables = parse_variables(reader, data.get("variables") or {}, ("variables",))
    tasks = parse_tasks(reader, data.get("tasks"), registry)
    plan = check_graph(reader, tasks)
    check_placeholders(reader, tasks, variables, plan)
    workflow = WorkflowDef(
        name=name,
        tasks=tuple(task for task in tasks if task is not None),
        description=reader.get(data, (), "description", to_str, ""),
        version=reader.get(data, (), "version", to_str, ""),
        variables=variables,
        max_parallel=_positive(reader, data, "max_parallel", to_int),
        timeout=_positive(reader, data, "timeout", to_float),
        schedules=_schedules(reader, data.get("schedule"), variables),
        triggers=parse_triggers(reader, data.get("triggers"), variables),
        source=doc.source,
    )
    if reader.issues:
        raise DefinitionError(sorted(reader.issues, key=lambda i: (i.line == 0, i.line, i.column)))
    return dataclasses.replace(workflow, hash=definition_hash(workflow))


def _positive(reader: Reader, data: Mapping[str, Any], key: str, conv: Any) -> Any:
    value = reader.get(data, (), key, conv)
    if value is not None and value <= 0:
        reader.report((key,), f"must be greater than 0, got {value:g}")
        return None
    return value


def _schedules(
    reader: Reader, raw: Any, variables: tuple[VariableDef, ...]
) -> tuple[ScheduleDef, ...]:
    if raw is None:
        return ()
    items = list(enumerate(raw)) if isinstance(raw, list | tuple) else [(None, raw)]
    schedules = []
    for index, item in items:
        path: FieldPath = ("schedule",) if index is None else ("schedule", index)
        schedule = _schedule(reader, item, path, variables)
        if schedule is not None:
            schedules.append(schedule)
    return tuple(schedules)


def _check_policies(reader: Reader, schedule: ScheduleDef, path: FieldPath) -> None:
    for key, policy in (("misfire", MisfirePolicy), ("overlap", OverlapPolicy)):
        value = getattr(schedule, key)
        allowed = [p.value for p in policy]
        if value not in allowed:
            message = f"unknown {key} policy {value!r}; expected one of {', '.join(allowed)}"
            reader.report((*path, key), message, reader.suggest(str(value), allowed))


def _schedule(
    reader: Reader, raw: Any, path: FieldPath, variables: tuple[VariableDef, ...]
) -> ScheduleDef | None:
    line = reader.doc.where(path)[0]
    if isinstance(raw, str):
        schedule = ScheduleDef(cron=raw, line=line)
    elif isinstance(raw, Mapping):
        schedule = reader.build(ScheduleDef, raw, path, what="a schedule", exclude=("line",))
        if schedule is None:
            return None
        schedule = dataclasses.replace(schedule, line=line)
    else:
        expected = "a cron expression or a mapping with 'cron'"
        reader.report(path, f"expected {expected}, got {describe(raw)}")
        return None
    where = path if isinstance(raw, str) else (*path, "cron")
    try:
        CronExpression.parse(schedule.cron)
    except CronError as exc:
        reader.report(where, str(exc))
    if schedule.timezone:
        try:
            resolve_timezone(schedule.timezone)
        except CronError as exc:
            reader.report((*path, "timezone"), str(exc))
    if not 0 <= schedule.catch_up_limit <= MAX_CATCH_UP_LIMIT:
        reader.report((*path, "catch_up_limit"), f"must be within 0-{MAX_CATCH_UP_LIMIT}")
    _check_policies(reader, schedule, path)
    if schedule.catch_up_window is not None and schedule.catch_up_window <= 0:
        reader.report((*path, "catch_up_window"), "must be greater than 0")
    _, problems = check_values(variables, schedule.parameters)
    for name, bad in problems:
        reader.report((*path, "parameters", name), bad.message, bad.suggestion)
    return schedule
