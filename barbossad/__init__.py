"""Barbossa: a systemd-native workflow automation daemon.

The embeddable API (`WorkflowEngine`, `TriggerType`, ...) is imported lazily so that light
importers (the CLI, tools) do not pay for the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "RunState",
    "TaskState",
    "TriggerType",
    "WorkflowEngine",
    "WorkflowSchedulerService",
    "__version__",
]

if TYPE_CHECKING:
    from barbossad.engine.engine import WorkflowEngine
    from barbossad.models import RunState, TaskState, TriggerType

_LAZY = {
    "WorkflowEngine": "barbossad.engine.engine",
    "TriggerType": "barbossad.models",
    "RunState": "barbossad.models",
    "TaskState": "barbossad.models",
    "WorkflowSchedulerService": "barbossad.scheduler.service",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'barbossad' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
