"""Canned servicers for barbossactl's tests: subclasses of the generated *Servicer classes.

They exist only to check the CLI's formatting and exit codes; the daemon's behaviour is tested end
to end against the real barbossad elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from barbossa.v1 import (
    common_pb2,
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
from google.protobuf import duration_pb2, timestamp_pb2

T0 = 1_735_732_800  # 2025-01-01T12:00:00Z


def ts(offset: float = 0.0) -> timestamp_pb2.Timestamp:
    """T0 + offset seconds."""
    t = timestamp_pb2.Timestamp()
    t.FromNanoseconds(int((T0 + offset) * 1e9))
    return t


def dur(seconds: float) -> duration_pb2.Duration:
    """A Duration."""
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def make_run(run_id: int, state: int, *, tasks: bool = True, error: str = "") -> Any:
    """A canned run of workflow "deploy" with tasks build (and test)."""
    run = executions_pb2.Run(
        id=run_id,
        workflow="deploy",
        state=state,
        trigger=common_pb2.TRIGGER_KIND_MANUAL,
        parameters={"env": "prod"},
        created_at=ts(),
        started_at=ts(0.5),
        definition_hash="abc123def456",
        error=error,
        triggered_by="uid:1000",
    )
    if state not in (common_pb2.RUN_STATE_PENDING, common_pb2.RUN_STATE_RUNNING):
        run.finished_at.CopyFrom(ts(3.9))
        run.duration.CopyFrom(dur(3.4))
    if tasks:
        build = run.tasks.add(task_id="build", name="Build", type="shell_command", attempt=1)
        build.state = common_pb2.TASK_STATE_SUCCEEDED
        build.exit_code = 0
        build.duration.CopyFrom(dur(1.25))
        test = run.tasks.add(task_id="test", name="Test", type="shell_command", attempt=2)
        test.state = (
            common_pb2.TASK_STATE_SUCCEEDED
            if state == common_pb2.RUN_STATE_SUCCEEDED
            else common_pb2.TASK_STATE_FAILED
        )
        if state != common_pb2.RUN_STATE_SUCCEEDED:
            test.exit_code = 2
            test.error = "exited with status 2"
    return run


@dataclass
class Script:
    """What the fake execution service does; tests change it before calling barbossactl."""

    final_state: int = common_pb2.RUN_STATE_SUCCEEDED
    hang: bool = False  # WatchRun never ends (for Ctrl-C tests)
    status_delay: float = 0.0  # GetStatus answers this late (for deadline tests)


class Daemon(daemon_pb2_grpc.DaemonServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def GetStatus(self, request: Any, context: Any) -> Any:
        if self.script.status_delay:
            await asyncio.sleep(self.script.status_delay)
        return daemon_pb2.DaemonStatus(
            version="0.1.0",
            pid=4242,
            started_at=ts(),
            uptime=dur(3725),
            accepting=True,
            scheduler=schedules_pb2.SCHEDULER_STATE_RUNNING,
            workflow_count=5,
            template_count=6,
            invalid_template_count=1,
            running_count=1,
            schedule_count=2,
            total_runs=12345678901,
            socket="/run/barbossad/barbossad.sock",
            state_dir="/var/lib/barbossad",
            database="/var/lib/barbossad/barbossa.db",
            templates_dir="/etc/barbossad/workflow_templates",
        )

    async def Reload(self, request: Any, context: Any) -> Any:
        return daemon_pb2.ReloadResponse(loaded=5, invalid=1, removed=0)


def _issue(
    file: str, line: int, column: int, field: str, message: str, suggestion: str = ""
) -> Any:
    loc = common_pb2.SourceLocation(file=file, line=line, column=column, field=field)
    return common_pb2.ValidationIssue(location=loc, message=message, suggestion=suggestion)


class Workflows(workflows_pb2_grpc.WorkflowServiceServicer):
    async def ListTemplates(self, request: Any, context: Any) -> Any:
        good = workflows_pb2.Template(
            name="deploy",
            path="/t/deploy.yaml",
            valid=True,
            task_count=2,
            description="Build and ship",
            active=True,
        )
        bad = workflows_pb2.Template(
            name="broken",
            path="/t/broken.yaml",
            valid=False,
            task_count=0,
            issues=[
                _issue(
                    "/t/broken.yaml",
                    7,
                    5,
                    "tasks[0].type",
                    "unknown task type 'shel'",
                    "shell_command",
                ),
                _issue("/t/broken.yaml", 9, 3, "tasks[1]", "second problem"),
            ],
        )
        return workflows_pb2.ListTemplatesResponse(templates=[good, bad])

    def _workflow(self) -> Any:
        cfg = workflows_pb2.WorkflowConfig(
            name="deploy", description="Build and ship", max_parallel=2
        )
        cfg.variables.add(
            name="env",
            type=workflows_pb2.VARIABLE_TYPE_CHOICE,
            default_value="dev",
            choices=["dev", "prod"],
            description="target",
        )
        build = cfg.tasks.add(id="build", type="shell_command")
        build.shell_command.command = "make build"
        build.timeout.CopyFrom(dur(600))
        test = cfg.tasks.add(id="test", type="shell_command", dependencies=["build"])
        test.shell_command.command = "make test"
        test.retry.attempts = 3
        return workflows_pb2.Workflow(
            name="deploy",
            description="Build and ship",
            version="1.2",
            source=workflows_pb2.WORKFLOW_SOURCE_TEMPLATE,
            template_name="deploy",
            definition_hash="abc123",
            config=cfg,
            updated_at=ts(),
        )

    async def ListWorkflows(self, request: Any, context: Any) -> Any:
        return workflows_pb2.ListWorkflowsResponse(workflows=[self._workflow()])

    async def GetWorkflow(self, request: Any, context: Any) -> Any:
        if request.name != "deploy":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no workflow named {request.name!r}")
        return self._workflow()

    async def ValidateWorkflow(self, request: Any, context: Any) -> Any:
        text = request.definition_yaml
        if "syntax error" in text:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"{request.file_name}:1:1: bad YAML"
            )
        if "taks" in text:
            issue = _issue(request.file_name, 3, 1, "taks", "unknown key", "tasks")
            return workflows_pb2.ValidateWorkflowResponse(valid=False, issues=[issue], name="x")
        count = text.count("- id:")
        return workflows_pb2.ValidateWorkflowResponse(valid=True, name="x", task_count=count)


class Executions(executions_pb2_grpc.ExecutionServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Any] = []
        self.page_size = 0  # overrides the requested page size when set

    async def Execute(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        if request.workflow != "deploy":
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"no workflow named {request.workflow!r}"
            )
        if request.dry_run:
            plan = executions_pb2.ExecutionPlan(
                workflow="deploy",
                definition_hash="abc123def456789",
                parameters=dict(request.parameters),
            )
            stage = plan.stages.add(index=1)
            stage.tasks.add(
                task_id="build",
                type="shell_command",
                description="would run make",
                argv=["bash", "-c", "make build"],
            )
            plan.stages.add(index=2).tasks.add(
                task_id="test", type="shell_command", dependencies=["build"]
            )
            return executions_pb2.ExecuteResponse(plan=plan)
        run = make_run(42, common_pb2.RUN_STATE_RUNNING)
        return executions_pb2.ExecuteResponse(run=run)

    async def GetRun(self, request: Any, context: Any) -> Any:
        if request.run_id in (42, 43):
            error = (
                ""
                if self.script.final_state == common_pb2.RUN_STATE_SUCCEEDED
                else "task test failed"
            )
            return make_run(request.run_id, self.script.final_state, error=error)
        if request.run_id == 7:
            return make_run(7, common_pb2.RUN_STATE_FAILED, error="task test failed")
        await context.abort(grpc.StatusCode.NOT_FOUND, f"no run with id {request.run_id}")

    async def ListRuns(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        runs = [
            make_run(42, common_pb2.RUN_STATE_SUCCEEDED, tasks=False),
            make_run(7, common_pb2.RUN_STATE_FAILED, tasks=False, error="task test failed"),
            make_run(3, common_pb2.RUN_STATE_TIMED_OUT, tasks=False),
        ]
        if request.states:
            runs = [r for r in runs if r.state in request.states]
        start = int(request.page.page_token or 0)
        size = self.page_size or request.page.page_size or 50
        page = runs[start : start + size]
        more = start + size < len(runs)
        return executions_pb2.ListRunsResponse(
            runs=page,
            page=common_pb2.PageResponse(
                next_page_token=str(start + size) if more else "", total_count=len(runs)
            ),
        )

    async def WatchRun(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self.requests.append(request)
        ok = self.script.final_state == common_pb2.RUN_STATE_SUCCEEDED
        events: list[Any] = [
            executions_pb2.RunEvent(
                run=executions_pb2.RunStateChanged(state=common_pb2.RUN_STATE_RUNNING)
            ),
            executions_pb2.RunEvent(
                time=ts(1),
                task=executions_pb2.TaskStateChanged(
                    task_id="build", state=common_pb2.TASK_STATE_RUNNING, attempt=1
                ),
            ),
        ]
        if request.include_output:
            for text, stream in (("compil", 1), ("ing\nlinked\npart", 1), ("warning: x\n", 2)):
                line = executions_pb2.LogLine(task_id="build", attempt=1, stream=stream, text=text)
                events.append(executions_pb2.RunEvent(log=line))
        events.append(
            executions_pb2.RunEvent(
                time=ts(2.25),
                task=executions_pb2.TaskStateChanged(
                    task_id="build", state=common_pb2.TASK_STATE_SUCCEEDED, attempt=1, exit_code=0
                ),
            )
        )
        if not ok:
            events.append(
                executions_pb2.RunEvent(
                    time=ts(3),
                    task=executions_pb2.TaskStateChanged(
                        task_id="test",
                        state=common_pb2.TASK_STATE_FAILED,
                        attempt=2,
                        exit_code=2,
                        error="exited with status 2",
                    ),
                )
            )
        for seq, event in enumerate(events, 1):
            event.sequence = seq
            if seq > request.after_sequence:
                yield event
        if self.script.hang:
            await asyncio.Event().wait()
        final = executions_pb2.RunStateChanged(state=self.script.final_state)
        yield executions_pb2.RunEvent(sequence=len(events) + 1, time=ts(3.9), run=final)

    async def GetLogs(self, request: Any, context: Any) -> Any:
        if request.run_id not in (7, 42):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no run with id {request.run_id}")
        lines = [
            executions_pb2.LogLine(task_id="build", attempt=1, stream=1, text="compil"),
            executions_pb2.LogLine(task_id="build", attempt=1, stream=1, text="ing\nlinked\npart"),
            executions_pb2.LogLine(task_id="test", attempt=2, stream=2, text="FAIL: test_x\n"),
        ]
        if request.task_id:
            lines = [line for line in lines if line.task_id == request.task_id]
        return executions_pb2.GetLogsResponse(lines=lines, truncated_tasks=["test"])

    async def Cancel(self, request: Any, context: Any) -> Any:
        await context.abort(
            grpc.StatusCode.FAILED_PRECONDITION, f"run {request.run_id} already finished"
        )

    async def Retry(self, request: Any, context: Any) -> Any:
        run = make_run(43, common_pb2.RUN_STATE_PENDING, tasks=False)
        run.retry_of = request.run_id
        return run


class Schedules(schedules_pb2_grpc.ScheduleServiceServicer):
    def __init__(self) -> None:
        self.added: list[Any] = []

    async def ListSchedules(self, request: Any, context: Any) -> Any:
        s = schedules_pb2.Schedule(
            id=1,
            workflow="deploy",
            expression="0 3 * * *",
            timezone="Europe/Berlin",
            origin=schedules_pb2.SCHEDULE_ORIGIN_TEMPLATE,
            next_fire_time=ts(3600),
            last_fire_time=ts(-86400 + 3600),
            last_outcome=common_pb2.RUN_STATE_SUCCEEDED,
            last_run_id=42,
            missed_count=3,
            skipped_count=1,
        )
        return schedules_pb2.ListSchedulesResponse(schedules=[s])

    async def AddSchedule(self, request: Any, context: Any) -> Any:
        self.added.append(request)
        return schedules_pb2.Schedule(
            id=2,
            workflow=request.workflow,
            expression=request.expression,
            timezone=request.timezone,
            paused=request.paused,
            misfire=request.misfire,
            overlap=request.overlap,
            parameters=dict(request.parameters),
            origin=schedules_pb2.SCHEDULE_ORIGIN_API,
        )

    async def RemoveSchedule(self, request: Any, context: Any) -> Any:
        if request.id != 2:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no schedule with id {request.id}")
        return schedules_pb2.RemoveScheduleResponse()

    async def PreviewSchedule(self, request: Any, context: Any) -> Any:
        self.added.append(request)
        if request.expression == "bogus":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid cron expression 'bogus'")
        return schedules_pb2.PreviewScheduleResponse(
            fire_times=[ts(3600), ts(90000)],
            timezone=request.timezone or "UTC",
            local_times=["2025-01-01T14:00:00+01:00", "2025-01-02T14:00:00+01:00"],
        )


class Monitoring(monitoring_pb2_grpc.MonitoringServiceServicer):
    async def GetStats(self, request: Any, context: Any) -> Any:
        w = monitoring_pb2.WorkflowStats(
            workflow="deploy",
            total=10,
            succeeded=8,
            failed=2,
            success_rate=0.8,
            mean_duration=dur(12.5),
            p95_duration=dur(30),
            last_run_at=ts(),
            last_state=common_pb2.RUN_STATE_FAILED,
        )
        return monitoring_pb2.GetStatsResponse(workflows=[w], overall=w)

    async def ListAlerts(self, request: Any, context: Any) -> Any:
        return monitoring_pb2.ListAlertsResponse()

    async def ListRunning(self, request: Any, context: Any) -> Any:
        return monitoring_pb2.ListRunningResponse(
            runs=[make_run(42, common_pb2.RUN_STATE_RUNNING, tasks=False)]
        )
