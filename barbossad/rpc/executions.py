"""ExecutionService: start, stop, inspect and watch runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from barbossa.v1 import executions_pb2, executions_pb2_grpc

from barbossad.engine.events import LogEvent, RunEvent, RunStateEvent, TaskStateEvent
from barbossad.errors import InvalidArgumentError, NotFoundError
from barbossad.models import OutputStream, RunRecord
from barbossad.rpc import convert
from barbossad.rpc.context import ServiceContext
from barbossad.store.base import RunFilter

DEFAULT_PAGE = 50
MAX_PAGE = 1000


class ExecutionServicer(executions_pb2_grpc.ExecutionServiceServicer):
    """Runs go through the engine; history comes from the store."""

    MUTATING = frozenset({"Execute", "Cancel", "Retry"})

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def _run(self, run_id: int) -> RunRecord:
        record = await self.ctx.engine.store.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run with id {run_id}")
        return record

    async def Execute(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        engine = self.ctx.engine
        if not request.workflow:
            raise InvalidArgumentError("Execute needs a workflow name")
        workflow = await engine.resolve(request.workflow)
        params = dict(request.parameters)
        if request.dry_run:
            return executions_pb2.ExecuteResponse(plan=convert.plan(engine.plan(workflow, params)))
        run = await engine.start(
            workflow,
            convert.trigger_from(request.trigger),
            params,
            key=request.workflow,
            triggered_by=str(context.peer() or "api"),
        )
        return executions_pb2.ExecuteResponse(run=convert.run(run))

    async def Cancel(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return convert.run(await self.ctx.engine.cancel(request.run_id))

    async def Retry(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return convert.run(await self.ctx.engine.retry(request.run_id))

    async def GetRun(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return convert.run(await self._run(request.run_id))

    async def ListRuns(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        size = request.page.page_size or DEFAULT_PAGE
        if size > MAX_PAGE:
            size = MAX_PAGE
        before: int | None = None
        if request.page.page_token:
            try:
                before = int(request.page.page_token)
            except ValueError:
                raise InvalidArgumentError(
                    f"invalid page_token {request.page.page_token!r}"
                ) from None
        flt = RunFilter(
            workflow=request.workflow,
            states=tuple(convert.run_state_from(s) for s in request.states),
            trigger=convert.trigger_from(request.trigger) if request.trigger else None,
            created_after=convert.from_timestamp(request.created.start)
            if request.created.HasField("start")
            else None,
            created_before=convert.from_timestamp(request.created.end)
            if request.created.HasField("end")
            else None,
        )
        runs, total = await self.ctx.engine.store.list_runs(flt, limit=size + 1, before_id=before)
        more = len(runs) > size
        runs = runs[:size]
        return executions_pb2.ListRunsResponse(
            runs=[convert.run(r, with_tasks=False) for r in runs],
            page={
                "next_page_token": str(runs[-1].id) if more and runs else "",
                "total_count": total,
            },
        )

    async def WatchRun(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        engine = self.ctx.engine
        record = await self._run(request.run_id)
        if engine.bus.active(record.id):
            events = engine.bus.subscribe(
                record.id, request.after_sequence, output=request.include_output
            )
            async for event in events:
                yield convert.run_event(event)
            return
        # Finished (or never started here): replay what the store knows.
        record = await self._run(request.run_id)
        for event in await self._replay(record, request.include_output):
            if event.sequence > request.after_sequence:
                yield convert.run_event(event)

    async def _replay(self, record: RunRecord, include_output: bool) -> list[RunEvent]:
        bodies: list[Any] = []
        chunks = await self.ctx.engine.store.get_output(record.id) if include_output else []
        for task in record.tasks:
            bodies.append(
                TaskStateEvent(
                    task_id=task.task_id,
                    state=task.state,
                    attempt=task.attempt,
                    exit_code=task.exit_code,
                    error=task.error,
                )
            )
            for c in chunks:
                if c.task_id == task.task_id:
                    bodies.append(
                        LogEvent(
                            task_id=c.task_id,
                            attempt=c.attempt,
                            stream=c.stream,
                            text=c.data.decode("utf-8", "replace"),
                        )
                    )
        bodies.append(RunStateEvent(state=record.state, error=record.error))
        time = record.finished_at or record.created_at
        return [
            RunEvent(run_id=record.id, sequence=i + 1, time=time, body=b)
            for i, b in enumerate(bodies)
        ]

    async def GetLogs(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        record = await self._run(request.run_id)
        if request.task_id and request.task_id not in {t.task_id for t in record.tasks}:
            raise NotFoundError(f"run {record.id} has no task {request.task_id!r}")
        chunks = await self.ctx.engine.store.get_output(record.id, request.task_id or None)
        lines: list[executions_pb2.LogLine] = []
        previous: tuple[str, int, str] | None = None
        for c in chunks:
            if c.part == "tail" and previous != (c.task_id, c.attempt, "tail"):
                lines.append(
                    convert.log_line(
                        c.task_id, c.attempt, OutputStream.SYSTEM, "[... output truncated ...]\n"
                    )
                )
            previous = (c.task_id, c.attempt, c.part)
            lines.append(
                convert.log_line(c.task_id, c.attempt, c.stream, c.data.decode("utf-8", "replace"))
            )
        truncated = [t.task_id for t in record.tasks if t.output_truncated]
        return executions_pb2.GetLogsResponse(lines=lines, truncated_tasks=truncated)
