"""Hot reload in process: a real watchdog observer on tmp_path, a real SQLite store, the catalogue.

Every wait is on the catalogue's own change/status notifications, with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
)

from barbossad.catalog import TemplateCatalog
from barbossad.definitions.model import WorkflowDef
from barbossad.store.sqlite import SQLiteStore
from barbossad.tasks.registry_default import default_registry
from barbossad.watch_events import (
    DIRECTORY,
    GONE,
    IMMEDIATE,
    MAX_WAIT,
    SETTLE,
    Look,
    PendingPaths,
    classify,
)
from barbossad.watcher import TemplateWatcher

D = "/srv/t"


def valid(word: str, name: str = "a") -> str:
    """A valid template whose hash changes with word."""
    return (
        f'name: {name}\ntasks:\n  - id: say\n    type: shell_command\n    command: "echo {word}"\n'
    )


@dataclass
class Rig:
    """A catalogue, its watcher and store, and a way to wait for what they report."""

    directory: Path
    catalog: TemplateCatalog
    store: SQLiteStore
    watcher: TemplateWatcher
    changes: list[tuple[str, str | None]] = field(default_factory=list)
    signal: asyncio.Event = field(default_factory=asyncio.Event)

    def heard(self, name: str, definition: WorkflowDef | None = None) -> None:
        self.signal.set()

    async def until(self, predicate: Callable[[], bool], what: str, within: float = 10.0) -> None:
        """Wait for predicate to hold, re-checking on every catalogue notification."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not predicate():
            self.signal.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out after {within}s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self.signal.wait()

    def hash(self, name: str = "a") -> str:
        definition = self.catalog.definition(name)
        return definition.hash if definition else ""

    def issues(self, name: str = "a") -> str:
        entry = self.catalog.get(name)
        return "; ".join(str(i) for i in entry.issues) if entry else ""


async def make_rig(tmp_path: Path, files: dict[str, str], **kwargs: float) -> Rig:
    directory = tmp_path / "templates"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    catalog = TemplateCatalog(directory, default_registry())
    catalog.scan()
    store = SQLiteStore.open(tmp_path / "state.db")
    watcher = TemplateWatcher(catalog, store=store, **kwargs)  # type: ignore[arg-type]
    rig = Rig(directory, catalog, store, watcher)
    catalog.on_change(lambda n, d: rig.changes.append((n, d.hash if d else None)))
    catalog.on_change(rig.heard)
    catalog.on_status(rig.heard)
    await watcher.start()
    return rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = await make_rig(tmp_path, {"a.yaml": valid("one")})
    yield r
    await r.watcher.stop()
    await r.store.close()


# ---- pure parts: classification and coalescing -----------------------------------------------


@pytest.mark.parametrize(
    ("event", "looks"),
    [
        (FileClosedEvent(f"{D}/a.yaml"), [Look("a.yaml", IMMEDIATE)]),
        (FileMovedEvent(f"{D}/.a.yaml.tmp", f"{D}/a.yaml"), [Look("a.yaml", IMMEDIATE)]),
        (FileMovedEvent("", f"{D}/a.yaml"), [Look("a.yaml", IMMEDIATE)]),  # from outside
        (
            FileMovedEvent(f"{D}/a.yaml", f"{D}/b.yml"),
            [Look("a.yaml", GONE), Look("b.yml", IMMEDIATE)],
        ),
        (FileMovedEvent(f"{D}/a.yaml", f"{D}/a.yaml~"), [Look("a.yaml", GONE)]),
        (FileMovedEvent(f"{D}/a.yaml", "/elsewhere/a.yaml"), [Look("a.yaml", GONE)]),
        (FileCreatedEvent(f"{D}/a.json"), [Look("a.json", SETTLE)]),
        (FileModifiedEvent(f"{D}/a.yaml"), [Look("a.yaml", SETTLE)]),
        (FileDeletedEvent(f"{D}/a.yaml"), [Look("a.yaml", GONE)]),
        (DirDeletedEvent(D), [Look(None, DIRECTORY)]),
        (DirMovedEvent(D, f"{D}.old"), [Look(None, DIRECTORY)]),
        (DirCreatedEvent(D), [Look(None, DIRECTORY)]),
        (FileMovedEvent(f"{D}.new", D), [Look(None, DIRECTORY)]),  # a symlink swapped in
        (DirModifiedEvent(D), []),
        (FileOpenedEvent(f"{D}/a.yaml"), []),
        (FileClosedNoWriteEvent(f"{D}/a.yaml"), []),
        (DirCreatedEvent(f"{D}/sub.yaml"), []),
        (FileCreatedEvent(f"{D}/sub/a.yaml"), []),
        (FileCreatedEvent("/srv/other.yaml"), []),  # a sibling seen by the parent watch
    ]
    + [
        (FileClosedEvent(f"{D}/{name}"), [])
        for name in (
            ".#a.yaml",
            "a.yaml~",
            ".a.yaml.swp",
            "4913",
            ".hidden.yaml",
            "a.txt",
            "#a.yaml#",
        )
    ],
)
def test_classify(event: FileSystemEvent, looks: list[Look]) -> None:
    assert classify(event, D) == looks


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pending_paths_coalesce_debounce_and_wake_once() -> None:
    clock = FakeClock()
    wakes: list[int] = []
    pending = PendingPaths(10, lambda: wakes.append(1), clock)
    for _ in range(5):
        pending.add(Look("a.yaml", SETTLE))
    assert wakes == [1] and len(pending) == 1  # one path, one wake-up until taken
    assert pending.take_due().names == []
    clock.now += SETTLE / 2
    pending.add(Look("a.yaml", SETTLE))  # trailing: a new write postpones
    clock.now += SETTLE * 0.75
    batch = pending.take_due()
    assert batch.names == [] and batch.next_due == pytest.approx(clock.now + SETTLE * 0.25)
    pending.add(Look("a.yaml", IMMEDIATE))  # the close: due at once
    assert pending.take_due().names == ["a.yaml"]
    assert len(wakes) == 3  # one per add after each take


