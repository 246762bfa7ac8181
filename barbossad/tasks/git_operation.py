"""git_operation: clone, pull, fetch, checkout, commit, push or tag, with the URL guard applied.

git always runs through the spawner with prompts off (GIT_TERMINAL_PROMPT=0, and no controlling
terminal for ssh), with git's own protocol allow-list set to ours, and with `--` before every
positional value. Before fetching or pushing, the remote's URL (after insteadOf rewriting) is
checked too, so a repository cloned by hand from a blocked URL cannot be pulled from.

`pull` is fast-forward only: an unattended task never creates merge commits. `commit` with
nothing staged succeeds with `committed=false`, so reruns are harmless. Messages go to git on
stdin (`-F -`), never as arguments. Outputs: `commit` (HEAD after the operation), `branch`
(empty when HEAD is detached), and for commit `committed`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, ClassVar

from barbossad.errors import BarbossaError, TaskError
from barbossad.models import OutputStream
from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult
from barbossad.tasks.git_guard import GitUrlPolicy, check_ref_name, check_remote_name, url_protocol
from barbossad.tasks.support import CaptureSink, deferred, flag, process_failure, unrunnable


class GitOperation(StrEnum):
    """What git_operation does."""

    CLONE = "clone"
    PULL = "pull"
    FETCH = "fetch"
    CHECKOUT = "checkout"
    COMMIT = "commit"
    PUSH = "push"
    TAG = "tag"


@dataclass(frozen=True, slots=True, kw_only=True)
class GitOperationSpec:
    """Fields of a git_operation task."""

    operation: str
    repository_url: str | None = None  # clone only
    branch: str | None = None
    working_directory: str | None = None  # the repository; default: the task's working_directory
    message: str | None = None  # commit; for tag, makes it annotated
    tag: str | None = None
    remote: str = "origin"
    depth: int | None = None  # clone/fetch/pull: shallow history
    add_all: bool = False  # commit: stage every change first (`git add --all`)


class _GitFailed(TaskError):
    """A git command failed; carries the TaskResult saying how (timed out, exit status, stderr)."""

    def __init__(self, result: TaskResult) -> None:
        super().__init__(result.error)
        self.result = result


_NEEDS: dict[GitOperation, tuple[str, ...]] = {
    GitOperation.CLONE: ("repository_url",),
    GitOperation.COMMIT: ("message",),
    GitOperation.TAG: ("tag",),
}


class GitOperationHandler:
    """Runs git through the spawner."""

    type_name: ClassVar[str] = "git_operation"
    spec_type: ClassVar[type] = GitOperationSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Load-time checks; values still holding placeholders are checked when run."""
        return self.problems(spec, rendered=False)

    def problems(self, spec: Any, *, rendered: bool = True) -> list[tuple[str, str]]:
        """Known operation with its required fields; URL and ref names well formed."""
        if deferred(spec.operation, rendered):
            return []
        if spec.operation not in set(GitOperation):
            choices = ", ".join(GitOperation)
            return [("operation", f"unknown operation {spec.operation!r} (expected {choices})")]
        op = GitOperation(spec.operation)
        problems = [
            (f, f"required for {op.value}") for f in _NEEDS.get(op, ()) if not getattr(spec, f)
        ]
        if op is GitOperation.CHECKOUT and not (spec.branch or spec.tag):
            problems.append(("branch", "checkout needs a branch or a tag"))
        if spec.depth is not None and spec.depth < 1:
            problems.append(("depth", "must be at least 1"))
        checks: list[tuple[str, str | None, Callable[[str], object]]] = [
            ("repository_url", spec.repository_url, url_protocol),
            ("branch", spec.branch, check_ref_name),
            ("tag", spec.tag, lambda v: check_ref_name(v, "tag")),
            ("remote", spec.remote, check_remote_name),
        ]
        for name, value, checker in checks:
            if value is not None and not deferred(value, rendered):
                try:
                    checker(value)
                except BarbossaError as exc:
                    problems.append((name, str(exc)))
        return problems

    def plan(self, spec: GitOperationSpec, ctx: TaskContext) -> list[list[str]]:
        """The git argument vectors the operation runs (without the common options)."""
        op = GitOperation(spec.operation)
        depth = [f"--depth={spec.depth}"] if spec.depth else []
        branch = [spec.branch] if spec.branch else []
        match op:
            case GitOperation.CLONE:
                assert spec.repository_url is not None
                opts = [*depth, *([f"--branch={spec.branch}"] if spec.branch else [])]
                return [["clone", *opts, "--", spec.repository_url, _workdir(spec, ctx)]]
            case GitOperation.PULL:
                return [["pull", "--ff-only", *depth, "--", spec.remote, *branch]]
            case GitOperation.FETCH:
                return [["fetch", *depth, "--", spec.remote, *branch]]
            case GitOperation.CHECKOUT:
                # The trailing `--` makes git read the name as a ref, never as a path.
                return [["checkout", spec.branch or f"refs/tags/{spec.tag}", "--"]]
            case GitOperation.COMMIT:
                add = [["add", "--all"]] if spec.add_all else []
                return [*add, ["commit", "-F", "-"]]
            case GitOperation.PUSH:
                ref = spec.branch or (f"refs/tags/{spec.tag}" if spec.tag else "HEAD")
                return [["push", "--", spec.remote, ref]]
            case _:
                annotate = ["-a", "-F", "-"] if spec.message else []
                return [["tag", *annotate, "--", spec.tag or ""]]

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: the git commands, e.g. "would run git clone in /srv/app"."""
        problems = self.problems(spec)
        if problems:
            return unrunnable(problems)
        steps = self.plan(spec, ctx)
        argv = ("git", *steps[-1])
        where = _workdir(spec, ctx) or "the current directory"
        return PlannedAction(description=f"would run git {spec.operation} in {where}", argv=argv)

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Run the operation; on failure the error carries the end of git's stderr."""
        problems = self.problems(spec)
        if problems:
            field, message = problems[0]
            return TaskResult(ok=False, error=f"git_operation: {field}: {message}")
        try:
            return await _Git(spec, ctx).run(self.plan(spec, ctx))
        except _GitFailed as exc:
            return replace(exc.result, error=f"git_operation {spec.operation}: {exc.result.error}")
        except BarbossaError as exc:  # refused by the guard, missing directory
            return TaskResult(ok=False, error=f"git_operation {spec.operation}: {exc}")


