"""The trigger registry: every loaded template's triggers, rebuilt per workflow as templates change.

The template catalogue calls `apply(name, definition)` whenever a template is loaded, changed
or removed (hot reload), so hooks, `on_workflow` subscriptions and file watches always follow
the active version of each template. Triggers belong to templates in the templates directory;
a workflow created through the API from a template runs only when asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from barbossad.catalog import TemplateCatalog
from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.trigger_model import FileWatchTrigger, WebhookTrigger, WorkflowTrigger
from barbossad.definitions.triggers import HOOK_NAME
from barbossad.http.signing import secret_problem
from barbossad.triggers.base import Launcher, RunStarter
from barbossad.triggers.events import MAX_CHAIN_DEPTH, WorkflowEvents
from barbossad.triggers.filewatch import FileWatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class HookBinding:
    """A webhook name, the workflow it runs and its trigger definition."""

    name: str
    workflow: str
    trigger: WebhookTrigger


class TriggerRegistry:
    """Hooks by name, `on_workflow` subscriptions and file watches of every loaded template."""

    def __init__(
        self,
        starter: RunStarter,
        catalog: TemplateCatalog,
        *,
        max_chain_depth: int = MAX_CHAIN_DEPTH,
    ) -> None:
        self.catalog = catalog
        self.launcher = Launcher(starter, catalog.definition)
        self.events = WorkflowEvents(self.launcher, max_depth=max_chain_depth)
        self.files = FileWatcher(self.launcher)
        self._hooks: dict[str, tuple[HookBinding, ...]] = {}
        self._running = False

    def start(self) -> None:
        """Pick up the templates loaded so far, then follow the catalogue (call on the loop)."""
        self.files.start()
        self.launcher.starter.add_completion_hook(self.events.on_run_finished)
        self.catalog.on_change(self._changed)
        self._running = True
        for entry in self.catalog.entries():
            if entry.active is not None:
                self.apply(entry.name, entry.active)

    async def stop(self) -> None:
        """Stop firing: no more event or file-watch runs; the file watcher thread ends."""
        self._running = False
        self.events.active = False
        await self.files.stop()

    def hook(self, name: str) -> HookBinding | None:
        """The webhook called `name`; when two workflows claim it, the first by workflow name."""
        for workflow in sorted(self._hooks):
            for binding in self._hooks[workflow]:
                if binding.name == name:
                    return binding
        return None

    def hooks(self) -> list[HookBinding]:
        """Every webhook, by workflow name."""
        return [binding for workflow in sorted(self._hooks) for binding in self._hooks[workflow]]

    def apply(self, workflow: str, definition: WorkflowDef | None) -> None:
        """Replace everything `workflow` declared with what `definition` declares (None: remove)."""
        triggers = definition.triggers if definition is not None else ()
        self._set_hooks(workflow, [t for t in triggers if isinstance(t, WebhookTrigger)])
        self.events.set_workflow(workflow, [t for t in triggers if isinstance(t, WorkflowTrigger)])
        declared = {v.name for v in definition.variables} if definition is not None else set()
        watches = [t for t in triggers if isinstance(t, FileWatchTrigger)]
        self.files.set_workflow(workflow, watches, declared)

    def _changed(self, workflow: str, definition: WorkflowDef | None) -> None:
        if self._running:
            self.apply(workflow, definition)

    def _set_hooks(self, workflow: str, triggers: list[WebhookTrigger]) -> None:
        self._hooks.pop(workflow, None)
        bindings = []
        for trigger in triggers:
            name = trigger.name or workflow
            if not HOOK_NAME.match(name):
                log.warning(
                    "workflow %s: webhook (line %d) has no name and the template name %r cannot be "
                    "one; set 'name:'",
                    workflow,
                    trigger.line,
                    workflow,
                )
                continue
            owner = self.hook(name)
            if owner is not None:
                first = min(owner.workflow, workflow)
                log.warning(
                    "webhook %s is declared by workflows %s and %s; %s gets it",
                    name,
                    owner.workflow,
                    workflow,
                    first,
                )
            problem = secret_problem(trigger)
            if problem:
                log.warning("webhook %s of workflow %s: %s", name, workflow, problem)
            bindings.append(HookBinding(name=name, workflow=workflow, trigger=trigger))
            log.info("workflow %s listens on POST /hooks/%s", workflow, name)
        if bindings:
            self._hooks[workflow] = tuple(bindings)