def test_pending_paths_max_wait_and_order() -> None:
    clock = FakeClock()
    pending = PendingPaths(10, lambda: None, clock)
    pending.add(Look("b.yaml", GONE))
    for _ in range(int(MAX_WAIT / (SETTLE / 2)) + 2):  # a writer that never stops
        pending.add(Look("a.yaml", SETTLE))
        clock.now += SETTLE / 2
    assert pending.take_due().names == ["b.yaml", "a.yaml"]  # earliest deadline first


def test_pending_paths_overflow_becomes_one_rescan() -> None:
    pending = PendingPaths(3, lambda: None, FakeClock())
    for i in range(10):
        pending.add(Look(f"f{i}.yaml", IMMEDIATE))
    batch = pending.take_due()
    assert batch.rescan and len(batch.names) <= 3
    assert not pending.take_due().rescan


# ---- the real thing -----------------------------------------------------------------------


async def test_rename_into_place_from_the_same_directory(rig: Rig) -> None:
    old = rig.hash()
    tmp = rig.directory / ".a.yaml.tmp"
    tmp.write_text(valid("two"))
    os.rename(tmp, rig.directory / "a.yaml")
    await rig.until(lambda: rig.hash() not in ("", old), "the renamed version")
    assert "echo two" in str(rig.catalog.definition("a"))
    assert rig.catalog.get(".a") is None


async def test_rename_from_outside_and_a_new_template(rig: Rig, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "b.yaml").write_text(valid("bee", "b"))
    os.rename(staging / "b.yaml", rig.directory / "b.yaml")
    await rig.until(lambda: rig.hash("b") != "", "b to appear")
    assert rig.changes[-1] == ("b", rig.hash("b"))


async def test_partial_write_keeps_the_last_good_version(rig: Rig) -> None:
    old = rig.hash()
    text = valid("the complete new version")
    cut = text.index("complete")  # inside the quoted command: the first half is not valid YAML
    with (rig.directory / "a.yaml").open("w") as f:
        f.write(text[:cut])
        f.flush()
        await rig.until(lambda: rig.issues() != "", "the half-written file to be rejected")
        assert rig.hash() == old  # still the last good version
        f.write(text[cut:])
    await rig.until(lambda: rig.issues() == "" and rig.hash() != old, "the complete file")
    assert "complete new version" in str(rig.catalog.definition("a"))
    assert [h for n, h in rig.changes if n == "a"] == [rig.hash()]  # one swap, no removal


async def test_invalid_edit_keeps_last_good_and_stores_the_issue(rig: Rig) -> None:
    old = rig.hash()
    (rig.directory / "a.yaml").write_text("name: a\ntasks:\n  - id: x\n    type: no_such_type\n")
    await rig.until(lambda: rig.issues() != "", "the rejection")
    assert rig.hash() == old
    assert "a.yaml:4:5: tasks[0].type: unknown task type 'no_such_type'" in rig.issues()
    assert rig.changes == []  # listeners (schedules, triggers) saw no change
    await rig.watcher.recorder.flush()  # type: ignore[union-attr]
    [row] = await rig.store.list_template_status()
    assert (row.name, row.valid, row.active_hash) == ("a", False, old)
    assert row.issues[0].line == 4 and "no_such_type" in row.issues[0].message


async def test_delete_removes_and_tells_the_listeners(rig: Rig) -> None:
    (rig.directory / "a.yaml").unlink()
    await rig.until(lambda: rig.catalog.get("a") is None, "a to go")
    assert rig.changes == [("a", None)]
    await rig.watcher.recorder.flush()  # type: ignore[union-attr]
    assert await rig.store.list_template_status() == []


async def test_editor_backup_dance_never_removes_the_workflow(rig: Rig) -> None:
    path = rig.directory / "a.yaml"
    os.rename(path, rig.directory / "a.yaml~")  # vim with backupcopy=no
    path.write_text(valid("saved by vim"))
    (rig.directory / "a.yaml~").unlink()
    await rig.until(lambda: "saved by vim" in str(rig.catalog.definition("a")), "the saved version")
    assert all(h is not None for _, h in rig.changes)


