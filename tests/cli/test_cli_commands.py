"""barbossactl's commands against canned servicers on a real grpc.aio server (Unix socket).

Formatting, JSON/YAML shapes and exit codes only; the real daemon is covered by tests/e2e.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from barbossa.v1 import common_pb2, schedules_pb2
from cli_fakes import FakeDaemon, Result, ctl, fake_daemon, local_zone


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDaemon]:
    with fake_daemon() as fake, local_zone("UTC"):
        yield fake


@pytest.fixture
def fake(server: FakeDaemon) -> FakeDaemon:
    server.script.final_state = common_pb2.RUN_STATE_SUCCEEDED
    server.script.hang = False
    server.script.status_delay = 0.0
    server.executions.requests.clear()
    server.schedules.added.clear()
    return server


def run(fake: FakeDaemon, *args: str) -> Result:
    return ctl(fake.socket, *args)


def one_error_line(result: Result) -> str:
    assert result.err.count("\n") == 1 and result.err.startswith("barbossactl: "), result.err
    return result.err.strip()


def test_status_table(fake: FakeDaemon) -> None:
    r = run(fake, "status")
    assert r.code == 0 and r.err == ""
    lines = r.out.splitlines()
    assert lines[0] == "barbossad:      0.1.0 (pid 4242)"
    assert "uptime:         1h02m" in lines
    assert "workflows:      5 (templates: 6, invalid: 1)" in lines
    assert "scheduler:      running" in lines


def test_status_json(fake: FakeDaemon) -> None:
    r = run(fake, "status", "-o", "json")
    data = json.loads(r.out)
    assert data["pid"] == 4242 and data["total_runs"] == 12345678901
    assert data["uptime"] == 3725.0
    assert data["started_at"] == "2025-01-01T12:00:00Z"
    assert data["scheduler"] == "running" and data["accepting"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["templates"],
        ["list"],
        ["show", "deploy"],
        ["runs"],
        ["run", "42"],
        ["logs", "42"],
        ["exec", "deploy", "--dry-run"],
        ["exec", "deploy"],
        ["schedule", "list"],
        ["schedule", "preview", "0 3 * * *"],
        ["stats"],
        ["running"],
        ["alerts"],
    ],
    ids=" ".join,
)
def test_yaml_output_equals_json_output(fake: FakeDaemon, argv: list[str]) -> None:
    as_json = run(fake, "-o", "json", *argv)
    as_yaml = run(fake, "-o", "yaml", *argv)
    assert as_json.code == as_yaml.code == 0, as_json.err
    assert yaml.safe_load(as_yaml.out) == json.loads(as_json.out)


def test_templates_show_the_first_issue_of_invalid_ones(fake: FakeDaemon) -> None:
    r = run(fake, "templates")
    assert r.out.splitlines() == [
        "NAME    VALID  TASKS  DESCRIPTION",
        "deploy  yes    2      Build and ship",
        "broken  no     0",
        "  ! /t/broken.yaml:7: tasks[0].type: unknown task type 'shel'"
        " (did you mean shell_command?) (+1 more)",
    ]


def test_show_lists_variables_and_tasks(fake: FakeDaemon) -> None:
    out = run(fake, "show", "deploy").out
    assert "env   choice  no        dev      target" in out
    assert "test   shell_command  build       all_succeeded  -        3         make test" in out


def test_not_found_exits_3_with_the_server_message(fake: FakeDaemon) -> None:
    r = run(fake, "show", "nope")
    assert r.code == 3 and r.out == ""
    assert one_error_line(r) == "barbossactl: no workflow named 'nope'"
    assert run(fake, "run", "5").code == 3


def test_exec_waits_and_prints_progress(fake: FakeDaemon) -> None:
    r = run(fake, "exec", "deploy", "-p", "env=prod", "-p", "expr=a=b")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "run 42 started: deploy",
        "[12:00:01] build    running (attempt 1)",
        "build    | compiling",
        "build    | linked",
        "build    ! warning: x",
        "build    | part",
        "[12:00:02] build    succeeded in 1.2s",
        "run 42 succeeded in 3.4s (2 tasks: 2 succeeded)",
    ]
    execute = fake.executions.requests[0]
    assert dict(execute.parameters) == {"env": "prod", "expr": "a=b"}
    assert execute.trigger == common_pb2.TRIGGER_KIND_MANUAL and not execute.dry_run
    watch = fake.executions.requests[1]
    assert watch.run_id == 42 and watch.include_output


def test_exec_of_a_failing_run_exits_1(fake: FakeDaemon) -> None:
    fake.script.final_state = common_pb2.RUN_STATE_FAILED
    r = run(fake, "exec", "deploy")
    assert r.code == 1
    assert "[12:00:03] test     failed (exit 2): exited with status 2" in r.out
    last = r.out.splitlines()[-1]
    assert last == "run 42 failed after 3.4s (2 tasks: 1 succeeded, 1 failed): task test failed"


@pytest.mark.parametrize(
    ("state", "code"),
    [(common_pb2.RUN_STATE_SUCCEEDED, 0), (common_pb2.RUN_STATE_TIMED_OUT, 1)],
)
def test_exec_json_prints_only_the_final_run(fake: FakeDaemon, state: int, code: int) -> None:
    fake.script.final_state = state
    r = run(fake, "-o", "json", "exec", "deploy")
    assert r.code == code
    data = json.loads(r.out)
    assert data["id"] == 42 and data["trigger"] == "manual"
    assert data["state"] == ("succeeded" if code == 0 else "timed_out")
    assert not fake.executions.requests[1].include_output


def test_exec_detach_prints_the_run_id(fake: FakeDaemon) -> None:
    assert run(fake, "exec", "deploy", "--detach").out == "42\n"
    assert (
        json.loads(run(fake, "exec", "deploy", "--detach", "-o", "json").out)["state"] == "running"
    )


def test_exec_dry_run_prints_the_plan(fake: FakeDaemon) -> None:
    r = run(fake, "exec", "deploy", "--dry-run", "-p", "env=dev")
    assert r.code == 0
    assert r.out.splitlines() == [
        "plan for deploy (definition abc123def456)",
        "parameters: env=dev",
        "stage 1:",
        "  build (shell_command): would run make",
        "    argv:  bash -c 'make build'",
        "stage 2:",
        "  test (shell_command): -",
        "    after: build",
    ]
    assert fake.executions.requests[0].dry_run


def test_runs_table_paging_and_filters(fake: FakeDaemon) -> None:
    r = run(fake, "runs", "--limit", "2")
    assert r.out.splitlines() == [
        "ID  WORKFLOW  STATE      TRIGGER  CREATED              DURATION  ERROR",
        "42  deploy    succeeded  manual   2025-01-01 12:00:00  3.4s",
        "7   deploy    failed     manual   2025-01-01 12:00:00  3.4s      task test failed",
        "(2 of 3 runs; see --limit)",
    ]
    r = run(fake, "runs", "--state", "failed", "--state", "timed_out", "-o", "json")
    data = json.loads(r.out)
    assert [run["id"] for run in data["runs"]] == [7, 3]
    request = fake.executions.requests[-1]
    assert list(request.states) == [common_pb2.RUN_STATE_FAILED, common_pb2.RUN_STATE_TIMED_OUT]


def test_runs_follow_pages_until_the_limit(fake: FakeDaemon) -> None:
    fake.executions.page_size = 1
    try:
        data = json.loads(run(fake, "runs", "-o", "json").out)
    finally:
        fake.executions.page_size = 0
    assert [r["id"] for r in data["runs"]] == [42, 7, 3]
    assert data["page"] == {"next_page_token": "", "total_count": 3}


def test_run_shows_fields_and_tasks(fake: FakeDaemon) -> None:
    out = run(fake, "run", "42").out
    assert "trigger:     manual by uid:1000" in out
    assert "parameters:  env=prod" in out
    assert "build  shell_command  succeeded  1        0     1.2s" in out


def test_logs(fake: FakeDaemon) -> None:
    r = run(fake, "logs", "42")
    assert (
        r.out
        == "build    | compiling\nbuild    | linked\ntest     ! FAIL: test_x\nbuild    | part\n"
    )
    assert one_error_line(r) == "barbossactl: note: the stored output of task test was truncated"
    assert run(fake, "logs", "42", "--task", "build").out == "compiling\nlinked\npart"


def test_logs_follow_prints_stored_then_new_output_once(fake: FakeDaemon) -> None:
    out = run(fake, "logs", "42", "-f").out.splitlines()
    assert out == [
        "build    | compiling",
        "build    | linked",
        "test     ! FAIL: test_x",
        "build    ! warning: x",
        "build    | part",
    ]
    lines = [
        json.loads(line) for line in run(fake, "-o", "json", "logs", "42", "-f").out.splitlines()
    ]
    assert [(x["task_id"], x["stream"], x["text"]) for x in lines] == [
        ("build", "stdout", "compil"),
        ("build", "stdout", "ing\nlinked\npart"),
        ("test", "stderr", "FAIL: test_x\n"),
        ("build", "stderr", "warning: x\n"),  # the only new output; the rest was replayed
    ]


def test_cancel_of_a_finished_run_is_a_conflict(fake: FakeDaemon) -> None:
    r = run(fake, "cancel", "42")
    assert r.code == 5
    assert one_error_line(r) == "barbossactl: run 42 already finished"


def test_retry(fake: FakeDaemon) -> None:
    assert run(fake, "retry", "7").out == "run 43 started: deploy, retry of run 7\n"
    fake.script.final_state = common_pb2.RUN_STATE_FAILED
    r = run(fake, "retry", "7", "--wait")
    assert r.code == 1 and r.out.splitlines()[-1].startswith("run 43 failed")


def test_validate(fake: FakeDaemon, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: x\ntasks:\n  - id: a\n  - id: b\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n\ntaks: []\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("syntax error")
    r = run(fake, "validate", str(good))
    assert (r.code, r.out) == (0, f"{good}: ok (2 tasks)\n")
    r = run(fake, "validate", str(good), str(bad), str(broken))
    assert r.code == 4
    assert r.out.splitlines() == [
        f"{good}: ok (2 tasks)",
        f"{bad}:3:1: taks: unknown key (did you mean tasks?)",
        f"{broken}:1:1: bad YAML",
    ]
    data = json.loads(run(fake, "-o", "json", "validate", str(good), str(bad)).out)
    assert [(d["file"], d["valid"], d["task_count"]) for d in data] == [
        (str(good), True, 2),
        (str(bad), False, 0),
    ]
    assert data[1]["issues"][0]["location"] == {
        "file": str(bad),
        "line": 3,
        "column": 1,
        "field": "taks",
    }


def test_validate_unreadable_file(fake: FakeDaemon, tmp_path: Path) -> None:
    r = run(fake, "validate", str(tmp_path / "missing.yaml"))
    assert r.code == 4
    assert (
        one_error_line(r)
        == f"barbossactl: cannot read {tmp_path / 'missing.yaml'}: No such file or directory"
    )
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8 text" in one_error_line(run(fake, "validate", str(binary)))


def test_schedules(fake: FakeDaemon) -> None:
    assert run(fake, "schedule", "list").out.splitlines()[1] == (
        "1   deploy    0 3 * * *   Europe/Berlin  active  2025-01-01 13:00:00  "
        "2024-12-31 13:00:00  succeeded (run 42)  3       1        template"
    )
    r = run(
        fake, "schedule", "add", "deploy", "*/5 * * * *", "--tz", "UTC", "--misfire", "run_once",
        "--overlap", "cancel_previous", "--paused", "-p", "env=prod",
    )  # fmt: skip
    assert r.out == "schedule 2 added: deploy '*/5 * * * *' (UTC), paused\n"
    add = fake.schedules.added[0]
    assert (add.misfire, add.overlap) == (
        schedules_pb2.MISFIRE_POLICY_RUN_ONCE,
        schedules_pb2.OVERLAP_POLICY_CANCEL_PREVIOUS,
    )
    assert add.paused and dict(add.parameters) == {"env": "prod"} and add.timezone == "UTC"
    assert run(fake, "schedule", "rm", "2").out == "schedule 2 removed\n"
    assert run(fake, "-o", "json", "schedule", "rm", "2").out == "{}\n"
    assert run(fake, "schedule", "rm", "9").code == 3


def test_schedule_preview(fake: FakeDaemon) -> None:
    r = run(
        fake, "schedule", "preview", "0 14 * * *", "--tz", "Europe/Berlin", "--count", "2",
        "--after", "2025-01-01T00:00",
    )  # fmt: skip
    assert r.out == "2025-01-01T14:00:00+01:00\n2025-01-02T14:00:00+01:00\n"
    request = fake.schedules.added[0]
    assert request.after.seconds == 1_735_686_000  # midnight in Berlin, 23:00 UTC
    assert (request.count, request.timezone) == (2, "Europe/Berlin")
    assert run(fake, "schedule", "preview", "bogus").code == 4
    assert run(fake, "schedule", "preview", "* * * * *", "--after", "soon").code == 2


def test_unimplemented_exits_8(fake: FakeDaemon) -> None:
    r = run(fake, "scheduler", "status")
    assert r.code == 8
    assert (
        one_error_line(r) == "barbossactl: this barbossad does not implement GetSchedulerStatus yet"
    )


def test_deadline_exits_6_and_names_the_option(fake: FakeDaemon) -> None:
    fake.script.status_delay = 5.0
    r = run(fake, "status", "--timeout", "0.2")
    assert r.code == 6
    assert "did not answer GetStatus within 0.2s (see --timeout)" in one_error_line(r)


def test_debug_adds_the_traceback(fake: FakeDaemon) -> None:
    r = run(fake, "--debug", "show", "nope")
    assert r.code == 3
    assert "Traceback (most recent call last)" in r.err
    assert r.err.splitlines()[-1] == "barbossactl: no workflow named 'nope'"


def test_monitoring_tables(fake: FakeDaemon) -> None:
    assert run(fake, "stats").out.splitlines()[1].split() == [
        "deploy", "10", "8", "2", "0", "80%", "12s", "30s", "2025-01-01", "12:00:00", "failed",
    ]  # fmt: skip
    assert run(fake, "alerts").out == "no alerts\n"
    assert run(fake, "running").out.splitlines()[1].startswith("42  deploy    running")
