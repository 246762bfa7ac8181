"""Retries of failed runs: which tasks of the old run are reused, and how they are recorded."""

from __future__ import annotations

from collections.abc import Mapping

from barbossad.definitions.model import WorkflowDef
from barbossad.engine.plan import plan as plan_dag
from barbossad.models import RunRecord, TaskRunRecord, TaskState
from barbossad.store.base import Store, TaskUpdate


def reusable(workflow: WorkflowDef, old: RunRecord) -> dict[str, TaskRunRecord]:
    """Tasks of a failed run a retry reuses: those that succeeded with every dependency reused.

    Everything downstream of a task that runs again runs again too (an on_failure cleanup that
    ran because of the failure is decided afresh), so a retry re-runs from the failed tasks on.
    """
    old_tasks = {t.task_id: t for t in old.tasks}
    reused: dict[str, TaskRunRecord] = {}
    for task_id in plan_dag(workflow).order:
        record = old_tasks.get(task_id)
        task = workflow.task(task_id)
        if (
            record is not None
            and record.state is TaskState.SUCCEEDED
            and all(d in reused for d in task.dependencies)
        ):
            reused[task_id] = record
    return reused


async def store_reused(store: Store, run_id: int, reused: Mapping[str, TaskRunRecord]) -> None:
    """Record the reused tasks of a new run as succeeded, with the old attempt's outputs."""
    for task_id, old in reused.items():
        await store.update_task(
            run_id,
            task_id,
            TaskUpdate(
                state=TaskState.SUCCEEDED,
                attempt=old.attempt,
                exit_code=old.exit_code,
                outputs=old.outputs,
                reused=True,
                started_at=old.started_at,
                finished_at=old.finished_at,
            ),
        )
