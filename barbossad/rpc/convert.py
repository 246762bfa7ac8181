"""Conversions between our models and the v1 protobuf messages; no business logic."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from barbossa.v1 import common_pb2, executions_pb2, workflows_pb2
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from google.protobuf.json_format import MessageToDict, ParseDict

from barbossad.catalog import TemplateEntry
from barbossad.definitions.model import RunCondition, VariableType, WorkflowDef
from barbossad.engine.events import LogEvent, RunEvent, RunStateEvent, TaskStateEvent
from barbossad.engine.planview import ExecutionPlan
from barbossad.errors import InvalidArgumentError, Issue
from barbossad.models import (
    OutputStream,
    RunRecord,
    RunState,
    TaskRunRecord,
    TaskState,
    TriggerType,
)

# ---- scalars -------------------------------------------------------------------------------


def timestamp(dt: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp, or None for no time."""
    if dt is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(dt.astimezone(UTC))
    return ts


def from_timestamp(ts: timestamp_pb2.Timestamp) -> datetime:
    """An aware UTC datetime."""
    return ts.ToDatetime(tzinfo=UTC)


def duration(seconds: float | None) -> duration_pb2.Duration | None:
    """A Duration, or None."""
    if seconds is None:
        return None
    d = duration_pb2.Duration()
    d.FromTimedelta(timedelta(seconds=seconds))
    return d


# ---- enums: our StrEnum <-> proto enum, by member name ---------------------------------------


def run_state(state: RunState) -> Any:
    """RunState -> RUN_STATE_*."""
    return common_pb2.RunState.Value(f"RUN_STATE_{state.name}")


def run_state_from(value: int) -> RunState:
    """RUN_STATE_* -> RunState."""
    name = common_pb2.RunState.Name(value).removeprefix("RUN_STATE_")
    try:
        return RunState[name]
    except KeyError:
        raise InvalidArgumentError(f"invalid run state {value}") from None


def task_state(state: TaskState) -> Any:
    """TaskState -> TASK_STATE_*."""
    return common_pb2.TaskState.Value(f"TASK_STATE_{state.name}")


def trigger(kind: TriggerType) -> Any:
    """TriggerType -> TRIGGER_KIND_*."""
    return common_pb2.TriggerKind.Value(f"TRIGGER_KIND_{kind.name}")


def trigger_from(value: int) -> TriggerType:
    """TRIGGER_KIND_* -> TriggerType (UNSPECIFIED means MANUAL)."""
    name = common_pb2.TriggerKind.Name(value).removeprefix("TRIGGER_KIND_")
    return TriggerType.MANUAL if name == "UNSPECIFIED" else TriggerType[name]


def output_stream(stream: OutputStream) -> Any:
    """OutputStream -> OUTPUT_STREAM_*."""
    return executions_pb2.OutputStream.Value(f"OUTPUT_STREAM_{stream.name}")


# ---- runs ----------------------------------------------------------------------------------


def _span(start: datetime | None, end: datetime | None) -> duration_pb2.Duration | None:
    if start is None:
        return None
    return duration(((end or datetime.now(UTC)) - start).total_seconds())


def task_run(task: TaskRunRecord) -> executions_pb2.TaskRun:
    """A task row as a TaskRun message."""
    msg = executions_pb2.TaskRun(
        task_id=task.task_id,
        name=task.name,
        type=task.type,
        state=task_state(task.state),
        attempt=task.attempt,
        error=task.error,
        outputs=dict(task.outputs),
        output_truncated=task.output_truncated,
        reused=task.reused,
        started_at=timestamp(task.started_at),
        finished_at=timestamp(task.finished_at),
        duration=_span(task.started_at, task.finished_at),
    )
    if task.exit_code is not None:
        msg.exit_code = task.exit_code
    return msg


def run(record: RunRecord, *, with_tasks: bool = True) -> executions_pb2.Run:
    """A run record as a Run message."""
    return executions_pb2.Run(
        id=record.id,
        workflow=record.workflow,
        state=run_state(record.state),
        trigger=trigger(record.trigger),
        parameters=dict(record.parameters),
        created_at=timestamp(record.created_at),
        started_at=timestamp(record.started_at),
        finished_at=timestamp(record.finished_at),
        duration=_span(record.started_at, record.finished_at),
        definition_hash=record.definition_hash,
        error=record.error,
        tasks=[task_run(t) for t in record.tasks] if with_tasks else [],
        retry_of=record.retry_of or 0,
        triggered_by=record.triggered_by,
    )


