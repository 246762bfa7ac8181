"""Hot reload end to end: files change under a real barbossad; barbossactl and gRPC see the result.

There is no "template changed" event stream in the API, so the tests poll GetTemplate with a
deadline (`wait_for`), never sleep to synchronise.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import grpc
import psutil
from barbossa.v1 import (
    common_pb2,
    executions_pb2,
    executions_pb2_grpc,
    schedules_pb2,
    schedules_pb2_grpc,
    workflows_pb2,
    workflows_pb2_grpc,
)
from harness import DaemonProcess, MakeDaemon

T = TypeVar("T")
MIB = 1024 * 1024
RSS_GROWTH_LIMIT = 300 * MIB  # generous: one parse at a time peaks well under this (see below)


def valid(word: str, name: str = "a") -> str:
    return (
        f'name: {name}\ntasks:\n  - id: say\n    type: shell_command\n    command: "echo {word}"\n'
    )


def wait_for(
    probe: Callable[[], T | None], what: str, timeout: float = 20.0, every: float = 0.02
) -> T:
    """Poll probe until it returns something truthy, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def get_template(d: DaemonProcess, name: str) -> workflows_pb2.Template | None:
    with grpc.insecure_channel(f"unix:{d.socket}") as ch:
        try:
            return workflows_pb2_grpc.WorkflowServiceStub(ch).GetTemplate(
                workflows_pb2.GetTemplateRequest(name=name), timeout=10
            )
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise


def list_templates(d: DaemonProcess) -> list[workflows_pb2.Template]:
    with grpc.insecure_channel(
        f"unix:{d.socket}", options=[("grpc.max_receive_message_length", 64 * MIB)]
    ) as ch:
        resp = workflows_pb2_grpc.WorkflowServiceStub(ch).ListTemplates(
            workflows_pb2.ListTemplatesRequest(), timeout=30
        )
    return list(resp.templates)


def changed_from(
    d: DaemonProcess, name: str, old_hash: str
) -> Callable[[], workflows_pb2.Template | None]:
    def probe() -> workflows_pb2.Template | None:
        t = get_template(d, name)
        return t if t is not None and t.valid and t.definition_hash not in ("", old_hash) else None

    return probe


def exec_output(d: DaemonProcess, name: str) -> str:
    result = d.ctl("exec", name)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rename_into_place(make_daemon: MakeDaemon) -> None:
    d = make_daemon({"a.yaml": valid("first")}).start()
    old = get_template(d, "a")
    assert old is not None and old.valid
    staging = d.root / "staging"
    staging.mkdir()
    (staging / "a.yaml").write_text(valid("second"))
    os.rename(staging / "a.yaml", d.templates_dir / "a.yaml")
    new = wait_for(changed_from(d, "a", old.definition_hash), "the renamed version")
    assert "second" in exec_output(d, "a")
    runs = json.loads(d.ctl("-o", "json", "runs", check=True).stdout)["runs"]
    with grpc.insecure_channel(f"unix:{d.socket}") as ch:
        run = executions_pb2_grpc.ExecutionServiceStub(ch).GetRun(
            executions_pb2.GetRunRequest(run_id=runs[0]["id"]), timeout=5
        )
    assert run.definition_hash == new.definition_hash  # the run records the version it ran


def test_partial_write_in_place(make_daemon: MakeDaemon) -> None:
    d = make_daemon({"a.yaml": valid("first")}).start()
    old = get_template(d, "a")
    assert old is not None
    text = valid("the complete second version")
    cut = text.index("complete")  # inside a quoted string: the first half is not valid YAML
    with (d.templates_dir / "a.yaml").open("w") as f:
        f.write(text[:cut])
        f.flush()
        half = wait_for(
            lambda: (t := get_template(d, "a")) is not None and not t.valid and t, "the half file"
        )
        assert half.active and half.definition_hash == old.definition_hash
        assert "first" in exec_output(d, "a")  # the last good version still runs
        f.write(text[cut:])
    wait_for(changed_from(d, "a", old.definition_hash), "the complete file")
    assert "the complete second version" in exec_output(d, "a")


