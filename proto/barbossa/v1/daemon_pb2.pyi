import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from barbossa.v1 import schedules_pb2 as _schedules_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DaemonStatus(_message.Message):
    __slots__ = ("version", "pid", "started_at", "uptime", "accepting", "scheduler", "workflow_count", "template_count", "invalid_template_count", "running_count", "schedule_count", "total_runs", "socket", "state_dir", "database", "templates_dir")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    ACCEPTING_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    INVALID_TEMPLATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RUNS_FIELD_NUMBER: _ClassVar[int]
    SOCKET_FIELD_NUMBER: _ClassVar[int]
    STATE_DIR_FIELD_NUMBER: _ClassVar[int]
    DATABASE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATES_DIR_FIELD_NUMBER: _ClassVar[int]
    version: str
    pid: int
    started_at: _timestamp_pb2.Timestamp
    uptime: _duration_pb2.Duration
    accepting: bool
    scheduler: _schedules_pb2.SchedulerState
    workflow_count: int
    template_count: int
    invalid_template_count: int
    running_count: int
    schedule_count: int
    total_runs: int
    socket: str
    state_dir: str
    database: str
    templates_dir: str
    def __init__(self, version: _Optional[str] = ..., pid: _Optional[int] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., uptime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., accepting: _Optional[bool] = ..., scheduler: _Optional[_Union[_schedules_pb2.SchedulerState, str]] = ..., workflow_count: _Optional[int] = ..., template_count: _Optional[int] = ..., invalid_template_count: _Optional[int] = ..., running_count: _Optional[int] = ..., schedule_count: _Optional[int] = ..., total_runs: _Optional[int] = ..., socket: _Optional[str] = ..., state_dir: _Optional[str] = ..., database: _Optional[str] = ..., templates_dir: _Optional[str] = ...) -> None: ...

class ReloadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadResponse(_message.Message):
    __slots__ = ("loaded", "invalid", "removed")
    LOADED_FIELD_NUMBER: _ClassVar[int]
    INVALID_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    loaded: int
    invalid: int
    removed: int
    def __init__(self, loaded: _Optional[int] = ..., invalid: _Optional[int] = ..., removed: _Optional[int] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
