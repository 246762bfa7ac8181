"""Following a run: output lines prefixed by task, task progress lines, the final summary."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from barbossa.v1 import common_pb2, executions_pb2, executions_pb2_grpc

from barbossactl import convert, render
from barbossactl.context import Context
from barbossactl.errors import CliError, ExitCode

Stub = executions_pb2_grpc.ExecutionServiceStub
RUN_DONE = frozenset({"succeeded", "failed", "cancelled", "interrupted", "timed_out"})
TASK_DONE = frozenset({"succeeded", "failed", "skipped", "cancelled", "interrupted", "timed_out"})
_MARK = {"stdout": "|", "stderr": "!", "system": "#"}
_RESUBSCRIBE = 3

Key = tuple[str, int, int]  # task id, attempt, stream


class OutputPrinter:
    """Turns output chunks into whole lines `task | text` (stderr `!`, daemon notes `#`).

    In raw mode (one task asked for) the text is written as it is, unprefixed.
    """

    def __init__(
        self, write: Callable[[str], object], *, width: int = 0, raw: bool = False
    ) -> None:
        self.write = write
        self.width = width
        self.raw = raw
        # The unfinished last line of each stream, as the pieces that arrived: joined only once
        # its newline comes, so a long line sent in many chunks costs linear, not quadratic, time.
        self.partial: dict[Key, list[str]] = {}

    def feed(self, line: Any) -> None:
        """Take one LogLine (a chunk of output, not necessarily a whole line)."""
        key = (line.task_id, line.attempt, line.stream)
        text: str = line.text
        if not text:
            return
        if self.raw:
            self.write(text)
            return
        if "\n" not in text:
            self.partial.setdefault(key, []).append(text)
            return
        pending = self.partial.pop(key, None)
        if pending:
            pending.append(text)
            text = "".join(pending)
        lines = text.split("\n")
        if lines[-1]:
            self.partial[key] = [lines[-1]]
        for whole in lines[:-1]:
            self._line(key, whole)

    def _line(self, key: Key, text: str) -> None:
        stream = convert.enum_label(executions_pb2.OutputStream.DESCRIPTOR, key[2]) or "stdout"
        self.write(f"{key[0]:<{self.width}} {_MARK.get(stream, '|')} {text}\n")

    def flush(self, task_id: str | None = None) -> None:
        """Print the unfinished last lines (of one task, or of all)."""
        for key in [k for k in self.partial if task_id is None or k[0] == task_id]:
            self._line(key, "".join(self.partial.pop(key)))


class Replay:
    """Drops output already shown from a stream that starts over from the beginning.

    `logs -f` prints the stored output, then follows WatchRun, whose backlog repeats the output
    from the start: per (task, attempt, stream), as many characters as were shown are skipped.
    """

    def __init__(self) -> None:
        self.shown: dict[Key, int] = {}

    def show(self, line: Any) -> None:
        """Count a line printed from the stored output."""
        key = (line.task_id, line.attempt, line.stream)
        self.shown[key] = self.shown.get(key, 0) + len(line.text)

    def fresh(self, line: Any) -> Any:
        """The part of a live line not shown yet (a LogLine), or None."""
        key = (line.task_id, line.attempt, line.stream)
        skip = self.shown.get(key, 0)
        if not skip:
            return line
        self.shown[key] = max(skip - len(line.text), 0)
        if len(line.text) <= skip:
            return None
        return executions_pb2.LogLine(
            task_id=line.task_id, attempt=line.attempt, stream=line.stream, text=line.text[skip:]
        )


def _clock(event: Any) -> tuple[float, str]:
    moment = convert.local_time(event, "time") or datetime.now().astimezone()
    return moment.timestamp(), moment.strftime("%H:%M:%S")


class Progress:
    """Prints a run's events: one line per task state change, and (optionally) its output."""

    def __init__(self, write: Callable[[str], object], width: int, *, output: bool = True) -> None:
        self.write = write
        self.width = width
        self.printer = OutputPrinter(write, width=width) if output else None
        self.started: dict[str, float] = {}
        self.final: Any = None  # the RunStateChanged that ended the run, if seen

    def event(self, event: Any) -> None:
        """Handle one RunEvent."""
        kind = event.WhichOneof("event")
        if kind == "log" and self.printer is not None:
            self.printer.feed(event.log)
        elif kind == "task":
            self._task(event)
        elif kind == "run":
            if self.printer is not None:
                self.printer.flush()
            if convert.label(event.run, "state") in RUN_DONE:
                self.final = event.run

    def _task(self, event: Any) -> None:
        task = event.task
        state = convert.label(task, "state")
        at, clock = _clock(event)
        if state == "pending":
            return
        if state in TASK_DONE and self.printer is not None:
            self.printer.flush(task.task_id)
        text = _task_text(
            task, state, at - self.started[task.task_id] if task.task_id in self.started else None
        )
        if state == "running":
            self.started[task.task_id] = at
        self.write(f"[{clock}] {task.task_id:<{self.width}} {text}\n")


