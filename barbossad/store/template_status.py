"""SQLite persistence of template status (the `template_status` table), mixed into SQLiteStore.

Kept in its own module so the store's main file does not grow with every feature; the SQL stays
inside the store package. One row per template: where its file is, whether that file is valid,
the file's issues as JSON, and the hash of the version in use (its body lives in `definitions`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from barbossad.errors import Issue
from barbossad.store.base import StoredDefinition, TemplateStatus


def issues_json(issues: Sequence[Issue]) -> str:
    """Issues as the JSON list stored in `template_status.issues`."""
    return json.dumps(
        [
            {
                "file": i.file,
                "line": i.line,
                "column": i.column,
                "field": i.field,
                "message": i.message,
                "suggestion": i.suggestion,
            }
            for i in issues
        ],
        sort_keys=True,
    )


def issues_from_json(text: str) -> tuple[Issue, ...]:
    """The stored JSON list back to issues (unknown keys ignored, bad rows skipped)."""
    try:
        raw: Any = json.loads(text)
    except ValueError:
        return ()
    out: list[Issue] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            out.append(
                Issue(
                    file=str(item.get("file", "")),
                    line=int(item.get("line", 0) or 0),
                    column=int(item.get("column", 0) or 0),
                    field=str(item.get("field", "")),
                    message=str(item.get("message", "")),
                    suggestion=str(item.get("suggestion", "")),
                )
            )
    return tuple(out)


class TemplateStatusTable:
    """The template status methods of SQLiteStore (see `barbossad.store.base.Store`)."""

    _db: sqlite3.Connection

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    async def list_template_status(self) -> list[TemplateStatus]:
        """Every stored template status, by name."""
        rows = self._db.execute(
            "SELECT name, path, valid, issues, active_hash, updated_at"
            " FROM template_status ORDER BY name"
        ).fetchall()
        return [
            TemplateStatus(
                name=str(r[0]),
                path=str(r[1]),
                valid=bool(r[2]),
                issues=issues_from_json(str(r[3])),
                active_hash=str(r[4]),
                updated_at=datetime.fromtimestamp(float(r[5]), UTC),
            )
            for r in rows
        ]

    async def save_template_status(
        self, statuses: Sequence[TemplateStatus], definitions: Sequence[StoredDefinition]
    ) -> None:
        """Upsert statuses and keep the bodies of the versions they use, in one transaction."""
        if not statuses and not definitions:
            return
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO definitions(hash, name, body, created_at) VALUES (?,?,?,?)",
                [(d.hash, d.name, d.body, now) for d in definitions],
            )
            db.executemany(
                "INSERT INTO template_status(name, path, valid, issues, active_hash, updated_at)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET path=excluded.path,"
                " valid=excluded.valid, issues=excluded.issues, active_hash=excluded.active_hash,"
                " updated_at=excluded.updated_at",
                [
                    (
                        s.name,
                        s.path,
                        int(s.valid),
                        issues_json(s.issues),
                        s.active_hash,
                        s.updated_at.timestamp(),
                    )
                    for s in statuses
                ],
            )

    async def delete_template_status(self, names: Sequence[str]) -> None:
        """Forget the status of templates that are gone."""
        if not names:
            return
        with self._tx() as db:
            db.executemany("DELETE FROM template_status WHERE name=?", [(n,) for n in names])