def run_event(event: RunEvent) -> executions_pb2.RunEvent:
    """A live event as a RunEvent message."""
    msg = executions_pb2.RunEvent(sequence=event.sequence, time=timestamp(event.time))
    body = event.body
    if isinstance(body, RunStateEvent):
        msg.run.CopyFrom(
            executions_pb2.RunStateChanged(state=run_state(body.state), error=body.error)
        )
    elif isinstance(body, TaskStateEvent):
        changed = executions_pb2.TaskStateChanged(
            task_id=body.task_id,
            state=task_state(body.state),
            attempt=body.attempt,
            error=body.error,
        )
        if body.exit_code is not None:
            changed.exit_code = body.exit_code
        msg.task.CopyFrom(changed)
    elif isinstance(body, LogEvent):
        msg.log.CopyFrom(log_line(body.task_id, body.attempt, body.stream, body.text))
    return msg


def log_line(task_id: str, attempt: int, stream: OutputStream, text: str) -> executions_pb2.LogLine:
    """One chunk of output as a LogLine message."""
    return executions_pb2.LogLine(
        task_id=task_id, attempt=attempt, stream=output_stream(stream), text=text
    )


def plan(p: ExecutionPlan) -> executions_pb2.ExecutionPlan:
    """A dry-run plan as an ExecutionPlan message."""
    return executions_pb2.ExecutionPlan(
        workflow=p.workflow,
        definition_hash=p.definition_hash,
        parameters=dict(p.parameters),
        stages=[
            executions_pb2.PlanStage(
                index=i,
                tasks=[
                    executions_pb2.PlannedTask(
                        task_id=t.task_id,
                        name=t.name,
                        type=t.type,
                        dependencies=list(t.dependencies),
                        description=t.description,
                        argv=list(t.argv),
                        env=dict(t.env),
                        working_directory=t.working_directory,
                    )
                    for t in stage
                ],
            )
            for i, stage in enumerate(p.stages)
        ],
    )


# ---- definitions ---------------------------------------------------------------------------


def issues(found: Iterable[Issue]) -> list[common_pb2.ValidationIssue]:
    """Validation issues as messages."""
    return [
        common_pb2.ValidationIssue(
            location=common_pb2.SourceLocation(
                file=i.file, line=i.line, column=i.column, field=i.field
            ),
            message=i.message,
            suggestion=i.suggestion,
        )
        for i in found
    ]


def variable_spec(v: Any) -> workflows_pb2.VariableSpec:
    """A VariableDef as a VariableSpec message."""
    msg = workflows_pb2.VariableSpec(
        name=v.name,
        type=f"VARIABLE_TYPE_{VariableType(v.type).name}",
        description=v.description,
        required=v.required,
        choices=list(v.choices),
    )
    if v.default is not None:
        msg.default_value = str(v.default)
    return msg


def _spec_into(message: Any, spec: Any) -> None:
    fields = message.DESCRIPTOR.fields_by_name
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if value is None or f.name not in fields:
            continue
        target = fields[f.name]
        if (
            target.message_type is not None
            and target.message_type.full_name == "google.protobuf.Value"
        ):
            getattr(message, f.name).CopyFrom(ParseDict(value, struct_pb2.Value()))
        elif (
            target.message_type is not None
            and target.message_type.full_name == "google.protobuf.Duration"
        ):
            getattr(message, f.name).CopyFrom(duration(float(value)))
        elif isinstance(value, Mapping):
            getattr(message, f.name).update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, tuple | list):
            getattr(message, f.name).extend(str(v) for v in value)
        else:
            setattr(message, f.name, value)


def task_config(task: Any) -> workflows_pb2.TaskConfig:
    """A TaskDef as a TaskConfig message (type-specific fields in the matching oneof)."""
    msg = workflows_pb2.TaskConfig(
        id=task.id,
        name=task.name,
        type=task.type,
        dependencies=list(task.dependencies),
        timeout=duration(task.timeout),
        env=dict(task.env),
        retry=workflows_pb2.RetryPolicy(
            attempts=task.retry.attempts,
            delay=duration(task.retry.delay),
            backoff_factor=task.retry.backoff_factor,
            max_delay=duration(task.retry.max_delay),
        ),
        condition=f"RUN_CONDITION_{RunCondition(task.condition).name}",
        continue_on_error=task.continue_on_error,
        working_directory=task.working_directory or "",
    )
    oneof = {f.name for f in workflows_pb2.TaskConfig.DESCRIPTOR.oneofs_by_name["spec"].fields}
    if task.type in oneof:
        _spec_into(getattr(msg, task.type), task.spec)
    elif dataclasses.is_dataclass(task.spec) and not isinstance(task.spec, type):
        msg.custom.fields.update(_jsonable(dataclasses.asdict(task.spec)))
    return msg


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def workflow_config(wf: WorkflowDef) -> workflows_pb2.WorkflowConfig:
    """A WorkflowDef as a WorkflowConfig message."""
    return workflows_pb2.WorkflowConfig(
        name=wf.name,
        description=wf.description,
        version=wf.version,
        variables=[variable_spec(v) for v in wf.variables],
        tasks=[task_config(t) for t in wf.tasks],
        max_parallel=wf.max_parallel or 0,
        timeout=duration(wf.timeout),
    )


