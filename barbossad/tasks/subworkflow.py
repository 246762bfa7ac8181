"""workflow: run another workflow as one task and wait for it (a sub-workflow).

The engine supplies `ctx.run_workflow`; the child run's outputs become this task's outputs,
and its run id is reported as the `run_id` output so the two runs can be linked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from barbossad.errors import BarbossaError
from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult
from barbossad.tasks.support import deferred


@dataclass(frozen=True, slots=True, kw_only=True)
class SubWorkflowSpec:
    """Fields of a workflow task."""

    workflow: str
    parameters: Mapping[str, str] = field(default_factory=dict)


class SubWorkflowHandler:
    """Starts the named workflow through the engine and waits for it."""

    type_name: ClassVar[str] = "workflow"
    spec_type: ClassVar[type] = SubWorkflowSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Load-time checks; values still holding placeholders are checked when run."""
        return self.problems(spec, rendered=False)

    def problems(self, spec: Any, *, rendered: bool = True) -> list[tuple[str, str]]:
        """A workflow name is given (whether it exists is known only when the task runs)."""
        if not deferred(spec.workflow, rendered) and not spec.workflow.strip():
            return [("workflow", "must name the workflow to run")]
        return []

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: which workflow would start, with which parameter names."""
        names = ", ".join(sorted(spec.parameters)) or "no parameters"
        return PlannedAction(description=f"would run workflow {spec.workflow!r} ({names})")

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Run the child workflow; this task succeeds when it does."""
        problems = self.problems(spec)
        if problems:
            return TaskResult(ok=False, error=f"workflow: {problems[0][1]}")
        if ctx.run_workflow is None:
            return TaskResult(ok=False, error="workflow: sub-workflows are not available here")
        ctx.log(f"workflow: starting {spec.workflow!r}")
        try:
            succeeded, outputs, run_id = await ctx.run_workflow(
                spec.workflow, dict(spec.parameters)
            )
        except BarbossaError as exc:  # unknown workflow, bad parameters, shutting down
            return TaskResult(ok=False, error=f"workflow {spec.workflow!r}: {exc}")
        ctx.log(
            f"workflow: {spec.workflow!r} run {run_id} {'succeeded' if succeeded else 'failed'}"
        )
        result_outputs = {**outputs, "run_id": str(run_id)}
        if not succeeded:
            error = f"workflow {spec.workflow!r} (run {run_id}) did not succeed"
            return TaskResult(ok=False, outputs=result_outputs, error=error)
        return TaskResult(ok=True, outputs=result_outputs)