def test_invalid_edit_keeps_the_old_version_across_a_restart(make_daemon: MakeDaemon) -> None:
    d = make_daemon({"a.yaml": valid("old and good")}).start()
    old = get_template(d, "a")
    assert old is not None
    (d.templates_dir / "a.yaml").write_text("name: a\ntasks:\n  - id: x\n    type: shel_command\n")
    bad = wait_for(
        lambda: (t := get_template(d, "a")) is not None and not t.valid and t, "rejection"
    )
    assert bad.active and bad.definition_hash == old.definition_hash
    issue = bad.issues[0]
    assert (issue.location.file, issue.location.line) == (str(d.templates_dir / "a.yaml"), 4)
    assert "unknown task type 'shel_command'" in issue.message
    assert "old and good" in exec_output(d, "a")

    table = d.ctl("templates", check=True).stdout
    assert "no (last good in use)" in table
    assert (
        f"{d.templates_dir / 'a.yaml'}:4: tasks[0].type: unknown task type 'shel_command'" in table
    )
    assert "unknown task type" in d.log()  # logged with file and line too
    assert f"{d.templates_dir / 'a.yaml'}:4:5" in d.log()

    db = sqlite3.connect(d.state_dir / "workflows.db")
    valid_flag, active_hash, issues = db.execute(
        "SELECT valid, active_hash, issues FROM template_status WHERE name='a'"
    ).fetchone()
    db.close()
    assert (valid_flag, active_hash) == (0, old.definition_hash)
    assert json.loads(issues)[0]["line"] == 4

    d.signal(signal.SIGTERM)
    assert d.wait(15) == 0
    d.start()  # only the broken file is on disk; the database remembers the good version
    again = get_template(d, "a")
    assert again is not None and again.active and not again.valid
    assert again.definition_hash == old.definition_hash
    assert "old and good" in exec_output(d, "a")


def tick(schedule: str, word: str) -> str:
    return f'name: tick\nschedule: "{schedule}"\n' + valid(word, "tick").split("\n", 1)[1]


def scheduled_runs(d: DaemonProcess, after: int = 0) -> list[executions_pb2.Run]:
    """Finished scheduled runs of `tick` newer than run id `after`."""
    request = executions_pb2.ListRunsRequest(
        workflow="tick",
        trigger=common_pb2.TRIGGER_KIND_SCHEDULED,
        states=[common_pb2.RUN_STATE_SUCCEEDED],
    )
    with grpc.insecure_channel(f"unix:{d.socket}") as ch:
        runs = executions_pb2_grpc.ExecutionServiceStub(ch).ListRuns(request, timeout=10).runs
    return [r for r in runs if r.id > after]


def schedules_of(d: DaemonProcess, workflow: str) -> list[str]:
    with grpc.insecure_channel(f"unix:{d.socket}") as ch:
        stub = schedules_pb2_grpc.ScheduleServiceStub(ch)
        resp = stub.ListSchedules(schedules_pb2.ListSchedulesRequest(workflow=workflow), timeout=10)
    return [s.expression for s in resp.schedules]


