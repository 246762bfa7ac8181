"""MonitoringService commands: running, stats, alerts."""

from __future__ import annotations

import argparse
from typing import Any

from barbossa.v1 import monitoring_pb2, monitoring_pb2_grpc

from barbossactl import convert, render
from barbossactl.commands.runs import runs_table
from barbossactl.context import Context

Stub = monitoring_pb2_grpc.MonitoringServiceStub


def running(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl running"""
    resp = ctx.call(Stub, "ListRunning", monitoring_pb2.ListRunningRequest())
    ctx.emit(resp, lambda: runs_table(resp.runs))
    return 0


def _stats_row(name: str, s: Any) -> list[str]:
    finished = s.succeeded + s.failed
    return [
        name,
        str(s.total),
        str(s.succeeded),
        str(s.failed),
        str(s.running),
        f"{s.success_rate * 100:.0f}%" if finished else "-",
        render.duration(convert.seconds(s, "mean_duration")),
        render.duration(convert.seconds(s, "p95_duration")),
        render.when(convert.local_time(s, "last_run_at")),
        convert.label(s, "last_state"),
    ]


def stats_text(resp: Any) -> str:
    """One row per workflow, then the overall row."""
    rows = [_stats_row(s.workflow, s) for s in resp.workflows]
    if not rows:
        return "no runs yet\n"
    if convert.has(resp, "overall") and len(rows) > 1:
        rows.append(_stats_row("(all)", resp.overall))
    headers = ["WORKFLOW", "TOTAL", "OK", "FAILED", "RUNNING", "SUCCESS", "MEAN", "P95"]
    return render.table([*headers, "LAST RUN", "LAST STATE"], rows)


def stats(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl stats [NAME]"""
    resp = ctx.call(Stub, "GetStats", monitoring_pb2.GetStatsRequest(workflow=args.workflow))
    ctx.emit(resp, lambda: stats_text(resp))
    return 0


def alerts_text(alerts: Any) -> str:
    """One row per alert."""
    rows = [
        [
            str(a.id),
            convert.label(a, "severity"),
            a.rule,
            a.workflow or "-",
            str(a.run_id) if a.run_id else "-",
            render.when(convert.local_time(a, "fired_at")),
            render.when(convert.local_time(a, "resolved_at")),
            render.truncate(a.message, 70),
        ]
        for a in alerts
    ]
    if not rows:
        return "no alerts\n"
    headers = ["ID", "SEVERITY", "RULE", "WORKFLOW", "RUN", "FIRED", "RESOLVED", "MESSAGE"]
    return render.table(headers, rows)


def alerts(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl alerts [--all]"""
    request = monitoring_pb2.ListAlertsRequest(include_resolved=args.all)
    resp = ctx.call(Stub, "ListAlerts", request)
    ctx.emit(resp, lambda: alerts_text(resp.alerts))
    return 0
