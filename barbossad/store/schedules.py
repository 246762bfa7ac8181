"""Schedule persistence: the `ScheduleStore` interface and its SQLite implementation (a mixin).

Two tables (schema.py): `schedules`, one row per schedule with its counters and the outcome of
its newest slot, and `schedule_fires`, one row per decided slot, UNIQUE on (schedule, slot).
`record_fire` inserts that row before a run starts and answers False when it already exists,
which is how a slot gets at most one automatic run across restarts and crashes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from barbossad.models import RunState
from barbossad.scheduler.model import (
    FireOutcome,
    FireRecord,
    ScheduleOrigin,
    ScheduleRecord,
    ScheduleSpec,
    TemplateSchedule,
    TemplateSync,
)
from barbossad.store.schedule_rows import (
    INSERT,
    NOTE,
    UPDATE_SPEC,
    dt,
    fire_of,
    record_of,
    spec_of,
    spec_values,
    ts,
)

_IN_FLIGHT = (RunState.PENDING.value, RunState.RUNNING.value)


class ScheduleStore(Protocol):
    """Persistence for schedules and the decisions about their slots."""

    async def add_schedule(
        self, spec: ScheduleSpec, *, origin: ScheduleOrigin, at: datetime, paused: bool = False
    ) -> ScheduleRecord: ...
    async def get_schedule(self, schedule_id: int) -> ScheduleRecord | None: ...
    async def list_schedules(self, workflow: str = "") -> list[ScheduleRecord]: ...
    async def delete_schedule(self, schedule_id: int) -> bool: ...
    async def update_schedule(
        self, schedule_id: int, *, paused: bool, at: datetime
    ) -> ScheduleRecord | None: ...
    async def upsert_template_schedules(
        self, workflow: str, entries: Sequence[TemplateSchedule], at: datetime
    ) -> TemplateSync: ...
    async def remove_template_schedules(self, keep: Collection[str]) -> tuple[int, ...]: ...
    async def count_schedules(self) -> tuple[int, int]: ...

    async def record_fire(
        self,
        schedule_id: int,
        slot: datetime,
        outcome: FireOutcome,
        reason: str = "",
        run_id: int | None = None,
    ) -> bool: ...
    async def update_fire(
        self,
        schedule_id: int,
        slot: datetime,
        outcome: FireOutcome,
        reason: str = "",
        run_id: int | None = None,
    ) -> None: ...
    async def record_missed(
        self, schedule_id: int, slot: datetime, count: int, reason: str
    ) -> bool: ...
    async def last_slot(self, schedule_id: int) -> datetime | None: ...
    async def list_fires(self, schedule_id: int, limit: int = 100) -> list[FireRecord]: ...
    async def record_outcome(self, schedule_id: int, run_id: int, state: RunState) -> None: ...
    async def settle_after_restart(self, reason: str) -> int: ...
    async def prune_fires(self, before: datetime) -> int: ...


class SQLiteScheduleMixin:
    """`ScheduleStore` on SQLite; mixed into SQLiteStore, which provides `_db` and `_tx()`."""

    if TYPE_CHECKING:
        _db: sqlite3.Connection

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # ---- schedules -----------------------------------------------------------------------

    async def add_schedule(
        self, spec: ScheduleSpec, *, origin: ScheduleOrigin, at: datetime, paused: bool = False
    ) -> ScheduleRecord:
        """Store a new schedule; slots after `at` become due."""
        with self._tx() as db:
            values = {**spec_values(spec), "paused": int(paused), "origin": origin.value}
            cur = db.execute(INSERT, {**values, "origin_key": "", "at": ts(at)})
            row = db.execute("SELECT * FROM schedules WHERE id=?", (cur.lastrowid,)).fetchone()
        return record_of(row)

    async def get_schedule(self, schedule_id: int) -> ScheduleRecord | None:
        """A schedule by id."""
        row = self._db.execute("SELECT * FROM schedules WHERE id=?", (schedule_id,)).fetchone()
        return record_of(row) if row else None

    async def list_schedules(self, workflow: str = "") -> list[ScheduleRecord]:
        """All schedules (of one workflow, if given), by id."""
        if workflow:
            rows = self._db.execute(
                "SELECT * FROM schedules WHERE workflow=? ORDER BY id", (workflow,)
            ).fetchall()
        else:
            rows = self._db.execute("SELECT * FROM schedules ORDER BY id").fetchall()
        return [record_of(r) for r in rows]

    async def delete_schedule(self, schedule_id: int) -> bool:
        """Delete a schedule and its slot rows; False when there was none."""
        with self._tx() as db:
            return db.execute("DELETE FROM schedules WHERE id=?", (schedule_id,)).rowcount > 0

    async def update_schedule(
        self, schedule_id: int, *, paused: bool, at: datetime
    ) -> ScheduleRecord | None:
        """Pause or resume; resuming makes only slots after `at` due (none are caught up)."""
        with self._tx() as db:
            db.execute(
                "UPDATE schedules SET active_since=CASE WHEN paused AND NOT :paused THEN :at"
                " ELSE active_since END, paused=:paused WHERE id=:id",
                {"paused": int(paused), "at": ts(at), "id": schedule_id},
            )
            row = db.execute("SELECT * FROM schedules WHERE id=?", (schedule_id,)).fetchone()
        return record_of(row) if row else None

    async def upsert_template_schedules(
        self, workflow: str, entries: Sequence[TemplateSchedule], at: datetime
    ) -> TemplateSync:
        """Make a template's stored schedules match `entries`, matched by origin key.

        A changed expression, zone or policy keeps the schedule's id and history, but only
        slots after `at` become due, as for a new schedule.
        """
        added: list[int] = []
        changed: list[int] = []
        with self._tx() as db:
            rows = {
                r["origin_key"]: r
                for r in db.execute(
                    "SELECT * FROM schedules WHERE origin=? AND workflow=?",
                    (ScheduleOrigin.TEMPLATE.value, workflow),
                )
            }
            keys = {e.origin_key for e in entries}
            removed = [int(r["id"]) for key, r in rows.items() if key not in keys]
            db.executemany("DELETE FROM schedules WHERE id=?", [(i,) for i in removed])
            for entry in entries:
                values = {**spec_values(entry.spec), "paused": int(entry.paused), "at": ts(at)}
                row = rows.get(entry.origin_key)
                if row is None:
                    origin = {
                        "origin": ScheduleOrigin.TEMPLATE.value,
                        "origin_key": entry.origin_key,
                    }
                    added.append(int(db.execute(INSERT, {**values, **origin}).lastrowid or 0))
                    continue
                spec_changed = spec_of(row) != entry.spec
                resumed = bool(row["paused"]) and not entry.paused
                if spec_changed or bool(row["paused"]) != entry.paused:
                    reset = {"reset": spec_changed or resumed, "id": row["id"]}
                    db.execute(UPDATE_SPEC, {**values, **reset})
                    changed.append(int(row["id"]))
        return TemplateSync(added=tuple(added), changed=tuple(changed), removed=tuple(removed))

    async def remove_template_schedules(self, keep: Collection[str]) -> tuple[int, ...]:
        """Delete the schedules of templates not in `keep` (templates that no longer exist)."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, workflow FROM schedules WHERE origin=?",
                (ScheduleOrigin.TEMPLATE.value,),
            ).fetchall()
            gone = [int(r["id"]) for r in rows if r["workflow"] not in keep]
            db.executemany("DELETE FROM schedules WHERE id=?", [(i,) for i in gone])
        return tuple(gone)

    async def count_schedules(self) -> tuple[int, int]:
        """How many schedules there are, and how many of them are paused."""
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(paused), 0) FROM schedules"
        ).fetchone()
        return int(row[0]), int(row[1])

    # ---- slots ---------------------------------------------------------------------------

    @staticmethod
    def _note(
        db: sqlite3.Connection,
        schedule_id: int,
        slot: datetime,
        outcome: FireOutcome,
        reason: str,
        run_id: int | None = None,
        *,
        skipped: int = 0,
        missed: int = 0,
    ) -> None:
        db.execute(
            NOTE,
            {
                "id": schedule_id,
                "slot": ts(slot),
                "outcome": outcome.value,
                "reason": reason,
                "run_id": run_id,
                "skipped": skipped,
                "missed": missed,
            },
        )

    async def record_fire(
        self,
        schedule_id: int,
        slot: datetime,
        outcome: FireOutcome,
        reason: str = "",
        run_id: int | None = None,
    ) -> bool:
        """Insert the row of a slot; False (and no change) when the slot already has one."""
        with self._tx() as db:
            inserted = db.execute(
                "INSERT INTO schedule_fires(schedule_id, scheduled_time, recorded_at, outcome,"
                " reason, run_id) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT(schedule_id, scheduled_time) DO NOTHING",
                (schedule_id, ts(slot), time.time(), outcome.value, reason, run_id),
            ).rowcount
            if inserted:
                skipped = int(outcome is FireOutcome.SKIPPED)
                missed = int(outcome is FireOutcome.MISSED)
                self._note(
                    db, schedule_id, slot, outcome, reason, run_id, skipped=skipped, missed=missed
                )
        return inserted > 0

    async def update_fire(
        self,
        schedule_id: int,
        slot: datetime,
        outcome: FireOutcome,
        reason: str = "",
        run_id: int | None = None,
    ) -> None:
        """Move a slot's row on (queued -> started, started -> failed, ...), counting skips."""
        with self._tx() as db:
            self._set_outcome(db, schedule_id, ts(slot), outcome, reason, run_id)

    def _set_outcome(
        self,
        db: sqlite3.Connection,
        schedule_id: int,
        slot: float,
        outcome: FireOutcome,
        reason: str,
        run_id: int | None,
    ) -> None:
        row = db.execute(
            "SELECT outcome, slots FROM schedule_fires WHERE schedule_id=? AND scheduled_time=?",
            (schedule_id, slot),
        ).fetchone()
        if row is None:
            return
        db.execute(
            "UPDATE schedule_fires SET outcome=?, reason=?, run_id=COALESCE(?, run_id)"
            " WHERE schedule_id=? AND scheduled_time=?",
            (outcome.value, reason, run_id, schedule_id, slot),
        )
        fresh = row["outcome"] != outcome.value
        skipped = int(fresh and outcome is FireOutcome.SKIPPED)
        missed = int(row["slots"]) if fresh and outcome is FireOutcome.MISSED else 0
        when = datetime.fromtimestamp(slot, UTC)
        self._note(db, schedule_id, when, outcome, reason, run_id, skipped=skipped, missed=missed)

    async def record_missed(
        self, schedule_id: int, slot: datetime, count: int, reason: str
    ) -> bool:
        """One MISSED row at `slot` standing for `count` missed slots ending there."""
        with self._tx() as db:
            inserted = db.execute(
                "INSERT INTO schedule_fires(schedule_id, scheduled_time, recorded_at, outcome,"
                " reason, slots) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT(schedule_id, scheduled_time) DO NOTHING",
                (schedule_id, ts(slot), time.time(), FireOutcome.MISSED.value, reason, count),
            ).rowcount
            if inserted:
                self._note(db, schedule_id, slot, FireOutcome.MISSED, reason, missed=count)
        return inserted > 0

    async def last_slot(self, schedule_id: int) -> datetime | None:
        """The newest slot recorded for a schedule."""
        row = self._db.execute(
            "SELECT MAX(scheduled_time) FROM schedule_fires WHERE schedule_id=?", (schedule_id,)
        ).fetchone()
        return dt(row[0])

    async def list_fires(self, schedule_id: int, limit: int = 100) -> list[FireRecord]:
        """The newest slot rows of a schedule, newest first."""
        rows = self._db.execute(
            "SELECT * FROM schedule_fires WHERE schedule_id=? ORDER BY scheduled_time DESC LIMIT ?",
            (schedule_id, limit),
        ).fetchall()
        return [fire_of(r) for r in rows]

    async def record_outcome(self, schedule_id: int, run_id: int, state: RunState) -> None:
        """The state a run ended in, if it is still the schedule's newest run."""
        with self._tx() as db:
            db.execute(
                "UPDATE schedules SET last_outcome=? WHERE id=? AND last_run_id=?",
                (state.value, schedule_id, run_id),
            )

    async def settle_after_restart(self, reason: str) -> int:
        """After a restart: slots left queued become missed, slots whose run was being started
        failed; outcomes of runs that ended unseen are read from the runs table.

        Returns how many slots were settled.
        """
        with self._tx() as db:
            # The WHERE clause is the partial index's, spelled the same so SQLite uses it.
            rows = db.execute(
                "SELECT schedule_id, scheduled_time, outcome FROM schedule_fires"
                " WHERE outcome = 'queued' OR (outcome = 'started' AND run_id IS NULL)"
            ).fetchall()
            for row in rows:
                queued = row["outcome"] == FireOutcome.QUEUED.value
                outcome = FireOutcome.MISSED if queued else FireOutcome.FAILED
                why = reason if queued else f"{reason} while its run was being started"
                self._set_outcome(db, row[0], row[1], outcome, why, None)
            db.execute(
                "UPDATE schedules SET last_outcome=COALESCE((SELECT state FROM runs"
                " WHERE runs.id=schedules.last_run_id), '')"
                f" WHERE last_outcome IN ({','.join('?' * len(_IN_FLIGHT))})",
                _IN_FLIGHT,
            )
        return len(rows)

    async def prune_fires(self, before: datetime) -> int:
        """Forget slot rows recorded before `before`, except each schedule's newest and queued."""
        with self._tx() as db:
            return db.execute(
                "DELETE FROM schedule_fires WHERE recorded_at < ? AND outcome != ?"
                " AND scheduled_time < (SELECT last_slot FROM schedules s"
                " WHERE s.id = schedule_fires.schedule_id)",
                (ts(before), FireOutcome.QUEUED.value),
            ).rowcount
