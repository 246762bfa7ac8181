"""Schedules end to end: a real barbossad firing real every-second schedules, kill -9 included."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable

import grpc
from barbossa.v1 import (
    common_pb2,
    executions_pb2,
    executions_pb2_grpc,
    schedules_pb2,
    schedules_pb2_grpc,
)
from google.protobuf import duration_pb2
from harness import DaemonProcess, MakeDaemon

SLOT = re.compile(r"^schedule (\d+) slot (\S+Z)( \(catch-up\))?$")


def template(name: str, schedule: str = "") -> str:
    task = "  - id: say\n    type: shell_command\n    command: echo tick\n"
    return f"name: {name}\n{schedule}tasks:\n{task}"


def channel(d: DaemonProcess) -> grpc.Channel:
    return grpc.insecure_channel(f"unix:{d.socket}")


def scheduled_runs(d: DaemonProcess, workflow: str = "") -> list[executions_pb2.Run]:
    """Every run the scheduler started (of one workflow), oldest first."""
    request = executions_pb2.ListRunsRequest(
        workflow=workflow,
        trigger=common_pb2.TRIGGER_KIND_SCHEDULED,
        page=common_pb2.PageRequest(page_size=1000),
    )
    with channel(d) as ch:
        runs = executions_pb2_grpc.ExecutionServiceStub(ch).ListRuns(request, timeout=10).runs
    return sorted(runs, key=lambda r: r.id)


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    """Poll `check` until it holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def let_slots_pass(count: int) -> None:
    """Let `count` whole-second slots go by (the scenario under test, not a synchronisation)."""
    target = int(time.time()) + count + 1
    wait_until(f"{count} slots to pass", lambda: time.time() >= target, timeout=count + 5)


def slots(runs: list[executions_pb2.Run]) -> list[tuple[int, str, bool]]:
    """(schedule id, slot, catch-up?) of scheduled runs."""
    found = []
    for run in runs:
        match = SLOT.match(run.triggered_by)
        assert match, run.triggered_by
        found.append((int(match.group(1)), match.group(2), bool(match.group(3))))
    return found