def _workdir(spec: GitOperationSpec, ctx: TaskContext) -> str:
    """The repository directory: the spec's (relative to the task's), else the task's."""
    if spec.working_directory:
        return os.path.join(ctx.working_directory or "", spec.working_directory)
    return ctx.working_directory or ""


class _Git:
    """One operation's git invocations, sharing the environment and the URL policy."""

    def __init__(self, spec: GitOperationSpec, ctx: TaskContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.policy = GitUrlPolicy.from_settings(ctx.settings)
        self.workdir = _workdir(spec, ctx)
        self.env = dict(ctx.env)
        self.env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_ALLOW_PROTOCOL=self.policy.git_allow_protocol(),
            # No prompts from ssh either: it has no terminal, and must not ask through a GUI.
            SSH_ASKPASS="",
            GIT_ASKPASS="",
        )

    async def run(self, steps: Sequence[list[str]]) -> TaskResult:
        op = GitOperation(self.spec.operation)
        if op is GitOperation.CLONE:
            assert self.spec.repository_url is not None
            if not self.workdir:
                raise TaskError("clone needs a working_directory to clone into")
            self.policy.check_url(self.spec.repository_url)
        else:
            if not await asyncio.to_thread(os.path.isdir, self.workdir or "."):
                raise TaskError(f"working_directory {self.workdir!r} does not exist")
            if op in (GitOperation.PULL, GitOperation.FETCH, GitOperation.PUSH):
                await self._check_remote(push=op is GitOperation.PUSH)
        outputs: dict[str, str] = {}
        for argv in steps:
            if argv[0] == "commit":
                staged = await self.git(["diff", "--cached", "--quiet"], check=False)
                if staged == 0:
                    self.ctx.log("git_operation: nothing to commit")
                    outputs["committed"] = flag(False)
                    continue
                outputs["committed"] = flag(True)
            message = self.spec.message if argv[0] in ("commit", "tag") and "-F" in argv else None
            await self.git(argv, stdin=message.encode() if message is not None else None)
        outputs["commit"] = (await self.output(["rev-parse", "--verify", "-q", "HEAD"])).strip()
        outputs["branch"] = (await self.output(["symbolic-ref", "--short", "-q", "HEAD"])).strip()
        return TaskResult(ok=True, exit_code=0, outputs=outputs)

    async def _check_remote(self, *, push: bool) -> None:
        """Guard the URL the remote actually points at, after insteadOf rewriting."""
        argv = ["remote", "get-url", *(["--push"] if push else []), "--", self.spec.remote]
        url = (await self.output(argv, required=True)).strip()
        self.policy.check_url(url)

    async def git(
        self,
        argv: list[str],
        *,
        stdin: bytes | None = None,
        check: bool = True,
        sink: CaptureSink | None = None,
    ) -> int | None:
        """Run one git command; raise _GitFailed (with stderr's tail) if it fails and `check`."""
        full = ["git", "-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never", *argv]
        capture = sink or CaptureSink(self.ctx.sink)
        cwd = None if argv[0] == "clone" else (self.workdir or None)
        if sink is None:  # queries (rev-parse, get-url) are not worth a log line
            self.ctx.log(f"git_operation: git {argv[0]}")
        try:
            result = await self.ctx.spawner.run(
                full, env=self.env, cwd=cwd, sink=capture, timeout=self.ctx.timeout, stdin=stdin
            )
        except OSError as exc:
            raise TaskError(f"cannot run git: {exc.strerror}") from exc
        if check:
            failure = process_failure(result, f"git {argv[0]}", self.ctx.timeout, capture.tail())
            if failure is not None:
                raise _GitFailed(failure)
        return result.exit_code

    async def output(self, argv: list[str], *, required: bool = False) -> str:
        """Stdout of a query command (not echoed to the task output); "" if it fails."""
        capture = CaptureSink(None)
        code = await self.git(argv, check=required, sink=capture)
        return capture.text(OutputStream.STDOUT) if code == 0 else ""
