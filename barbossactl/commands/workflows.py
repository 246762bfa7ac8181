"""WorkflowService commands: templates, list, show, validate."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from barbossa.v1 import common_pb2, workflows_pb2, workflows_pb2_grpc

from barbossactl import convert, render
from barbossactl.context import Context
from barbossactl.errors import CliError, ExitCode

Stub = workflows_pb2_grpc.WorkflowServiceStub


def issue_text(issue: Any, default_file: str = "", *, column: bool = True) -> str:
    """`file:line:col: field: message (did you mean X?)`, leaving out what is unknown."""
    loc = issue.location
    where = loc.file or default_file or "<request>"
    if loc.line:
        where += f":{loc.line}"
        if loc.column and column:
            where += f":{loc.column}"
    if loc.field:
        text = f"{where}: {loc.field}: {issue.message}"
    elif issue.message.startswith(f"{where}:"):
        text = issue.message  # the message names its own location
    else:
        text = f"{where}: {issue.message}"
    if issue.suggestion:
        text += f" (did you mean {issue.suggestion}?)"
    return text


def templates_text(templates: Any) -> str:
    """Name, validity, task count, description; the first issue under each invalid template."""
    if not templates:
        return "no templates\n"
    rows: list[list[str]] = []
    notes: dict[int, str] = {}
    for t in templates:
        valid = "yes" if t.valid else ("no (last good in use)" if t.active else "no")
        rows.append([t.name, valid, str(t.task_count), render.truncate(t.description, 60)])
        if not t.valid and t.issues:
            extra = f" (+{len(t.issues) - 1} more)" if len(t.issues) > 1 else ""
            notes[len(rows)] = "  ! " + issue_text(t.issues[0], t.path, column=False) + extra
    lines = render.table(["NAME", "VALID", "TASKS", "DESCRIPTION"], rows).splitlines()
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if i in notes:
            out.append(notes[i])
    return "\n".join(out) + "\n"


def templates(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl templates"""
    resp = ctx.call(Stub, "ListTemplates", workflows_pb2.ListTemplatesRequest())
    ctx.emit(resp, lambda: templates_text(resp.templates))
    return 0


