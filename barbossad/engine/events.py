"""Live run events: what WatchRun streams (state changes and output), fanned out per run.

Memory is bounded whatever a task writes: a run keeps at most `_LOG_HISTORY_BYTES` of output for
late watchers, and each subscriber at most `_SUBSCRIBER_LOG_BYTES` of output not yet taken; past
that, output events for that subscriber are dropped (state events never are). The stored output
(GetLogs) is complete up to its own head/tail caps whatever is dropped here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from barbossad.models import OutputStream, RunState, TaskState

_LOG_HISTORY_BYTES = 1024 * 1024  # output kept per active run for late watchers
_SUBSCRIBER_LOG_BYTES = 4 * 1024 * 1024  # output queued per subscriber before it is dropped


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


class _Subscriber:
    """One watcher's queue and how much output it holds."""

    def __init__(self, output: bool) -> None:
        self.output = output
        self.queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
        self.log_bytes = 0


class _Channel:
    """Events of one active run: a history of state events and the live subscribers."""

    def __init__(self) -> None:
        self.sequence = 0
        self.history: list[RunEvent] = []  # state events, and output up to a byte cap
        self.log_bytes = 0
        self.subscribers: set[_Subscriber] = set()

    def wants_output(self) -> bool:
        return self.log_bytes < _LOG_HISTORY_BYTES or any(
            s.output and s.log_bytes < _SUBSCRIBER_LOG_BYTES for s in self.subscribers
        )


class EventBus:
    """Publishes events of active runs to subscribers; bounded, never blocks the engine."""

    def __init__(self) -> None:
        self._channels: dict[int, _Channel] = {}

    def open(self, run_id: int) -> None:
        """Start a channel for a run that is about to start."""
        self._channels.setdefault(run_id, _Channel())

    def wants_output(self, run_id: int) -> bool:
        """True when a LogEvent published now would reach the history or a subscriber.

        Publishers check this first to skip decoding output that nobody would receive.
        """
        channel = self._channels.get(run_id)
        return channel is not None and channel.wants_output()

    def publish(self, run_id: int, body: EventBody) -> None:
        """Send an event to the run's subscribers (dropping output for a subscriber that lags)."""
        channel = self._channels.get(run_id)
        if channel is None:
            return
        is_log = isinstance(body, LogEvent)
        if is_log and not channel.wants_output():
            return
        size = len(body.text) if isinstance(body, LogEvent) else 0
        channel.sequence += 1
        event = RunEvent(
            run_id=run_id, sequence=channel.sequence, time=datetime.now(UTC), body=body
        )
        if not is_log or channel.log_bytes < _LOG_HISTORY_BYTES:
            channel.history.append(event)
            channel.log_bytes += size
        for sub in channel.subscribers:
            if not is_log:
                sub.queue.put_nowait(event)
            elif sub.output and sub.log_bytes < _SUBSCRIBER_LOG_BYTES:
                sub.log_bytes += size
                sub.queue.put_nowait(event)

    def close(self, run_id: int) -> None:
        """The run ended: wake every subscriber with the end marker and forget the channel."""
        channel = self._channels.pop(run_id, None)
        if channel is None:
            return
        for sub in channel.subscribers:
            sub.queue.put_nowait(None)

    def active(self, run_id: int) -> bool:
        """True while the run's channel is open."""
        return run_id in self._channels

    async def subscribe(
        self, run_id: int, after: int = 0, *, output: bool = True
    ) -> AsyncIterator[RunEvent]:
        """Yield the run's past events after `after`, then live events until it ends.

        With output=False no LogEvent is queued for this subscriber at all.
        """
        channel = self._channels.get(run_id)
        if channel is None:
            return
        sub = _Subscriber(output)
        backlog = [
            e
            for e in channel.history
            if e.sequence > after and (output or not isinstance(e.body, LogEvent))
        ]
        channel.subscribers.add(sub)
        try:
            last = after
            for event in backlog:
                last = event.sequence
                yield event
            while True:
                item = await sub.queue.get()
                if item is None:
                    return
                if isinstance(item.body, LogEvent):
                    sub.log_bytes -= len(item.body.text)
                if item.sequence > last:
                    last = item.sequence
                    yield item
        finally:
            with contextlib.suppress(KeyError):
                channel.subscribers.remove(sub)
