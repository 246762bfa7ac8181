"""shell_command against real shells: environment, working directory, shell choice, timeouts."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from harness import pids_with_marker
from taskkit import MakeCtx, sink_text

from barbossad.models import OutputStream
from barbossad.tasks.shell import ShellCommandHandler, ShellCommandSpec

pytestmark = pytest.mark.timeout(30)
handler = ShellCommandHandler()
OUT = OutputStream.STDOUT
KNOWN = "bash, sh, dash, zsh, ksh"


async def test_runs_the_command_and_streams_both_outputs(make_ctx: MakeCtx) -> None:
    ctx = make_ctx()
    result = await handler.run(ShellCommandSpec(command="echo out; echo err >&2"), ctx)
    assert result.ok and result.exit_code == 0
    assert sink_text(ctx, OUT) == "out\n"
    assert sink_text(ctx, OutputStream.STDERR) == "err\n"


async def test_environment_reaches_the_script_literally(make_ctx: MakeCtx) -> None:
    value = "a b  $(touch x) `y` ; 'q' \"d\"\nline2"
    ctx = make_ctx(env={"BARBOSSA_VAR_v": value})
    result = await handler.run(ShellCommandSpec(command='printf "%s" "$BARBOSSA_VAR_v"'), ctx)
    assert result.ok
    assert sink_text(ctx, OUT) == value


async def test_working_directory_and_stdin(make_ctx: MakeCtx, tmp_path: Path) -> None:
    ctx = make_ctx(working_directory=str(tmp_path))
    result = await handler.run(ShellCommandSpec(command="pwd; cat; echo done"), ctx)
    assert result.ok  # `cat` returns at once: stdin is /dev/null
    assert sink_text(ctx, OUT) == f"{tmp_path}\ndone\n"


SHELLS = [s for s in ("bash", "sh", "dash", "zsh", "ksh") if shutil.which(s)]
BINARY = {
    s: os.path.realpath(s if "/" in s else shutil.which(s) or s) for s in [*SHELLS, "/bin/sh"]
}


@pytest.mark.parametrize("shell", [*SHELLS, "/bin/sh"])
async def test_the_chosen_shell_runs_the_script(make_ctx: MakeCtx, shell: str) -> None:
    ctx = make_ctx()
    result = await handler.run(
        ShellCommandSpec(command='readlink "/proc/$$/exe"; true', shell=shell), ctx
    )
    assert result.ok
    assert sink_text(ctx, OUT).strip() == BINARY[shell]


async def test_bash_features_only_under_bash(make_ctx: MakeCtx) -> None:
    script = 'a=(x y); echo "${a[1]}"'
    bash_ctx, dash_ctx = make_ctx(), make_ctx()
    assert (await handler.run(ShellCommandSpec(command=script), bash_ctx)).ok
    assert sink_text(bash_ctx, OUT) == "y\n"
    result = await handler.run(ShellCommandSpec(command=script, shell="dash"), dash_ctx)
    assert not result.ok and result.error == "exited with status 2"


@pytest.mark.parametrize(
    ("command", "error", "exit_code"),
    [
        ("exit 3", "exited with status 3", 3),
        ("kill -9 $$", "killed by signal 9", None),
        ("no-such-command-here", "exited with status 127", 127),
    ],
)
async def test_failures(make_ctx: MakeCtx, command: str, error: str, exit_code: int | None) -> None:
    result = await handler.run(ShellCommandSpec(command=command), make_ctx())
    assert (result.ok, result.error, result.exit_code) == (False, error, exit_code)


async def test_timeout_kills_the_tree(make_ctx: MakeCtx) -> None:
    marker = f"{uuid.uuid4().int % 10**6}.625"
    ctx = make_ctx(timeout=0.3)
    result = await handler.run(ShellCommandSpec(command=f"sleep {marker} & sleep {marker}"), ctx)
    assert result.timed_out and not result.ok
    assert result.error == "timed out after 0.3s"
    assert pids_with_marker(f"sleep {marker}") == []


@pytest.mark.parametrize(
    ("spec", "problems"),
    [
        (ShellCommandSpec(command="  \n"), [("command", "must not be empty")]),
        (
            ShellCommandSpec(command="x", shell="fish"),
            [("shell", f"unsupported shell 'fish' (expected one of {KNOWN})")],
        ),
        (
            ShellCommandSpec(command="x", shell="/usr/bin/python3"),
            [("shell", f"unsupported shell '/usr/bin/python3' (expected one of {KNOWN})")],
        ),
        (ShellCommandSpec(command="x", shell="/bin/bash"), []),
    ],
)
def test_check(spec: ShellCommandSpec, problems: list[tuple[str, str]]) -> None:
    assert handler.check(spec) == problems


def test_describe(make_ctx: MakeCtx) -> None:
    action = handler.describe(ShellCommandSpec(command="echo hi", shell="dash"), make_ctx())
    assert action.description == "would run with dash: echo hi"
    assert action.argv == (shutil.which("dash"), "-c", "echo hi")
