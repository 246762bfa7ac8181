"""A deployment-shaped workflow end to end through barbossactl, checked over gRPC.

checkout -> (build_frontend || build_backend) -> test (fails once, retried) -> deploy (uses the
backend's artifact output) -> verify, with an on_failure cleanup. Each task counts its runs in
a file, so a retry can be checked to re-run only what failed. The two builds meet at a barrier
that only opens when both run at once.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from barbossa.v1 import common_pb2, executions_pb2
from daemonkit import executions, quick_daemon, run_state, tasks_of, wait_run
from harness import DaemonProcess, MakeDaemon

COUNT = 'echo x >> "{{ work }}/count.$BARBOSSA_TASK_ID"'
DEPLOY = f"""
name: deploy
description: Build, test and deploy an application
variables:
  work:
    required: true
max_parallel: 4
timeout: 60
tasks:
  - id: checkout
    type: shell_command
    command: |
      {COUNT}
      echo "revision=abc123" >> "$BARBOSSA_OUTPUT"
  - id: build_frontend
    type: shell_command
    dependencies: [checkout]
    command: |
      {COUNT}
      touch "{{{{ work }}}}/frontend.started"
      for i in $(seq 200); do [ -e "{{{{ work }}}}/backend.started" ] && break; sleep 0.05; done
      [ -e "{{{{ work }}}}/backend.started" ] && echo "frontend built"
  - id: build_backend
    type: shell_command
    dependencies: [checkout]
    command: |
      {COUNT}
      touch "{{{{ work }}}}/backend.started"
      for i in $(seq 200); do [ -e "{{{{ work }}}}/frontend.started" ] && break; sleep 0.05; done
      [ -e "{{{{ work }}}}/frontend.started" ] || exit 1
      echo "artifact=backend-{{{{ tasks.checkout.outputs.revision }}}}.tar.gz" >> "$BARBOSSA_OUTPUT"
  - id: test
    type: shell_command
    dependencies: [build_frontend, build_backend]
    retry: {{attempts: 2, delay: 0.1}}
    command: |
      {COUNT}
      if [ ! -e "{{{{ work }}}}/test.flaked" ]; then
        touch "{{{{ work }}}}/test.flaked"; echo "flaky failure" >&2; exit 1
      fi
      echo "tests passed"
  - id: deploy
    type: shell_command
    dependencies: [test]
    command: |
      {COUNT}
      echo "deploying {{{{ tasks.build_backend.outputs.artifact }}}}"
      if [ -e "{{{{ work }}}}/deploy.fail" ]; then echo "deploy failed" >&2; exit 3; fi
      echo "deployed={{{{ tasks.build_backend.outputs.artifact }}}}" >> "$BARBOSSA_OUTPUT"
  - id: verify
    type: shell_command
    dependencies: [deploy]
    command: |
      {COUNT}
      echo "verified {{{{ tasks.deploy.outputs.deployed }}}}"
  - id: cleanup
    type: shell_command
    dependencies: [verify]
    condition: on_failure
    command: |
      {COUNT}
      echo "cleaning up"
