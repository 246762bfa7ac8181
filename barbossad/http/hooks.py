"""`POST /hooks/NAME`: authenticate a webhook delivery, map its payload, start a run.

Checks, in order, each answered without starting anything:

    404 unknown hook            503 draining, or the hook's secret cannot be read
    413 body over `max_body` (refused from Content-Length, or while reading: never buffered past it)
    401 signature missing or wrong, delivery id missing, timestamp outside 5 minutes, or a replay
    422 payload not JSON, or a mapped value the workflow's variables refuse

A good delivery is answered 202 `{"run_id": N, "delivery": ID}`. Every delivery is recorded in
the store and logged in one line, without the secret or the signature.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiohttp import web

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.variables import resolve_parameters
from barbossad.errors import BarbossaError, DefinitionError, UnavailableError
from barbossad.http import signing
from barbossad.http.payload import PayloadError, map_payload
from barbossad.models import TriggerType
from barbossad.store.base import DeliveryLog, DeliveryOutcome, WebhookDelivery
from barbossad.triggers.base import RunStarter
from barbossad.triggers.registry import HookBinding

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
PRUNE_EVERY = 500
KEEP_REJECTED = timedelta(days=30)


class HookDirectory(Protocol):
    """Where hooks are looked up by name (the trigger registry)."""

    def hook(self, name: str) -> HookBinding | None:
        """The webhook called `name`, or None."""
        ...


class Rejected(Exception):
    """A delivery refused with an HTTP status; `message` is safe to send to the caller."""

    def __init__(
        self, status: int, outcome: DeliveryOutcome, message: str, *, recorded: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome
        self.message = message
        self.recorded = recorded


@dataclass(frozen=True, slots=True)
class _Verified:
    delivery_id: str
    digest: str


class WebhookEndpoint:
    """The aiohttp handler of `POST /hooks/{name}`."""

    def __init__(
        self,
        hooks: HookDirectory,
        starter: RunStarter,
        definitions: Callable[[str], WorkflowDef | None],
        deliveries: DeliveryLog,
        *,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.hooks = hooks
        self.starter = starter
        self.definitions = definitions
        self.deliveries = deliveries
        self.clock = clock
        self.environ = environ
        self._rejected = 0

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one delivery (see the module docstring for the status codes)."""
        record = WebhookDelivery(
            hook=request.match_info["name"][:128],
            delivery_id=signing.printable_id(request.headers),
            received_at=datetime.fromtimestamp(self.clock(), UTC),
            outcome=DeliveryOutcome.ACCEPTED,
            status=202,
            remote=request.remote or "",
        )
        try:
            run_id, delivery = await self._accept(request, record)
        except Rejected as rejected:
            await self._reject(record, rejected)
            return web.json_response({"error": rejected.message}, status=rejected.status)
        return web.json_response({"run_id": run_id, "delivery": delivery}, status=202)

    async def _accept(self, request: web.Request, record: WebhookDelivery) -> tuple[int, str]:
        binding = self.hooks.hook(record.hook)
        definition = self.definitions(binding.workflow) if binding is not None else None
        if binding is None or definition is None:
            raise Rejected(404, DeliveryOutcome.UNKNOWN_HOOK, f"no webhook named {record.hook!r}")
        if not self.starter.accepting:
            raise Rejected(503, DeliveryOutcome.UNAVAILABLE, "barbossad is shutting down")
        body = await read_body(request, binding.trigger.max_body)
        verified = self._verify(binding, request.headers, body)
        parameters = _parameters(definition, binding, body)
        claimed = replace(record, delivery_id=verified.delivery_id, digest=verified.digest)
        row = await self.deliveries.claim_delivery(claimed)
        if row is None:
            raise Rejected(
                401, DeliveryOutcome.REPLAY, "this delivery was already accepted (replay)"
            )
        by = f"webhook {binding.name} delivery {verified.delivery_id}"
        try:
            run = await self.starter.start(
                definition, TriggerType.WEBHOOK, parameters, key=binding.workflow, triggered_by=by
            )
        except BarbossaError as exc:
            status, outcome = (
                (503, DeliveryOutcome.UNAVAILABLE)
                if isinstance(exc, UnavailableError)
                else (422, DeliveryOutcome.BAD_PAYLOAD)
            )
            await self.deliveries.settle_delivery(
                row, outcome=outcome, status=status, detail=str(exc)
            )
            _log_rejection(claimed, status, outcome, str(exc))
            raise Rejected(status, outcome, str(exc), recorded=True) from None
        await self.deliveries.settle_delivery(
            row, outcome=DeliveryOutcome.ACCEPTED, status=202, run_id=run.id
        )
        log.info("%s from %s: started run %d of %s", by, record.remote, run.id, binding.workflow)
        return run.id, verified.delivery_id

    def _verify(self, binding: HookBinding, headers: Mapping[str, str], body: bytes) -> _Verified:
        try:
            secret = signing.load_secret(binding.trigger, self.environ)
        except signing.SecretUnavailableError as exc:
            log.error(
                "webhook %s of workflow %s cannot verify deliveries: %s",
                binding.name,
                binding.workflow,
                exc,
            )
            raise Rejected(
                503, DeliveryOutcome.MISCONFIGURED, "webhook not configured; see the daemon log"
            ) from None
        timestamp = headers.get(signing.TIMESTAMP_HEADER)
        signed = signing.signed_bytes(body, timestamp)
        if not signing.signature_matches(secret, signed, headers.get(signing.SIGNATURE_HEADER)):
            raise Rejected(
                401, DeliveryOutcome.BAD_SIGNATURE, f"missing or wrong {signing.SIGNATURE_HEADER}"
            )
        delivery_id = signing.delivery_id(headers)
        if delivery_id is None:
            names = " or ".join(signing.DELIVERY_HEADERS)
            message = f"missing or malformed delivery id ({names}: 1-128 of A-Z a-z 0-9 . _ : -)"
            raise Rejected(401, DeliveryOutcome.MISSING_DELIVERY_ID, message)
        if timestamp is not None:
            problem = signing.timestamp_problem(timestamp, self.clock())
            if problem:
                raise Rejected(401, DeliveryOutcome.STALE, problem)
        return _Verified(delivery_id=delivery_id, digest=signing.digest(signed))

    async def _reject(self, record: WebhookDelivery, rejected: Rejected) -> None:
        if rejected.recorded:
            return
        rejection = replace(
            record, outcome=rejected.outcome, status=rejected.status, detail=rejected.message
        )
        await self.deliveries.record_delivery(rejection)
        _log_rejection(rejection, rejected.status, rejected.outcome, rejected.message)
        self._rejected += 1
        if self._rejected % PRUNE_EVERY == 1:
            pruned = await self.deliveries.prune_deliveries(record.received_at - KEEP_REJECTED)
            if pruned:
                log.info(
                    "pruned %d rejected webhook deliveries older than %s", pruned, KEEP_REJECTED
                )


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    length = request.content_length
    if length is not None and length > limit:
        raise Rejected(
            413,
            DeliveryOutcome.TOO_LARGE,
            f"body of {length} bytes; this hook takes at most {limit}",
        )
    body = bytearray()
    while chunk := await request.content.read(min(READ_CHUNK, limit + 1 - len(body))):
        body += chunk
        if len(body) > limit:
            raise Rejected(
                413, DeliveryOutcome.TOO_LARGE, f"body over {limit} bytes, this hook's limit"
            )
    return bytes(body)


def _parameters(definition: WorkflowDef, binding: HookBinding, body: bytes) -> dict[str, str]:
    try:
        parameters = map_payload(body, binding.trigger.parameters)
        resolve_parameters(definition, parameters)
    except PayloadError as exc:
        raise Rejected(422, DeliveryOutcome.BAD_PAYLOAD, str(exc)) from None
    except DefinitionError as exc:
        message = "; ".join(f"{i.field}: {i.message}" for i in exc.issues)
        raise Rejected(422, DeliveryOutcome.BAD_PAYLOAD, message) from None
    return parameters


def _log_rejection(
    record: WebhookDelivery, status: int, outcome: DeliveryOutcome, message: str
) -> None:
    level = logging.INFO if status == 404 else logging.WARNING  # scanners probe for hooks
    log.log(
        level,
        "webhook %r delivery %r from %s refused %d (%s): %s",
        record.hook,
        record.delivery_id or "-",
        record.remote or "-",
        status,
        outcome.value,
        message,
    )
