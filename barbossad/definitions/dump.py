"""A WorkflowDef back to a canonical mapping, and the definition hash computed from it.

The dump is minimal: fields equal to their defaults are left out (a task's `name` when it equals
its id, a variable in short form when it only has a default). Parsing the dump gives back an
equal definition, apart from `line`, `source` and `hash`.

The hash is the sha256 of the dump as canonical JSON (sorted keys, no spaces). It identifies
what the definition *means*: whitespace, comments, key order, YAML anchors and equivalent
spellings (`retry: 3` or `retry: {attempts: 3}`) do not change it, and neither does a new
optional field whose default keeps old definitions meaning what they meant.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Any

from barbossad.definitions.model import (
    RetryPolicy,
    RunCondition,
    TaskDef,
    VariableDef,
    VariableType,
    WorkflowDef,
)


def dump_workflow(workflow: WorkflowDef) -> dict[str, Any]:
    """The canonical mapping of a workflow: JSON-serialisable, and parses back to it."""
    out: dict[str, Any] = {"name": workflow.name}
    if workflow.description:
        out["description"] = workflow.description
    if workflow.version:
        out["version"] = workflow.version
    if workflow.variables:
        out["variables"] = {v.name: _variable(v) for v in workflow.variables}
    if workflow.max_parallel is not None:
        out["max_parallel"] = workflow.max_parallel
    if workflow.timeout is not None:
        out["timeout"] = workflow.timeout
    if workflow.schedules:
        out["schedule"] = [_fields(s, exclude=("line",)) for s in workflow.schedules]
    if workflow.triggers:
        out["triggers"] = [{t.kind: _fields(t, exclude=("line",))} for t in workflow.triggers]
    out["tasks"] = [_task(t) for t in workflow.tasks]
    return out


# Canonical JSON of recently hashed or stored definitions, by hash: a run stores the body of
# the definition it runs, which was usually just hashed (parsed) or run before.
_CANONICAL: OrderedDict[str, str] = OrderedDict()
_CANONICAL_KEEP = 64


def definition_hash(workflow: WorkflowDef) -> str:
    """sha256 hex of the canonical JSON of `dump_workflow(workflow)`."""
    text = _canonical(workflow)
    digest = hashlib.sha256(text.encode()).hexdigest()
    _remember(digest, text)
    return digest


def canonical_json(workflow: WorkflowDef) -> str:
    """The canonical JSON (sorted keys, compact) of a parsed workflow: what its hash is of."""
    text = _CANONICAL.get(workflow.hash) if workflow.hash else None
    if text is None:
        text = _canonical(workflow)
        if workflow.hash:
            _remember(workflow.hash, text)
    else:
        _CANONICAL.move_to_end(workflow.hash)
    return text


def _canonical(workflow: WorkflowDef) -> str:
    return json.dumps(dump_workflow(workflow), sort_keys=True, separators=(",", ":"))


def _remember(digest: str, text: str) -> None:
    _CANONICAL[digest] = text
    _CANONICAL.move_to_end(digest)
    while len(_CANONICAL) > _CANONICAL_KEEP:
        _CANONICAL.popitem(last=False)


def _variable(variable: VariableDef) -> Any:
    if variable.type is VariableType.STRING and not (
        variable.description or variable.required or variable.choices
    ):
        return variable.default  # short form: name -> default
    out: dict[str, Any] = {}
    if variable.type is not VariableType.STRING:
        out["type"] = variable.type.value
    if variable.choices:
        out["choices"] = list(variable.choices)
    if variable.default is not None:
        out["default"] = variable.default
    if variable.description:
        out["description"] = variable.description
    if variable.required:
        out["required"] = True
    return out


def _task(task: TaskDef) -> dict[str, Any]:
    out: dict[str, Any] = {"id": task.id}
    if task.name != task.id:
        out["name"] = task.name
    out["type"] = task.type
    if task.dependencies:
        out["dependencies"] = list(task.dependencies)
    if task.timeout is not None:
        out["timeout"] = task.timeout
    if task.env:
        out["env"] = dict(task.env)
    if task.retry != RetryPolicy():
        out["retry"] = _fields(task.retry)
    if task.condition is not RunCondition.ALL_SUCCEEDED:
        out["condition"] = task.condition.value
    if task.continue_on_error:
        out["continue_on_error"] = True
    if task.working_directory is not None:
        out["working_directory"] = task.working_directory
    out.update(_fields(task.spec))
    return out


def _fields(obj: Any, exclude: Collection[str] = ()) -> dict[str, Any]:
    """The init fields of a dataclass instance that differ from their defaults."""
    out = {}
    for f in dataclasses.fields(obj):
        if not f.init or f.name in exclude:
            continue
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value
