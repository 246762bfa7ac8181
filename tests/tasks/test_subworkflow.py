"""The workflow task type against a hand-written run_workflow double."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from taskkit import MakeCtx

from barbossad.errors import NotFoundError
from barbossad.tasks.subworkflow import SubWorkflowHandler, SubWorkflowSpec

pytestmark = pytest.mark.timeout(30)
handler = SubWorkflowHandler()


class FakeEngine:
    """Records sub-workflow starts and answers as configured."""

    def __init__(self, succeeded: bool = True, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.succeeded = succeeded
        self.error = error

    async def run_workflow(
        self, name: str, parameters: Mapping[str, str]
    ) -> tuple[bool, dict[str, str], int]:
        self.calls.append((name, dict(parameters)))
        if self.error is not None:
            raise self.error
        return self.succeeded, {"artifact": "build-42.tar.gz"}, 17


async def test_runs_the_child_and_passes_outputs(make_ctx: MakeCtx) -> None:
    engine = FakeEngine()
    spec = SubWorkflowSpec(workflow="build", parameters={"ref": "main"})
    result = await handler.run(spec, make_ctx(run_workflow=engine.run_workflow))
    assert result.ok
    assert engine.calls == [("build", {"ref": "main"})]
    assert result.outputs == {"artifact": "build-42.tar.gz", "run_id": "17"}


async def test_failed_child_fails_the_task(make_ctx: MakeCtx) -> None:
    engine = FakeEngine(succeeded=False)
    result = await handler.run(
        SubWorkflowSpec(workflow="build"), make_ctx(run_workflow=engine.run_workflow)
    )
    assert not result.ok
    assert result.error == "workflow 'build' (run 17) did not succeed"
    assert result.outputs["run_id"] == "17"


async def test_unknown_workflow_is_a_clear_error(make_ctx: MakeCtx) -> None:
    engine = FakeEngine(error=NotFoundError("no workflow named 'nope'"))
    result = await handler.run(
        SubWorkflowSpec(workflow="nope"), make_ctx(run_workflow=engine.run_workflow)
    )
    assert not result.ok and result.error == "workflow 'nope': no workflow named 'nope'"


async def test_without_an_engine(make_ctx: MakeCtx) -> None:
    result = await handler.run(SubWorkflowSpec(workflow="build"), make_ctx())
    assert not result.ok and "not available" in result.error


def test_check_and_describe(make_ctx: MakeCtx) -> None:
    assert handler.check(SubWorkflowSpec(workflow=" ")) == [
        ("workflow", "must name the workflow to run")
    ]
    assert handler.check(SubWorkflowSpec(workflow="{{ params.child }}")) == []
    spec = SubWorkflowSpec(workflow="build", parameters={"ref": "x", "env": "y"})
    assert handler.describe(spec, make_ctx()).description == "would run workflow 'build' (env, ref)"