async def test_editor_temp_files_are_ignored(rig: Rig) -> None:
    for name in (".#a.yaml", "a.yaml~", ".a.yaml.swp", "4913", "notes.txt", ".b.yaml"):
        (rig.directory / name).write_text("not: [valid")
    (rig.directory / "z.yaml").write_text(valid("zed", "z"))  # a barrier: events are in order
    await rig.until(lambda: rig.hash("z") != "", "z")
    assert sorted(e.name for e in rig.catalog.entries()) == ["a", "z"]


async def test_fifo_is_refused_without_blocking(rig: Rig) -> None:
    os.mkfifo(rig.directory / "pipe.yaml")
    await rig.until(lambda: rig.issues("pipe") != "", "the FIFO to be refused")
    assert "is not a regular file" in rig.issues("pipe")
    (rig.directory / "b.yaml").write_text(valid("after", "b"))
    await rig.until(lambda: rig.hash("b") != "", "b after the FIFO")


async def test_directory_replaced_by_rename(rig: Rig, tmp_path: Path) -> None:
    new = tmp_path / "templates.new"
    new.mkdir()
    (new / "b.yaml").write_text(valid("new dir", "b"))
    rig.directory.rename(tmp_path / "templates.old")
    new.rename(rig.directory)
    await rig.until(
        lambda: rig.hash("b") != "" and rig.catalog.get("a") is None, "the new directory"
    )
    (rig.directory / "c.yaml").write_text(valid("watched", "c"))  # the new directory is watched
    await rig.until(lambda: rig.hash("c") != "", "c in the new directory")
    (tmp_path / "templates.old" / "a.yaml").write_text(valid("stale"))  # the old one is not
    (rig.directory / "d.yaml").write_text(valid("barrier", "d"))
    await rig.until(lambda: rig.hash("d") != "", "d")
    assert rig.catalog.get("a") is None


async def test_symlinked_directory_swapped(tmp_path: Path) -> None:
    releases = [tmp_path / "r1", tmp_path / "r2"]
    for i, release in enumerate(releases):
        release.mkdir()
        (release / "a.yaml").write_text(valid(f"release {i + 1}"))
    (tmp_path / "templates").symlink_to(releases[0])
    rig = await make_rig(tmp_path, {})
    try:
        assert "release 1" in str(rig.catalog.definition("a"))
        (releases[0] / "b.yaml").write_text(valid("through the link", "b"))
        await rig.until(lambda: rig.hash("b") != "", "b through the symlink")
        (tmp_path / "templates.tmp").symlink_to(releases[1])
        os.replace(tmp_path / "templates.tmp", tmp_path / "templates")  # ln -sfn, atomically
        await rig.until(lambda: "release 2" in str(rig.catalog.definition("a")), "release 2")
        await rig.until(lambda: rig.catalog.get("b") is None, "b to go with release 1")
    finally:
        await rig.watcher.stop()
        await rig.store.close()


async def test_lost_events_are_caught_by_the_sweep(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, {"a.yaml": valid("one")}, sweep_interval=0.2)
    try:
        rig.watcher._handler.dispatch = lambda event: None  # type: ignore[method-assign]
        (rig.directory / "a.yaml").write_text(valid("unseen edit"))
        (rig.directory / "b.yaml").write_text(valid("unseen file", "b"))
        await rig.until(
            lambda: rig.hash("b") != "" and "unseen edit" in str(rig.catalog.definition("a")),
            "the sweep",
        )
    finally:
        await rig.watcher.stop()
        await rig.store.close()


async def test_event_flood_overflows_into_one_rescan(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="barbossad.watcher")
    rig = await make_rig(tmp_path, {}, max_pending=3)
    try:
        for i in range(30):  # written without yielding: the loop cannot drain in between
            (rig.directory / f"f{i}.yaml").write_text(valid(str(i), f"f{i}"))
        await rig.until(lambda: len(rig.catalog.entries()) == 30, "all 30 files")
        assert all(e.valid for e in rig.catalog.entries())
        assert any("templates rescanned" in r.getMessage() for r in caplog.records)
    finally:
        await rig.watcher.stop()
        await rig.store.close()


async def test_rescan_on_request(rig: Rig) -> None:
    (rig.directory / "b.yaml").write_text("name: b\ntasks: nope\n")
    summary = await rig.watcher.rescan()
    assert (summary.loaded, summary.invalid, summary.removed) == (1, 1, 0)
    assert rig.issues("b") != ""


async def test_restart_restores_the_last_good_version(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, {"a.yaml": valid("good")})
    good = rig.hash()
    (rig.directory / "a.yaml").write_text("name: a\ntasks: [}\n")
    await rig.until(lambda: rig.issues() != "", "the rejection")
    await rig.watcher.stop()
    await rig.store.close()

    again = await make_rig(tmp_path, {})  # a new process: the broken file is all that is on disk
    try:
        entry = again.catalog.get("a")
        assert entry is not None and not entry.valid
        assert again.hash() == good
        assert again.changes == [("a", good)]  # schedules and triggers get the restored version
    finally:
        await again.watcher.stop()
        await again.store.close()
