import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from barbossa.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OutputStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_STREAM_UNSPECIFIED: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDOUT: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDERR: _ClassVar[OutputStream]
    OUTPUT_STREAM_SYSTEM: _ClassVar[OutputStream]
OUTPUT_STREAM_UNSPECIFIED: OutputStream
OUTPUT_STREAM_STDOUT: OutputStream
OUTPUT_STREAM_STDERR: OutputStream
OUTPUT_STREAM_SYSTEM: OutputStream

class ExecuteRequest(_message.Message):
    __slots__ = ("workflow", "parameters", "dry_run", "trigger")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    parameters: _containers.ScalarMap[str, str]
    dry_run: bool
    trigger: _common_pb2.TriggerKind
    def __init__(self, workflow: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., dry_run: _Optional[bool] = ..., trigger: _Optional[_Union[_common_pb2.TriggerKind, str]] = ...) -> None: ...

class ExecuteResponse(_message.Message):
    __slots__ = ("run", "plan")
    RUN_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    plan: ExecutionPlan
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ..., plan: _Optional[_Union[ExecutionPlan, _Mapping]] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    def __init__(self, run_id: _Optional[int] = ...) -> None: ...

class RetryRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    def __init__(self, run_id: _Optional[int] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    def __init__(self, run_id: _Optional[int] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("workflow", "states", "trigger", "created", "page")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    states: _containers.RepeatedScalarFieldContainer[_common_pb2.RunState]
    trigger: _common_pb2.TriggerKind
    created: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    def __init__(self, workflow: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_common_pb2.RunState, str]]] = ..., trigger: _Optional[_Union[_common_pb2.TriggerKind, str]] = ..., created: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "page")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    page: _common_pb2.PageResponse
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "workflow", "state", "trigger", "parameters", "created_at", "started_at", "finished_at", "duration", "definition_hash", "error", "tasks", "retry_of", "triggered_by")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_BY_FIELD_NUMBER: _ClassVar[int]
    id: int
    workflow: str
    state: _common_pb2.RunState
    trigger: _common_pb2.TriggerKind
    parameters: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    definition_hash: str
    error: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskRun]
    retry_of: int
    triggered_by: str
    def __init__(self, id: _Optional[int] = ..., workflow: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.RunState, str]] = ..., trigger: _Optional[_Union[_common_pb2.TriggerKind, str]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., definition_hash: _Optional[str] = ..., error: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskRun, _Mapping]]] = ..., retry_of: _Optional[int] = ..., triggered_by: _Optional[str] = ...) -> None: ...

class TaskRun(_message.Message):
    __slots__ = ("task_id", "name", "type", "state", "attempt", "exit_code", "started_at", "finished_at", "duration", "error", "outputs", "output_truncated", "reused")
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    REUSED_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    name: str
    type: str
    state: _common_pb2.TaskState
    attempt: int
    exit_code: int
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    error: str
    outputs: _containers.ScalarMap[str, str]
    output_truncated: bool
    reused: bool
    def __init__(self, task_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.TaskState, str]] = ..., attempt: _Optional[int] = ..., exit_code: _Optional[int] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., error: _Optional[str] = ..., outputs: _Optional[_Mapping[str, str]] = ..., output_truncated: _Optional[bool] = ..., reused: _Optional[bool] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ("run_id", "after_sequence", "include_output")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    after_sequence: int
    include_output: bool
    def __init__(self, run_id: _Optional[int] = ..., after_sequence: _Optional[int] = ..., include_output: _Optional[bool] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("sequence", "time", "run", "task", "log")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    run: RunStateChanged
    task: TaskStateChanged
    log: LogLine
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., run: _Optional[_Union[RunStateChanged, _Mapping]] = ..., task: _Optional[_Union[TaskStateChanged, _Mapping]] = ..., log: _Optional[_Union[LogLine, _Mapping]] = ...) -> None: ...

class RunStateChanged(_message.Message):
    __slots__ = ("state", "error")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.RunState
    error: str
    def __init__(self, state: _Optional[_Union[_common_pb2.RunState, str]] = ..., error: _Optional[str] = ...) -> None: ...

class TaskStateChanged(_message.Message):
    __slots__ = ("task_id", "state", "attempt", "exit_code", "error")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    state: _common_pb2.TaskState
    attempt: int
    exit_code: int
    error: str
    def __init__(self, task_id: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.TaskState, str]] = ..., attempt: _Optional[int] = ..., exit_code: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("task_id", "attempt", "stream", "text")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    attempt: int
    stream: OutputStream
    text: str
    def __init__(self, task_id: _Optional[str] = ..., attempt: _Optional[int] = ..., stream: _Optional[_Union[OutputStream, str]] = ..., text: _Optional[str] = ...) -> None: ...

class GetLogsRequest(_message.Message):
    __slots__ = ("run_id", "task_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    task_id: str
    def __init__(self, run_id: _Optional[int] = ..., task_id: _Optional[str] = ...) -> None: ...

class GetLogsResponse(_message.Message):
    __slots__ = ("lines", "truncated_tasks")
    LINES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_TASKS_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[LogLine]
    truncated_tasks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, lines: _Optional[_Iterable[_Union[LogLine, _Mapping]]] = ..., truncated_tasks: _Optional[_Iterable[str]] = ...) -> None: ...

class ExecutionPlan(_message.Message):
    __slots__ = ("workflow", "definition_hash", "parameters", "stages")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    definition_hash: str
    parameters: _containers.ScalarMap[str, str]
    stages: _containers.RepeatedCompositeFieldContainer[PlanStage]
    def __init__(self, workflow: _Optional[str] = ..., definition_hash: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., stages: _Optional[_Iterable[_Union[PlanStage, _Mapping]]] = ...) -> None: ...

class PlanStage(_message.Message):
    __slots__ = ("index", "tasks")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    index: int
    tasks: _containers.RepeatedCompositeFieldContainer[PlannedTask]
    def __init__(self, index: _Optional[int] = ..., tasks: _Optional[_Iterable[_Union[PlannedTask, _Mapping]]] = ...) -> None: ...

class PlannedTask(_message.Message):
    __slots__ = ("task_id", "name", "type", "dependencies", "description", "argv", "env", "working_directory")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    name: str
    type: str
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    description: str
    argv: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    working_directory: str
    def __init__(self, task_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., dependencies: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., argv: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., working_directory: _Optional[str] = ...) -> None: ...
