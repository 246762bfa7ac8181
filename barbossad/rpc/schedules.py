"""ScheduleService and SchedulerService: protobuf <-> the scheduler's models, no business logic."""

from __future__ import annotations

from datetime import tzinfo
from enum import Enum
from typing import Any, TypeVar

import grpc
from barbossa.v1 import schedules_pb2, schedules_pb2_grpc

from barbossad.errors import InvalidArgumentError
from barbossad.rpc import convert
from barbossad.scheduler.cron import preview, resolve_timezone
from barbossad.scheduler.manager import Scheduler
from barbossad.scheduler.model import (
    DEFAULT_CATCH_UP_LIMIT,
    MisfirePolicy,
    OverlapPolicy,
    SchedulerState,
    SchedulerStatus,
    ScheduleSpec,
    ScheduleView,
)

_E = TypeVar("_E", bound=Enum)
DEFAULT_PREVIEW_COUNT = 5


def _from_proto(enum: Any, value: int, ours: type[_E], default: _E, what: str) -> _E:
    """MISFIRE_POLICY_RUN_ALL -> MisfirePolicy.RUN_ALL; *_UNSPECIFIED -> default."""
    try:
        name = enum.Name(value)
    except ValueError:
        raise InvalidArgumentError(f"unknown {what} {value}") from None
    short = name.removeprefix(enum.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED"))
    return default if short == "UNSPECIFIED" else ours[short]


def _to_proto(enum: Any, member: Enum | None) -> int:
    """MisfirePolicy.RUN_ALL -> MISFIRE_POLICY_RUN_ALL (None -> 0)."""
    if member is None:
        return 0
    prefix = enum.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED")
    return int(enum.Value(prefix + member.name))


def spec_from_request(request: Any) -> ScheduleSpec:
    """An AddScheduleRequest as a ScheduleSpec (catch_up_limit 0 means the default)."""
    window = (
        request.catch_up_window.ToTimedelta().total_seconds()
        if request.HasField("catch_up_window")
        else None
    )
    return ScheduleSpec(
        workflow=request.workflow,
        expression=request.expression,
        timezone=request.timezone,
        misfire=_from_proto(
            schedules_pb2.MisfirePolicy,
            request.misfire,
            MisfirePolicy,
            MisfirePolicy.SKIP,
            "misfire policy",
        ),
        overlap=_from_proto(
            schedules_pb2.OverlapPolicy,
            request.overlap,
            OverlapPolicy,
            OverlapPolicy.SKIP,
            "overlap policy",
        ),
        catch_up_limit=request.catch_up_limit or DEFAULT_CATCH_UP_LIMIT,
        catch_up_window=window,
        parameters=dict(request.parameters),
    )


def schedule_message(view: ScheduleView) -> schedules_pb2.Schedule:
    """A schedule as a Schedule message."""
    record = view.record
    spec = record.spec
    return schedules_pb2.Schedule(
        id=record.id,
        workflow=spec.workflow,
        expression=spec.expression,
        timezone=spec.timezone,
        paused=record.paused,
        origin=_to_proto(schedules_pb2.ScheduleOrigin, record.origin),  # type: ignore[arg-type]
        misfire=_to_proto(schedules_pb2.MisfirePolicy, spec.misfire),  # type: ignore[arg-type]
        overlap=_to_proto(schedules_pb2.OverlapPolicy, spec.overlap),  # type: ignore[arg-type]
        catch_up_limit=spec.catch_up_limit,
        catch_up_window=convert.duration(spec.catch_up_window),
        parameters=dict(spec.parameters),
        last_fire_time=convert.timestamp(record.last_fire_time),
        last_outcome=convert.run_state(record.last_outcome) if record.last_outcome else 0,  # type: ignore[arg-type]
        last_run_id=record.last_run_id or 0,
        next_fire_time=convert.timestamp(view.next_fire_time),
        missed_count=record.missed_count,
        skipped_count=record.skipped_count,
        last_slot_time=convert.timestamp(record.last_slot),
        last_slot_outcome=_to_proto(schedules_pb2.FireOutcome, record.last_slot_outcome),  # type: ignore[arg-type]
        last_slot_reason=record.last_slot_reason,
    )


def status_message(status: SchedulerStatus) -> schedules_pb2.SchedulerStatus:
    """The scheduler's status as a SchedulerStatus message."""
    return schedules_pb2.SchedulerStatus(
        state=scheduler_state(status.state),  # type: ignore[arg-type]
        schedule_count=status.schedule_count,
        paused_count=status.paused_count,
        next_fire_time=convert.timestamp(status.next_fire_time),
        next_workflow=status.next_workflow,
    )


def scheduler_state(state: SchedulerState) -> int:
    """SchedulerState -> SCHEDULER_STATE_* (DaemonStatus.scheduler)."""
    return _to_proto(schedules_pb2.SchedulerState, state)


def zone_name(zone: tzinfo) -> str:
    """An IANA key when the zone has one (ZoneInfo), else its str()."""
    return str(getattr(zone, "key", None) or zone)


class ScheduleServicer(schedules_pb2_grpc.ScheduleServiceServicer):
    """Schedules: add, remove, pause, resume, list, preview."""

    MUTATING = frozenset({"AddSchedule", "RemoveSchedule", "PauseSchedule", "ResumeSchedule"})

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def AddSchedule(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        view = await self.scheduler.add(spec_from_request(request), paused=request.paused)
        return schedule_message(view)

    async def RemoveSchedule(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self.scheduler.remove(request.id)
        return schedules_pb2.RemoveScheduleResponse()

    async def PauseSchedule(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return schedule_message(await self.scheduler.pause(request.id))

    async def ResumeSchedule(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return schedule_message(await self.scheduler.resume(request.id))

    async def ListSchedules(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        views = await self.scheduler.list(request.workflow)
        return schedules_pb2.ListSchedulesResponse(schedules=[schedule_message(v) for v in views])

    async def PreviewSchedule(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        after = convert.from_timestamp(request.after) if request.HasField("after") else None
        zone = resolve_timezone(request.timezone or None)
        times = preview(
            request.expression,
            request.timezone or None,
            request.count or DEFAULT_PREVIEW_COUNT,
            after,
        )
        return schedules_pb2.PreviewScheduleResponse(
            fire_times=[t for t in map(convert.timestamp, times) if t is not None],
            timezone=zone_name(zone),
            local_times=[t.isoformat() for t in times],
        )


class SchedulerServicer(schedules_pb2_grpc.SchedulerServiceServicer):
    """The scheduler as a whole: status, start, stop (persisted across restarts)."""

    MUTATING = frozenset({"StartScheduler", "StopScheduler"})

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def GetSchedulerStatus(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return status_message(await self.scheduler.status())

    async def StartScheduler(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return status_message(await self.scheduler.start())

    async def StopScheduler(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return status_message(await self.scheduler.stop())
