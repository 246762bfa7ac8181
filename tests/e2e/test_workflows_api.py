"""WorkflowService through a real daemon: create from a template and from a typed config, get,
list, validate, delete — and the created workflows run."""

from __future__ import annotations

import grpc
import pytest
from barbossa.v1 import (
    common_pb2,
    executions_pb2,
    executions_pb2_grpc,
    workflows_pb2,
    workflows_pb2_grpc,
)
from harness import DaemonProcess


def _run_to_end(ch: grpc.Channel, workflow: str) -> executions_pb2.Run:
    stub = executions_pb2_grpc.ExecutionServiceStub(ch)
    run = stub.Execute(executions_pb2.ExecuteRequest(workflow=workflow), timeout=10).run
    for _event in stub.WatchRun(executions_pb2.WatchRunRequest(run_id=run.id), timeout=30):
        pass  # the stream ends when the run does
    return stub.GetRun(executions_pb2.GetRunRequest(run_id=run.id), timeout=5)


def test_create_from_template_and_from_config_then_run(daemon: DaemonProcess) -> None:
    with grpc.insecure_channel(f"unix:{daemon.socket}") as ch:
        wf = workflows_pb2_grpc.WorkflowServiceStub(ch)
        created = wf.CreateWorkflow(
            workflows_pb2.CreateWorkflowRequest(
                name="hello-ops",
                from_template=workflows_pb2.CreateWorkflowRequest.FromTemplate(
                    template="hello", variables={"name": "ops team"}
                ),
            ),
            timeout=5,
        )
        assert created.source == workflows_pb2.WORKFLOW_SOURCE_API
        assert created.variable_values == {"name": "ops team"}
        run = _run_to_end(ch, "hello-ops")
        assert run.state == common_pb2.RUN_STATE_SUCCEEDED
        logs = executions_pb2_grpc.ExecutionServiceStub(ch).GetLogs(
            executions_pb2.GetLogsRequest(run_id=run.id), timeout=5
        )
        assert "Hello, ops team!" in "".join(line.text for line in logs.lines)

        config = workflows_pb2.WorkflowConfig(
            name="typed",
            tasks=[
                workflows_pb2.TaskConfig(
                    id="one",
                    type="shell_command",
                    shell_command=workflows_pb2.ShellCommandSpec(
                        command="echo v=1 >> $BARBOSSA_OUTPUT"
                    ),
                ),
                workflows_pb2.TaskConfig(
                    id="two",
                    type="shell_command",
                    dependencies=["one"],
                    shell_command=workflows_pb2.ShellCommandSpec(
                        command="echo got={{ tasks.one.outputs.v }} >> $BARBOSSA_OUTPUT"
                    ),
                ),
            ],
        )
        wf.CreateWorkflow(workflows_pb2.CreateWorkflowRequest(config=config), timeout=5)
        got = wf.GetWorkflow(workflows_pb2.GetWorkflowRequest(name="typed"), timeout=5)
        assert [t.id for t in got.config.tasks] == ["one", "two"]
        assert got.config.tasks[1].dependencies == ["one"]
        run = _run_to_end(ch, "typed")
        assert run.state == common_pb2.RUN_STATE_SUCCEEDED
        assert run.tasks[1].outputs == {"got": "1"}

        names = {
            w.name
            for w in wf.ListWorkflows(workflows_pb2.ListWorkflowsRequest(), timeout=5).workflows
        }
        assert {"hello", "hello-ops", "typed"} <= names

        with pytest.raises(grpc.RpcError) as err:
            wf.CreateWorkflow(workflows_pb2.CreateWorkflowRequest(config=config), timeout=5)
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS

        wf.DeleteWorkflow(workflows_pb2.DeleteWorkflowRequest(name="typed"), timeout=5)
        with pytest.raises(grpc.RpcError) as err:
            wf.GetWorkflow(workflows_pb2.GetWorkflowRequest(name="typed"), timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_validate_reports_file_line_and_field(daemon: DaemonProcess) -> None:
    text = "name: x\ntasks:\n  - id: a\n    type: shell_command\n    comand: echo hi\n"
    with grpc.insecure_channel(f"unix:{daemon.socket}") as ch:
        resp = workflows_pb2_grpc.WorkflowServiceStub(ch).ValidateWorkflow(
            workflows_pb2.ValidateWorkflowRequest(definition_yaml=text, file_name="x.yaml"),
            timeout=5,
        )
    assert not resp.valid
    issue = next(i for i in resp.issues if "comand" in i.message)
    assert issue.location.file == "x.yaml" and issue.location.line == 5
    assert issue.suggestion == "command"
