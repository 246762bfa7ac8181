"""Live run events: what WatchRun streams (state changes and output), fanned out per run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from barbossad.models import OutputStream, RunState, TaskState

_QUEUE_LIMIT = 4096
_LOG_HISTORY_BYTES = 1024 * 1024  # output kept per active run for late watchers


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStateEvent:
    """The run changed state."""

    state: RunState
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStateEvent:
    """A task changed state."""

    task_id: str
    state: TaskState
    attempt: int
    exit_code: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEvent:
    """A chunk of a task's output."""

    task_id: str
    attempt: int
    stream: OutputStream
    text: str


EventBody = RunStateEvent | TaskStateEvent | LogEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvent:
    """One numbered event of a run."""

    run_id: int
    sequence: int
    time: datetime
    body: EventBody


class _Channel:
    """Events of one active run: a history of state events and the live subscribers."""

    def __init__(self) -> None:
        self.sequence = 0
        self.history: list[RunEvent] = []  # state events, and output up to a byte cap
        self.log_bytes = 0
        self.subscribers: set[asyncio.Queue[RunEvent | None]] = set()
        self.closed = False


class EventBus:
    """Publishes events of active runs to subscribers; bounded, never blocks the engine."""

    def __init__(self) -> None:
        self._channels: dict[int, _Channel] = {}

    def open(self, run_id: int) -> None:
        """Start a channel for a run that is about to start."""
        self._channels.setdefault(run_id, _Channel())

    def publish(self, run_id: int, body: EventBody) -> None:
        """Send an event to the run's subscribers (dropping output for a subscriber that lags)."""
        channel = self._channels.get(run_id)
        if channel is None:
            return
        is_log = isinstance(body, LogEvent)
        keep = True
        if isinstance(body, LogEvent):
            keep = channel.log_bytes < _LOG_HISTORY_BYTES
            if not keep and not channel.subscribers:
                return
            if keep:
                channel.log_bytes += len(body.text)
        channel.sequence += 1
        event = RunEvent(run_id=run_id, sequence=channel.sequence, time=datetime.now(UTC), body=body)
        if keep:
            channel.history.append(event)
        for queue in channel.subscribers:
            if queue.qsize() < _QUEUE_LIMIT or not is_log:
                queue.put_nowait(event)

    def close(self, run_id: int) -> None:
        """The run ended: wake every subscriber with the end marker and forget the channel."""
        channel = self._channels.pop(run_id, None)
        if channel is None:
            return
        channel.closed = True
        for queue in channel.subscribers:
            queue.put_nowait(None)

    def active(self, run_id: int) -> bool:
        """True while the run's channel is open."""
        return run_id in self._channels

    async def subscribe(self, run_id: int, after: int = 0) -> AsyncIterator[RunEvent]:
        """Yield the run's past state events after `after`, then live events until it ends."""
        channel = self._channels.get(run_id)
        if channel is None:
            return
        queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
        backlog = [e for e in channel.history if e.sequence > after]
        channel.subscribers.add(queue)
        try:
            last = after
            for event in backlog:
                last = event.sequence
                yield event
            while True:
                item = await queue.get()
                if item is None:
                    return
                if item.sequence > last:
                    last = item.sequence
                    yield item
        finally:
            with contextlib.suppress(KeyError):
                channel.subscribers.remove(queue)
