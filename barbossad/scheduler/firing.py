"""What happens to a schedule's due slots: misses, make-ups, the overlap policy, the queue, runs.

Every slot decided here gets its `schedule_fires` row before anything else happens to it, and a
run starts only after its row was inserted (`record_fire` returned True), so a slot gets at
most one automatic run however often it is evaluated, ticked, or the daemon restarts.

Overlap is judged against the runs *this schedule* started that are still in flight ("busy"):

* ``skip``: a fire while busy is recorded skipped, with the run(s) it would have overlapped.
* ``queue_one``: it waits and starts when the schedule is idle; a newer fire replaces a waiting
  one (which is recorded skipped), so at most one waits.
* ``queue_all``: every such fire waits; they start one at a time, oldest first.
* ``cancel_previous``: the runs in flight are cancelled (and awaited), then it starts.
* ``allow``: it starts at once.

Make-ups (missed slots the misfire policy runs) are never dropped by the overlap policy: they
wait like ``queue_all`` (under ``allow`` they start at once), so each catch-up policy starts
exactly its documented number of runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from barbossad.definitions.model import WorkflowDef
from barbossad.errors import BarbossaError
from barbossad.models import RunRecord, TriggerType
from barbossad.scheduler.clock import Clock
from barbossad.scheduler.cron import CronExpression
from barbossad.scheduler.model import FireOutcome, OverlapPolicy, ScheduleRecord, ScheduleSpec
from barbossad.scheduler.policy import DueSlots, Plan, due_slots, keep_for, plan
from barbossad.store.schedules import ScheduleStore

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class EnginePort(Protocol):
    """The part of WorkflowEngine the scheduler drives."""

    async def resolve(self, name: str) -> WorkflowDef: ...

    async def start(
        self,
        workflow: WorkflowDef,
        trigger: TriggerType = ...,
        parameters: Mapping[str, str] | None = None,
        *,
        key: str | None = None,
        triggered_by: str = "",
    ) -> RunRecord: ...

    async def cancel(self, run_id: int) -> RunRecord: ...

    def add_completion_hook(self, hook: Callable[[RunRecord], Awaitable[None] | None]) -> None: ...


def slot_text(slot: datetime) -> str:
    """A slot as it appears in logs, reasons and `triggered_by`: 2026-01-31T02:00:00Z."""
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Waiting:
    """A slot whose row says queued, waiting for the schedule to become idle."""

    slot: datetime
    makeup: bool


@dataclass(slots=True, eq=False)
class Runtime:
    """One schedule in memory: its compiled expression and what it has in flight."""

    record: ScheduleRecord
    expression: CronExpression
    zone: tzinfo
    baseline: datetime  # the newest decided slot, or when the schedule became active
    inflight: dict[int, datetime] = field(default_factory=dict)  # run id -> slot
    queue: deque[Waiting] = field(default_factory=deque)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _next: datetime | None = None

    @property
    def id(self) -> int:
        """The schedule id."""
        return self.record.id

    @property
    def spec(self) -> ScheduleSpec:
        """What the schedule asks for."""
        return self.record.spec

    def next_fire_time(self, now: datetime) -> datetime:
        """The first slot after both `now` and the baseline (cached until it passes)."""
        cached = self._next
        if cached is None or cached <= now or cached <= self.baseline:
            cached = self._next = self.expression.next_after(max(now, self.baseline), self.zone)
        return cached


def _runs(rt: Runtime) -> str:
    return ", ".join(str(i) for i in sorted(rt.inflight))


class Firing:
    """Evaluates schedules and starts, queues or skips their slots."""

    def __init__(
        self,
        store: ScheduleStore,
        engine: EnginePort,
        clock: Clock,
        spawn: Spawn,
        lookup: Callable[[int], Runtime | None],
    ) -> None:
        self._store = store
        self._engine = engine
        self._clock = clock
        self._spawn = spawn
        self._lookup = lookup  # schedule id -> its current runtime (a reload replaces it)
        self._runs: dict[int, int] = {}  # run id -> the schedule that started it
        self.active = False  # False: nothing new starts (scheduler stopped, daemon stopping)

    async def evaluate(self, rt: Runtime, *, live: bool, why: str) -> None:
        """Decide every due slot of a schedule (hold rt.lock). `why` explains misses."""
        spec = rt.spec
        now = self._clock.now()
        keep = keep_for(spec.misfire, spec.catch_up_limit, live=live)
        due = due_slots(rt.expression, rt.zone, rt.baseline, now, keep)
        if not due.count or due.newest is None:
            return
        decided = plan(
            due,
            live=live,
            misfire=spec.misfire,
            limit=spec.catch_up_limit,
            window=spec.catch_up_window,
            now=now,
        )
        rt.baseline = due.newest
        if decided.missed and decided.missed_newest is not None:
            reason = _missed_reason(rt, due, decided, why)
            if await self._store.record_missed(
                rt.id, decided.missed_newest, decided.missed, reason
            ):
                log.warning("schedule %d (%s): %s", rt.id, spec.workflow, reason)
        if decided.current is not None:
            await self._fire(rt, decided.current)
        for slot in decided.makeups:
            if spec.overlap is OverlapPolicy.ALLOW:
                await self._start_new(rt, slot, "catch-up of a missed slot", makeup=True)
            else:
                await self._enqueue(rt, slot, "catch-up of a missed slot", makeup=True)
        await self.drain(rt)

    async def _fire(self, rt: Runtime, slot: datetime) -> None:
        """A live slot: start it, or apply the overlap policy when the schedule is busy."""
        policy = rt.spec.overlap
        if policy is OverlapPolicy.ALLOW or not (rt.inflight or rt.queue):
            await self._start_new(rt, slot, "")
            return
        if not rt.inflight:  # only waiting slots: keep the order
            await self._enqueue(rt, slot, "waiting behind earlier slots")
            return
        busy = f"run {_runs(rt)} of this schedule was still running"
        if policy is OverlapPolicy.SKIP:
            reason = f"skipped: {busy} (overlap policy skip)"
            if await self._store.record_fire(rt.id, slot, FireOutcome.SKIPPED, reason):
                log.info(
                    "schedule %d (%s): slot %s %s", rt.id, rt.spec.workflow, slot_text(slot), reason
                )
        elif policy is OverlapPolicy.CANCEL_PREVIOUS:
            reason = f"cancelled run {_runs(rt)} (overlap policy cancel_previous)"
            if await self._store.record_fire(rt.id, slot, FireOutcome.STARTED, reason):
                for run_id in list(rt.inflight):
                    await self._cancel(rt, run_id)
                await self._start(rt, slot, reason, makeup=False)
        else:
            if policy is OverlapPolicy.QUEUE_ONE:
                await self._replace_waiting(rt, slot)
            await self._enqueue(rt, slot, f"queued: {busy} (overlap policy {policy.value})")

    async def _replace_waiting(self, rt: Runtime, slot: datetime) -> None:
        for waiting in [w for w in rt.queue if not w.makeup]:
            rt.queue.remove(waiting)
            reason = (
                f"skipped: replaced by the newer slot {slot_text(slot)} (overlap policy queue_one)"
            )
            await self._store.update_fire(rt.id, waiting.slot, FireOutcome.SKIPPED, reason)

    async def _cancel(self, rt: Runtime, run_id: int) -> None:
        log.info(
            "schedule %d (%s): cancelling run %d (overlap policy cancel_previous)",
            rt.id,
            rt.spec.workflow,
            run_id,
        )
        try:
            await self._engine.cancel(run_id)
        except BarbossaError as exc:  # it ended meanwhile
            log.debug("schedule %d: run %d not cancelled: %s", rt.id, run_id, exc)
        rt.inflight.pop(run_id, None)

    async def _enqueue(
        self, rt: Runtime, slot: datetime, reason: str, *, makeup: bool = False
    ) -> None:
        if await self._store.record_fire(rt.id, slot, FireOutcome.QUEUED, reason):
            rt.queue.append(Waiting(slot, makeup))

    async def _start_new(
        self, rt: Runtime, slot: datetime, reason: str, *, makeup: bool = False
    ) -> None:
        if await self._store.record_fire(rt.id, slot, FireOutcome.STARTED, reason):
            await self._start(rt, slot, reason, makeup=makeup)
        else:
            log.debug("schedule %d: slot %s was already decided", rt.id, slot_text(slot))

    async def drain(self, rt: Runtime) -> None:
        """Start waiting slots, one at a time, while the schedule is idle (hold rt.lock)."""
        while self.active and rt.queue and not rt.inflight:
            waiting = rt.queue.popleft()
            reason = (
                "catch-up of a missed slot"
                if waiting.makeup
                else "started after the previous run ended"
            )
            await self._start(rt, waiting.slot, reason, makeup=waiting.makeup)

    async def drop_waiting(self, rt: Runtime, reason: str) -> None:
        """Give up the slots waiting in a schedule's queue (recorded skipped, with `reason`)."""
        while rt.queue:
            waiting = rt.queue.popleft()
            await self._store.update_fire(
                rt.id, waiting.slot, FireOutcome.SKIPPED, f"skipped: {reason}"
            )

    async def _start(self, rt: Runtime, slot: datetime, reason: str, *, makeup: bool) -> None:
        """Start the run of a slot whose row exists; record its run id, or why it failed."""
        spec = rt.spec
        triggered_by = f"schedule {rt.id} slot {slot_text(slot)}" + (
            " (catch-up)" if makeup else ""
        )
        try:
            definition = await self._engine.resolve(spec.workflow)
            run = await self._engine.start(
                definition,
                TriggerType.SCHEDULED,
                spec.parameters,
                key=spec.workflow,
                triggered_by=triggered_by,
            )
        except BarbossaError as exc:
            log.warning(
                "schedule %d (%s): slot %s did not start: %s",
                rt.id,
                spec.workflow,
                slot_text(slot),
                exc,
            )
            await self._store.update_fire(rt.id, slot, FireOutcome.FAILED, str(exc))
            return
        except Exception:
            log.exception(
                "schedule %d (%s): slot %s did not start", rt.id, spec.workflow, slot_text(slot)
            )
            await self._store.update_fire(
                rt.id, slot, FireOutcome.FAILED, "internal error, see daemon log"
            )
            return
        rt.inflight[run.id] = slot
        self._runs[run.id] = rt.id
        await self._store.update_fire(rt.id, slot, FireOutcome.STARTED, reason, run.id)
        log.info(
            "schedule %d (%s): slot %s started run %d",
            rt.id,
            spec.workflow,
            slot_text(slot),
            run.id,
        )

    async def on_run_finished(self, record: RunRecord) -> None:
        """Engine completion hook: note the outcome, then let a waiting slot start."""
        schedule_id = self._runs.pop(record.id, None)
        if schedule_id is None:
            return
        await self._store.record_outcome(schedule_id, record.id, record.state)
        rt = self._lookup(schedule_id)
        if rt is None:
            return
        rt.inflight.pop(record.id, None)
        if rt.queue and not rt.inflight and self.active:
            # Not inline: this hook may run inside engine.cancel() while rt.lock is held.
            self._spawn(self._drain_later(schedule_id))

    async def _drain_later(self, schedule_id: int) -> None:
        rt = self._lookup(schedule_id)
        if rt is not None:
            async with rt.lock:
                current = self._lookup(schedule_id)  # a reload may have replaced it meanwhile
                if current is not None and current.lock is rt.lock:
                    await self.drain(current)


def _missed_reason(rt: Runtime, due: DueSlots, decided: Plan, why: str) -> str:
    count = f"{'at least ' if not decided.missed_exact else ''}{decided.missed}"
    first = due.first or decided.missed_newest
    assert first is not None and decided.missed_newest is not None
    span = (
        f"slot {slot_text(first)}"
        if decided.missed == 1
        else f"{count} slots from {slot_text(first)} to {slot_text(decided.missed_newest)}"
    )
    policy = rt.spec.misfire.value
    made_up = f", {len(decided.makeups)} caught up" if decided.makeups else ""
    return f"missed {span} {why} (misfire policy {policy}{made_up})"
