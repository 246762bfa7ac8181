"""Schema migrations: an older database is brought forward on open, keeping its data; a newer
one is refused with a clear error instead of being written to."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from barbossad.errors import StoreError
from barbossad.models import TriggerType
from barbossad.store.base import NewTask
from barbossad.store.schema import MIGRATIONS, SCHEMA_VERSION
from barbossad.store.sqlite import SQLiteStore


def database_at_version_1(path: Path) -> None:
    """A database as the first release created it, with one run in it."""
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version=1")
        db.execute(
            "INSERT INTO runs(workflow, state, trigger, triggered_by, parameters, created_at,"
            " definition_hash) VALUES ('w', 'succeeded', 'manual', 'me', '{}', 0, 'h')"
        )
        db.execute(
            "INSERT INTO task_runs(run_id, position, task_id, name, type, state)"
            " VALUES (1, 0, 't0', 't0', 'shell_command', 'succeeded')"
        )
    db.close()


def indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type='index'").fetchall()
    db.close()
    return {r[0] for r in rows}


async def test_a_version_1_database_is_migrated_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    database_at_version_1(path)
    assert "task_runs_state" in indexes(path)
    store = SQLiteStore.open(path)
    try:
        run = await store.get_run(1)
        assert run is not None
        assert [(t.task_id, t.state.value) for t in run.tasks] == [("t0", "succeeded")]
        new = await store.create_run(
            workflow="w",
            trigger=TriggerType.MANUAL,
            triggered_by="me",
            parameters={},
            definition_hash="h",
            tasks=[NewTask(task_id="a", name="a", type="shell_command")],
        )
        assert new.id == 2
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    assert "task_runs_state" not in indexes(path)


def test_a_database_from_a_newer_barbossad_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match=r"schema version \d+, newer than this barbossad"):
        SQLiteStore.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    db.close()
