"""Triggers as one component: the registry and the HTTP listener, started and stopped together.

The daemon starts it after crash recovery and before READY, and stops it first when draining,
so no webhook, event or file-watch run starts once shutdown has begun.
"""

from __future__ import annotations

import logging

from barbossad.catalog import TemplateCatalog
from barbossad.http.hooks import WebhookEndpoint
from barbossad.http.server import HttpListener, parse_listen_address
from barbossad.store.base import DeliveryLog
from barbossad.triggers.base import RunStarter
from barbossad.triggers.registry import TriggerRegistry

log = logging.getLogger(__name__)


class TriggerService:
    """Owns the trigger registry and, unless `http` is "off", the HTTP listener."""

    def __init__(
        self, starter: RunStarter, catalog: TemplateCatalog, *, http: str, deliveries: DeliveryLog
    ) -> None:
        self.starter = starter
        self.address = parse_listen_address(http)  # StartupError for a malformed --http
        self.registry = TriggerRegistry(starter, catalog)
        self.deliveries = deliveries
        self.listener: HttpListener | None = None

    async def start(self) -> None:
        """Load every template's triggers, then bind the HTTP listener (StartupError if not)."""
        self.registry.start()
        if self.address is None:
            log.info("HTTP listener disabled (--http off): webhooks and /healthz are not served")
            return
        host, port = self.address
        listener = HttpListener(host, port, healthy=lambda: self.starter.accepting)
        endpoint = WebhookEndpoint(
            self.registry, self.starter, self.registry.launcher.definition, self.deliveries
        )
        listener.add_post("/hooks/{name}", endpoint.handle)
        await listener.start()
        self.listener = listener

    @property
    def url(self) -> str:
        """The listener's base URL, or "" when it is disabled."""
        return self.listener.url if self.listener is not None else ""

    async def stop(self) -> None:
        """Stop the HTTP listener first, then the registry (idempotent)."""
        listener, self.listener = self.listener, None
        if listener is not None:
            await listener.stop()
        await self.registry.stop()
