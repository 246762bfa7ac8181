"""file_operation on real files in tmp_path: every operation, the allowed-roots guard, hostile
archives, and that refused or cancelled operations leave the tree exactly as it was.
"""

from __future__ import annotations

import asyncio
import io
import os
import stat
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from taskkit import MakeCtx, snapshot

from barbossad.tasks import file_actions
from barbossad.tasks.base import TaskContext, TaskResult
from barbossad.tasks.file_archive import checkpoint
from barbossad.tasks.file_operation import FileOperationHandler, FileOperationSpec

pytestmark = pytest.mark.timeout(30)
handler = FileOperationHandler()


class Sandbox:
    """An allowed root with some content, and a secret outside it."""

    def __init__(self, tmp: Path, make_ctx: MakeCtx) -> None:
        self.tmp = tmp
        self.root = tmp / "root"
        self.outside = tmp / "outside"
        self.make_ctx = make_ctx
        self.root.mkdir()
        self.outside.mkdir()
        (self.outside / "secret").write_text("top secret")
        (self.root / "a.txt").write_text("alpha")
        tree = self.root / "tree"
        (tree / "sub").mkdir(parents=True)
        (tree / "one").write_text("1")
        (tree / "sub" / "two").write_text("22")
        os.symlink("one", tree / "link-to-one")

    def ctx(self, **kw: Any) -> TaskContext:
        kw.setdefault("settings", {"allowed_roots": (self.root,)})
        return self.make_ctx(**kw)

    async def run(self, ctx: TaskContext | None = None, **fields: Any) -> TaskResult:
        return await handler.run(FileOperationSpec(**fields), ctx or self.ctx())

    async def ok(self, **fields: Any) -> TaskResult:
        result = await self.run(**fields)
        assert result.ok, result.error
        return result

    async def refused(self, expected: str, ctx: TaskContext | None = None, **fields: Any) -> str:
        """Run, expect a failure mentioning `expected`, and nothing changed anywhere."""
        before = snapshot(self.tmp)
        result = await self.run(ctx, **fields)
        assert not result.ok
        assert expected in result.error, result.error
        assert snapshot(self.tmp) == before
        return result.error


@pytest.fixture
def box(tmp_path: Path, make_ctx: MakeCtx) -> Sandbox:
    return Sandbox(tmp_path, make_ctx)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# -- the operations --


async def test_write_new_and_replace(box: Sandbox) -> None:
    target = box.root / "conf.ini"
    result = await box.ok(operation="write", destination=str(target), content="k=v\n", mode="0640")
    assert target.read_text() == "k=v\n" and mode_of(target) == 0o640
    assert result.outputs == {"path": str(target), "bytes": "4"}
    target.chmod(0o600)
    await box.ok(operation="write", destination=str(target), content="")
    assert target.read_text() == "" and mode_of(target) == 0o600  # existing mode kept


async def test_relative_paths_use_the_working_directory(box: Sandbox) -> None:
    ctx = box.ctx(working_directory=str(box.root))
    result = await box.run(ctx, operation="write", destination="rel.txt", content="r")
    assert result.ok and (box.root / "rel.txt").read_text() == "r"
    await box.refused("must be absolute", operation="write", destination="rel2.txt", content="r")


async def test_mkdir(box: Sandbox) -> None:
    target = box.root / "x" / "y" / "z"
    result = await box.ok(operation="mkdir", destination=str(target), mode="0750")
    assert target.is_dir() and mode_of(target) == 0o750
    assert result.outputs["created"] == "true"
    again = await box.ok(operation="mkdir", destination=str(target))
    assert again.outputs["created"] == "false"
    await box.refused(
        "exists and is not a directory", operation="mkdir", source=str(box.root / "a.txt")
    )


async def test_copy_file_and_into_directory(box: Sandbox) -> None:
    result = await box.ok(
        operation="copy", source=str(box.root / "a.txt"), destination=str(box.root / "b.txt")
    )
    assert (box.root / "b.txt").read_text() == "alpha"
    assert result.outputs == {"path": str(box.root / "b.txt"), "bytes": "5", "files": "1"}
    (box.root / "b.txt").write_text("old")
    await box.ok(
        operation="copy", source=str(box.root / "a.txt"), destination=str(box.root / "b.txt")
    )
    assert (box.root / "b.txt").read_text() == "alpha"  # a file is replaced
    await box.ok(
        operation="copy", source=str(box.root / "a.txt"), destination=str(box.root / "tree")
    )
    assert (box.root / "tree" / "a.txt").read_text() == "alpha"