def _task_text(task: Any, state: str, elapsed: float | None) -> str:
    exit_code = f" (exit {task.exit_code})" if convert.has(task, "exit_code") else ""
    error = f": {render.truncate(task.error, 160)}" if task.error else ""
    took = f" in {render.duration(elapsed)}" if elapsed is not None else ""
    if state == "running":
        return f"running (attempt {task.attempt})"
    if state == "succeeded":
        return f"succeeded{took}"
    if state == "retrying":
        return f"retrying: attempt {task.attempt} failed{exit_code}{error}"
    if state == "skipped":
        return "skipped"
    return f"{state.replace('_', ' ')}{exit_code}{took}{error}"


def run_summary(run: Any) -> str:
    """The last line after waiting: "run 42 succeeded in 3.4s (3 tasks: 3 succeeded)"."""
    state = convert.label(run, "state")
    seconds = convert.seconds(run, "duration")
    took = "" if seconds is None else f" in {render.duration(seconds)}"
    counts: dict[str, int] = {}
    for task in run.tasks:
        name = convert.label(task, "state")
        counts[name] = counts.get(name, 0) + 1
    tally = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items())
    tasks = f" ({render.plural(len(run.tasks), 'task')}: {tally})" if run.tasks else ""
    if state == "succeeded":
        return f"run {run.id} succeeded{took}{tasks}"
    error = f": {render.truncate(run.error, 200)}" if run.error else ""
    took = took.replace(" in ", " after ")
    return f"run {run.id} {state.replace('_', ' ')}{took}{tasks}{error}"


def events(ctx: Context, run_id: int, *, output: bool) -> Iterable[Any]:
    """WatchRun until the run ends; re-subscribes (from the last event) if a stream ends early."""
    after = 0
    for _ in range(_RESUBSCRIBE):
        request = executions_pb2.WatchRunRequest(
            run_id=run_id, after_sequence=after, include_output=output
        )
        for event in ctx.client.stream(Stub, "WatchRun", request):
            after = max(after, event.sequence)
            yield event
            if event.WhichOneof("event") == "run" and convert.label(event.run, "state") in RUN_DONE:
                return
        run = ctx.call(Stub, "GetRun", executions_pb2.GetRunRequest(run_id=run_id))
        if convert.label(run, "state") in RUN_DONE:
            return
        time.sleep(0.2)  # the daemon closed the stream of a live run: try again shortly


def wait(ctx: Context, run: Any) -> int:
    """Follow a started run to its end; print its progress (table) or the final Run (json/yaml).

    Exit code 0 when it succeeded, 1 otherwise; Ctrl-C stops waiting but not the run.
    """
    try:
        if ctx.structured:
            for _ in events(ctx, run.id, output=False):
                pass
        else:
            ctx.write(f"run {run.id} started: {run.workflow}")
            width = max([len(t.task_id) for t in run.tasks] + [8])
            progress = Progress(ctx.write, width)
            for event in events(ctx, run.id, output=True):
                progress.event(event)
            if progress.printer is not None:
                progress.printer.flush()
        final = ctx.call(Stub, "GetRun", executions_pb2.GetRunRequest(run_id=run.id))
    except KeyboardInterrupt:
        raise CliError(
            f"stopped waiting; run {run.id} continues (barbossactl cancel {run.id} to stop it)",
            ExitCode.INTERRUPTED,
        ) from None
    ctx.emit(final, lambda: run_summary(final))
    succeeded = final.state == common_pb2.RUN_STATE_SUCCEEDED
    return int(ExitCode.OK if succeeded else ExitCode.UNSUCCESSFUL)
