"""Timeouts and cancels through the daemon leave no process and no zombie behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import psutil
from daemonkit import (
    execute,
    quick_daemon,
    run_state,
    task_state,
    tasks_of,
    wait_for_sleeps,
    wait_output,
    wait_run,
    zombie_children,
)
from harness import MakeDaemon, pids_with_marker

# Children that ignore SIGTERM, and a grandchild that double-forks out of the task's process
# group (its parent subshell exits at once, it calls setsid) and ignores SIGTERM too. Each
# process writes "PID SESSION" to a file before it sleeps; the leader waits for all of them.
STUBBORN = """
name: stubborn
tasks:
  - id: stuck
    type: shell_command
    timeout: {timeout}
    command: |
      note() {{ read -r pid _ _ _ _ sid _ < /proc/$1/stat; echo "$pid $sid" >> {pids}; }}
      export -f note
      trap '' TERM
      note $$
      (trap '' TERM; note $BASHPID; exec sleep {m}1) &
      bash -c 'trap "" TERM; note $$; exec sleep {m}2' &
      ( setsid bash -c 'trap "" TERM; note $$; exec sleep {m}3' & )
      until [ "$(wc -l < {pids})" -ge 4 ]; do sleep 0.01; done
      echo started
      sleep {m}4
"""


def marker() -> str:
    return f"{uuid.uuid4().int % 10**5}.2"


def gone(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of procs still present in any form, zombies included (pid reuse is ruled out)."""
    left = []
    for p in procs:
        try:
            if p.is_running():  # compares the start time too: a reused pid is not "running"
                left.append(p)
        except psutil.NoSuchProcess:
            continue
    return left


def test_timed_out_tree_ignoring_sigterm_leaves_no_process_and_no_zombie(
    make_daemon: MakeDaemon, tmp_path: Path
) -> None:
    m, pids = marker(), tmp_path / "pids"
    pids.touch()
    template = STUBBORN.format(timeout=1, m=m, pids=pids)
    d = quick_daemon(make_daemon, {"stubborn.yaml": template}, kill_grace=0.5)
    assert d.proc is not None
    run = wait_run(d, execute(d, "stubborn"))

    assert run.state == run_state("failed")
    stuck = tasks_of(run)["stuck"]
    assert stuck.state == task_state("timed_out")
    assert stuck.error == "timed out after 1s"
    noted = [tuple(map(int, line.split())) for line in pids.read_text().splitlines()]
    assert len(noted) == 4, noted  # the leader, two children, the escaped grandchild
    (leader, session), *children = noted
    assert session == leader  # the task leads its own session
    escaped = [pid for pid, sid in children if sid != session]
    assert len(escaped) == 1 and (escaped[0], escaped[0]) in children  # a session of its own
    # Nothing is left in any form, zombies included (a pid is not reused within seconds).
    assert [pid for pid, _ in noted if psutil.pid_exists(pid)] == []
    assert pids_with_marker(m) == []
    assert zombie_children(d.proc.pid) == []


SLOW = """
name: slow
tasks:
  - id: nap
    type: shell_command
    command: |
      trap '' TERM
      (trap '' TERM; sleep {m}1; :) &
      ( setsid bash -c 'trap "" TERM; sleep {m}2; :' & )
      echo started
      sleep {m}3
  - id: after
    type: shell_command
    command: echo never
    dependencies: [nap]
"""


def test_barbossactl_cancel_kills_the_tree(make_daemon: MakeDaemon) -> None:
    m = marker()
    d = quick_daemon(make_daemon, {"slow.yaml": SLOW.format(m=m)}, kill_grace=0.5)
    run_id = int(d.ctl("exec", "slow", "--detach", check=True).stdout)
    wait_output(d, run_id, "started")
    procs = wait_for_sleeps([f"{m}{i}" for i in range(1, 4)])
    result = d.ctl("cancel", str(run_id), check=True)
    assert result.stdout.strip() == f"run {run_id} cancelled"
    run = wait_run(d, run_id)
    assert run.state == run_state("cancelled")
    assert {t.task_id: t.state for t in run.tasks} == {
        "nap": task_state("cancelled"),
        "after": task_state("cancelled"),
    }
    assert gone(procs) == []
    assert zombie_children(d.proc.pid) == []  # type: ignore[union-attr]
    again = d.ctl("cancel", str(run_id))
    assert again.returncode == 5 and "is not running" in again.stderr
