"""Schedule rows <-> models, and the SQL text the SQLite schedule store shares."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from barbossad.models import RunState
from barbossad.scheduler.model import (
    FireOutcome,
    FireRecord,
    MisfirePolicy,
    OverlapPolicy,
    ScheduleOrigin,
    ScheduleRecord,
    ScheduleSpec,
)
from barbossad.store.sqlite_conn import from_stored


def ts(value: datetime) -> float:
    """Seconds since the epoch, as stored."""
    return value.timestamp()


dt = from_stored  # a stored time as an aware UTC datetime


def spec_of(row: sqlite3.Row) -> ScheduleSpec:
    """The declarative part of a `schedules` row."""
    return ScheduleSpec(
        workflow=row["workflow"],
        expression=row["expression"],
        timezone=row["timezone"],
        misfire=MisfirePolicy(row["misfire"]),
        overlap=OverlapPolicy(row["overlap"]),
        catch_up_limit=row["catch_up_limit"],
        catch_up_window=row["catch_up_window"],
        parameters=json.loads(row["parameters"]),
    )


def record_of(row: sqlite3.Row) -> ScheduleRecord:
    """A `schedules` row as a ScheduleRecord."""
    outcome = row["last_slot_outcome"]
    state = row["last_outcome"]
    return ScheduleRecord(
        id=row["id"],
        spec=spec_of(row),
        origin=ScheduleOrigin(row["origin"]),
        origin_key=row["origin_key"],
        paused=bool(row["paused"]),
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
        active_since=datetime.fromtimestamp(row["active_since"], UTC),
        last_slot=dt(row["last_slot"]),
        last_slot_outcome=FireOutcome(outcome) if outcome else None,
        last_slot_reason=row["last_slot_reason"],
        last_fire_time=dt(row["last_fire_time"]),
        last_run_id=row["last_run_id"],
        last_outcome=RunState(state) if state else None,
        missed_count=row["missed_count"],
        skipped_count=row["skipped_count"],
    )


def spec_values(spec: ScheduleSpec) -> dict[str, Any]:
    """A spec as named SQL parameters."""
    return {
        "workflow": spec.workflow,
        "expression": spec.expression,
        "timezone": spec.timezone,
        "misfire": spec.misfire.value,
        "overlap": spec.overlap.value,
        "catch_up_limit": spec.catch_up_limit,
        "catch_up_window": spec.catch_up_window,
        "parameters": json.dumps(dict(spec.parameters), sort_keys=True),
    }


INSERT = (
    "INSERT INTO schedules(workflow, expression, timezone, misfire, overlap, catch_up_limit,"
    " catch_up_window, parameters, paused, origin, origin_key, created_at, active_since)"
    " VALUES (:workflow, :expression, :timezone, :misfire, :overlap, :catch_up_limit,"
    " :catch_up_window, :parameters, :paused, :origin, :origin_key, :at, :at)"
)
UPDATE_SPEC = (
    "UPDATE schedules SET workflow=:workflow, expression=:expression, timezone=:timezone,"
    " misfire=:misfire, overlap=:overlap, catch_up_limit=:catch_up_limit,"
    " catch_up_window=:catch_up_window, parameters=:parameters, paused=:paused,"
    " active_since=CASE WHEN :reset THEN :at ELSE active_since END WHERE id=:id"
)
# Bookkeeping on the schedule row after a slot's row changed. SET expressions read the old row.
_NEWEST = "(last_slot IS NULL OR :slot >= last_slot)"
_NEWEST_RUN = "(:run_id IS NOT NULL AND (last_fire_time IS NULL OR :slot >= last_fire_time))"
NOTE = (
    f"UPDATE schedules SET"
    f" last_slot_outcome=CASE WHEN {_NEWEST} THEN :outcome ELSE last_slot_outcome END,"
    f" last_slot_reason=CASE WHEN {_NEWEST} THEN :reason ELSE last_slot_reason END,"
    f" last_slot=CASE WHEN {_NEWEST} THEN :slot ELSE last_slot END,"
    f" last_fire_time=CASE WHEN {_NEWEST_RUN} THEN :slot ELSE last_fire_time END,"
    f" last_run_id=CASE WHEN {_NEWEST_RUN} THEN :run_id ELSE last_run_id END,"
    f" last_outcome=CASE WHEN {_NEWEST_RUN} THEN 'running' ELSE last_outcome END,"
    f" skipped_count=skipped_count + :skipped, missed_count=missed_count + :missed"
    f" WHERE id=:id"
)


def fire_of(row: sqlite3.Row) -> FireRecord:
    """A `schedule_fires` row as a FireRecord."""
    return FireRecord(
        schedule_id=row["schedule_id"],
        slot=datetime.fromtimestamp(row["scheduled_time"], UTC),
        recorded_at=datetime.fromtimestamp(row["recorded_at"], UTC),
        outcome=FireOutcome(row["outcome"]),
        reason=row["reason"],
        run_id=row["run_id"],
        slots=row["slots"],
    )