async def test_copy_tree(box: Sandbox) -> None:
    result = await box.ok(
        operation="copy", source=str(box.root / "tree"), destination=str(box.root / "copy")
    )
    assert snapshot(box.root / "copy") == snapshot(box.root / "tree")
    assert os.readlink(box.root / "copy" / "link-to-one") == "one"  # links stay links
    assert result.outputs["files"] == "3" and result.outputs["bytes"] == "3"


async def test_copy_refusals(box: Sandbox) -> None:
    tree = str(box.root / "tree")
    # An existing directory receives the source under its own name: here, inside itself.
    await box.refused("inside", operation="copy", source=tree, destination=str(box.root / "tree"))
    (box.root / "copy").mkdir()
    (box.root / "copy" / "tree").mkdir()
    await box.refused(
        "already exists", operation="copy", source=tree, destination=str(box.root / "copy")
    )
    await box.refused(
        "inside", operation="copy", source=tree, destination=str(box.root / "tree" / "sub" / "x")
    )
    await box.refused(
        "directory 'nope/' does not exist",
        ctx=box.ctx(working_directory=str(box.root)),
        operation="copy",
        source="a.txt",
        destination="nope/",
    )
    await box.refused(
        "does not exist", operation="copy", source=str(box.root / "missing"), destination=tree
    )


async def test_move(box: Sandbox) -> None:
    await box.ok(
        operation="move", source=str(box.root / "a.txt"), destination=str(box.root / "b.txt")
    )
    assert not (box.root / "a.txt").exists() and (box.root / "b.txt").read_text() == "alpha"
    (box.root / "dest").mkdir()
    result = await box.ok(
        operation="move", source=str(box.root / "tree"), destination=str(box.root / "dest")
    )
    assert result.outputs["path"] == str(box.root / "dest" / "tree")
    assert (box.root / "dest" / "tree" / "sub" / "two").read_text() == "22"
    await box.refused(
        "allowed root", operation="move", source=str(box.root), destination=str(box.root / "x")
    )


async def test_delete(box: Sandbox) -> None:
    await box.ok(operation="delete", source=str(box.root / "a.txt"))
    assert not (box.root / "a.txt").exists()
    await box.refused("set recursive: true", operation="delete", source=str(box.root / "tree"))
    await box.ok(operation="delete", source=str(box.root / "tree"), recursive=True)
    assert sorted(os.listdir(box.root)) == []
    await box.refused("allowed root", operation="delete", source=str(box.root), recursive=True)
    await box.refused("does not exist", operation="delete", source=str(box.root / "gone"))


async def test_delete_symlink_removes_only_the_link(box: Sandbox) -> None:
    os.symlink(box.outside / "secret", box.root / "secret-link")
    os.symlink(box.outside, box.root / "outside-dir")
    await box.ok(operation="delete", source=str(box.root / "secret-link"))
    await box.ok(operation="delete", source=str(box.root / "outside-dir"), recursive=True)
    assert (box.outside / "secret").read_text() == "top secret"
    assert not (box.root / "secret-link").is_symlink()


async def test_chmod(box: Sandbox) -> None:
    result = await box.ok(operation="chmod", source=str(box.root / "a.txt"), mode="600")
    assert mode_of(box.root / "a.txt") == 0o600 and result.outputs["mode"] == "0600"
    result = await box.ok(
        operation="chmod", source=str(box.root / "tree"), mode="0750", recursive=True
    )
    assert mode_of(box.root / "tree" / "sub" / "two") == 0o750
    assert result.outputs["files"] == "4"  # tree, sub, one, two; the link is skipped
    await box.refused("setuid", operation="chmod", source=str(box.root / "a.txt"), mode="4755")


async def test_compress_and_extract_roundtrip(box: Sandbox) -> None:
    for name in ("out.tar.gz", "out.zip"):
        archive = box.root / name
        result = await box.ok(
            operation="compress", source=str(box.root / "tree"), destination=str(archive)
        )
        assert (
            result.outputs["files"] == "3"
            and int(result.outputs["bytes"]) == archive.stat().st_size
        )
        dest = box.root / f"x-{name}"
        result = await box.ok(operation="extract", source=str(archive), destination=str(dest))
        assert result.outputs["files"] == "3"
        if name.endswith(".zip"):  # zip stores the file a link points to, not the link
            assert (dest / "tree" / "link-to-one").read_text() == "1"
        else:
            assert snapshot(dest / "tree") == snapshot(box.root / "tree")


