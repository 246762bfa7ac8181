"""shell_command: a script run by a shell, with placeholders passed as environment variables."""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass, field
from typing import Any, ClassVar

from barbossad.tasks.base import SHELL_FIELD, PlannedAction, TaskContext, TaskResult

_SHELLS = ("bash", "sh", "dash", "zsh", "ksh")


@functools.lru_cache(maxsize=64)
def _which(shell: str, path: str | None) -> str:
    # A PATH search stats every directory on it: done once per (shell, PATH), not per task.
    return shutil.which(shell, path=path) or shell


@dataclass(frozen=True, slots=True, kw_only=True)
class ShellCommandSpec:
    """Fields of a shell_command task."""

    command: str = field(metadata=SHELL_FIELD)
    shell: str = "bash"


class ShellCommandHandler:
    """Runs `command` with `shell -c`; values reach it only through the environment."""

    type_name: ClassVar[str] = "shell_command"
    spec_type: ClassVar[type] = ShellCommandSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Reject empty commands and shells we cannot quote for."""
        problems = []
        if not spec.command.strip():
            problems.append(("command", "must not be empty"))
        name = spec.shell.rsplit("/", 1)[-1]
        if name not in _SHELLS:
            problems.append(
                (
                    "shell",
                    f"unsupported shell {spec.shell!r} (expected one of {', '.join(_SHELLS)})",
                )
            )
        return problems

    def argv(self, spec: ShellCommandSpec) -> list[str]:
        """The argument vector that runs the (rendered) script."""
        shell = spec.shell if "/" in spec.shell else _which(spec.shell, os.environ.get("PATH"))
        return [shell, "-c", spec.command]

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: the command line that would run."""
        return PlannedAction(
            description=f"would run with {spec.shell}: {spec.command}", argv=tuple(self.argv(spec))
        )

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Run the script; success is exit status 0."""
        result = await ctx.spawner.run(
            self.argv(spec),
            env=ctx.env,
            cwd=ctx.working_directory,
            sink=ctx.sink,
            timeout=ctx.timeout,
        )
        if result.timed_out:
            return TaskResult(
                ok=False,
                exit_code=result.exit_code,
                error=f"timed out after {ctx.timeout:g}s",
                timed_out=True,
            )
        if result.exit_code is None:
            return TaskResult(ok=False, error=f"killed by signal {result.signal}")
        if result.exit_code != 0:
            return TaskResult(
                ok=False, exit_code=result.exit_code, error=f"exited with status {result.exit_code}"
            )
        return TaskResult(ok=True, exit_code=0)
