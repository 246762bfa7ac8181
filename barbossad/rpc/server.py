"""The gRPC server: our services behind the guard, plus grpc.health.v1 and reflection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from barbossa.v1 import (
    daemon_pb2,
    daemon_pb2_grpc,
    executions_pb2,
    executions_pb2_grpc,
    monitoring_pb2,
    monitoring_pb2_grpc,
    schedules_pb2,
    schedules_pb2_grpc,
    workflows_pb2,
    workflows_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from barbossad.rpc.context import ServiceContext
from barbossad.rpc.daemon_service import DaemonServicer, MonitoringServicer
from barbossad.rpc.executions import ExecutionServicer
from barbossad.rpc.guard import Guard, LocalSocketAuthorizer, guarded
from barbossad.rpc.workflows import WorkflowServicer

SERVICE_NAMES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (workflows_pb2, "WorkflowService"),
        (executions_pb2, "ExecutionService"),
        (schedules_pb2, "ScheduleService"),
        (schedules_pb2, "SchedulerService"),
        (monitoring_pb2, "MonitoringService"),
        (daemon_pb2, "DaemonService"),
    )
)


class ApiServer:
    """Owns the grpc.aio server and its health servicer."""

    def __init__(self, ctx: ServiceContext, extra_servicers: dict[str, Any] | None = None) -> None:
        self.ctx = ctx
        self.server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)],
        )
        guard = Guard(LocalSocketAuthorizer(), ctx.engine.store)
        servicers: dict[str, Any] = {
            "workflows": WorkflowServicer(ctx),
            "executions": ExecutionServicer(ctx),
            "daemon": DaemonServicer(ctx),
            "monitoring": MonitoringServicer(ctx),
            "schedules": schedules_pb2_grpc.ScheduleServiceServicer(),
            "scheduler": schedules_pb2_grpc.SchedulerServiceServicer(),
        }
        servicers.update(extra_servicers or {})
        for servicer in servicers.values():
            guarded(guard, servicer, getattr(servicer, "MUTATING", frozenset()))
        workflows_pb2_grpc.add_WorkflowServiceServicer_to_server(
            servicers["workflows"], self.server
        )
        executions_pb2_grpc.add_ExecutionServiceServicer_to_server(
            servicers["executions"], self.server
        )
        daemon_pb2_grpc.add_DaemonServiceServicer_to_server(servicers["daemon"], self.server)
        monitoring_pb2_grpc.add_MonitoringServiceServicer_to_server(
            servicers["monitoring"], self.server
        )
        schedules_pb2_grpc.add_ScheduleServiceServicer_to_server(
            servicers["schedules"], self.server
        )
        schedules_pb2_grpc.add_SchedulerServiceServicer_to_server(
            servicers["scheduler"], self.server
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )

    def bind_unix(self, path: Path) -> None:
        """Listen on a Unix socket (the file must not exist)."""
        port = self.server.add_insecure_port(f"unix:{path}")
        if port == 0:
            raise OSError(f"cannot bind {path}")

    async def start(self) -> None:
        """Start serving and report SERVING for every service."""
        await self.server.start()
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def draining(self) -> None:
        """Tell health checkers we are going away."""
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    async def stop(self, grace: float) -> None:
        """Stop serving; in-flight calls get `grace` seconds."""
        await self.server.stop(grace)
