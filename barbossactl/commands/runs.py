"""ExecutionService commands: exec, runs, run, logs, cancel, retry."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Iterable
from typing import Any

from barbossa.v1 import common_pb2, executions_pb2, executions_pb2_grpc

from barbossactl import convert, render
from barbossactl.commands import watch
from barbossactl.context import Context

Stub = executions_pb2_grpc.ExecutionServiceStub
MAX_PAGE = 1000


def runs_table(runs: Iterable[Any]) -> str:
    """ID, workflow, state, trigger, created, duration, error of each run."""
    rows = [
        [
            str(r.id),
            r.workflow,
            convert.label(r, "state"),
            convert.label(r, "trigger"),
            render.when(convert.local_time(r, "created_at")),
            render.duration(convert.seconds(r, "duration")),
            render.truncate(r.error, 60),
        ]
        for r in runs
    ]
    if not rows:
        return "no runs\n"
    return render.table(
        ["ID", "WORKFLOW", "STATE", "TRIGGER", "CREATED", "DURATION", "ERROR"], rows
    )


def plan_text(plan: Any) -> str:
    """A dry run's plan: stages, and per task what it would do."""
    lines = [f"plan for {plan.workflow} (definition {plan.definition_hash[:12] or '-'})"]
    if plan.parameters:
        lines.append(
            "parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(plan.parameters.items()))
        )
    for stage in plan.stages:
        lines.append(f"stage {stage.index}:")
        for task in stage.tasks:
            lines.append(f"  {task.task_id} ({task.type}): {task.description or task.name or '-'}")
            if task.dependencies:
                lines.append(f"    after: {', '.join(task.dependencies)}")
            if task.argv:
                lines.append(f"    argv:  {shlex.join(task.argv)}")
            if task.working_directory:
                lines.append(f"    cwd:   {task.working_directory}")
            for key, value in sorted(task.env.items()):
                lines.append(f"    env:   {key}={value}")
    return "\n".join(lines) + "\n"