def _seconds(d: duration_pb2.Duration) -> float:
    return d.ToTimedelta().total_seconds()


def config_mapping(cfg: workflows_pb2.WorkflowConfig) -> dict[str, Any]:
    """A WorkflowConfig message as the mapping the definition parser takes (set fields only)."""
    data: dict[str, Any] = {"name": cfg.name, "tasks": []}
    if cfg.description:
        data["description"] = cfg.description
    if cfg.version:
        data["version"] = cfg.version
    if cfg.max_parallel:
        data["max_parallel"] = cfg.max_parallel
    if cfg.HasField("timeout"):
        data["timeout"] = _seconds(cfg.timeout)
    if cfg.variables:
        data["variables"] = {v.name: _variable_mapping(v) for v in cfg.variables}
    for t in cfg.tasks:
        data["tasks"].append(_task_mapping(t))
    return data


def _variable_mapping(v: workflows_pb2.VariableSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": workflows_pb2.VariableType.Name(v.type).removeprefix("VARIABLE_TYPE_").lower()
    }
    if out["type"] == "unspecified":
        out["type"] = "string"
    if v.HasField("default_value"):
        out["default"] = v.default_value
    if v.description:
        out["description"] = v.description
    if v.required:
        out["required"] = True
    if v.choices:
        out["choices"] = list(v.choices)
    return out


def _retry_mapping(r: workflows_pb2.RetryPolicy) -> dict[str, Any]:
    retry: dict[str, Any] = {"attempts": r.attempts or 1}
    if r.HasField("delay"):
        retry["delay"] = _seconds(r.delay)
    if r.backoff_factor:
        retry["backoff_factor"] = r.backoff_factor
    if r.HasField("max_delay"):
        retry["max_delay"] = _seconds(r.max_delay)
    return retry


def _field_value(field: Any, value: Any) -> Any:
    """A set field of a type-specific spec message as a plain value."""
    kind = field.message_type.full_name if field.message_type is not None else ""
    if kind == "google.protobuf.Duration":
        return _seconds(value)
    if kind == "google.protobuf.Value":
        return MessageToDict(value)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return dict(value)
    if field.is_repeated:
        return list(value)
    return value


def _task_mapping(t: workflows_pb2.TaskConfig) -> dict[str, Any]:
    task: dict[str, Any] = {"id": t.id, "type": t.type}
    optional = {
        "name": t.name,
        "dependencies": list(t.dependencies),
        "env": dict(t.env),
        "continue_on_error": t.continue_on_error,
        "working_directory": t.working_directory,
    }
    task.update({k: v for k, v in optional.items() if v})
    if t.HasField("timeout"):
        task["timeout"] = _seconds(t.timeout)
    if t.HasField("retry"):
        task["retry"] = _retry_mapping(t.retry)
    if t.condition:
        name = workflows_pb2.RunCondition.Name(t.condition)
        task["condition"] = name.removeprefix("RUN_CONDITION_").lower()
    which = t.WhichOneof("spec")
    if which == "custom":
        task.update(MessageToDict(t.custom.fields))
    elif which:
        for field, value in getattr(t, which).ListFields():
            task[field.name] = _field_value(field, value)
    return task


def template(entry: TemplateEntry) -> workflows_pb2.Template:
    """A catalogue entry as a Template message."""
    wf = entry.active
    return workflows_pb2.Template(
        name=entry.name,
        path=str(entry.path),
        valid=entry.valid,
        issues=issues(entry.issues),
        description=wf.description if wf else "",
        version=wf.version if wf else "",
        variables=[variable_spec(v) for v in wf.variables] if wf else [],
        task_count=len(wf.tasks) if wf else 0,
        definition_hash=wf.hash if wf else "",
        loaded_at=timestamp(entry.loaded_at),
        active=wf is not None,
    )