def test_schedules_follow_the_template_and_an_invalid_edit_keeps_firing(
    make_daemon: MakeDaemon,
) -> None:
    d = make_daemon({"tick.yaml": tick("* * * * * *", "old tick")}).start()
    old = get_template(d, "tick")
    assert old is not None
    wait_for(lambda: scheduled_runs(d), "a first scheduled run")

    broken = tick("*/7 * * * * *", "broken").replace("shell_command", "shel_command")
    (d.templates_dir / "tick.yaml").write_text(broken)
    wait_for(lambda: (t := get_template(d, "tick")) is not None and not t.valid, "rejection")
    mark = max(r.id for r in scheduled_runs(d))
    later = wait_for(lambda: scheduled_runs(d, mark), "a scheduled run after the broken edit")
    assert {r.definition_hash for r in later} == {old.definition_hash}  # the old version fires
    assert "old tick" in d.ctl("logs", str(later[0].id), check=True).stdout
    assert schedules_of(d, "tick") == ["* * * * * *"]  # and keeps its old schedule

    (d.templates_dir / "tick.yaml").write_text(tick("*/2 * * * * *", "new tick"))
    new = wait_for(changed_from(d, "tick", old.definition_hash), "the valid edit")
    wait_for(lambda: schedules_of(d, "tick") == ["*/2 * * * * *"], "the new schedule")
    mark = max(r.id for r in scheduled_runs(d))
    fresh = wait_for(lambda: scheduled_runs(d, mark), "a scheduled run of the new version")
    assert fresh[0].definition_hash == new.definition_hash

    (d.templates_dir / "tick.yaml").unlink()
    wait_for(lambda: schedules_of(d, "tick") == [], "its schedule to go with the file")


SLOW = valid("started; sleep 2; echo done", "slow")


def wait_task_started(d: DaemonProcess, run_id: int) -> None:
    with grpc.insecure_channel(f"unix:{d.socket}") as ch:
        stub = executions_pb2_grpc.ExecutionServiceStub(ch)
        request = executions_pb2.WatchRunRequest(run_id=run_id, include_output=True)
        for event in stub.WatchRun(request, timeout=30):
            if event.HasField("log") and "started" in event.log.text:
                return
    raise AssertionError(f"run {run_id} ended before its task started")


def wait_run_end(d: DaemonProcess, run_id: int) -> executions_pb2.Run:
    with grpc.insecure_channel(f"unix:{d.socket}") as ch:
        stub = executions_pb2_grpc.ExecutionServiceStub(ch)
        for event in stub.WatchRun(executions_pb2.WatchRunRequest(run_id=run_id), timeout=30):
            if event.HasField("run") and event.run.state in (
                common_pb2.RUN_STATE_SUCCEEDED,
                common_pb2.RUN_STATE_FAILED,
            ):
                break
        return stub.GetRun(executions_pb2.GetRunRequest(run_id=run_id), timeout=5)


def test_delete_removes_the_workflow_and_a_run_in_flight_finishes(make_daemon: MakeDaemon) -> None:
    d = make_daemon({"slow.yaml": SLOW, "keep.yaml": valid("kept", "keep")}).start()
    run_id = int(d.ctl("exec", "slow", "--detach", check=True).stdout.strip())
    wait_task_started(d, run_id)
    (d.templates_dir / "slow.yaml").unlink()
    wait_for(lambda: get_template(d, "slow") is None, "slow to disappear")
    gone = d.ctl("exec", "slow")
    assert gone.returncode == 3 and "slow" in gone.stderr
    run = wait_run_end(d, run_id)
    assert run.state == common_pb2.RUN_STATE_SUCCEEDED
    assert "done" in d.ctl("logs", str(run_id), check=True).stdout
    assert [t.name for t in list_templates(d)] == ["keep"]
    reload = d.ctl("reload", check=True).stdout  # a forced full rescan still works
    assert "1 loaded, 0 invalid, 0 removed" in reload


# ---- a thousand hostile files -------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def chain(n: int) -> str:
    lines = ["name: chain", "tasks:", "  - {id: t0, type: shell_command, command: x}"]
    lines += [
        f"  - {{id: t{i}, type: shell_command, command: x, dependencies: [t{i - 1}]}}"
        for i in range(1, n)
    ]
    return (
        "\n".join(lines)
        + "\n  - {id: last, type: shell_command, command: x, dependencies: [nope]}\n"
    )


def cycle(n: int) -> str:
    return "name: ring\ntasks:\n" + "".join(
        f"  - {{id: t{i}, type: shell_command, command: x, dependencies: [t{(i + 1) % n}]}}\n"
        for i in range(n)
    )


