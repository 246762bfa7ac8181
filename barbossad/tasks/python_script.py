"""python_script: Python code run by a separate interpreter process, never inside the daemon.

The code comes either inline (`script`, run with `python -c`) or from a file (`file`). Arguments
reach the script as `sys.argv[1:]`; both forms stop the interpreter's own option parsing before
them, so an argument starting with "-" is never read as an interpreter option.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult
from barbossad.tasks.support import nul_problems, process_failure, unrunnable


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonScriptSpec:
    """Fields of a python_script task: exactly one of `script` and `file`."""

    script: str | None = None
    file: str | None = None
    args: tuple[str, ...] = ()
    python: str | None = None  # interpreter; default: the daemon setting, else sys.executable


class PythonScriptHandler:
    """Runs inline code or a script file with a Python interpreter via the spawner."""

    type_name: ClassVar[str] = "python_script"
    spec_type: ClassVar[type] = PythonScriptSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Exactly one of script/file, neither empty, no NUL bytes anywhere."""
        problems: list[tuple[str, str]] = []
        if (spec.script is None) == (spec.file is None):
            problems.append(("script", "give exactly one of 'script' and 'file'"))
        if spec.script is not None and not spec.script.strip():
            problems.append(("script", "must not be empty"))
        if spec.file is not None and not spec.file.strip():
            problems.append(("file", "must not be empty"))
        if spec.python is not None and not spec.python.strip():
            problems.append(("python", "must not be empty (omit it to use the default)"))
        values = [("script", spec.script), ("file", spec.file), ("python", spec.python)]
        values += [(f"args[{i}]", a) for i, a in enumerate(spec.args)]
        problems += nul_problems(values)
        return problems

    def argv(self, spec: PythonScriptSpec, ctx: TaskContext) -> list[str]:
        """The argument vector that runs the spec."""
        python = _interpreter(spec.python or ctx.settings.python_executable or sys.executable, ctx)
        if spec.script is not None:
            # Everything after `-c CODE` lands in sys.argv; none of it is an interpreter option.
            return [python, "-c", spec.script, *spec.args]
        assert spec.file is not None
        return [python, _script_path(spec.file), *spec.args]

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: which interpreter would run what."""
        problems = self.check(spec)
        if problems:
            return unrunnable(problems)
        argv = self.argv(spec, ctx)
        what = "inline script" if spec.script is not None else argv[1]
        return PlannedAction(description=f"would run {what} with {argv[0]}", argv=tuple(argv))

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Run the interpreter; success is exit status 0."""
        problems = self.check(spec)
        if problems:
            field, message = problems[0]
            return TaskResult(ok=False, error=f"python_script: {field}: {message}")
        argv = self.argv(spec, ctx)
        if spec.file is not None:
            path = os.path.join(ctx.working_directory or "", argv[1])
            if not await asyncio.to_thread(os.path.isfile, path):
                return TaskResult(
                    ok=False, error=f"python_script: file {spec.file!r} does not exist"
                )
        ctx.log(
            f"python_script: running {argv[1] if spec.file else 'inline script'} with {argv[0]}"
        )
        # Python block-buffers a piped stdout; unbuffered, the output streams live to the log.
        env = {"PYTHONUNBUFFERED": "1", **ctx.env}
        try:
            result = await ctx.spawner.run(
                argv, env=env, cwd=ctx.working_directory, sink=ctx.sink, timeout=ctx.timeout
            )
        except OSError as exc:  # interpreter missing or not executable
            return TaskResult(
                ok=False, error=f"python_script: cannot start {argv[0]!r}: {exc.strerror}"
            )
        failure = process_failure(result, "python_script", ctx.timeout)
        return failure or TaskResult(ok=True, exit_code=0)


def _interpreter(name: str, ctx: TaskContext) -> str:
    """Resolve a bare interpreter name on the task's PATH, as the child would."""
    if "/" in name:
        return name
    return shutil.which(name, path=ctx.env.get("PATH", os.defpath)) or name


def _script_path(file: str) -> str:
    """The script path as an argument Python cannot mistake for an option.

    Python stops option parsing at the script path but would read "-x.py" as options, and it has
    no `--` before a script; a "./" prefix keeps the path relative to the working directory.
    """
    return file if file.startswith("/") else "./" + file
