"""Following a run: output chunks -> prefixed lines, task progress lines, the summary line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from barbossa.v1 import common_pb2, executions_pb2
from cli_fakes import local_zone
from cli_servicers import make_run, ts

from barbossactl.commands import watch

STDOUT, STDERR, SYSTEM = 1, 2, 3


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC for the test (progress lines print local clock times)."""
    with local_zone("UTC"):
        yield


def log(text: str, task: str = "build", stream: int = STDOUT, attempt: int = 1) -> Any:
    return executions_pb2.LogLine(task_id=task, attempt=attempt, stream=stream, text=text)


def test_chunks_become_prefixed_lines() -> None:
    out: list[str] = []
    printer = watch.OutputPrinter(out.append, width=6)
    for chunk in (log("comp"), log("iling\nlinked\npar"), log("oops\n", stream=STDERR), log("t")):
        printer.feed(chunk)
    printer.feed(log("note\n", task="test", stream=SYSTEM))
    assert out == [
        "build  | compiling\n",
        "build  | linked\n",
        "build  ! oops\n",
        "test   # note\n",
    ]
    printer.flush()
    assert out[-1] == "build  | part\n"


def test_raw_mode_writes_text_unchanged() -> None:
    out: list[str] = []
    printer = watch.OutputPrinter(out.append, raw=True)
    printer.feed(log("a\nb"))
    printer.feed(log("c\n"))
    printer.flush()
    assert "".join(out) == "a\nbc\n"


def test_replay_drops_what_was_already_shown() -> None:
    replay = watch.Replay()
    replay.show(log("one\ntw"))  # 6 characters of build/1/stdout
    replay.show(log("E", stream=STDERR))
    assert replay.fresh(log("one\n")) is None  # replayed
    assert replay.fresh(log("two\nthree\n")).text == "o\nthree\n"  # 2 replayed, then new
    assert replay.fresh(log("four\n")).text == "four\n"
    assert replay.fresh(log("E", stream=STDERR)) is None
    assert replay.fresh(log("x", task="other")).text == "x"


def _task_event(offset: float, task: str, state: int, **kw: Any) -> Any:
    return executions_pb2.RunEvent(
        time=ts(offset), task=executions_pb2.TaskStateChanged(task_id=task, state=state, **kw)
    )


def test_progress_lines(utc: None) -> None:
    out: list[str] = []
    progress = watch.Progress(out.append, width=5)
    events = [
        _task_event(0, "build", common_pb2.TASK_STATE_PENDING),
        _task_event(1, "build", common_pb2.TASK_STATE_RUNNING, attempt=1),
        executions_pb2.RunEvent(log=log("hello")),
        _task_event(2.25, "build", common_pb2.TASK_STATE_SUCCEEDED, attempt=1, exit_code=0),
        _task_event(3, "test", common_pb2.TASK_STATE_RUNNING, attempt=1),
        _task_event(
            4, "test", common_pb2.TASK_STATE_RETRYING, attempt=1, exit_code=1, error="boom"
        ),
        _task_event(
            5, "test", common_pb2.TASK_STATE_TIMED_OUT, attempt=2, error="timed out after 1s"
        ),
        _task_event(5, "lint", common_pb2.TASK_STATE_SKIPPED),
        executions_pb2.RunEvent(
            run=executions_pb2.RunStateChanged(state=common_pb2.RUN_STATE_FAILED)
        ),
    ]
    for event in events:
        progress.event(event)
    assert out == [
        "[12:00:01] build running (attempt 1)\n",
        "build | hello\n",
        "[12:00:02] build succeeded in 1.2s\n",
        "[12:00:03] test  running (attempt 1)\n",
        "[12:00:04] test  retrying: attempt 1 failed (exit 1): boom\n",
        "[12:00:05] test  timed out in 2.0s: timed out after 1s\n",
        "[12:00:05] lint  skipped\n",
    ]
    assert progress.final is not None


def test_run_summary() -> None:
    ok = make_run(42, common_pb2.RUN_STATE_SUCCEEDED)
    assert watch.run_summary(ok) == "run 42 succeeded in 3.4s (2 tasks: 2 succeeded)"
    bad = make_run(7, common_pb2.RUN_STATE_TIMED_OUT, error="workflow timeout (3s) expired")
    assert watch.run_summary(bad) == (
        "run 7 timed out after 3.4s (2 tasks: 1 succeeded, 1 failed): workflow timeout (3s) expired"
    )
    bare = executions_pb2.Run(id=1, state=common_pb2.RUN_STATE_CANCELLED)
    assert watch.run_summary(bare) == "run 1 cancelled"
