"""The registry of built-in task types, as the daemon wires it."""

from __future__ import annotations

from barbossad.tasks.api_call import ApiCallHandler
from barbossad.tasks.base import TaskHandler, TaskRegistry
from barbossad.tasks.file_operation import FileOperationHandler
from barbossad.tasks.git_operation import GitOperationHandler
from barbossad.tasks.health_check import HealthCheckHandler
from barbossad.tasks.python_script import PythonScriptHandler
from barbossad.tasks.service_management import ServiceManagementHandler
from barbossad.tasks.shell import ShellCommandHandler
from barbossad.tasks.subworkflow import SubWorkflowHandler


def builtin_handlers() -> list[TaskHandler]:
    """One instance of every built-in task type."""
    return [
        ShellCommandHandler(),
        PythonScriptHandler(),
        FileOperationHandler(),
        ServiceManagementHandler(),
        GitOperationHandler(),
        HealthCheckHandler(),
        ApiCallHandler(),
        SubWorkflowHandler(),
    ]


def default_registry() -> TaskRegistry:
    """A registry holding every built-in task type."""
    registry = TaskRegistry()
    for handler in builtin_handlers():
        registry.register(handler)
    return registry
