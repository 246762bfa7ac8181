"""Task output, daemon key/value state and the audit trail: methods of the SQLite store."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager

from barbossad.models import OutputStream
from barbossad.store.base import OutputChunk


class OutputTables:
    """Output, state and audit methods of the SQLite store (needs the store's `_db` and `_tx`)."""

    _db: sqlite3.Connection

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # ---- output --------------------------------------------------------------------------

    async def append_output(
        self, run_id: int, chunks: Sequence[tuple[str, int, OutputStream, str, bytes]]
    ) -> None:
        """Append (task_id, attempt, stream, part, data) chunks."""
        if not chunks:
            return
        with self._tx() as db:
            db.executemany(
                "INSERT INTO task_output(run_id, task_id, attempt, stream, part, data)"
                " VALUES (?,?,?,?,?,?)",
                [(run_id, t, a, s.value, p, d) for t, a, s, p, d in chunks],
            )

    async def drop_tail(self, run_id: int, task_id: str, attempt: int, keep_bytes: int) -> None:
        """Delete the oldest 'tail' chunks of a task until at most keep_bytes of tail remain."""
        rows = self._db.execute(
            "SELECT id, length(data) FROM task_output"
            " WHERE run_id=? AND task_id=? AND attempt=? AND part='tail' ORDER BY id DESC",
            (run_id, task_id, attempt),
        ).fetchall()
        kept = 0
        cut: int | None = None
        for row_id, size in rows:
            kept += int(size)
            if kept > keep_bytes:
                cut = int(row_id)
                break
        if cut is None:
            return
        with self._tx() as db:
            db.execute(
                "DELETE FROM task_output"
                " WHERE run_id=? AND task_id=? AND attempt=? AND part='tail' AND id<=?",
                (run_id, task_id, attempt, cut),
            )

    async def get_output(self, run_id: int, task_id: str | None = None) -> list[OutputChunk]:
        """Stored output of a run (or one task), in the order it was written."""
        sql = "SELECT task_id, attempt, stream, part, data FROM task_output WHERE run_id=?"
        args: list[object] = [run_id]
        if task_id:
            sql += " AND task_id=?"
            args.append(task_id)
        rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            OutputChunk(
                task_id=r[0], attempt=r[1], stream=OutputStream(r[2]), part=r[3], data=bytes(r[4])
            )
            for r in rows
        ]

    # ---- state and audit -----------------------------------------------------------------

    async def get_state(self, key: str) -> str | None:
        """A daemon state value (e.g. whether the scheduler is stopped)."""
        row = self._db.execute("SELECT value FROM daemon_state WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    async def set_state(self, key: str, value: str) -> None:
        """Persist a daemon state value."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO daemon_state(key, value) VALUES (?,?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    async def audit(
        self, *, actor: str, action: str, target: str, outcome: str, details: Mapping[str, str]
    ) -> None:
        """Append an audit record."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit_log(time, actor, action, target, outcome, details)"
                " VALUES (?,?,?,?,?,?)",
                (
                    time.time(),
                    actor,
                    action,
                    target,
                    outcome,
                    json.dumps(dict(details), sort_keys=True),
                ),
            )
