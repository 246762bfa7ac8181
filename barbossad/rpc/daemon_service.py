"""DaemonService and the read-only parts of MonitoringService that the core already knows."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import grpc
from barbossa.v1 import daemon_pb2, daemon_pb2_grpc, monitoring_pb2, monitoring_pb2_grpc

from barbossad.rpc import convert
from barbossad.rpc.context import ServiceContext
from barbossad.rpc.schedules import scheduler_state


class DaemonServicer(daemon_pb2_grpc.DaemonServiceServicer):
    """Status and reload."""

    MUTATING = frozenset({"Reload"})

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def GetStatus(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        ctx = self.ctx
        engine = ctx.engine
        entries = engine.catalog.entries()
        stored = await engine.store.list_workflows()
        now = datetime.now(UTC)
        return daemon_pb2.DaemonStatus(
            version=ctx.version,
            pid=os.getpid(),
            started_at=convert.timestamp(ctx.started_at),
            uptime=convert.duration((now - ctx.started_at).total_seconds()),
            accepting=engine.accepting,
            workflow_count=len({e.name for e in entries if e.active} | {w.name for w in stored}),
            template_count=len(entries),
            invalid_template_count=sum(1 for e in entries if not e.valid),
            running_count=len(engine.running_ids()),
            total_runs=await engine.store.count_runs(),
            scheduler=scheduler_state(ctx.scheduler.state) if ctx.scheduler else 0,  # type: ignore[arg-type]
            schedule_count=(await engine.store.count_schedules())[0],
            socket=str(ctx.config.socket),
            state_dir=str(ctx.config.state_dir),
            database=str(ctx.config.database),
            templates_dir=str(ctx.config.templates_dir),
        )

    async def Ping(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return daemon_pb2.PingResponse(time=convert.timestamp(datetime.now(UTC)))

    async def Reload(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        summary = await self.ctx.reload()
        return daemon_pb2.ReloadResponse(
            loaded=summary.loaded, invalid=summary.invalid, removed=summary.removed
        )


class MonitoringServicer(monitoring_pb2_grpc.MonitoringServiceServicer):
    """Running executions; stats, metrics and alerts arrive with the monitoring issue."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def ListRunning(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        runs = []
        for run_id in self.ctx.engine.running_ids():
            record = await self.ctx.engine.store.get_run(run_id)
            if record is not None:
                runs.append(convert.run(record))
        return monitoring_pb2.ListRunningResponse(runs=runs)
