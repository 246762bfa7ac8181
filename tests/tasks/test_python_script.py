"""python_script runs a separate real interpreter: inline code, script files, hostile arguments."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from taskkit import CollectingSink, MakeCtx, sink_text

from barbossad.models import OutputStream
from barbossad.tasks.python_script import PythonScriptHandler, PythonScriptSpec

pytestmark = pytest.mark.timeout(30)
handler = PythonScriptHandler()

PRINT_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"


async def test_inline_script_gets_args_verbatim(make_ctx: MakeCtx) -> None:
    ctx = make_ctx()
    args = ("-V", "--version", "-c", "x; rm -rf /", "$HOME")
    result = await handler.run(PythonScriptSpec(script=PRINT_ARGV, args=args), ctx)
    assert result.ok and result.exit_code == 0
    assert sink_text(ctx, OutputStream.STDOUT).strip() == (
        '["-V", "--version", "-c", "x; rm -rf /", "$HOME"]'
    )


async def test_runs_in_a_separate_process(make_ctx: MakeCtx) -> None:
    ctx = make_ctx()
    result = await handler.run(PythonScriptSpec(script="import os; print(os.getpid())"), ctx)
    assert result.ok
    assert int(sink_text(ctx, OutputStream.STDOUT)) != os.getpid()


async def test_relative_file_starting_with_dash_is_not_an_option(
    make_ctx: MakeCtx, tmp_path: Path
) -> None:
    (tmp_path / "-m.py").write_text(PRINT_ARGV)
    ctx = make_ctx(working_directory=str(tmp_path))
    spec = PythonScriptSpec(file="-m.py", args=("-m", "http.server"))
    assert handler.describe(spec, ctx).argv[1] == "./-m.py"
    result = await handler.run(spec, ctx)
    assert result.ok, result.error
    assert sink_text(ctx, OutputStream.STDOUT).strip() == '["-m", "http.server"]'


async def test_absolute_file(make_ctx: MakeCtx, tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text("import sys; sys.stdout.write('ran ' + sys.argv[1])")
    ctx = make_ctx()
    result = await handler.run(PythonScriptSpec(file=str(script), args=("a",)), ctx)
    assert result.ok
    assert sink_text(ctx, OutputStream.STDOUT) == "ran a"


async def test_nonzero_exit_is_a_failure_with_stderr_kept(make_ctx: MakeCtx) -> None:
    ctx = make_ctx()
    spec = PythonScriptSpec(script="import sys; sys.stderr.write('boom'); sys.exit(3)")
    result = await handler.run(spec, ctx)
    assert not result.ok and result.exit_code == 3
    assert result.error == "python_script exited with status 3"
    assert sink_text(ctx, OutputStream.STDERR) == "boom"


async def test_timeout(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(timeout=0.5)
    result = await handler.run(PythonScriptSpec(script="import time; time.sleep(60)"), ctx)
    assert not result.ok and result.timed_out
    assert "timed out after 0.5s" in result.error


async def test_cancel_propagates(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(timeout=None)
    code = "import sys, time; print('up', flush=True); time.sleep(60)"
    task = asyncio.create_task(handler.run(PythonScriptSpec(script=code), ctx))
    assert isinstance(ctx.sink, CollectingSink)
    await ctx.sink.wait_for(OutputStream.STDOUT, "up")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_missing_file_is_a_clear_error(make_ctx: MakeCtx, tmp_path: Path) -> None:
    result = await handler.run(PythonScriptSpec(file=str(tmp_path / "nope.py")), make_ctx())
    assert not result.ok
    assert result.error == f"python_script: file {str(tmp_path / 'nope.py')!r} does not exist"


async def test_interpreter_from_settings_and_spec(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(settings={"python_executable": "/nonexistent/python"})
    result = await handler.run(PythonScriptSpec(script="pass"), ctx)
    assert not result.ok and "cannot start '/nonexistent/python'" in result.error
    spec = PythonScriptSpec(script="pass", python=sys.executable)
    assert (await handler.run(spec, ctx)).ok


def test_default_interpreter_is_sys_executable(make_ctx: MakeCtx) -> None:
    action = handler.describe(PythonScriptSpec(script="pass"), make_ctx())
    assert action.argv == (sys.executable, "-c", "pass")
    assert action.description == f"would run inline script with {sys.executable}"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (PythonScriptSpec(), "script"),
        (PythonScriptSpec(script="x", file="y.py"), "script"),
        (PythonScriptSpec(script="  "), "script"),
        (PythonScriptSpec(file=""), "file"),
        (PythonScriptSpec(script="x", python=""), "python"),
        (PythonScriptSpec(script="x", args=("a\0b",)), "args[0]"),
    ],
)
def test_check_rejects(spec: PythonScriptSpec, field: str) -> None:
    assert field in [f for f, _ in handler.check(spec)]


def test_check_accepts() -> None:
    assert handler.check(PythonScriptSpec(script="print(1)", args=("-x",))) == []
    assert handler.check(PythonScriptSpec(file="job.py")) == []


async def test_bad_spec_at_run_time_fails_without_running(make_ctx: MakeCtx) -> None:
    result = await handler.run(PythonScriptSpec(script="x", file="y.py"), make_ctx())
    assert not result.ok
    assert result.error == "python_script: script: give exactly one of 'script' and 'file'"
