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

class MisfirePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MISFIRE_POLICY_UNSPECIFIED: _ClassVar[MisfirePolicy]
    MISFIRE_POLICY_SKIP: _ClassVar[MisfirePolicy]
    MISFIRE_POLICY_RUN_ONCE: _ClassVar[MisfirePolicy]
    MISFIRE_POLICY_RUN_ALL: _ClassVar[MisfirePolicy]

class OverlapPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OVERLAP_POLICY_UNSPECIFIED: _ClassVar[OverlapPolicy]
    OVERLAP_POLICY_SKIP: _ClassVar[OverlapPolicy]
    OVERLAP_POLICY_QUEUE_ONE: _ClassVar[OverlapPolicy]
    OVERLAP_POLICY_QUEUE_ALL: _ClassVar[OverlapPolicy]
    OVERLAP_POLICY_CANCEL_PREVIOUS: _ClassVar[OverlapPolicy]
    OVERLAP_POLICY_ALLOW: _ClassVar[OverlapPolicy]

class ScheduleOrigin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_ORIGIN_UNSPECIFIED: _ClassVar[ScheduleOrigin]
    SCHEDULE_ORIGIN_TEMPLATE: _ClassVar[ScheduleOrigin]
    SCHEDULE_ORIGIN_API: _ClassVar[ScheduleOrigin]

class FireOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIRE_OUTCOME_UNSPECIFIED: _ClassVar[FireOutcome]
    FIRE_OUTCOME_STARTED: _ClassVar[FireOutcome]
    FIRE_OUTCOME_QUEUED: _ClassVar[FireOutcome]
    FIRE_OUTCOME_SKIPPED: _ClassVar[FireOutcome]
    FIRE_OUTCOME_MISSED: _ClassVar[FireOutcome]
    FIRE_OUTCOME_FAILED: _ClassVar[FireOutcome]

class SchedulerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULER_STATE_UNSPECIFIED: _ClassVar[SchedulerState]
    SCHEDULER_STATE_RUNNING: _ClassVar[SchedulerState]
    SCHEDULER_STATE_STOPPED: _ClassVar[SchedulerState]
MISFIRE_POLICY_UNSPECIFIED: MisfirePolicy
MISFIRE_POLICY_SKIP: MisfirePolicy
MISFIRE_POLICY_RUN_ONCE: MisfirePolicy
MISFIRE_POLICY_RUN_ALL: MisfirePolicy
OVERLAP_POLICY_UNSPECIFIED: OverlapPolicy
OVERLAP_POLICY_SKIP: OverlapPolicy
OVERLAP_POLICY_QUEUE_ONE: OverlapPolicy
OVERLAP_POLICY_QUEUE_ALL: OverlapPolicy
OVERLAP_POLICY_CANCEL_PREVIOUS: OverlapPolicy
OVERLAP_POLICY_ALLOW: OverlapPolicy
SCHEDULE_ORIGIN_UNSPECIFIED: ScheduleOrigin
SCHEDULE_ORIGIN_TEMPLATE: ScheduleOrigin
SCHEDULE_ORIGIN_API: ScheduleOrigin
FIRE_OUTCOME_UNSPECIFIED: FireOutcome
FIRE_OUTCOME_STARTED: FireOutcome
FIRE_OUTCOME_QUEUED: FireOutcome
FIRE_OUTCOME_SKIPPED: FireOutcome
FIRE_OUTCOME_MISSED: FireOutcome
FIRE_OUTCOME_FAILED: FireOutcome
SCHEDULER_STATE_UNSPECIFIED: SchedulerState
SCHEDULER_STATE_RUNNING: SchedulerState
SCHEDULER_STATE_STOPPED: SchedulerState

