"""ScheduleService and SchedulerService commands: schedule ..., scheduler status|start|stop."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from barbossa.v1 import schedules_pb2, schedules_pb2_grpc

from barbossactl import convert, render
from barbossactl.context import Context
from barbossactl.errors import CliError, ExitCode

Stub = schedules_pb2_grpc.ScheduleServiceStub
SchedulerStub = schedules_pb2_grpc.SchedulerServiceStub


def schedules_table(schedules: Iterable[Any]) -> str:
    """One row per schedule."""
    rows = []
    for s in schedules:
        last = convert.label(s, "last_outcome")
        if s.last_run_id:
            last += f" (run {s.last_run_id})"
        rows.append(
            [
                str(s.id),
                s.workflow,
                s.expression,
                s.timezone or "-",
                "paused" if s.paused else "active",
                render.when(convert.local_time(s, "next_fire_time")),
                render.when(convert.local_time(s, "last_fire_time")),
                last,
                str(s.missed_count),
                str(s.skipped_count),
                convert.label(s, "origin"),
            ]
        )
    if not rows:
        return "no schedules\n"
    headers = [
        "ID",
        "WORKFLOW",
        "EXPRESSION",
        "TZ",
        "STATUS",
        "NEXT",
        "LAST FIRE",
        "LAST OUTCOME",
        "MISSED",
        "SKIPPED",
        "ORIGIN",
    ]
    return render.table(headers, rows)


def list_schedules(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl schedule list [WORKFLOW]"""
    request = schedules_pb2.ListSchedulesRequest(workflow=args.workflow)
    resp = ctx.call(Stub, "ListSchedules", request)
    ctx.emit(resp, lambda: schedules_table(resp.schedules))
    return 0


def _describe(s: Any, verb: str) -> str:
    zone = f" ({s.timezone})" if s.timezone else ""
    text = f"schedule {s.id} {verb}: {s.workflow} {s.expression!r}{zone}"
    if s.paused:
        return text + ", paused"
    return text + f", next: {render.when(convert.local_time(s, 'next_fire_time'))}"


def add(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl schedule add WORKFLOW EXPR [--tz Z] [--misfire P] [--overlap P] [--paused]"""
    request = schedules_pb2.AddScheduleRequest(
        workflow=args.workflow,
        expression=args.expression,
        timezone=args.tz,
        paused=args.paused,
        parameters=dict(args.params),
        catch_up_limit=args.catch_up_limit,
    )
    if args.catch_up_window > 0:
        request.catch_up_window.FromTimedelta(timedelta(seconds=args.catch_up_window))
    if args.misfire:
        request.misfire = convert.enum_number(schedules_pb2.MisfirePolicy.DESCRIPTOR, args.misfire)  # type: ignore[assignment]
    if args.overlap:
        request.overlap = convert.enum_number(schedules_pb2.OverlapPolicy.DESCRIPTOR, args.overlap)  # type: ignore[assignment]
    s = ctx.call(Stub, "AddSchedule", request)
    ctx.emit(s, lambda: _describe(s, "added"))
    return 0


def remove(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl schedule rm ID"""
    resp = ctx.call(Stub, "RemoveSchedule", schedules_pb2.ScheduleRef(id=args.schedule_id))
    ctx.emit(resp, lambda: f"schedule {args.schedule_id} removed")
    return 0


def pause(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl schedule pause ID"""
    s = ctx.call(Stub, "PauseSchedule", schedules_pb2.ScheduleRef(id=args.schedule_id))
    ctx.emit(s, lambda: _describe(s, "paused"))
    return 0


def resume(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl schedule resume ID"""
    s = ctx.call(Stub, "ResumeSchedule", schedules_pb2.ScheduleRef(id=args.schedule_id))
    ctx.emit(s, lambda: _describe(s, "resumed"))
    return 0


def parse_after(text: str, zone: str) -> datetime:
    """An ISO-8601 time; without an offset it is taken in `zone` (or the local zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--after: expected an ISO-8601 time, got {text!r}", ExitCode.USAGE
        ) from None
    if moment.tzinfo is not None:
        return moment
    if not zone:
        return moment.astimezone()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return moment.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {zone!r}", ExitCode.INVALID) from None


def preview(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl schedule preview EXPR [--tz Z] [--count N] [--after ISO]"""
    request = schedules_pb2.PreviewScheduleRequest(
        expression=args.expression, timezone=args.tz, count=args.count
    )
    if args.after:
        request.after.FromDatetime(parse_after(args.after, args.tz))
    resp = ctx.call(Stub, "PreviewSchedule", request)

    def text() -> str:
        times = list(resp.local_times) or [
            datetime.fromtimestamp(t.seconds + t.nanos / 1e9).astimezone().isoformat()
            for t in resp.fire_times
        ]
        return "\n".join(times) + "\n" if times else "no fire times\n"

    ctx.emit(resp, text)
    return 0


def scheduler_text(st: Any) -> str:
    """ "scheduler running: 5 schedules (1 paused); next: backup at 2025-01-31 03:00:00"."""
    text = f"scheduler {convert.label(st, 'state')}: {st.schedule_count} schedules"
    if st.paused_count:
        text += f" ({st.paused_count} paused)"
    if convert.has(st, "next_fire_time"):
        moment = render.when(convert.local_time(st, "next_fire_time"))
        text += f"; next: {st.next_workflow or '?'} at {moment}"
    return text


def _scheduler(ctx: Context, method: str, request: Any) -> int:
    st = ctx.call(SchedulerStub, method, request)
    ctx.emit(st, lambda: scheduler_text(st))
    return 0


def scheduler_status(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl scheduler status"""
    return _scheduler(ctx, "GetSchedulerStatus", schedules_pb2.GetSchedulerStatusRequest())


def scheduler_start(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl scheduler start"""
    return _scheduler(ctx, "StartScheduler", schedules_pb2.StartSchedulerRequest())


def scheduler_stop(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl scheduler stop"""
    return _scheduler(ctx, "StopScheduler", schedules_pb2.StopSchedulerRequest())
