"""Schedules as the scheduler, the store and the API see them: policies, specs, stored rows. Pure.

A *slot* is one scheduled time of a schedule (a time its cron expression matches). Every slot
the scheduler decides about gets a row in `schedule_fires`, keyed on (schedule, slot), written
before any run for it starts: that row is what makes "at most one automatic run per slot" hold
across restarts and crashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from functools import lru_cache

from barbossad.definitions.model import ScheduleDef
from barbossad.errors import InvalidArgumentError
from barbossad.models import RunState
from barbossad.scheduler.cron import CronExpression, resolve_timezone

DEFAULT_CATCH_UP_LIMIT = 10
MAX_CATCH_UP_LIMIT = 1000


class MisfirePolicy(StrEnum):
    """What happens to slots that passed while nothing could fire them."""

    SKIP = "skip"
    RUN_ONCE = "run_once"
    RUN_ALL = "run_all"


class OverlapPolicy(StrEnum):
    """What a fire does while a run this schedule started is still in flight."""

    SKIP = "skip"
    QUEUE_ONE = "queue_one"
    QUEUE_ALL = "queue_all"
    CANCEL_PREVIOUS = "cancel_previous"
    ALLOW = "allow"


class ScheduleOrigin(StrEnum):
    """Where a schedule was declared."""

    TEMPLATE = "template"
    API = "api"


class FireOutcome(StrEnum):
    """What became of one slot (the `outcome` of a `schedule_fires` row)."""

    STARTED = "started"
    QUEUED = "queued"
    SKIPPED = "skipped"
    MISSED = "missed"
    FAILED = "failed"


class SchedulerState(StrEnum):
    """Whether the scheduler fires at all (persisted across restarts)."""

    RUNNING = "running"
    STOPPED = "stopped"


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> CronExpression:
    """Parse a cron expression once per distinct text (schedules often share one)."""
    return CronExpression.parse(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleSpec:
    """What a schedule asks for: the declarative part, as written in a template or an API call."""

    workflow: str
    expression: str
    timezone: str = ""  # IANA name; "" is the system's zone
    misfire: MisfirePolicy = MisfirePolicy.SKIP
    overlap: OverlapPolicy = OverlapPolicy.SKIP
    catch_up_limit: int = DEFAULT_CATCH_UP_LIMIT
    catch_up_window: float | None = None  # seconds; None: no age limit
    parameters: Mapping[str, str] = field(default_factory=dict)

    def compile(self) -> tuple[CronExpression, tzinfo]:
        """The parsed expression and zone; CronError/InvalidArgumentError saying what is wrong."""
        if not self.workflow:
            raise InvalidArgumentError("a schedule needs the name of the workflow it runs")
        if not 0 <= self.catch_up_limit <= MAX_CATCH_UP_LIMIT:
            raise InvalidArgumentError(
                f"schedule of {self.workflow!r}: catch_up_limit must be within "
                f"0-{MAX_CATCH_UP_LIMIT}, got {self.catch_up_limit}"
            )
        if self.catch_up_window is not None and self.catch_up_window <= 0:
            raise InvalidArgumentError(
                f"schedule of {self.workflow!r}: catch_up_window must be greater than 0 seconds, "
                f"got {self.catch_up_window:g}"
            )
        return compile_expression(self.expression), resolve_timezone(self.timezone or None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRecord:
    """A stored schedule with its bookkeeping."""

    id: int
    spec: ScheduleSpec
    origin: ScheduleOrigin
    origin_key: str = ""  # template schedules: "template:<workflow>#<index>"
    paused: bool = False
    created_at: datetime
    active_since: datetime  # slots at or before this are never due (added, resumed, changed)
    last_slot: datetime | None = None  # the newest slot decided, whatever its outcome
    last_slot_outcome: FireOutcome | None = None
    last_slot_reason: str = ""
    last_fire_time: datetime | None = None  # the slot of the newest run started
    last_run_id: int | None = None
    last_outcome: RunState | None = None  # the state of last_run_id (final once it ended)
    missed_count: int = 0
    skipped_count: int = 0

    @property
    def workflow(self) -> str:
        """The workflow this schedule runs."""
        return self.spec.workflow

    @property
    def baseline(self) -> datetime:
        """Slots after this time and up to now are due: nothing has decided about them yet."""
        if self.last_slot is None or self.last_slot < self.active_since:
            return self.active_since
        return self.last_slot


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleView:
    """A schedule as listed: the stored record plus its next fire time (None when paused)."""

    record: ScheduleRecord
    next_fire_time: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStatus:
    """The scheduler as `barbossactl scheduler status` shows it."""

    state: SchedulerState
    schedule_count: int
    paused_count: int
    next_fire_time: datetime | None = None
    next_workflow: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FireRecord:
    """One row of `schedule_fires`: the decision about one slot."""

    schedule_id: int
    slot: datetime
    recorded_at: datetime
    outcome: FireOutcome
    reason: str = ""
    run_id: int | None = None
    slots: int = 1  # a MISSED row stands for this many consecutive missed slots


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSchedule:
    """A schedule a template declares, keyed so that a reload updates it in place."""

    origin_key: str
    spec: ScheduleSpec
    paused: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSync:
    """Which schedule ids a template sync added, changed (spec or pause) and removed."""

    added: tuple[int, ...] = ()
    changed: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()


def template_key(workflow: str, index: int) -> str:
    """The origin key of the index-th `schedule:` entry of a template."""
    return f"template:{workflow}#{index}"


def template_schedule(workflow: str, index: int, entry: ScheduleDef) -> TemplateSchedule:
    """A template's `schedule:` entry as a TemplateSchedule (ValueError on an unknown policy)."""
    spec = ScheduleSpec(
        workflow=workflow,
        expression=entry.cron,
        timezone=entry.timezone or "",
        misfire=MisfirePolicy(entry.misfire),
        overlap=OverlapPolicy(entry.overlap),
        catch_up_limit=entry.catch_up_limit,
        catch_up_window=entry.catch_up_window,
        parameters=dict(entry.parameters),
    )
    return TemplateSchedule(
        origin_key=template_key(workflow, index), spec=spec, paused=not entry.enabled
    )
