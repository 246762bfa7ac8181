"""`on_workflow` triggers: when a run of a workflow finishes, start the runs waiting for it.

Chains are capped: a run started by an event carries its chain depth (the upstream's plus one),
and a run that would go deeper than `max_depth` is refused with a warning. This stops loops
(A starts B starts A ...) and runaway fan-out. Depths live in memory while runs are in flight;
a daemon restart interrupts every run, so no chain survives it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from barbossad.definitions.trigger_model import WorkflowTrigger
from barbossad.models import RunRecord, RunState, TriggerType
from barbossad.triggers.base import Launcher

log = logging.getLogger(__name__)

MAX_CHAIN_DEPTH = 8
_FAILED = frozenset({RunState.FAILED, RunState.TIMED_OUT})


class WorkflowEvents:
    """The `on_workflow` triggers of all workflows, fired by the engine's completion hook."""

    def __init__(self, launcher: Launcher, *, max_depth: int = MAX_CHAIN_DEPTH) -> None:
        self.launcher = launcher
        self.max_depth = max_depth
        self.active = True
        self._triggers: dict[str, tuple[WorkflowTrigger, ...]] = {}
        self._depth: dict[int, int] = {}  # run id -> chain depth, for runs started by an event

    def set_workflow(self, workflow: str, triggers: Sequence[WorkflowTrigger]) -> None:
        """Replace the `on_workflow` triggers `workflow` declares (none: forget it)."""
        if triggers:
            self._triggers[workflow] = tuple(triggers)
            for trigger in triggers:
                log.debug(
                    "workflow %s runs after %s (%s)",
                    workflow,
                    trigger.workflow,
                    trigger.outcome.value,
                )
        else:
            self._triggers.pop(workflow, None)

    def waiting_for(self, upstream: str) -> list[tuple[str, WorkflowTrigger]]:
        """(workflow, trigger) of every trigger naming `upstream`, by workflow name."""
        return [
            (name, trigger)
            for name in sorted(self._triggers)
            for trigger in self._triggers[name]
            if trigger.workflow == upstream
        ]

    async def on_run_finished(self, record: RunRecord) -> None:
        """Completion hook: start the runs whose triggers match how `record` ended."""
        depth = self._depth.pop(record.id, 0) + 1
        if not self.active or not record.state.finished:
            return
        succeeded = record.state is RunState.SUCCEEDED
        failed = record.state in _FAILED
        for workflow, trigger in self.waiting_for(record.workflow):
            if not trigger.matches(record.workflow, succeeded=succeeded, failed=failed):
                continue
            source = f"workflow {record.workflow} run {record.id}"
            if depth > self.max_depth:
                log.warning(
                    "%s (%s) would start %s as event %d of a chain; the limit is %d (a loop?)",
                    source,
                    record.state.value,
                    workflow,
                    depth,
                    self.max_depth,
                )
                continue
            run = await self.launcher.launch(
                workflow, TriggerType.EVENT, trigger.parameters, triggered_by=source
            )
            if run is not None:
                self._depth[run.id] = depth