async def test_extract_into_existing_empty_directory_and_explicit_format(box: Sandbox) -> None:
    archive = box.root / "archive.bin"
    await box.ok(
        operation="compress", source=str(box.root / "a.txt"), destination=str(archive), format="zip"
    )
    (box.root / "empty").mkdir()
    await box.ok(
        operation="extract", source=str(archive), destination=str(box.root / "empty"), format="zip"
    )
    assert os.listdir(box.root / "empty") == ["a.txt"]
    await box.refused(
        "must not exist or be an empty directory",
        operation="extract",
        source=str(archive),
        destination=str(box.root / "tree"),
        format="zip",
    )
    await box.refused(
        "cannot tell the archive format",
        operation="extract",
        source=str(archive),
        destination=str(box.root / "new"),
    )
    await box.refused(
        "not a valid tar.gz archive",
        operation="extract",
        source=str(box.root / "a.txt"),
        destination=str(box.root / "new"),
        format="tar.gz",
    )


# -- the allowed-roots guard --


@pytest.mark.parametrize("operation", ["write", "delete", "mkdir", "copy"])
async def test_no_allowed_roots_refuses_everything(box: Sandbox, operation: str) -> None:
    fields: dict[str, Any] = {"operation": operation, "source": str(box.root / "a.txt")}
    if operation == "copy":
        fields["destination"] = str(box.root / "b.txt")
    if operation == "write":
        fields = {"operation": "write", "destination": str(box.root / "n"), "content": "x"}
    error = await box.refused("no allowed_roots", ctx=box.ctx(settings={}), **fields)
    assert error == "file_operation: no allowed_roots configured"


async def test_paths_outside_the_roots_are_refused(box: Sandbox) -> None:
    secret, root = str(box.outside / "secret"), box.root
    ctx = box.ctx(working_directory=str(root))
    await box.refused(
        "outside the allowed roots", operation="copy", source=secret, destination=str(root / "s")
    )
    await box.refused(
        "outside the allowed roots",
        ctx,
        operation="copy",
        source="../outside/secret",
        destination="s",
    )
    await box.refused(
        "outside the allowed roots",
        operation="copy",
        source=str(root / "a.txt"),
        destination=str(box.outside / "stolen"),
    )
    await box.refused("outside the allowed roots", operation="delete", source=secret)
    await box.refused(
        "outside the allowed roots",
        operation="write",
        destination=str(root / ".." / "x"),
        content="x",
    )
    await box.refused("outside the allowed roots", operation="chmod", source=secret, mode="0777")
    await box.refused(
        "outside the allowed roots", operation="mkdir", destination=str(box.outside / "d")
    )


async def test_symlinks_are_not_followed_out_of_the_roots(box: Sandbox) -> None:
    os.symlink(box.outside, box.root / "escape")
    os.symlink(box.outside / "secret", box.root / "secret-link")
    os.symlink(box.outside / "not-yet", box.root / "dangling")
    root = box.root
    await box.refused(
        "outside the allowed roots",
        operation="write",
        destination=str(root / "escape" / "x"),
        content="x",
    )
    await box.refused(
        "outside the allowed roots",
        operation="write",
        destination=str(root / "secret-link"),
        content="pwned",
    )
    await box.refused(
        "outside the allowed roots",
        operation="write",
        destination=str(root / "dangling"),
        content="x",
    )
    await box.refused(
        "outside the allowed roots",
        operation="copy",
        source=str(root / "secret-link"),
        destination=str(root / "copy"),
    )
    await box.refused(
        "outside the allowed roots",
        operation="copy",
        source=str(root / "a.txt"),
        destination=str(root / "escape") + "/",
    )
    await box.refused(
        "outside the allowed roots",
        operation="chmod",
        source=str(root / "secret-link"),
        mode="0777",
    )


async def test_trees_holding_links_out_of_the_roots_are_refused(box: Sandbox) -> None:
    os.symlink(box.outside / "secret", box.root / "tree" / "sub" / "leak")
    tree = str(box.root / "tree")
    for operation, dest in (("copy", "c"), ("compress", "c.tar.gz"), ("compress", "c.zip")):
        await box.refused(
            "points outside the allowed roots",
            operation=operation,
            source=tree,
            destination=str(box.root / dest),
        )
    await box.refused(
        "points outside the allowed roots",
        operation="chmod",
        source=tree,
        mode="0700",
        recursive=True,
    )