def list_workflows(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl list"""
    resp = ctx.call(Stub, "ListWorkflows", workflows_pb2.ListWorkflowsRequest())

    def text() -> str:
        rows = [
            [
                w.name,
                convert.label(w, "source"),
                str(len(w.config.tasks)),
                w.version or "-",
                render.truncate(w.description, 60),
            ]
            for w in resp.workflows
        ]
        if not rows:
            return "no workflows\n"
        return render.table(["NAME", "SOURCE", "TASKS", "VERSION", "DESCRIPTION"], rows)

    ctx.emit(resp, text)
    return 0


def task_summary(task: Any) -> str:
    """What a task does, in a few words."""
    kind = task.WhichOneof("spec")
    if kind is None:
        return "-"
    spec = getattr(task, kind)
    if kind == "shell_command":
        return render.truncate(spec.command, 60)
    if kind == "python_script":
        target = spec.file if spec.WhichOneof("source") == "file" else "inline script"
        return shlex.join([target, *spec.args])
    if kind == "file_operation":
        dest = f" -> {spec.destination}" if spec.destination else ""
        return f"{spec.operation} {spec.source}{dest}".strip()
    if kind == "service_management":
        return f"{spec.action} {spec.service_name} ({spec.service_type or 'systemd'})"
    if kind == "git_operation":
        return " ".join(p for p in (spec.operation, spec.repository_url, spec.branch) if p)
    if kind == "health_check":
        target = spec.url or spec.service_name or spec.process_name or spec.path
        target = target or (f"{spec.host}:{spec.port}" if spec.host else "")
        return f"{spec.check_type} {target}".strip()
    if kind == "api_call":
        return f"{spec.method or 'GET'} {spec.url}"
    if kind == "workflow":
        return f"workflow {spec.workflow}"
    return str(kind)


def workflow_text(w: Any) -> str:
    """A workflow's fields, its variables and its tasks."""
    cfg = w.config
    source = convert.label(w, "source") + (f" ({w.template_name})" if w.template_name else "")
    out = render.fields(
        [
            ("name", w.name),
            ("description", w.description or "-"),
            ("version", w.version or "-"),
            ("source", source),
            ("definition", w.definition_hash or "-"),
            ("updated", render.when(convert.local_time(w, "updated_at"))),
            ("max parallel", str(cfg.max_parallel) if cfg.max_parallel else "default"),
            ("timeout", render.duration(convert.seconds(cfg, "timeout"))),
        ]
    )
    if cfg.variables:
        rows = [
            [
                v.name,
                convert.label(v, "type") if v.type else "string",
                "yes" if v.required else "no",
                v.default_value if convert.has(v, "default_value") else "-",
                render.truncate(v.description, 50) or "-",
            ]
            for v in cfg.variables
        ]
        out += "\nvariables:\n" + render.table(
            ["NAME", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"], rows
        )
    rows = [
        [
            t.id,
            t.type,
            ", ".join(t.dependencies) or "-",
            convert.label(t, "condition") if t.condition else "all_succeeded",
            render.duration(convert.seconds(t, "timeout")),
            str(t.retry.attempts) if t.retry.attempts > 1 else "-",
            task_summary(t),
        ]
        for t in cfg.tasks
    ]
    headers = ["TASK", "TYPE", "DEPENDS ON", "CONDITION", "TIMEOUT", "ATTEMPTS", "WHAT"]
    out += "\ntasks:\n" + (render.table(headers, rows) if rows else "  (none)\n")
    return out


def show(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl show NAME"""
    w = ctx.call(Stub, "GetWorkflow", workflows_pb2.GetWorkflowRequest(name=args.name))
    ctx.emit(w, lambda: workflow_text(w))
    return 0


def read_text(path: str) -> str:
    """A file's text, or a CliError that says why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", ExitCode.INVALID) from None
    except UnicodeDecodeError:
        raise CliError(f"cannot read {path}: not UTF-8 text", ExitCode.INVALID) from None


def _validate_one(ctx: Context, path: str, text: str) -> Any:
    request = workflows_pb2.ValidateWorkflowRequest(definition_yaml=text, file_name=path)
    try:
        return ctx.call(Stub, "ValidateWorkflow", request)
    except CliError as exc:
        if exc.code is not ExitCode.INVALID:
            raise
        # A definition rejected as a whole is reported like any other finding.
        issue = common_pb2.ValidationIssue(
            location=common_pb2.SourceLocation(file=path), message=exc.message
        )
        return workflows_pb2.ValidateWorkflowResponse(valid=False, issues=[issue])


def validate(ctx: Context, args: argparse.Namespace) -> int:
    """barbossactl validate FILE...: exit 0 when every file is valid, else 4."""
    texts = {path: read_text(path) for path in dict.fromkeys(args.files)}
    results = [(path, _validate_one(ctx, path, text)) for path, text in texts.items()]

    def text() -> str:
        lines = []
        for path, r in results:
            if r.valid and not r.issues:
                lines.append(f"{path}: ok ({render.plural(r.task_count, 'task')})")
            elif r.valid:
                lines.append(f"{path}: ok ({render.plural(r.task_count, 'task')}), with warnings:")
            lines.extend(issue_text(i, path) for i in r.issues)
            if not r.valid and not r.issues:
                lines.append(f"{path}: invalid")
        return "\n".join(lines) + "\n"

    plain = [{"file": path, **convert.to_plain(r)} for path, r in results] if ctx.structured else []
    ctx.emit(plain, text)
    return int(ExitCode.OK if all(r.valid for _, r in results) else ExitCode.INVALID)
