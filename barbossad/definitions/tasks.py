"""The `tasks:` list: common task keys, and each type's own keys parsed by its spec dataclass.

Common keys are id, name, type, dependencies, timeout, env, retry, condition,
continue_on_error and working_directory; every other key of a task is a field of its type's
`spec_type` (field names are the YAML keys). After the spec is built, the handler's `check`
adds the semantic problems only it knows about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from barbossad.definitions.convert import (
    Reader,
    closest,
    converter_for,
    describe,
    field_specs,
    to_bool,
    to_float,
    to_int,
    to_str,
)
from barbossad.definitions.loader import FieldPath
from barbossad.definitions.model import RetryPolicy, RunCondition, TaskDef
from barbossad.tasks.base import TaskHandler, TaskRegistry

MAX_TASKS = 20_000
TASK_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
TASK_KEYS = [
    "id",
    "name",
    "type",
    "dependencies",
    "timeout",
    "env",
    "retry",
    "condition",
    "continue_on_error",
    "working_directory",
]
_HINTS = {
    "depends_on": "dependencies",
    "depends": "dependencies",
    "needs": "dependencies",
    "requires": "dependencies",
    "after": "dependencies",
    "run_if": "condition",
    "when": "condition",
    "if": "condition",
    "retries": "retry",
    "cwd": "working_directory",
    "workdir": "working_directory",
    "environment": "env",
    "allow_failure": "continue_on_error",
    "ignore_errors": "continue_on_error",
}
_OWNABLE = frozenset({"timeout", "env", "working_directory"})
_RETRY_SHAPE = "a number of attempts or a mapping {attempts, delay, backoff_factor, max_delay}"
_TEXTS = converter_for(tuple[str, ...])
_TEXT_MAP = converter_for(dict[str, str])
_CONDITION = converter_for(RunCondition)


def parse_tasks(reader: Reader, raw: Any, registry: TaskRegistry) -> list[TaskDef | None]:
    """One TaskDef per item of `tasks:` (None where an item is not even a mapping).

    A task whose type-specific fields are invalid gets `spec=None`; the caller raises anyway,
    but keeps the task for the checks that span tasks (ids, dependencies, cycles).
    """
    path: FieldPath = ("tasks",)
    if raw is None:
        reader.report(path, "required field 'tasks' missing")
        return []
    if not isinstance(raw, list | tuple) or not raw:
        reader.report(path, f"expected a non-empty list of tasks, got {describe(raw)}")
        return []
    if len(raw) > MAX_TASKS:
        reader.report(path, f"too many tasks ({len(raw)}); the limit is {MAX_TASKS}")
        return []
    return [_task(reader, item, (*path, i), registry) for i, item in enumerate(raw)]


def _task(reader: Reader, raw: Any, path: FieldPath, registry: TaskRegistry) -> TaskDef | None:
    if not isinstance(raw, Mapping):
        reader.report(path, f"expected a mapping with 'id' and 'type', got {describe(raw)}")
        return None
    task_id = reader.required_text(raw, path, "id")
    if task_id and not TASK_ID.match(task_id):
        reader.report(
            (*path, "id"),
            f"invalid task id {task_id!r}: use letters, digits, '_' and '-', "
            "starting with a letter or '_'",
        )
    type_name = reader.required_text(raw, path, "type")
    handler = registry.get(type_name) if type_name else None
    if type_name and handler is None:
        known = registry.names()
        message = f"unknown task type {type_name!r} (known types: {', '.join(known) or 'none'})"
        reader.report((*path, "type"), message, closest(type_name, known))
    owned = _owned_keys(reader, handler, path)
    common = {key: value for key, value in raw.items() if key not in owned}
    working_directory = reader.get(common, path, "working_directory", to_str)
    if working_directory is not None and not working_directory.strip():
        reader.report((*path, "working_directory"), "must not be empty (leave it out instead)")
    timeout = reader.get(common, path, "timeout", to_float)
    if timeout is not None and timeout <= 0:
        reader.report((*path, "timeout"), f"must be greater than 0, got {timeout:g}")
    return TaskDef(
        id=task_id,
        name=reader.get(raw, path, "name", to_str) or task_id,
        type=type_name,
        spec=_spec(reader, raw, path, handler, owned) if handler is not None else None,
        dependencies=reader.get(raw, path, "dependencies", _TEXTS, ()),
        timeout=timeout,
        env=_env(reader, common, path),
        retry=_retry(reader, raw.get("retry"), (*path, "retry")),
        condition=reader.get(raw, path, "condition", _CONDITION, RunCondition.ALL_SUCCEEDED),
        continue_on_error=reader.get(raw, path, "continue_on_error", to_bool, False),
        working_directory=working_directory,
        line=reader.doc.where(path)[0],
    )


def _owned_keys(reader: Reader, handler: TaskHandler | None, path: FieldPath) -> frozenset[str]:
    """Common keys that the task type declares as its own spec fields.

    Such a key belongs to the type alone (api_call's `timeout` is its HTTP timeout; the task
    then has no task-level timeout). Only timeout, env and working_directory may be taken.
    """
    if handler is None:
        return frozenset()
    names = {name for name, _, _ in field_specs(handler.spec_type)}
    owned = names & set(TASK_KEYS)
    structural = sorted(owned - _OWNABLE)
    if structural:  # a handler bug: say so rather than silently ignoring those fields
        reader.report(path, f"task type {handler.type_name} declares common task keys {structural}")
    return frozenset(owned & _OWNABLE)


def _spec(
    reader: Reader,
    raw: Mapping[str, Any],
    path: FieldPath,
    handler: TaskHandler,
    owned: frozenset[str],
) -> Any:
    data = {key: value for key, value in raw.items() if key not in TASK_KEYS or key in owned}
    spec = reader.build(
        handler.spec_type,
        data,
        path,
        what=f"type {handler.type_name}",
        also_known=TASK_KEYS,
        hints=_HINTS,
    )
    if spec is not None:
        for name, message in handler.check(spec):
            reader.report((*path, name) if name else path, message)
    return spec


def _env(reader: Reader, raw: Mapping[str, Any], path: FieldPath) -> dict[str, str]:
    env: dict[str, str] = reader.get(raw, path, "env", _TEXT_MAP, {})
    for key in env:
        where = (*path, "env", key)
        if not ENV_NAME.match(key):
            reader.report(where, f"invalid environment variable name {key!r}")
        elif key.startswith("BARBOSSA_"):
            reader.report(where, f"{key!r}: names starting with BARBOSSA_ are reserved")
    return env


def _retry(reader: Reader, raw: Any, path: FieldPath) -> RetryPolicy:
    if raw is None:
        return RetryPolicy()
    if isinstance(raw, Mapping):
        policy = reader.build(RetryPolicy, raw, path, what="retry") or RetryPolicy()
    elif isinstance(raw, int | float | str) and not isinstance(raw, bool):
        attempts = reader.convert(to_int, raw, path)
        if attempts is None:
            return RetryPolicy()
        policy = RetryPolicy(attempts=attempts)
    else:
        reader.report(path, f"expected {_RETRY_SHAPE}, got {describe(raw)}")
        return RetryPolicy()
    where = path if not isinstance(raw, Mapping) else (*path, "attempts")
    if policy.attempts < 1:
        reader.report(where, f"attempts must be at least 1, got {policy.attempts}")
    if policy.delay < 0:
        reader.report((*path, "delay"), f"must not be negative, got {policy.delay:g}")
    if policy.backoff_factor < 1:
        reader.report(
            (*path, "backoff_factor"), f"must be at least 1, got {policy.backoff_factor:g}"
        )
    if policy.max_delay < 0:
        reader.report((*path, "max_delay"), f"must not be negative, got {policy.max_delay:g}")
    return policy