async def test_special_files_are_refused(box: Sandbox) -> None:
    os.mkfifo(box.root / "tree" / "fifo")
    await box.refused(
        "not a regular file",
        operation="copy",
        source=str(box.root / "tree"),
        destination=str(box.root / "c"),
    )


# -- hostile archives --


def hostile_tar(path: Path, *members: tarfile.TarInfo) -> None:
    with tarfile.open(path, "w:gz") as tf:
        ok = tarfile.TarInfo("fine.txt")
        ok.size = 2
        tf.addfile(ok, io.BytesIO(b"ok"))
        for member in members:
            tf.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (member("../evil.txt"), "has a '..' component"),
        (member("a/../../evil.txt"), "has a '..' component"),
        (member("/tmp/evil.txt"), "has an absolute path"),
        (member("link", tarfile.SYMTYPE, "/etc/passwd"), "link pointing outside"),
        (member("link", tarfile.SYMTYPE, "../../outside/secret"), "link pointing outside"),
        (member("hard", tarfile.LNKTYPE, "../outside/secret"), "link pointing outside"),
        (member("null", tarfile.CHRTYPE), "device, FIFO or other special file"),
        (member("pipe", tarfile.FIFOTYPE), "device, FIFO or other special file"),
    ],
)
async def test_hostile_tar_members_are_refused(
    box: Sandbox, bad: tarfile.TarInfo, why: str
) -> None:
    archive = box.root / "evil.tar.gz"
    hostile_tar(archive, bad)
    error = await box.refused(
        why, operation="extract", source=str(archive), destination=str(box.root / "out")
    )
    assert f"archive member {bad.name!r}" in error and "nothing was extracted" in error


@pytest.mark.parametrize(
    ("name", "mode", "why"),
    [
        ("../evil.txt", 0o100644, "has a '..' component"),
        ("..\\evil.txt", 0o100644, "has a '..' component"),
        ("/abs.txt", 0o100644, "has an absolute path"),
        ("C:/abs.txt", 0o100644, "has an absolute path"),
        ("link", stat.S_IFLNK | 0o777, "is a symlink"),
        ("dev", stat.S_IFCHR | 0o644, "special file"),
    ],
)
async def test_hostile_zip_members_are_refused(
    box: Sandbox, name: str, mode: int, why: str
) -> None:
    archive = box.root / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "ok")
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        zf.writestr(info, "/etc/passwd")
    await box.refused(
        why, operation="extract", source=str(archive), destination=str(box.root / "out")
    )


# -- cancellation and checks --


async def test_cancelled_copy_leaves_nothing_behind(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    started = asyncio.Event()

    def gate(cancel: threading.Event) -> None:
        loop.call_soon_threadsafe(started.set)
        cancel.wait(10)  # hold the worker mid-copy until the task is cancelled
        checkpoint(cancel)

    monkeypatch.setattr(file_actions, "checkpoint", gate)
    before = snapshot(box.tmp)
    task = asyncio.create_task(
        box.run(operation="copy", source=str(box.root / "tree"), destination=str(box.root / "copy"))
    )
    async with asyncio.timeout(10):
        await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert snapshot(box.tmp) == before  # no half copy, no temporary directory


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"operation": "shred", "source": "/x"}, "operation"),
        ({"operation": "copy", "source": "/x"}, "destination"),
        ({"operation": "delete"}, "source"),
        ({"operation": "delete", "source": "/a", "destination": "/b"}, "source"),
        ({"operation": "write", "destination": "/x"}, "content"),
        ({"operation": "chmod", "source": "/x"}, "mode"),
        ({"operation": "chmod", "source": "/x", "mode": "rwx"}, "mode"),
        ({"operation": "chmod", "source": "/x", "mode": "99"}, "mode"),
        ({"operation": "compress", "source": "/x", "destination": "/y", "format": "rar"}, "format"),
        ({"operation": "copy", "source": "/x\0y", "destination": "/y"}, "source"),
    ],
)
def test_check_rejects(fields: dict[str, Any], field: str) -> None:
    assert field in [f for f, _ in handler.check(FileOperationSpec(**fields))]


def test_describe(box: Sandbox) -> None:
    spec = FileOperationSpec(operation="delete", source="/srv/old", recursive=True)
    assert handler.describe(spec, box.ctx()).description == "would delete /srv/old (recursively)"
    spec = FileOperationSpec(operation="copy", source="/a", destination="/b")
    assert handler.describe(spec, box.ctx()).description == "would copy /a to /b"