CHEAP: list[Callable[[int], bytes]] = [
    lambda i: BOMB.encode(),
    lambda i: (
        f"name: h{i}\ntasks:\n  - !!python/object/apply:os.system ['touch /tmp/pwned{i}']\n"
    ).encode(),
    lambda i: os.urandom(2048),
    lambda i: ("a: " + "[" * 20_000).encode(),
    lambda i: ("a: " + "[" * 500 + "]" * 500).encode(),
    lambda i: cycle(20).encode(),
    lambda i: b"- just\n- a list\n",
    lambda i: b"",
    lambda i: f"name: h{i}\ntasks:\n  - id: x\n    type: shell_command\n".encode(),  # no command
]
HEAVY: dict[str, Callable[[], bytes]] = {
    "chain": lambda: chain(10_000).encode(),
    "bigcycle": lambda: cycle(2_000).encode(),
    "tenmeg": lambda: b"name: big\n# " + b"x" * (10 * MIB) + b"\n",
}


def drop_hostile_files(directory: Path) -> dict[str, str]:
    """Write 1,000 hostile files straight into the directory; returns name -> file path."""
    written: dict[str, str] = {}

    def put(name: str, data: bytes) -> None:
        path = directory / f"{name}.yaml"
        path.write_bytes(data)
        written[name] = str(path)

    for kind, make in HEAVY.items():
        for j in range(3):
            put(f"h-{kind}-{j}", make())
    os.mkfifo(directory / "h-fifo.yaml")
    written["h-fifo"] = str(directory / "h-fifo.yaml")
    (directory / "h-zero.yaml").symlink_to("/dev/zero")
    written["h-zero"] = str(directory / "h-zero.yaml")
    for i in range(1_000 - len(written)):
        put(f"h{i:04d}", CHEAP[i % len(CHEAP)](i))
    return written


def test_a_thousand_hostile_files(make_daemon: MakeDaemon) -> None:
    d = make_daemon({"good.yaml": valid("still here", "good")}).start()
    assert d.proc is not None
    daemon = psutil.Process(d.proc.pid)
    list_templates(d)  # warm the RPC path before the baseline
    rss_before = daemon.memory_info().rss
    hostile = drop_hostile_files(d.templates_dir)
    assert len(hostile) == 1_000

    def all_rejected() -> list[workflows_pb2.Template] | None:
        templates = [t for t in list_templates(d) if t.name in hostile]
        done = len(templates) == len(hostile) and all(t.issues for t in templates)
        return templates if done else None

    templates = wait_for(all_rejected, "every hostile file to be rejected", timeout=90, every=0.5)
    rss_after = daemon.memory_info().rss
    for t in templates:
        assert not t.valid and not t.active, t.name
        assert t.issues[0].location.file == hostile[t.name] and t.issues[0].message, t.name
        assert len(t.issues) <= 20
    reasons = {t.name: t.issues[0].message for t in templates}
    assert "larger than the 4.0 MiB limit" in reasons["h-tenmeg-0"]
    assert "unknown dependency 'nope'" in reasons["h-chain-0"]
    assert "dependency cycle" in reasons["h-bigcycle-0"]
    assert (
        "is not a regular file" in reasons["h-fifo"]
        and "is not a regular file" in reasons["h-zero"]
    )
    assert "too many YAML aliases" in reasons["h0000"]
    assert "is not allowed" in reasons["h0001"]
    assert not list(Path("/tmp").glob("pwned*"))

    assert d.proc.poll() is None
    # Memory: files are parsed one at a time and keep at most 20 short issues each, so growth
    # stays far under the bound (62 -> 92 MiB measured); the bound is generous on purpose.
    growth = rss_after - rss_before
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / MIB:.0f} MiB"
    good = get_template(d, "good")
    assert good is not None and good.valid
    assert "still here" in exec_output(d, "good")