def ctl_json(d: DaemonProcess, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(d.ctl("-o", "json", *args, check=True).stdout)  # type: ignore[no-any-return]


def test_every_second_template_schedule_stop_start_and_restart(make_daemon: MakeDaemon) -> None:
    d = make_daemon({"beat.yaml": template("beat", 'schedule: "* * * * * *"\n')}).start()
    wait_until("three scheduled runs", lambda: len(scheduled_runs(d, "beat")) >= 3)
    found = slots(scheduled_runs(d, "beat"))
    assert len({s for _, s, _ in found}) == len(found)  # one run per slot
    listed = ctl_json(d, "schedule", "list")["schedules"]
    assert [(s["workflow"], s["expression"], s["origin"]) for s in listed] == [
        ("beat", "* * * * * *", "template")
    ]
    assert listed[0]["next_fire_time"] and listed[0]["last_fire_time"]
    wait_until(
        "a finished run",
        lambda: ctl_json(d, "schedule", "list")["schedules"][0]["last_outcome"] == "succeeded",
    )
    assert ctl_json(d, "status")["scheduler"] == "running"

    stopped = ctl_json(d, "scheduler", "stop")
    assert stopped["state"] == "stopped"
    before = len(scheduled_runs(d, "beat"))
    let_slots_pass(2)
    assert len(scheduled_runs(d, "beat")) == before

    d.signal(signal.SIGTERM)
    assert d.wait(30) == 0
    d.start()
    assert ctl_json(d, "scheduler", "status")["state"] == "stopped"  # persisted
    let_slots_pass(1)
    assert len(scheduled_runs(d, "beat")) == before
    assert ctl_json(d, "scheduler", "start")["state"] == "running"
    wait_until("runs after start", lambda: len(scheduled_runs(d, "beat")) >= before + 2)
    after = slots(scheduled_runs(d, "beat"))
    assert not any(catch_up for _, _, catch_up in after)  # misfire skip: nothing caught up
    assert ctl_json(d, "schedule", "list")["schedules"][0]["missed_count"] >= 3


def test_kill_9_gives_each_catch_up_policy_its_count(make_daemon: MakeDaemon) -> None:
    names = ("skipper", "oncer", "aller")
    d = make_daemon({f"{n}.yaml": template(n) for n in names}).start()
    requests = {
        "skipper": schedules_pb2.AddScheduleRequest(misfire=schedules_pb2.MISFIRE_POLICY_SKIP),
        "oncer": schedules_pb2.AddScheduleRequest(misfire=schedules_pb2.MISFIRE_POLICY_RUN_ONCE),
        "aller": schedules_pb2.AddScheduleRequest(
            misfire=schedules_pb2.MISFIRE_POLICY_RUN_ALL,
            catch_up_limit=3,
            catch_up_window=duration_pb2.Duration(seconds=600),
        ),
    }
    with channel(d) as ch:
        stub = schedules_pb2_grpc.ScheduleServiceStub(ch)
        for name, request in requests.items():
            request.workflow, request.expression, request.timezone = name, "* * * * * *", "UTC"
            assert stub.AddSchedule(request, timeout=10).id
    wait_until("two runs of each", lambda: all(len(scheduled_runs(d, n)) >= 2 for n in names))

    d.proc.kill()  # type: ignore[union-attr]  # kill -9, in the middle of firing
    d.wait(10)
    let_slots_pass(5)
    d.start()
    expected = {"skipper": 0, "oncer": 1, "aller": 3}
    for name, count in expected.items():
        wait_until(
            f"{count} catch-up runs of {name}",
            lambda name=name, count=count: (
                sum(c for _, _, c in slots(scheduled_runs(d, name))) >= count
            ),
        )
    wait_until("live runs after the restart", lambda: len(scheduled_runs(d, "skipper")) >= 4)
    every = slots(scheduled_runs(d))
    assert max(Counter((sid, slot) for sid, slot, _ in every).values()) == 1  # one run per slot
    for name, count in expected.items():
        assert sum(c for _, _, c in slots(scheduled_runs(d, name))) == count, name

    listed = {s["workflow"]: s for s in ctl_json(d, "schedule", "list")["schedules"]}
    assert listed["skipper"]["missed_count"] >= 5
    assert listed["skipper"]["misfire"] == "skip" and listed["aller"]["catch_up_limit"] == 3
    db = sqlite3.connect(d.state_dir / "workflows.db")
    try:
        for name in names:
            sid = listed[name]["id"]
            rows = db.execute(
                "SELECT scheduled_time, outcome, slots FROM schedule_fires"
                " WHERE schedule_id=? ORDER BY 1",
                (sid,),
            ).fetchall()
            # Every slot from the first to the newest is accounted for: none silently dropped.
            span = int(rows[-1][0] - rows[0][0]) + 1
            assert sum(r[2] for r in rows) == span, (name, rows)
            assert any(r[1] == "missed" for r in rows)  # >= 6 slots passed, more than any cap
    finally:
        db.close()


def test_api_schedules_through_the_cli(make_daemon: MakeDaemon) -> None:
    d = make_daemon({"hello.yaml": template("hello", 'schedule: "0 3 * * *"\n')}).start()
    added = d.ctl(
        "schedule",
        "add",
        "hello",
        "*/2 * * * * *",
        "--tz",
        "Europe/Berlin",
        "--overlap",
        "queue_all",
    )
    assert added.returncode == 0, added.stderr
    assert "schedule 2 added" in added.stdout
    wait_until(
        "a run of the API schedule",
        lambda: any(s == 2 for s, _, _ in slots(scheduled_runs(d, "hello"))),
    )
    listed = {s["id"]: s for s in ctl_json(d, "schedule", "list", "hello")["schedules"]}
    assert listed[2]["overlap"] == "queue_all" and listed[2]["timezone"] == "Europe/Berlin"
    assert listed[2]["origin"] == "api" and listed[1]["origin"] == "template"

    assert ctl_json(d, "schedule", "pause", "2")["paused"]
    assert not ctl_json(d, "schedule", "resume", "2")["paused"]
    preview = ctl_json(d, "schedule", "preview", "0 2 * * 0", "--tz", "UTC", "--count", "3")
    assert len(preview["fire_times"]) == 3 and preview["timezone"] == "UTC"

    bad = d.ctl("schedule", "add", "hello", "61 * * * *")
    assert bad.returncode == 4 and "cron expression '61 * * * *'" in bad.stderr
    missing = d.ctl("schedule", "add", "nope", "* * * * *")
    assert missing.returncode == 3 and "'nope'" in missing.stderr
    declared = d.ctl("schedule", "rm", "1")
    assert declared.returncode == 5 and "template 'hello'" in declared.stderr
    assert d.ctl("schedule", "rm", "2").returncode == 0
    assert [s["id"] for s in ctl_json(d, "schedule", "list")["schedules"]] == [1]

    # Hot reload: the template's schedule follows an edit of its file.
    (d.templates_dir / "hello.yaml").write_text(
        template("hello", 'schedule: ["0 4 * * *", "0 5 * * *"]\n')
    )
    d.ctl("reload", check=True)
    wait_until(
        "the edited schedules",
        lambda: (
            [s["expression"] for s in ctl_json(d, "schedule", "list")["schedules"]]
            == ["0 4 * * *", "0 5 * * *"]
        ),
    )
