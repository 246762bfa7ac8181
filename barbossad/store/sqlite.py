"""SQLite backend of the Store: runs, task runs and workflows (the tables mixed in from
sibling modules cover the rest; the connection and group commit live in sqlite_conn)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from barbossad.models import (
    RunRecord,
    RunState,
    TaskRunRecord,
    TaskState,
    TriggerType,
)
from barbossad.store.base import NewTask, RunFilter, StoredWorkflow, TaskUpdate
from barbossad.store.output_tables import OutputTables
from barbossad.store.schedules import SQLiteScheduleMixin
from barbossad.store.sqlite_conn import SQLiteConnection
from barbossad.store.sqlite_conn import from_stored as _dt
from barbossad.store.sqlite_conn import to_stored as _ts
from barbossad.store.template_status import TemplateStatusTable
from barbossad.store.webhooks import WebhookDeliveryTable

log = logging.getLogger(__name__)

_INFLIGHT_RUN = (RunState.PENDING.value, RunState.RUNNING.value)
_INFLIGHT_TASK = (TaskState.PENDING.value, TaskState.RUNNING.value, TaskState.RETRYING.value)


def _now() -> datetime:
    return datetime.now(UTC)


class SQLiteStore(
    SQLiteConnection, OutputTables, TemplateStatusTable, WebhookDeliveryTable, SQLiteScheduleMixin
):
    """The embedded default store; implements `barbossad.store.base.Store`."""

    @classmethod
    def open(cls, path: Path) -> SQLiteStore:
        """Open (creating and migrating) the database at path."""
        return cls(path)

    # ---- definitions and workflows -------------------------------------------------------

    async def put_definition(self, definition_hash: str, name: str, body: str) -> None:
        """Store a definition by content hash (idempotent)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO definitions(hash, name, body, created_at) VALUES (?,?,?,?)",
                (definition_hash, name, body, time.time()),
            )

    async def get_definition(self, definition_hash: str) -> str | None:
        """The canonical JSON body of a stored definition."""
        row = self._db.execute(
            "SELECT body FROM definitions WHERE hash=?", (definition_hash,)
        ).fetchone()
        return str(row[0]) if row else None

    async def save_workflow(self, wf: StoredWorkflow) -> None:
        """Insert or replace an API-created workflow (its definition must be stored first)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO workflows(name, source, template_name, definition_hash,"
                " variable_values,"
                " created_at, updated_at) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT(name) DO UPDATE SET template_name=excluded.template_name,"
                " definition_hash=excluded.definition_hash,"
                " variable_values=excluded.variable_values,"
                " updated_at=excluded.updated_at",
                (
                    wf.name,
                    "api",
                    wf.template_name,
                    wf.definition_hash,
                    json.dumps(dict(wf.variable_values), sort_keys=True),
                    _ts(wf.created_at),
                    _ts(wf.updated_at),
                ),
            )

    def _workflow(self, row: sqlite3.Row) -> StoredWorkflow:
        return StoredWorkflow(
            name=row["name"],
            template_name=row["template_name"],
            definition_hash=row["definition_hash"],
            body=row["body"],
            variable_values=json.loads(row["variable_values"]),
            created_at=_dt(row["created_at"]) or _now(),
            updated_at=_dt(row["updated_at"]) or _now(),
        )

    async def get_workflow(self, name: str) -> StoredWorkflow | None:
        """An API-created workflow by name."""
        row = self._db.execute(
            _WORKFLOWS + " WHERE w.name=?",
            (name,),
        ).fetchone()
        return self._workflow(row) if row else None

    async def list_workflows(self) -> list[StoredWorkflow]:
        """All API-created workflows, by name."""
        rows = self._db.execute(_WORKFLOWS + " ORDER BY w.name").fetchall()
        return [self._workflow(r) for r in rows]

    async def delete_workflow(self, name: str) -> bool:
        """Delete an API-created workflow; False when there was none."""
        with self._tx() as db:
            return db.execute("DELETE FROM workflows WHERE name=?", (name,)).rowcount > 0

    # ---- runs ----------------------------------------------------------------------------

    async def create_run(
        self,
        *,
        workflow: str,
        trigger: TriggerType,
        triggered_by: str,
        parameters: Mapping[str, str],
        definition_hash: str,
        tasks: Sequence[NewTask],
        retry_of: int | None = None,
    ) -> RunRecord:
        """Create a pending run with its pending task rows, in one transaction."""
        created = _now()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO runs(workflow, state, trigger, triggered_by, parameters,"
                " definition_hash,"
                " created_at, retry_of) VALUES (?,?,?,?,?,?,?,?)",
                (
                    workflow,
                    RunState.PENDING.value,
                    trigger.value,
                    triggered_by,
                    json.dumps(dict(parameters), sort_keys=True),
                    definition_hash,
                    _ts(created),
                    retry_of,
                ),
            )
            run_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO task_runs(run_id, position, task_id, name, type, state)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (run_id, i, t.task_id, t.name, t.type, TaskState.PENDING.value)
                    for i, t in enumerate(tasks)
                ],
            )
        return RunRecord(
            id=run_id,
            workflow=workflow,
            state=RunState.PENDING,
            trigger=trigger,
            parameters=dict(parameters),
            created_at=created,
            definition_hash=definition_hash,
            triggered_by=triggered_by,
            retry_of=retry_of,
            tasks=[
                TaskRunRecord(run_id=run_id, task_id=t.task_id, name=t.name, type=t.type)
                for t in tasks
            ],
        )

    async def set_run_state(
        self, run_id: int, state: RunState, *, error: str = "", at: datetime | None = None
    ) -> None:
        """Move a run to a state, stamping start/finish times."""
        stamp = _ts(at or _now())
        with self._tx() as db:
            if state is RunState.RUNNING:
                db.execute(
                    "UPDATE runs SET state=?, started_at=COALESCE(started_at, ?) WHERE id=?",
                    (state.value, stamp, run_id),
                )
            elif state.finished:
                db.execute(
                    "UPDATE runs SET state=?, finished_at=?, error=? WHERE id=?",
                    (state.value, stamp, error, run_id),
                )
            else:
                db.execute("UPDATE runs SET state=? WHERE id=?", (state.value, run_id))

    async def update_task(
        self,
        run_id: int,
        task_id: str,
        update: TaskUpdate,
        *,
        attempt: TaskRunRecord | None = None,
    ) -> None:
        """Change the given fields of a task row; with attempt, also record that attempt row.

        Both in one transaction: the engine records an attempt's start and end this way.
        """
        write = _task_write(run_id, task_id, update, attempt)
        if write is not None:
            await self._grouped(write)

    def queue_task_update(
        self,
        run_id: int,
        task_id: str,
        update: TaskUpdate,
        *,
        attempt: TaskRunRecord | None = None,
    ) -> asyncio.Future[None]:
        """update_task without waiting: committed with this loop turn's writes, in call order.

        The future resolves once the change is committed, or carries the error.
        """
        write = _task_write(run_id, task_id, update, attempt)
        if write is None:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return self._queue(write)

    async def record_attempt(self, run_id: int, task: TaskRunRecord) -> None:
        """Insert or update the row of one attempt of a task."""
        with self._tx() as db:
            db.execute(_UPSERT_ATTEMPT, _attempt_row(run_id, task))

    def _run(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            workflow=row["workflow"],
            state=RunState(row["state"]),
            trigger=TriggerType(row["trigger"]),
            parameters=json.loads(row["parameters"]),
            created_at=_dt(row["created_at"]) or _now(),
            definition_hash=row["definition_hash"],
            triggered_by=row["triggered_by"],
            started_at=_dt(row["started_at"]),
            finished_at=_dt(row["finished_at"]),
            error=row["error"],
            retry_of=row["retry_of"],
        )

    @staticmethod
    def _task(row: sqlite3.Row) -> TaskRunRecord:
        return TaskRunRecord(
            run_id=row["run_id"],
            task_id=row["task_id"],
            name=row["name"],
            type=row["type"],
            state=TaskState(row["state"]),
            attempt=row["attempt"],
            exit_code=row["exit_code"],
            started_at=_dt(row["started_at"]),
            finished_at=_dt(row["finished_at"]),
            error=row["error"],
            outputs=json.loads(row["outputs"]),
            output_truncated=bool(row["output_truncated"]),
            reused=bool(row["reused"]),
        )

    async def get_run(self, run_id: int) -> RunRecord | None:
        """A run with its tasks, or None."""
        row = self._db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            return None
        run = self._run(row)
        rows = self._db.execute(
            "SELECT * FROM task_runs WHERE run_id=? ORDER BY position", (run_id,)
        ).fetchall()
        run.tasks = [self._task(r) for r in rows]
        return run

    async def list_runs(
        self, flt: RunFilter, *, limit: int, before_id: int | None
    ) -> tuple[list[RunRecord], int]:
        """Runs matching the filter, newest first, and how many match in total."""
        where: list[str] = []
        args: list[object] = []
        if flt.workflow:
            where.append("workflow=?")
            args.append(flt.workflow)
        if flt.states:
            where.append(f"state IN ({','.join('?' * len(flt.states))})")
            args.extend(s.value for s in flt.states)
        if flt.trigger is not None:
            where.append("trigger=?")
            args.append(flt.trigger.value)
        if flt.created_after is not None:
            where.append("created_at>=?")
            args.append(_ts(flt.created_after))
        if flt.created_before is not None:
            where.append("created_at<?")
            args.append(_ts(flt.created_before))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = int(self._db.execute(f"SELECT COUNT(*) FROM runs{clause}", args).fetchone()[0])
        page_clause = (
            clause + (" AND " if where else " WHERE ") + "id<?" if before_id is not None else clause
        )
        page_args = [*args, before_id] if before_id is not None else args
        rows = self._db.execute(
            f"SELECT * FROM runs{page_clause} ORDER BY id DESC LIMIT ?", (*page_args, limit)
        ).fetchall()
        return [self._run(r) for r in rows], total

    async def count_runs(self) -> int:
        """Total number of runs ever recorded."""
        return int(self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    async def interrupt_inflight(self, reason: str) -> list[int]:
        """Mark every run and task still pending/running as interrupted (crash recovery)."""
        stamp = time.time()
        with self._tx() as db:
            ids = [
                int(r[0])
                for r in db.execute(
                    f"SELECT id FROM runs WHERE state IN ({','.join('?' * len(_INFLIGHT_RUN))})",
                    _INFLIGHT_RUN,
                )
            ]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            db.execute(
                f"UPDATE runs SET state=?, finished_at=?, error=? WHERE id IN ({marks})",
                (RunState.INTERRUPTED.value, stamp, reason, *ids),
            )
            db.execute(
                f"UPDATE task_runs SET state=?, finished_at=COALESCE(finished_at, ?),"
                f" error=CASE WHEN error='' THEN ? ELSE error END"
                f" WHERE run_id IN ({marks}) AND state IN ({','.join('?' * len(_INFLIGHT_TASK))})",
                (TaskState.INTERRUPTED.value, stamp, reason, *ids, *_INFLIGHT_TASK),
            )
            db.execute(
                f"UPDATE task_attempts SET state=?, finished_at=COALESCE(finished_at, ?)"
                f" WHERE run_id IN ({marks}) AND state IN ({','.join('?' * len(_INFLIGHT_TASK))})",
                (TaskState.INTERRUPTED.value, stamp, *ids, *_INFLIGHT_TASK),
            )
        return ids


_WORKFLOWS = "SELECT w.*, d.body FROM workflows w JOIN definitions d ON d.hash = w.definition_hash"

_UPSERT_ATTEMPT = (
    "INSERT INTO task_attempts"
    "(run_id, task_id, attempt, state, exit_code, started_at, finished_at, error)"
    " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET"
    " state=excluded.state, exit_code=excluded.exit_code, finished_at=excluded.finished_at,"
    " error=excluded.error"
)


def _attempt_row(run_id: int, task: TaskRunRecord) -> tuple[object, ...]:
    return (
        run_id,
        task.task_id,
        task.attempt,
        task.state.value,
        task.exit_code,
        _ts(task.started_at),
        _ts(task.finished_at),
        task.error,
    )


def _task_write(
    run_id: int, task_id: str, update: TaskUpdate, attempt: TaskRunRecord | None
) -> Callable[[sqlite3.Connection], None] | None:
    """The statements of one task update, values read now; None when it changes nothing."""
    sets, values = _task_columns(update)
    if not sets and attempt is None:
        return None
    attempt_row = None if attempt is None else _attempt_row(run_id, attempt)
    statement = _UPDATE_TASK.get(tuple(sets))
    if statement is None:
        statement = _UPDATE_TASK[tuple(sets)] = (
            f"UPDATE task_runs SET {', '.join(sets)} WHERE run_id=? AND task_id=?"
        )
    values += (run_id, task_id)

    def write(db: sqlite3.Connection) -> None:
        if sets:
            db.execute(statement, values)
        if attempt_row is not None:
            db.execute(_UPSERT_ATTEMPT, attempt_row)

    return write


# The UPDATE statement for each combination of changed columns (a handful occur).
_UPDATE_TASK: dict[tuple[str, ...], str] = {}


def _task_columns(update: TaskUpdate) -> tuple[list[str], list[object]]:
    """The `column=?` assignments of a task update and their values."""
    sets: list[str] = []
    values: list[object] = []
    if update.state is not None:
        sets.append("state=?")
        values.append(update.state.value)
    for name in ("attempt", "exit_code", "error", "output_truncated", "reused"):
        value = getattr(update, name)
        if value is not None:
            sets.append(f"{name}=?")
            values.append(value)
    if update.started_at is not None:
        sets.append("started_at=?")
        values.append(update.started_at.timestamp())
    if update.finished_at is not None:
        sets.append("finished_at=?")
        values.append(update.finished_at.timestamp())
    if update.outputs is not None:
        sets.append("outputs=?")
        values.append(json.dumps(dict(update.outputs), sort_keys=True) if update.outputs else "{}")
    if update.exit_code is None and update.state is TaskState.RUNNING:
        sets.append("exit_code=NULL")
    return sets, values
