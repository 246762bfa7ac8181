"""WorkflowService: templates and workflows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import grpc
from barbossa.v1 import workflows_pb2, workflows_pb2_grpc

from barbossad.definitions.parse import dump_workflow
from barbossad.errors import (
    AlreadyExistsError,
    DefinitionError,
    InvalidArgumentError,
    NotFoundError,
)
from barbossad.rpc import convert
from barbossad.rpc.context import ServiceContext
from barbossad.store.base import StoredWorkflow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class WorkflowServicer(workflows_pb2_grpc.WorkflowServiceServicer):
    """Templates come from the catalogue; API workflows from the store."""

    MUTATING = frozenset({"CreateWorkflow", "DeleteWorkflow"})

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def ListTemplates(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return workflows_pb2.ListTemplatesResponse(
            templates=[convert.template(e) for e in self.ctx.engine.catalog.entries()]
        )

    async def GetTemplate(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        entry = self.ctx.engine.catalog.get(request.name)
        if entry is None:
            raise NotFoundError(f"no template named {request.name!r}")
        return convert.template(entry)

    async def ListWorkflows(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        engine = self.ctx.engine
        out = []
        stored = await engine.store.list_workflows()
        stored_names = {w.name for w in stored}
        for entry in engine.catalog.entries():
            if entry.active is not None and entry.name not in stored_names:
                out.append(self._template_workflow(entry.name))
        for w in stored:
            out.append(self._stored_workflow(w))
        out.sort(key=lambda m: m.name)
        return workflows_pb2.ListWorkflowsResponse(workflows=out)

    def _template_workflow(self, name: str) -> workflows_pb2.Workflow:
        entry = self.ctx.engine.catalog.get(name)
        assert entry is not None and entry.active is not None
        wf = entry.active
        return workflows_pb2.Workflow(
            name=name,
            description=wf.description,
            version=wf.version,
            source=workflows_pb2.WORKFLOW_SOURCE_TEMPLATE,
            template_name=name,
            definition_hash=wf.hash,
            config=convert.workflow_config(wf),
            updated_at=convert.timestamp(entry.loaded_at),
        )

    def _stored_workflow(self, w: StoredWorkflow) -> workflows_pb2.Workflow:
        wf = self.ctx.engine.definition_of(w)
        return workflows_pb2.Workflow(
            name=w.name,
            description=wf.description,
            version=wf.version,
            source=workflows_pb2.WORKFLOW_SOURCE_API,
            template_name=w.template_name,
            definition_hash=w.definition_hash,
            config=convert.workflow_config(wf),
            created_at=convert.timestamp(w.created_at),
            updated_at=convert.timestamp(w.updated_at),
            variable_values=dict(w.variable_values),
        )

    async def GetWorkflow(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        stored = await self.ctx.engine.store.get_workflow(request.name)
        if stored is not None:
            return self._stored_workflow(stored)
        entry = self.ctx.engine.catalog.get(request.name)
        if entry is None or entry.active is None:
            raise NotFoundError(f"no workflow named {request.name!r} (see 'barbossactl list')")
        return self._template_workflow(request.name)

    async def CreateWorkflow(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        engine = self.ctx.engine
        which = request.WhichOneof("source")
        template_name = ""
        variables: dict[str, str] = {}
        if which == "from_template":
            template_name = request.from_template.template
            variables = dict(request.from_template.variables)
            wf = engine.create_workflow_from_template(template_name, variables)
        elif which == "config":
            wf = engine.create_workflow_from_config(
                convert.config_mapping(request.config), source="<request>"
            )
        elif which == "definition_yaml":
            wf = engine.create_workflow_from_config(
                request.definition_yaml, source="<request>.yaml"
            )
        else:
            raise InvalidArgumentError(
                "CreateWorkflow needs from_template, config or definition_yaml"
            )
        name = request.name or (template_name if which == "from_template" else wf.name)
        if not _NAME.match(name):
            raise InvalidArgumentError(
                f"invalid workflow name {name!r}: use letters, digits, '_', '.', '-' "
                "(pass name= to choose one)"
            )
        if (
            engine.catalog.definition(name) is not None
            or await engine.store.get_workflow(name) is not None
        ):
            raise AlreadyExistsError(f"a workflow named {name!r} already exists")
        body = json.dumps(dump_workflow(wf), sort_keys=True)
        await engine.store.put_definition(wf.hash, name, body)
        now = datetime.now(UTC)
        stored = StoredWorkflow(
            name=name,
            template_name=template_name,
            definition_hash=wf.hash,
            body=body,
            variable_values=variables,
            created_at=now,
            updated_at=now,
        )
        await engine.store.save_workflow(stored)
        return self._stored_workflow(stored)

    async def DeleteWorkflow(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if not await self.ctx.engine.store.delete_workflow(request.name):
            if self.ctx.engine.catalog.get(request.name) is not None:
                raise InvalidArgumentError(
                    f"{request.name!r} is a template; delete its file from "
                    f"{self.ctx.engine.catalog.directory}"
                )
            raise NotFoundError(f"no workflow named {request.name!r}")
        return workflows_pb2.DeleteWorkflowResponse()

    async def ValidateWorkflow(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        engine = self.ctx.engine
        which = request.WhichOneof("source")
        source = request.file_name or "<request>"
        try:
            if which == "config":
                wf = engine.create_workflow_from_config(
                    convert.config_mapping(request.config), source=source
                )
            elif which == "definition_yaml":
                wf = engine.create_workflow_from_config(request.definition_yaml, source=source)
            else:
                raise InvalidArgumentError("ValidateWorkflow needs config or definition_yaml")
        except DefinitionError as exc:
            return workflows_pb2.ValidateWorkflowResponse(
                valid=False, issues=convert.issues(exc.issues)
            )
        return workflows_pb2.ValidateWorkflowResponse(
            valid=True, name=wf.name, task_count=len(wf.tasks)
        )
