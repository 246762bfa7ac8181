"""The store interface: everything the daemon persists, with no SQL outside implementations.

Methods are async so a networked backend (PostgreSQL) can implement the same Protocol; the
SQLite backend runs its short transactions directly on the loop thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from barbossad.errors import Issue
from barbossad.models import (
    OutputStream,
    RunRecord,
    RunState,
    TaskRunRecord,
    TaskState,
    TriggerType,
)
from barbossad.store.schedules import ScheduleStore


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFilter:
    """Which runs ListRuns returns."""

    workflow: str = ""
    states: tuple[RunState, ...] = ()
    trigger: TriggerType | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTask:
    """A task row created with its run."""

    task_id: str
    name: str
    type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputChunk:
    """A stored piece of task output."""

    task_id: str
    attempt: int
    stream: OutputStream
    data: bytes
    part: str = "head"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredWorkflow:
    """A workflow created through the API."""

    name: str
    template_name: str
    definition_hash: str
    body: str  # canonical JSON definition
    variable_values: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUpdate:
    """Fields of a task row to change; None means unchanged."""

    state: TaskState | None = None
    attempt: int | None = None
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    outputs: Mapping[str, str] | None = None
    output_truncated: bool | None = None
    reused: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateStatus:
    """The stored state of one template file: the current file's issues and the version in use."""

    name: str
    path: str
    valid: bool
    issues: tuple[Issue, ...] = ()
    active_hash: str = ""  # the last good version in use; "" when none
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredDefinition:
    """A definition body to keep by its content hash (canonical JSON)."""

    hash: str
    name: str
    body: str


class Store(ScheduleStore, Protocol):
    """Persistence for workflows, runs, task runs, output, schedules, state and audit."""

    async def close(self) -> None: ...

    # definitions and workflows
    async def put_definition(self, definition_hash: str, name: str, body: str) -> None: ...
    async def get_definition(self, definition_hash: str) -> str | None: ...
    async def save_workflow(self, wf: StoredWorkflow) -> None: ...
    async def get_workflow(self, name: str) -> StoredWorkflow | None: ...
    async def list_workflows(self) -> list[StoredWorkflow]: ...
    async def delete_workflow(self, name: str) -> bool: ...

    # runs
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
    ) -> RunRecord: ...
    async def set_run_state(
        self,
        run_id: int,
        state: RunState,
        *,
        error: str = "",
        at: datetime | None = None,
    ) -> None: ...
    async def update_task(
        self, run_id: int, task_id: str, update: TaskUpdate, *, attempt: TaskRunRecord | None = None
    ) -> None: ...  # with attempt: that attempt's row is recorded in the same transaction
    # The same without waiting: committed soon, in call order with every other write; the future
    # resolves once it is committed (or carries the error).
    def queue_task_update(
        self, run_id: int, task_id: str, update: TaskUpdate, *, attempt: TaskRunRecord | None = None
    ) -> asyncio.Future[None]: ...
    def commit_queued(self) -> None: ...  # commit queued task changes now, not within the delay
    async def record_attempt(self, run_id: int, task: TaskRunRecord) -> None: ...
    async def get_run(self, run_id: int) -> RunRecord | None: ...
    async def list_runs(
        self, flt: RunFilter, *, limit: int, before_id: int | None
    ) -> tuple[list[RunRecord], int]: ...
    async def count_runs(self) -> int: ...
    async def interrupt_inflight(self, reason: str) -> list[int]: ...

    # output
    async def append_output(
        self, run_id: int, chunks: Sequence[tuple[str, int, OutputStream, str, bytes]]
    ) -> None: ...
    async def drop_tail(self, run_id: int, task_id: str, attempt: int, keep_bytes: int) -> None: ...
    async def get_output(self, run_id: int, task_id: str | None = None) -> list[OutputChunk]: ...

    # daemon key/value state and audit
    async def get_state(self, key: str) -> str | None: ...
    async def set_state(self, key: str, value: str) -> None: ...
    async def audit(
        self, *, actor: str, action: str, target: str, outcome: str, details: Mapping[str, str]
    ) -> None: ...

    # template status (hot reload): survives restarts, so the last good version does too
    async def list_template_status(self) -> list[TemplateStatus]: ...
    async def save_template_status(
        self, statuses: Sequence[TemplateStatus], definitions: Sequence[StoredDefinition]
    ) -> None: ...
    async def delete_template_status(self, names: Sequence[str]) -> None: ...

    # webhook deliveries (triggers): every delivery, accepted or not; replay protection
    async def claim_delivery(self, delivery: WebhookDelivery) -> int | None: ...
    async def record_delivery(self, delivery: WebhookDelivery) -> int: ...
    async def settle_delivery(
        self,
        row_id: int,
        *,
        outcome: DeliveryOutcome,
        status: int,
        run_id: int | None = None,
        detail: str = "",
    ) -> None: ...
    async def list_deliveries(
        self, hook: str = "", *, limit: int = 100
    ) -> list[WebhookDelivery]: ...
    async def prune_deliveries(self, before: datetime) -> int: ...


class DeliveryOutcome(StrEnum):
    """How a webhook delivery was answered (stored in `webhook_deliveries.outcome`)."""

    ACCEPTED = "accepted"  # a run was started
    UNKNOWN_HOOK = "unknown_hook"  # 404
    TOO_LARGE = "too_large"  # 413
    BAD_SIGNATURE = "bad_signature"  # 401
    MISSING_DELIVERY_ID = "missing_delivery_id"  # 401
    STALE = "stale"  # 401: timestamp outside the allowed window
    REPLAY = "replay"  # 401: delivery id or signed body already accepted
    BAD_PAYLOAD = "bad_payload"  # 422: not JSON, or a value the workflow's variables refuse
    MISCONFIGURED = "misconfigured"  # 503: the hook's secret cannot be read
    UNAVAILABLE = "unavailable"  # 503: the daemon is draining


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDelivery:
    """One request to `POST /hooks/NAME`; never holds the secret or the signature."""

    id: int = 0
    hook: str
    delivery_id: str = ""
    digest: str = ""  # sha256 of the signed bytes: the same signed body is accepted once
    received_at: datetime
    outcome: DeliveryOutcome
    status: int
    detail: str = ""
    remote: str = ""
    run_id: int | None = None


class DeliveryLog(Protocol):
    """The part of the store the webhook endpoint uses."""

    async def claim_delivery(self, delivery: WebhookDelivery) -> int | None:
        """Insert an accepted delivery; None if its id or digest was already accepted (a replay)."""
        ...

    async def record_delivery(self, delivery: WebhookDelivery) -> int:
        """Insert a rejected delivery; returns its row id."""
        ...

    async def settle_delivery(
        self,
        row_id: int,
        *,
        outcome: DeliveryOutcome,
        status: int,
        run_id: int | None = None,
        detail: str = "",
    ) -> None:
        """Record how a claimed delivery ended (its run, or why no run started)."""
        ...

    async def prune_deliveries(self, before: datetime) -> int:
        """Delete rejected deliveries received before `before`; returns how many."""
        ...
