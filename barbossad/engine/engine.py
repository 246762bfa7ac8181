"""WorkflowEngine: the embeddable Python API, and what the daemon runs on.

from barbossad import WorkflowEngine, TriggerType
engine = WorkflowEngine("/srv/barbossa")
wf = engine.create_workflow_from_template("hello", {"greeting": "hi"})
run = await engine.execute_workflow(wf, TriggerType.MANUAL)
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from barbossad.catalog import TemplateCatalog
from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.parse import (
    canonical_json,
    dump_workflow,
    parse_workflow,
    resolve_parameters,
    workflow_from_mapping,
)
from barbossad.engine.events import EventBus
from barbossad.engine.invoke import EngineDeps
from barbossad.engine.plan import plan as plan_dag
from barbossad.engine.planview import ExecutionPlan, build_plan
from barbossad.engine.reuse import reusable, store_reused
from barbossad.engine.runner import RunDriver
from barbossad.errors import FailedPreconditionError, NotFoundError, UnavailableError
from barbossad.models import RunRecord, RunState, TaskRunRecord, TriggerType
from barbossad.store.base import NewTask, Store, StoredWorkflow
from barbossad.tasks.base import Spawner, TaskHandler, TaskRegistry, TaskSettings
from barbossad.tasks.spawner import ProcessSpawner

log = logging.getLogger(__name__)

CompletionHook = Callable[[RunRecord], Awaitable[None] | None]

MAX_SUBWORKFLOW_DEPTH = 8
# How deep in sub-workflows the current run is; runs inherit it through their asyncio tasks.
_depth: ContextVar[int] = ContextVar("barbossa_subworkflow_depth", default=0)


def _default_registry() -> TaskRegistry:
    from barbossad.tasks.registry_default import default_registry

    return default_registry()


class WorkflowEngine:
    """Runs workflows: definitions in, durable run records out."""

    def __init__(
        self,
        base_dir: str | Path | None = None,
        *,
        store: Store | None = None,
        templates_dir: str | Path | None = None,
        registry: TaskRegistry | None = None,
        settings: TaskSettings | None = None,
        spawner: Spawner | None = None,
        max_parallel_tasks: int = 256,
        default_max_parallel: int = 16,
        kill_grace: float = 5.0,
        output_head_bytes: int = 1024 * 1024,
        output_tail_bytes: int = 256 * 1024,
        scratch_dir: str | Path | None = None,
    ) -> None:
        base = Path(base_dir) if base_dir is not None else None
        if store is None:
            if base is None:
                raise ValueError("WorkflowEngine needs base_dir or store")
            from barbossad.store.sqlite import SQLiteStore

            base.mkdir(parents=True, exist_ok=True)
            store = SQLiteStore.open(base / "workflows.db")
        self.store: Store = store
        self.registry = registry or _default_registry()
        tdir = (
            Path(templates_dir)
            if templates_dir
            else (base / "workflow_templates" if base else None)
        )
        self.catalog = TemplateCatalog(
            tdir or Path(tempfile.gettempdir()) / "barbossa-none", self.registry
        )
        self.bus = EventBus()
        self.settings = settings or TaskSettings(allowed_roots=(base,) if base else ())
        scratch = (
            Path(scratch_dir)
            if scratch_dir
            else (base / "scratch" if base else Path(tempfile.mkdtemp()))
        )
        self._deps = EngineDeps(
            store=self.store,
            bus=self.bus,
            registry=self.registry,
            spawner=spawner or ProcessSpawner(kill_grace=kill_grace),
            settings=self.settings,
            global_limit=asyncio.Semaphore(max_parallel_tasks),
            scratch_root=scratch,
            default_max_parallel=default_max_parallel,
            output_head_bytes=output_head_bytes,
            output_tail_bytes=output_tail_bytes,
            run_workflow=self._run_subworkflow,
        )
        self._drivers: dict[int, RunDriver] = {}
        # Each run's driving task; its result is the run's final record (None if unreadable).
        self._tasks: dict[int, asyncio.Task[RunRecord | None]] = {}
        self._hooks: list[CompletionHook] = []
        # Embedded use scans the templates directory on the first miss; the daemon scans and
        # watches it itself.
        self._scanned = base is None
        self.accepting = True

    # ---- definitions -----------------------------------------------------------------------

    def register_task_type(self, handler: TaskHandler, *, replace: bool = False) -> None:
        """Add a custom task type (see barbossad.tasks.base.TaskHandler)."""
        self.registry.register(handler, replace=replace)

    def update_settings(self, settings: TaskSettings) -> None:
        """Use new task settings (allowed roots, git guard) for tasks started from now on."""
        self.settings = settings
        self._deps.settings = settings

    def add_completion_hook(self, hook: CompletionHook) -> None:
        """Call hook(run_record) after every run ends (sync or async callables)."""
        self._hooks.append(hook)

    def load_templates(self) -> int:
        """Scan the templates directory; returns how many templates are valid."""
        self._scanned = True
        return self.catalog.scan().loaded

    def _template(self, name: str) -> WorkflowDef | None:
        """A template's definition; the directory is scanned on the first miss (embedded use)."""
        definition = self.catalog.definition(name)
        if definition is None and not self._scanned:
            self.load_templates()
            definition = self.catalog.definition(name)
        return definition

    def create_workflow_from_config(
        self, config: Mapping[str, Any] | str | bytes, *, source: str = "<config>"
    ) -> WorkflowDef:
        """Parse and validate a definition given as a mapping or as YAML/JSON text."""
        if isinstance(config, str | bytes):
            return parse_workflow(config, source=source, registry=self.registry)
        return workflow_from_mapping(config, source=source, registry=self.registry)

    def create_workflow_from_template(
        self, template: str, variables: Mapping[str, str] | None = None, *, name: str | None = None
    ) -> WorkflowDef:
        """A workflow from a template, with the given variable values as its new defaults."""
        base = self.catalog.definition(template)
        if base is None:
            self.catalog.scan()
            base = self.catalog.definition(template)
        if base is None:
            raise NotFoundError(f"no template named {template!r} in {self.catalog.directory}")
        values = resolve_parameters(base, dict(variables or {}))
        data = dump_workflow(base)
        supplied = set(variables or {})
        data["variables"] = {
            v.name: {**_variable_mapping(data, v.name), "default": values[v.name]}
            if v.name in supplied
            else _variable_mapping(data, v.name)
            for v in base.variables
        }
        if name:
            data["name"] = name
        return workflow_from_mapping(data, source=base.source, registry=self.registry)

    # ---- runs ------------------------------------------------------------------------------

    def plan(
        self, workflow: WorkflowDef, parameters: Mapping[str, str] | None = None
    ) -> ExecutionPlan:
        """Validate parameters and describe what a run would do (a dry run)."""
        values = resolve_parameters(workflow, dict(parameters or {}))
        return build_plan(workflow, values, self.registry, self.settings)

    async def start(
        self,
        workflow: WorkflowDef,
        trigger: TriggerType = TriggerType.MANUAL,
        parameters: Mapping[str, str] | None = None,
        *,
        key: str | None = None,
        triggered_by: str = "",
        retry_of: int | None = None,
        reused: Mapping[str, TaskRunRecord] | None = None,
    ) -> RunRecord:
        """Record a new run and start it in the background; returns the pending record."""
        if not self.accepting:
            raise UnavailableError("barbossad is shutting down and accepts no new runs")
        values = resolve_parameters(workflow, dict(parameters or {}))
        name = key or workflow.name
        await self.store.put_definition(workflow.hash, name, canonical_json(workflow))
        run = await self.store.create_run(
            workflow=name,
            trigger=trigger,
            triggered_by=triggered_by,
            parameters=values,
            definition_hash=workflow.hash,
            tasks=[NewTask(task_id=t.id, name=t.name, type=t.type) for t in workflow.tasks],
            retry_of=retry_of,
        )
        if reused:
            await store_reused(self.store, run.id, reused)
        self.bus.open(run.id)
        driver = RunDriver(
            workflow=workflow, run=run, values=values, deps=self._deps, reused=reused
        )
        self._drivers[run.id] = driver
        task = asyncio.create_task(self._drive(driver), name=f"run-{run.id}")
        self._tasks[run.id] = task
        return run

    async def _drive(self, driver: RunDriver) -> RunRecord | None:
        run_id = driver.run_id
        try:
            await driver.execute()
        except Exception:
            log.exception("run %d: engine error", run_id)
            await self.store.set_run_state(
                run_id, RunState.FAILED, error="internal error, see daemon log"
            )
        finally:
            self._drivers.pop(run_id, None)
            self.bus.close(run_id)
        record = await self.store.get_run(run_id)
        if record is not None:
            for hook in self._hooks:
                try:
                    result = hook(record)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("run %d: completion hook %r failed", run_id, hook)
        self._tasks.pop(run_id, None)
        return record

    async def execute_workflow(
        self,
        workflow: WorkflowDef | str,
        trigger: TriggerType = TriggerType.MANUAL,
        parameters: Mapping[str, str] | None = None,
        *,
        triggered_by: str = "",
    ) -> RunRecord:
        """Run a workflow (a definition, or the name of a template) and wait for its end."""
        key = workflow if isinstance(workflow, str) else None
        definition = await self.resolve(workflow) if isinstance(workflow, str) else workflow
        run = await self.start(definition, trigger, parameters, key=key, triggered_by=triggered_by)
        return await self.wait(run.id)

    async def wait(self, run_id: int) -> RunRecord:
        """Wait for a run to end and return its final record."""
        task = self._tasks.get(run_id)
        record = await asyncio.shield(task) if task is not None else None
        if record is None:  # ended before this call (or not this engine's): read it
            record = await self.store.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run with id {run_id}")
        return record

    def running_ids(self) -> list[int]:
        """Ids of runs in progress."""
        return sorted(self._drivers)

    async def cancel(self, run_id: int) -> RunRecord:
        """Cancel a run in progress and wait until it has stopped."""
        driver = self._drivers.get(run_id)
        if driver is None:
            record = await self.store.get_run(run_id)
            if record is None:
                raise NotFoundError(f"no run with id {run_id}")
            raise FailedPreconditionError(
                f"run {run_id} is not running (it is {record.state.value})"
            )
        driver.cancel(RunState.CANCELLED)
        return await self.wait(run_id)

    async def retry(self, run_id: int, *, triggered_by: str = "") -> RunRecord:
        """Start a new run of a failed run's definition, reusing its succeeded tasks."""
        old = await self.store.get_run(run_id)
        if old is None:
            raise NotFoundError(f"no run with id {run_id}")
        if not old.state.finished:
            raise FailedPreconditionError(
                f"run {run_id} is still {old.state.value}; cancel it or wait"
            )
        if old.state is RunState.SUCCEEDED:
            raise FailedPreconditionError(f"run {run_id} succeeded; there is nothing to retry")
        body = await self.store.get_definition(old.definition_hash)
        if body is None:
            raise FailedPreconditionError(
                f"the definition run {run_id} ran ({old.definition_hash[:12]}) is not stored"
            )
        workflow = workflow_from_mapping(
            json.loads(body), source=f"run {run_id}", registry=self.registry
        )
        return await self.start(
            workflow,
            TriggerType.RETRY,
            old.parameters,
            key=old.workflow,
            triggered_by=triggered_by or f"retry of run {run_id}",
            retry_of=run_id,
            reused=reusable(workflow, old),
        )

    async def _run_subworkflow(
        self, name: str, parameters: Mapping[str, str]
    ) -> tuple[bool, dict[str, str], int]:
        depth = _depth.get() + 1
        if depth > MAX_SUBWORKFLOW_DEPTH:
            raise FailedPreconditionError(
                f"sub-workflows nest deeper than {MAX_SUBWORKFLOW_DEPTH} levels"
                f" (does {name!r} run itself?)"
            )
        definition = await self.resolve(name)
        token = _depth.set(depth)  # inherited by the child run's tasks
        try:
            run = await self.start(
                definition, TriggerType.WORKFLOW, parameters, key=name, triggered_by="sub-workflow"
            )
        finally:
            _depth.reset(token)
        try:
            record = await self.wait(run.id)
        except asyncio.CancelledError:
            # The parent task was cancelled or timed out: so is the child run.
            driver = self._drivers.get(run.id)
            if driver is not None:
                driver.cancel(RunState.CANCELLED)
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.wait(run.id))
            raise
        return record.state is RunState.SUCCEEDED, _child_outputs(definition, record), run.id

    def definition_of(self, stored: StoredWorkflow) -> WorkflowDef:
        """The definition of an API-created workflow, from its stored canonical body."""
        return workflow_from_mapping(
            json.loads(stored.body), source=f"workflow {stored.name}", registry=self.registry
        )

    async def resolve(self, name: str) -> WorkflowDef:
        """The definition of a workflow by name: an API-created one, else a template."""
        stored = await self.store.get_workflow(name)
        if stored is not None:
            return self.definition_of(stored)
        definition = self._template(name)
        if definition is None:
            raise NotFoundError(f"no workflow or template named {name!r} (see 'barbossactl list')")
        return definition

    async def recover(self) -> list[int]:
        """Mark runs left in flight by a crash as interrupted."""
        ids = await self.store.interrupt_inflight("interrupted: the daemon stopped while this ran")
        if ids:
            log.warning("marked %d run(s) left in flight as interrupted: %s", len(ids), ids)
        return ids

    async def shutdown(self, grace: float) -> None:
        """Stop accepting runs; give running ones `grace` seconds, then interrupt them."""
        self.accepting = False
        tasks = list(self._tasks.values())
        if tasks:
            log.info("waiting up to %.1fs for %d run(s) to finish", grace, len(tasks))
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                for driver in list(self._drivers.values()):
                    driver.cancel(RunState.INTERRUPTED)
                await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        """Close the store (after shutdown)."""
        await self.store.close()


def _variable_mapping(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    raw = data.get("variables", {})
    entry = raw.get(name) if isinstance(raw, Mapping) else None
    if isinstance(entry, Mapping):
        return dict(entry)
    return {"default": entry} if entry is not None else {}


def _child_outputs(workflow: WorkflowDef, record: RunRecord) -> dict[str, str]:
    """A sub-workflow's outputs as its parent task's: every child task's outputs by key.

    Keys are plain (`{{ tasks.SUB.outputs.KEY }}` takes one segment); when several child tasks
    publish a key, the one latest in the child's plan order wins.
    """
    by_task = {t.task_id: t.outputs for t in record.tasks}
    outputs: dict[str, str] = {}
    for task_id in plan_dag(workflow).order:
        outputs.update(by_task.get(task_id, {}))
    return outputs
