"""DaemonService commands: status, reload."""

from __future__ import annotations

import argparse
from typing import Any

from barbossa.v1 import daemon_pb2, daemon_pb2_grpc

from barbossactl import convert, render
from barbossactl.context import Context

Stub = daemon_pb2_grpc.DaemonServiceStub


def status_text(st: Any) -> str:
    """The status as a key/value block."""
    accepting = "yes" if st.accepting else "no (shutting down)"
    workflows = f"{st.workflow_count} (templates: {st.template_count}"
    workflows += f", invalid: {st.invalid_template_count})" if st.invalid_template_count else ")"
    return render.fields(
        [
            ("barbossad", f"{st.version or '?'} (pid {st.pid})"),
            ("started", render.when(convert.local_time(st, "started_at"))),
            ("uptime", render.duration(convert.seconds(st, "uptime"))),
            ("accepting", accepting),
            ("scheduler", convert.label(st, "scheduler")),
            ("workflows", workflows),
            ("running", str(st.running_count)),
            ("schedules", str(st.schedule_count)),
            ("total runs", str(st.total_runs)),
            ("socket", st.socket or "-"),
            ("state dir", st.state_dir or "-"),
            ("database", st.database or "-"),
            ("templates dir", st.templates_dir or "-"),
        ]
    )


def status(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl status"""
    st = ctx.call(Stub, "GetStatus", daemon_pb2.GetStatusRequest())
    ctx.emit(st, lambda: status_text(st))
    return 0


def reload(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl reload"""
    resp = ctx.call(Stub, "Reload", daemon_pb2.ReloadRequest())
    ctx.emit(
        resp,
        lambda: f"reloaded: {resp.loaded} loaded, {resp.invalid} invalid, {resp.removed} removed",
    )
    return 0
