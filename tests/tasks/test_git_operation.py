"""git_operation against real bare repositories in tmp_path, over file:// URLs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from taskkit import MakeCtx

from barbossad.tasks.base import OutputSink, ProcessResult, TaskContext
from barbossad.tasks.git_guard import DEFAULT_BLOCK_PATTERNS
from barbossad.tasks.git_operation import GitOperationHandler, GitOperationSpec
from barbossad.tasks.spawner import ProcessSpawner

pytestmark = pytest.mark.timeout(60)
handler = GitOperationHandler()


@dataclass
class RecordingSpawner:
    """The real spawner, remembering every argv and environment it was given."""

    calls: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)
    inner: ProcessSpawner = field(default_factory=lambda: ProcessSpawner(kill_grace=1.0))

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | None,
        sink: OutputSink,
        timeout: float | None,  # noqa: ASYNC109 -- the Spawner protocol's signature
        stdin: bytes | None = None,
    ) -> ProcessResult:
        self.calls.append((list(argv), dict(env)))
        return await self.inner.run(argv, env=env, cwd=cwd, sink=sink, timeout=timeout, stdin=stdin)


@dataclass
class Git:
    """A sandbox: a bare 'remote', a clean git environment and a context factory."""

    root: Path
    env: dict[str, str]
    make_ctx: MakeCtx

    def bare(self, name: str = "remote.git") -> str:
        path = self.root / name
        self.run("init", "-q", "--bare", "-b", "main", str(path))
        return f"file://{path}"

    def run(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def ctx(self, **kw: Any) -> TaskContext:
        kw.setdefault("spawner", RecordingSpawner())
        # What the daemon passes by default (DaemonConfig.git_block_patterns).
        kw.setdefault("settings", {"git_block_patterns": DEFAULT_BLOCK_PATTERNS})
        return self.make_ctx(env=self.env, **kw)

    async def op(self, **fields: Any) -> Any:
        ctx = fields.pop("ctx", None) or self.ctx()
        result = await handler.run(GitOperationSpec(**fields), ctx)
        assert result.ok, result.error
        return result


@pytest.fixture
def git(tmp_path: Path, make_ctx: MakeCtx) -> Git:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Barbossa Test",
        "GIT_AUTHOR_EMAIL": "test@barbossa.invalid",
        "GIT_COMMITTER_NAME": "Barbossa Test",
        "GIT_COMMITTER_EMAIL": "test@barbossa.invalid",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "init.defaultBranch",
        "GIT_CONFIG_VALUE_0": "main",
        "PATH": os.environ.get("PATH", os.defpath),
    }
    return Git(tmp_path, env, make_ctx)


async def seeded(git: Git) -> tuple[str, Path]:
    """A bare remote with one commit on main, and a working clone of it."""
    url = git.bare()
    work = git.root / "work"
    await git.op(operation="clone", repository_url=url, working_directory=str(work))
    (work / "README").write_text("hello\n")
    await git.op(operation="commit", message="init", add_all=True, working_directory=str(work))
    await git.op(operation="push", branch="main", working_directory=str(work))
    return url, work


async def test_clone_commit_push_clone(git: Git) -> None:
    url, work = await seeded(git)
    head = git.run("rev-parse", "HEAD", cwd=work)
    other = git.root / "other"
    result = await git.op(operation="clone", repository_url=url, working_directory=str(other))
    assert (other / "README").read_text() == "hello\n"
    assert result.outputs == {"commit": head, "branch": "main"}


async def test_commit_outputs_and_hostile_message(git: Git) -> None:
    _url, work = await seeded(git)
    (work / "f").write_text("x")
    message = "--amend\n\n-m injected; $(touch pwned)"
    result = await git.op(
        operation="commit", message=message, add_all=True, working_directory=str(work)
    )
    assert result.outputs["committed"] == "true"
    assert result.outputs["commit"] == git.run("rev-parse", "HEAD", cwd=work)
    assert git.run("log", "-1", "--format=%B", cwd=work) == message
    assert git.run("rev-list", "--count", "HEAD", cwd=work) == "2"
    assert not (work / "pwned").exists()


async def test_commit_with_nothing_staged_succeeds(git: Git) -> None:
    _url, work = await seeded(git)
    result = await git.op(operation="commit", message="again", working_directory=str(work))
    assert result.outputs["committed"] == "false"


async def test_pull_is_fast_forward(git: Git) -> None:
    url, work = await seeded(git)
    other = git.root / "other"
    await git.op(operation="clone", repository_url=url, working_directory=str(other))
    (work / "new").write_text("n")
    await git.op(operation="commit", message="second", add_all=True, working_directory=str(work))
    await git.op(operation="push", working_directory=str(work))
    result = await git.op(operation="pull", branch="main", working_directory=str(other))
    assert result.outputs["commit"] == git.run("rev-parse", "HEAD", cwd=work)
    assert (other / "new").exists()


async def test_fetch_and_checkout_branch(git: Git) -> None:
    url, work = await seeded(git)
    git.run("checkout", "-q", "-b", "feature", cwd=work)
    (work / "feat").write_text("f")
    await git.op(operation="commit", message="feat", add_all=True, working_directory=str(work))
    await git.op(operation="push", branch="feature", working_directory=str(work))
    other = git.root / "other"
    await git.op(operation="clone", repository_url=url, working_directory=str(other))
    await git.op(operation="fetch", working_directory=str(other))
    result = await git.op(operation="checkout", branch="feature", working_directory=str(other))
    assert result.outputs["branch"] == "feature"
    assert (other / "feat").exists()


async def test_shallow_clone(git: Git) -> None:
    url, work = await seeded(git)
    (work / "more").write_text("m")
    await git.op(operation="commit", message="more", add_all=True, working_directory=str(work))
    await git.op(operation="push", working_directory=str(work))
    other = git.root / "other"
    await git.op(operation="clone", repository_url=url, working_directory=str(other), depth=1)
    assert git.run("rev-list", "--count", "HEAD", cwd=other) == "1"


async def test_tag_push_and_checkout_tag(git: Git) -> None:
    url, work = await seeded(git)
    head = git.run("rev-parse", "HEAD", cwd=work)
    await git.op(operation="tag", tag="v1.0", message="release 1.0", working_directory=str(work))
    assert git.run("cat-file", "-t", "v1.0", cwd=work) == "tag"  # annotated
    await git.op(operation="push", tag="v1.0", working_directory=str(work))
    other = git.root / "other"
    await git.op(operation="clone", repository_url=url, working_directory=str(other))
    result = await git.op(operation="checkout", tag="v1.0", working_directory=str(other))
    assert result.outputs == {"commit": head, "branch": ""}


async def test_spec_working_directory_is_relative_to_the_tasks(git: Git) -> None:
    url = git.bare()
    ctx = git.ctx(working_directory=str(git.root))
    await git.op(operation="clone", repository_url=url, working_directory="sub/clone", ctx=ctx)
    assert (git.root / "sub" / "clone" / ".git").is_dir()


async def test_git_runs_with_prompts_off_and_protocols_pinned(git: Git) -> None:
    url = git.bare()
    spawner = RecordingSpawner()
    ctx = git.ctx(spawner=spawner)
    await git.op(
        operation="clone", repository_url=url, working_directory=str(git.root / "c"), ctx=ctx
    )
    argv, env = spawner.calls[0]
    assert argv[:5] == ["git", "-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never"]
    assert argv[5:] == ["clone", "--", url, str(git.root / "c")]
    assert env["GIT_ALLOW_PROTOCOL"] == "https:ssh:file"
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_git_refuses_a_protocol_outside_git_allow_protocol(git: Git) -> None:
    """The second layer: git itself refuses, even if a URL got past the guard."""
    url = git.bare()
    env = {**git.env, "GIT_ALLOW_PROTOCOL": "https"}
    done = subprocess.run(
        ["git", "clone", "--", url, str(git.root / "x")], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "transport 'file' not allowed" in done.stderr


async def test_blocked_url_is_refused_before_git_runs(git: Git) -> None:
    url = git.bare("zkp2p.git")
    spawner = RecordingSpawner()
    target = git.root / "clone"
    spec = GitOperationSpec(operation="clone", repository_url=url, working_directory=str(target))
    result = await handler.run(spec, git.ctx(spawner=spawner))
    assert not result.ok
    assert (
        result.error
        == f"git_operation clone: repository URL {url!r} is blocked by pattern '*zkp2p*'"
    )
    assert spawner.calls == [] and not target.exists()


async def test_pull_checks_the_remote_url_after_insteadof(git: Git) -> None:
    _url, work = await seeded(git)
    blocked = git.bare("zkp2p-mirror.git")
    git.run("config", f"url.{blocked}.insteadOf", "file://", cwd=work)
    spec = GitOperationSpec(operation="pull", working_directory=str(work))
    result = await handler.run(spec, git.ctx())
    assert not result.ok and "is blocked by pattern '*zkp2p*'" in result.error


@pytest.mark.parametrize(
    "url", ["ext::sh -c touch% /tmp/barbossa-pwned", "fd::3", "-uoption", "--upload-pack=id"]
)
async def test_dangerous_urls_never_reach_git(git: Git, url: str) -> None:
    spawner = RecordingSpawner()
    spec = GitOperationSpec(
        operation="clone", repository_url=url, working_directory=str(git.root / "c")
    )
    result = await handler.run(spec, git.ctx(spawner=spawner))
    assert not result.ok and result.error.startswith("git_operation: repository_url:")
    assert spawner.calls == []


async def test_git_failure_carries_stderr_tail(git: Git) -> None:
    spec = GitOperationSpec(
        operation="clone",
        repository_url=f"file://{git.root}/missing.git",
        working_directory=str(git.root / "c"),
    )
    result = await handler.run(spec, git.ctx())
    assert not result.ok and result.exit_code == 128
    assert result.error.startswith("git_operation clone: git clone exited with status 128: ")
    assert "missing.git" in result.error


async def test_missing_working_directory(git: Git) -> None:
    spec = GitOperationSpec(operation="pull", working_directory=str(git.root / "nope"))
    result = await handler.run(spec, git.ctx())
    assert not result.ok and result.error.endswith("does not exist")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"operation": "rebase"}, "operation"),
        ({"operation": "clone"}, "repository_url"),
        ({"operation": "commit"}, "message"),
        ({"operation": "tag"}, "tag"),
        ({"operation": "checkout"}, "branch"),
        ({"operation": "fetch", "depth": 0}, "depth"),
        ({"operation": "checkout", "branch": "-f"}, "branch"),
        ({"operation": "checkout", "branch": "a..b"}, "branch"),
        ({"operation": "tag", "tag": "--delete"}, "tag"),
        ({"operation": "push", "remote": "--mirror"}, "remote"),
    ],
)
def test_check_rejects(fields: dict[str, Any], field: str) -> None:
    assert field in [f for f, _ in handler.check(GitOperationSpec(**fields))]


async def test_values_that_look_templated_are_still_checked_once_rendered(git: Git) -> None:
    _url, work = await seeded(git)
    spec = GitOperationSpec(operation="checkout", branch="-{{ x }}", working_directory=str(work))
    assert handler.check(spec) == []  # at load time it waits for the rendered value
    spawner = RecordingSpawner()
    result = await handler.run(spec, git.ctx(spawner=spawner))
    assert not result.ok and result.error.startswith("git_operation: branch: invalid branch name")
    assert spawner.calls == []
    action = handler.describe(spec, git.ctx())
    assert action.argv == () and action.description.startswith("would be refused as rendered")


def test_describe(make_ctx: MakeCtx) -> None:
    spec = GitOperationSpec(
        operation="clone", repository_url="https://example.com/r.git", branch="main", depth=1
    )
    action = handler.describe(spec, make_ctx(working_directory="/srv/app"))
    assert action.description == "would run git clone in /srv/app"
    assert action.argv == (
        "git", "clone", "--depth=1", "--branch=main", "--", "https://example.com/r.git", "/srv/app"
    )  # fmt: skip