def execute(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl exec NAME [-p K=V]... [--dry-run | --detach]"""
    request = executions_pb2.ExecuteRequest(
        workflow=args.name,
        parameters=dict(args.params),
        dry_run=args.dry_run,
        trigger=common_pb2.TRIGGER_KIND_MANUAL,
    )
    response = ctx.call(Stub, "Execute", request)
    if args.dry_run:
        ctx.emit(response.plan, lambda: plan_text(response.plan))
        return 0
    run = response.run
    if args.detach:
        ctx.emit(run, lambda: f"{run.id}\n")
        return 0
    return watch.wait(ctx, run)


def list_runs(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl runs [NAME] [--limit N] [--state S]..."""
    enum = common_pb2.RunState.DESCRIPTOR
    states = [convert.enum_number(enum, s) for s in dict.fromkeys(args.states)]
    runs: list[Any] = []
    page = common_pb2.PageResponse()
    while len(runs) < args.limit:
        request = executions_pb2.ListRunsRequest(
            workflow=args.workflow,
            states=states,  # type: ignore[arg-type]
            page=common_pb2.PageRequest(
                page_size=min(args.limit - len(runs), MAX_PAGE), page_token=page.next_page_token
            ),
        )
        response = ctx.call(Stub, "ListRuns", request)
        runs.extend(response.runs)
        page = response.page
        if not page.next_page_token or not response.runs:
            break
    result = executions_pb2.ListRunsResponse(runs=runs[: args.limit], page=page)

    def text() -> str:
        out = runs_table(result.runs)
        if page.total_count > len(result.runs):
            out += f"({len(result.runs)} of {page.total_count} runs; see --limit)\n"
        return out

    ctx.emit(result, text)
    return 0


def run_text(run: Any) -> str:
    """A run's fields, then a table of its tasks."""
    params = ", ".join(f"{k}={v}" for k, v in sorted(run.parameters.items())) or "-"
    pairs = [
        ("run", str(run.id)),
        ("workflow", run.workflow),
        ("state", convert.label(run, "state")),
        (
            "trigger",
            convert.label(run, "trigger") + (f" by {run.triggered_by}" if run.triggered_by else ""),
        ),
        ("parameters", params),
        ("created", render.when(convert.local_time(run, "created_at"))),
        ("started", render.when(convert.local_time(run, "started_at"))),
        ("finished", render.when(convert.local_time(run, "finished_at"))),
        ("duration", render.duration(convert.seconds(run, "duration"))),
        ("definition", run.definition_hash or "-"),
    ]
    if run.retry_of:
        pairs.append(("retry of", str(run.retry_of)))
    if run.error:
        pairs.append(("error", run.error))
    out = render.fields(pairs)
    if run.tasks:
        rows = [
            [
                t.task_id,
                t.type,
                convert.label(t, "state") + (" (reused)" if t.reused else ""),
                str(t.attempt),
                str(t.exit_code) if convert.has(t, "exit_code") else "-",
                render.duration(convert.seconds(t, "duration")),
                render.truncate(t.error, 60),
            ]
            for t in run.tasks
        ]
        headers = ["TASK", "TYPE", "STATE", "ATTEMPT", "EXIT", "DURATION", "ERROR"]
        out += "\n" + render.table(headers, rows)
    return out


def show_run(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl run ID"""
    run = ctx.call(Stub, "GetRun", executions_pb2.GetRunRequest(run_id=args.run_id))
    ctx.emit(run, lambda: run_text(run))
    return 0


def logs(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl logs ID [--task T] [-f]"""
    request = executions_pb2.GetLogsRequest(run_id=args.run_id, task_id=args.task)
    response = ctx.call(Stub, "GetLogs", request)
    if ctx.structured and not args.follow:
        ctx.emit(response, str)
        return 0
    if ctx.structured:  # -f: one LogLine per line (JSON Lines) or per document (YAML)
        emit = _line_emitter(ctx)
    else:
        width = max([len(line.task_id) for line in response.lines] + [8])
        printer = watch.OutputPrinter(ctx.stdout.write, width=width, raw=bool(args.task))
        emit = printer.feed
    replay = watch.Replay()
    for line in response.lines:
        replay.show(line)
        emit(line)
    ctx.stdout.flush()
    if args.follow:
        for event in watch.events(ctx, args.run_id, output=True):
            if event.WhichOneof("event") == "log" and args.task in ("", event.log.task_id):
                fresh = replay.fresh(event.log)
                if fresh is not None:
                    emit(fresh)
                    ctx.stdout.flush()
    if not ctx.structured:
        printer.flush()
        ctx.stdout.flush()
        for task in response.truncated_tasks:
            sys.stderr.write(f"barbossactl: note: the stored output of task {task} was truncated\n")
    return 0


def _line_emitter(ctx: Context) -> Callable[[Any], None]:
    def emit(line: Any) -> None:
        plain = convert.to_plain(line)
        if ctx.output == "json":
            ctx.write(json.dumps(plain, ensure_ascii=False))
        else:
            ctx.write("---\n" + render.dump_yaml(plain))

    return emit


def cancel(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl cancel ID"""
    run = ctx.call(Stub, "Cancel", executions_pb2.CancelRequest(run_id=args.run_id))
    state = convert.label(run, "state")
    text = (
        f"run {run.id} cancelled"
        if state == "cancelled"
        else f"run {run.id}: cancel requested (state: {state})"
    )
    ctx.emit(run, lambda: text)
    return 0


def retry(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl retry ID [--wait]"""
    run = ctx.call(Stub, "Retry", executions_pb2.RetryRequest(run_id=args.run_id))
    if args.wait:
        return watch.wait(ctx, run)
    ctx.emit(
        run,
        lambda: f"run {run.id} started: {run.workflow}, retry of run {run.retry_of or args.run_id}",
    )
    return 0