"""
TASKS = ["checkout", "build_frontend", "build_backend", "test", "deploy", "verify", "cleanup"]


def counts(work: Path) -> dict[str, int]:
    return {
        t: len((work / f"count.{t}").read_text().split())
        for t in TASKS
        if (work / f"count.{t}").exists()
    }


def states(run: Any) -> dict[str, str]:
    """task id -> short state name of a Run message."""
    name = common_pb2.TaskState.Name
    return {t.task_id: name(t.state).removeprefix("TASK_STATE_").lower() for t in run.tasks}


@pytest.fixture
def daemon_and_work(make_daemon: MakeDaemon, tmp_path: Path) -> tuple[DaemonProcess, Path]:
    work = tmp_path / "work"
    work.mkdir()
    return quick_daemon(make_daemon, {"deploy.yaml": DEPLOY}, kill_grace=0.5), work


def test_deployment_succeeds_with_a_retried_test(
    daemon_and_work: tuple[DaemonProcess, Path],
) -> None:
    d, work = daemon_and_work
    result = d.ctl("exec", "deploy", "-p", f"work={work}", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^test +! flaky failure$", out, re.M)
    assert re.search(
        r"^\[[\d:]+\] test +retrying: attempt 1 failed \(exit 1\): exited with status 1$", out, re.M
    )
    assert re.search(r"^verify +\| verified backend-abc123.tar.gz$", out, re.M)
    assert re.search(r"^\[[\d:]+\] cleanup +skipped$", out, re.M)
    run_id = int(result.stdout.split()[1])  # "run N started: deploy"

    run = wait_run(d, run_id)  # over gRPC, from the store
    assert run.state == run_state("succeeded")
    assert states(run) == {**{t: "succeeded" for t in TASKS}, "cleanup": "skipped"}
    tasks = tasks_of(run)
    assert tasks["test"].attempt == 2 and tasks["deploy"].attempt == 1
    assert dict(tasks["checkout"].outputs) == {"revision": "abc123"}
    assert dict(tasks["build_backend"].outputs) == {"artifact": "backend-abc123.tar.gz"}
    assert dict(tasks["deploy"].outputs) == {"deployed": "backend-abc123.tar.gz"}
    assert counts(work) == {t: 1 for t in TASKS if t != "cleanup"} | {"test": 2}
    with executions(d) as stub:
        logs = stub.GetLogs(
            executions_pb2.GetLogsRequest(run_id=run_id, task_id="test"), timeout=10
        )
    assert [(line.attempt, line.text) for line in logs.lines] == [
        (1, "flaky failure\n"),
        (2, "tests passed\n"),
    ]


def test_failed_deploy_runs_cleanup_and_retry_reruns_only_the_failed_part(
    daemon_and_work: tuple[DaemonProcess, Path],
) -> None:
    d, work = daemon_and_work
    (work / "deploy.fail").touch()
    result = d.ctl("-o", "json", "exec", "deploy", "-p", f"work={work}", timeout=60)
    assert result.returncode == 1, result.stderr
    first_id = json.loads(result.stdout)["id"]
    first = wait_run(d, first_id)
    assert first.state == run_state("failed")
    assert first.error == "failed tasks: deploy"
    assert states(first) == {
        **{t: "succeeded" for t in TASKS},
        "deploy": "failed",
        "verify": "skipped",
    }
    deploy = tasks_of(first)["deploy"]
    assert deploy.exit_code == 3 and deploy.error == "exited with status 3"
    assert counts(work) == {t: 1 for t in TASKS if t != "verify"} | {"test": 2}

    (work / "deploy.fail").unlink()
    retried = d.ctl("-o", "json", "retry", str(first_id), "--wait", timeout=60)
    assert retried.returncode == 0, retried.stderr
    second = wait_run(d, json.loads(retried.stdout)["id"])
    assert second.state == run_state("succeeded") and second.retry_of == first_id
    assert second.trigger == common_pb2.TRIGGER_KIND_RETRY
    tasks = tasks_of(second)
    reused = {"checkout", "build_frontend", "build_backend", "test"}
    assert {t for t, rec in tasks.items() if rec.reused} == reused
    assert states(second) == {**{t: "succeeded" for t in TASKS}, "cleanup": "skipped"}
    assert dict(tasks["build_backend"].outputs) == {"artifact": "backend-abc123.tar.gz"}
    assert dict(tasks["deploy"].outputs) == {"deployed": "backend-abc123.tar.gz"}
    assert tasks["test"].attempt == 2  # carried over from the run it reuses
    # Reused tasks did not run again; the failed part and what follows did.
    assert counts(work) == {t: 1 for t in reused} | {
        "test": 2,
        "deploy": 2,
        "verify": 1,
        "cleanup": 1,
    }


RELEASE = """
name: release
variables:
  version: "1.0"
  work: /nonexistent
tasks:
  - id: build
    type: shell_command
    command: touch "{{ work }}/ran"; echo "building {{ version }}"
  - id: docs
    type: shell_command
    command: touch "{{ work }}/ran-docs"
  - id: package
    type: shell_command
    dependencies: [build, docs]
    command: tar czf 'app-{{ version }}.tgz' .
  - id: restart_web
    type: service_management
    dependencies: [package]
    action: restart
    service_name: nginx
"""


def test_dry_run_prints_the_plan_and_runs_nothing(make_daemon: MakeDaemon, tmp_path: Path) -> None:
    d = quick_daemon(make_daemon, {"release.yaml": RELEASE})
    result = d.ctl(
        "exec", "release", "--dry-run", "-p", "version=2.5; rm -rf /", "-p", f"work={tmp_path}"
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    stages = [line for line in text.splitlines() if line.startswith("stage ")]
    assert stages == ["stage 0:", "stage 1:", "stage 2:"]
    order = [line.split()[0] for line in text.splitlines() if line.startswith("  ") and "(" in line]
    assert order == ["build", "docs", "package", "restart_web"]
    assert "  restart_web (service_management): would restart nginx.service via systemctl" in text
    script = 'touch "${BARBOSSA_VAR_work}/ran"; echo "building ${BARBOSSA_VAR_version}"'
    assert f"argv:  {shutil.which('bash')} -c '{script}'" in text
    assert "env:   BARBOSSA_VAR_version=2.5; rm -rf /" in text
    assert "after: build, docs" in text
    plan = json.loads(d.ctl("-o", "json", "exec", "release", "--dry-run", check=True).stdout)
    assert [[t["task_id"] for t in s["tasks"]] for s in plan["stages"]] == [
        ["build", "docs"],
        ["package"],
        ["restart_web"],
    ]
    assert list(tmp_path.iterdir()) == []  # nothing ran
    runs = json.loads(d.ctl("-o", "json", "runs", check=True).stdout)
    assert runs["runs"] == []