class Schedule(_message.Message):
    __slots__ = ("id", "workflow", "expression", "timezone", "paused", "origin", "misfire", "overlap", "catch_up_limit", "catch_up_window", "parameters", "last_fire_time", "last_outcome", "last_run_id", "next_fire_time", "missed_count", "skipped_count", "last_slot_time", "last_slot_outcome", "last_slot_reason")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    MISFIRE_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_WINDOW_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    LAST_FIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    MISSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_SLOT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SLOT_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LAST_SLOT_REASON_FIELD_NUMBER: _ClassVar[int]
    id: int
    workflow: str
    expression: str
    timezone: str
    paused: bool
    origin: ScheduleOrigin
    misfire: MisfirePolicy
    overlap: OverlapPolicy
    catch_up_limit: int
    catch_up_window: _duration_pb2.Duration
    parameters: _containers.ScalarMap[str, str]
    last_fire_time: _timestamp_pb2.Timestamp
    last_outcome: _common_pb2.RunState
    last_run_id: int
    next_fire_time: _timestamp_pb2.Timestamp
    missed_count: int
    skipped_count: int
    last_slot_time: _timestamp_pb2.Timestamp
    last_slot_outcome: FireOutcome
    last_slot_reason: str
    def __init__(self, id: _Optional[int] = ..., workflow: _Optional[str] = ..., expression: _Optional[str] = ..., timezone: _Optional[str] = ..., paused: _Optional[bool] = ..., origin: _Optional[_Union[ScheduleOrigin, str]] = ..., misfire: _Optional[_Union[MisfirePolicy, str]] = ..., overlap: _Optional[_Union[OverlapPolicy, str]] = ..., catch_up_limit: _Optional[int] = ..., catch_up_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., last_fire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_outcome: _Optional[_Union[_common_pb2.RunState, str]] = ..., last_run_id: _Optional[int] = ..., next_fire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., missed_count: _Optional[int] = ..., skipped_count: _Optional[int] = ..., last_slot_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_slot_outcome: _Optional[_Union[FireOutcome, str]] = ..., last_slot_reason: _Optional[str] = ...) -> None: ...

class AddScheduleRequest(_message.Message):
    __slots__ = ("workflow", "expression", "timezone", "paused", "misfire", "overlap", "catch_up_limit", "catch_up_window", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    MISFIRE_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_WINDOW_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    expression: str
    timezone: str
    paused: bool
    misfire: MisfirePolicy
    overlap: OverlapPolicy
    catch_up_limit: int
    catch_up_window: _duration_pb2.Duration
    parameters: _containers.ScalarMap[str, str]
    def __init__(self, workflow: _Optional[str] = ..., expression: _Optional[str] = ..., timezone: _Optional[str] = ..., paused: _Optional[bool] = ..., misfire: _Optional[_Union[MisfirePolicy, str]] = ..., overlap: _Optional[_Union[OverlapPolicy, str]] = ..., catch_up_limit: _Optional[int] = ..., catch_up_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., parameters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ScheduleRef(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class RemoveScheduleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ("workflow",)
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    def __init__(self, workflow: _Optional[str] = ...) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules",)
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ...) -> None: ...

class PreviewScheduleRequest(_message.Message):
    __slots__ = ("expression", "timezone", "count", "after")
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    expression: str
    timezone: str
    count: int
    after: _timestamp_pb2.Timestamp
    def __init__(self, expression: _Optional[str] = ..., timezone: _Optional[str] = ..., count: _Optional[int] = ..., after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PreviewScheduleResponse(_message.Message):
    __slots__ = ("fire_times", "timezone", "local_times")
    FIRE_TIMES_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TIMES_FIELD_NUMBER: _ClassVar[int]
    fire_times: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    timezone: str
    local_times: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fire_times: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ..., timezone: _Optional[str] = ..., local_times: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSchedulerStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StartSchedulerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopSchedulerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SchedulerStatus(_message.Message):
    __slots__ = ("state", "schedule_count", "paused_count", "next_fire_time", "next_workflow")
    STATE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PAUSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    state: SchedulerState
    schedule_count: int
    paused_count: int
    next_fire_time: _timestamp_pb2.Timestamp
    next_workflow: str
    def __init__(self, state: _Optional[_Union[SchedulerState, str]] = ..., schedule_count: _Optional[int] = ..., paused_count: _Optional[int] = ..., next_fire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_workflow: _Optional[str] = ...) -> None: ...
