"""Hostile parameter values through the daemon: no canary file, every value arrives literally.

Each value of the corpus is a variable of one template, printed bare, inside '...' and inside
"..." into files, published as an output, and passed along to a second task that prints the
output again. The values go in through `barbossactl exec -p` and through gRPC Execute.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from daemonkit import execute, quick_daemon, run_state, task_state, tasks_of, wait_run
from harness import DaemonProcess, MakeDaemon

CANARY = "CANARY"  # replaced by the absolute path of the canary file


def corpus(canary: str) -> list[str]:
    touch = f"touch {canary}"
    return [
        f"$({touch})",
        f"`{touch}`",
        f"; {touch}",
        f"&& {touch}",
        f"|| {touch} | {touch}",
        f"'; {touch}; '",
        f'"; {touch}; "',
        f"'\"; {touch}; \"'",
        f"\n{touch}\n",
        f"x\r\n{touch}\r\n",
        f"> {canary}",
        f"<({touch})",
        f"${{IFS}}{touch}",
        "$((6*7))",
        "$HOME ${PATH} $0 $$ $1",
        "-e",
        "-n",
        "--help",
        "-rf /",
        "* ? [a-z] ~ ~root",
        "a\\",
        "\\'",
        "$'\\x41'",
        "trailing space ",
        "  leading and   inner  spaces",
        "tab\there",
        "ünïcødé ✓",
        "",
    ]


def template(values: list[str], out: Path) -> str:
    lines = ["name: inject", "variables:"]
    lines += [f"  v{i}: ''" for i in range(len(values))]
    lines += ["tasks:", "  - id: echo", "    type: shell_command", "    command: |"]
    lines += ['      OUT="$BARBOSSA_OUTPUT"']
    for i in range(len(values)):
        lines += [
            f"      printf '%s' {{{{ v{i} }}}} > {out}/{i}.bare",
            f"      printf '%s' '{{{{ v{i} }}}}' > {out}/{i}.single",
            f"      printf '%s' \"{{{{ v{i} }}}}\" > {out}/{i}.double",
            f'      printf \'v{i}<<EOF_BB\\n%s\\nEOF_BB\\n\' "{{{{ v{i} }}}}" >> "$OUT"',
        ]
    lines += [
        "  - id: relay",
        "    type: shell_command",
        "    dependencies: [echo]",
        "    command: |",
    ]
    for i in range(len(values)):
        lines += [
            f"      printf '%s' {{{{ tasks.echo.outputs.v{i} }}}} > {out}/{i}.relay-bare",
            f"      printf '%s' '{{{{ tasks.echo.outputs.v{i} }}}}' > {out}/{i}.relay-single",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def setup(make_daemon: MakeDaemon, tmp_path: Path) -> tuple[DaemonProcess, Path, list[str]]:
    out = tmp_path / "out"
    out.mkdir()
    canary = tmp_path / "canary"
    values = corpus(str(canary))
    d = quick_daemon(make_daemon, {"inject.yaml": template(values, out)})
    return d, canary, values


def check(d: DaemonProcess, run_id: int, canary: Path, values: list[str], out: Path) -> None:
    run = wait_run(d, run_id)
    assert run.state == run_state("succeeded"), run.error
    assert not canary.exists(), "a parameter value ran as code"
    outputs = tasks_of(run)["echo"].outputs
    for i, value in enumerate(values):
        for where in ("bare", "single", "double", "relay-bare", "relay-single"):
            got = (out / f"{i}.{where}").read_bytes().decode()
            assert got == value, f"value {i} {where}: {got!r} != {value!r}"
        assert outputs[f"v{i}"] == value


def test_values_via_barbossactl_exec(setup: tuple[DaemonProcess, Path, list[str]]) -> None:
    d, canary, values = setup
    args = [arg for i, v in enumerate(values) for arg in ("-p", f"v{i}={v}")]
    result = d.ctl("-o", "json", "exec", "inject", *args)
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["parameters"] == {f"v{i}": v for i, v in enumerate(values)}
    check(d, run["id"], canary, values, canary.parent / "out")


def test_values_via_grpc_execute(setup: tuple[DaemonProcess, Path, list[str]]) -> None:
    d, canary, values = setup
    run_id = execute(d, "inject", {f"v{i}": v for i, v in enumerate(values)})
    check(d, run_id, canary, values, canary.parent / "out")


NON_SHELL = """
name: options
variables:
  value: ok
tasks:
  - id: git
    type: git_operation
    operation: checkout
    working_directory: {root}
    branch: "{{{{ value }}}}"
  - id: tag
    type: git_operation
    operation: tag
    working_directory: {root}
    tag: "{{{{ value }}}}"
  - id: write
    type: file_operation
    operation: write
    working_directory: {root}
    destination: "{{{{ value }}}}"
    content: "written literally"
"""


@pytest.mark.parametrize("value", ["-x", "--upload-pack=touch CANARY", "--force"])
def test_option_like_values_never_become_options(
    make_daemon: MakeDaemon, tmp_path: Path, value: str
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    d = quick_daemon(
        make_daemon, {"options.yaml": NON_SHELL.format(root=root)}, allowed_roots=f"[{root}]"
    )
    run = wait_run(d, execute(d, "options", {"value": value}))
    tasks = tasks_of(run)
    assert tasks["git"].state == task_state("failed")
    assert (
        tasks["git"].error
        == f"git_operation: branch: invalid branch name {value!r}: starts with '-'"
    )
    assert tasks["tag"].error == f"git_operation: tag: invalid tag name {value!r}: starts with '-'"
    # file_operation never builds an argv: the value is a file name inside the root, literally.
    assert tasks["write"].state == task_state("succeeded"), tasks["write"].error
    assert (root / value).read_text() == "written literally"
    assert [p.name for p in root.iterdir()] == [value]
