"""What the servicers need from the daemon, passed in by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from barbossad.catalog import ReloadSummary
from barbossad.config import DaemonConfig
from barbossad.engine.engine import WorkflowEngine

if TYPE_CHECKING:
    from barbossad.scheduler.manager import Scheduler


@dataclass(slots=True, kw_only=True)
class ServiceContext:
    """The daemon's parts, as the RPC layer sees them."""

    engine: WorkflowEngine
    config: DaemonConfig
    started_at: datetime
    version: str
    reload: Callable[[], Awaitable[ReloadSummary]]
    scheduler: Scheduler | None = None
