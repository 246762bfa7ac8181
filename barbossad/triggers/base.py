"""What triggers need from the engine, and one way to start a run that logs instead of raising.

Triggers fire in the background (a finished run, a changed file): nobody is waiting for an
answer, so a refused start is logged with the workflow and the trigger, never raised.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from barbossad.definitions.model import WorkflowDef
from barbossad.errors import BarbossaError
from barbossad.models import RunRecord, TriggerType

log = logging.getLogger(__name__)


class RunStarter(Protocol):
    """The engine as triggers see it (`barbossad.engine.engine.WorkflowEngine`)."""

    accepting: bool

    async def start(
        self,
        workflow: WorkflowDef,
        trigger: TriggerType = TriggerType.MANUAL,
        parameters: Mapping[str, str] | None = None,
        *,
        key: str | None = None,
        triggered_by: str = "",
    ) -> RunRecord:
        """Record a new run and start it in the background."""
        ...

    def add_completion_hook(self, hook: Callable[[RunRecord], Awaitable[None] | None]) -> None:
        """Call hook(run_record) after every run ends."""
        ...


class Launcher:
    """Starts runs of a workflow for a trigger; a refusal is logged and gives None."""

    def __init__(
        self, starter: RunStarter, definitions: Callable[[str], WorkflowDef | None]
    ) -> None:
        self.starter = starter
        self._definitions = definitions

    def definition(self, workflow: str) -> WorkflowDef | None:
        """The definition a trigger of `workflow` runs now (the template's active version)."""
        return self._definitions(workflow)

    async def launch(
        self,
        workflow: str,
        trigger: TriggerType,
        parameters: Mapping[str, str],
        *,
        triggered_by: str,
    ) -> RunRecord | None:
        """Start a run of `workflow`; None (logged) when it is gone or the engine refuses."""
        # A fresh context: a run started from another run's completion hook must not inherit
        # that run's context variables (such as its sub-workflow depth).
        launch = self._launch(workflow, trigger, parameters, triggered_by)
        return await asyncio.create_task(launch, context=contextvars.Context())

    async def _launch(
        self,
        workflow: str,
        trigger: TriggerType,
        parameters: Mapping[str, str],
        triggered_by: str,
    ) -> RunRecord | None:
        definition = self.definition(workflow)
        if definition is None:
            log.warning(
                "%s: workflow %s is no longer loaded; no run started", triggered_by, workflow
            )
            return None
        try:
            run = await self.starter.start(
                definition, trigger, parameters, key=workflow, triggered_by=triggered_by
            )
        except BarbossaError as exc:
            log.warning("%s: run of %s not started: %s", triggered_by, workflow, exc)
            return None
        log.info("%s: started run %d of %s", triggered_by, run.id, workflow)
        return run
