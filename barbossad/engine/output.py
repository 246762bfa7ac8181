"""Capture of one task attempt's output: streamed to the store, capped with head and tail kept.

Memory stays bounded whatever the task writes: at most one flush batch of the head plus the tail
window are held. Output past the head cap is kept only as its last `tail_bytes`.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections import deque

from barbossad.engine.events import EventBus, LogEvent
from barbossad.models import OutputStream
from barbossad.store.base import Store

log = logging.getLogger(__name__)

_FLUSH_BYTES = 64 * 1024
_FLUSH_SECONDS = 0.2
_STDOUT_KEEP = 64 * 1024  # captured stdout available as {{ tasks.ID.stdout }}


class OutputCapture:
    """An `OutputSink` for one attempt of one task."""

    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        run_id: int,
        task_id: str,
        attempt: int,
        head_bytes: int,
        tail_bytes: int,
    ) -> None:
        self._store = store
        self._bus = bus
        self._run_id = run_id
        self._task_id = task_id
        self._attempt = attempt
        self._head_left = head_bytes
        self._tail_bytes = tail_bytes
        self._pending: list[tuple[OutputStream, bytes]] = []
        self._pending_size = 0
        self._tail: deque[tuple[OutputStream, bytes]] = deque()
        self._tail_size = 0
        self._flusher: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self.truncated = False
        self.total_bytes = 0
        self.stdout = bytearray()
        self._decoders: dict[OutputStream, codecs.IncrementalDecoder] = {}

    def write(self, stream: OutputStream, data: bytes) -> None:
        """Take a chunk: publish it live (whole characters), keep it in the head or the tail."""
        self.total_bytes += len(data)
        if stream is OutputStream.STDOUT and len(self.stdout) < _STDOUT_KEEP:
            self.stdout += data[: _STDOUT_KEEP - len(self.stdout)]
        self._publish(stream, data)
        if self._head_left > 0:
            head = data[: self._head_left]
            self._head_left -= len(head)
            self._pending.append((stream, head))
            self._pending_size += len(head)
            data = data[len(head) :]
            if self._pending_size >= _FLUSH_BYTES:
                self._flush_soon(0)
            elif self._flusher is None:
                self._flush_soon(_FLUSH_SECONDS)
        if data:
            self.truncated = True
            self._tail.append((stream, data))
            self._tail_size += len(data)
            while self._tail and self._tail_size - len(self._tail[0][1]) >= self._tail_bytes:
                self._tail_size -= len(self._tail.popleft()[1])

    def _publish(self, stream: OutputStream, data: bytes) -> None:
        decoder = self._decoders.get(stream)
        if not self._bus.wants_output(self._run_id):
            # Nobody would receive it: skip the decoding, and restart the decoder so a character
            # split across a skipped chunk does not corrupt the next one sent.
            if decoder is not None:
                decoder.reset()
            return
        if decoder is None:
            decoder = self._decoders[stream] = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data)
        if text:
            event = LogEvent(task_id=self._task_id, attempt=self._attempt, stream=stream, text=text)
            self._bus.publish(self._run_id, event)

    def _flush_soon(self, delay: float) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        self._flusher = asyncio.get_running_loop().call_later(delay, self._start_flush)

    def _start_flush(self) -> None:
        self._flusher = None
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_pending())

    async def _flush_pending(self) -> None:
        while self._pending:
            batch, self._pending, self._pending_size = self._pending, [], 0
            try:
                await self._store.append_output(
                    self._run_id, [(self._task_id, self._attempt, s, "head", d) for s, d in batch]
                )
            except Exception:
                log.exception("run %d task %s: could not store output", self._run_id, self._task_id)

    async def close(self) -> None:
        """Flush everything: the rest of the head, then the tail window (trimmed to its cap)."""
        if not self.total_bytes:
            return  # nothing was written: nothing pending, decoded or kept
        for stream, decoder in self._decoders.items():
            rest = decoder.decode(b"", final=True)
            if rest and self._bus.wants_output(self._run_id):
                event = LogEvent(
                    task_id=self._task_id, attempt=self._attempt, stream=stream, text=rest
                )
                self._bus.publish(self._run_id, event)
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        if self._flushing is not None:
            await self._flushing
        await self._flush_pending()
        if self._tail:
            excess = self._tail_size - self._tail_bytes
            chunks = list(self._tail)
            if excess > 0:
                stream, first = chunks[0]
                chunks[0] = (stream, first[excess:])
            await self._store.append_output(
                self._run_id, [(self._task_id, self._attempt, s, "tail", d) for s, d in chunks if d]
            )
            self._tail.clear()
