"""The default registry holds every built-in task type, each with a proper spec dataclass."""

from __future__ import annotations

import dataclasses

import pytest

from barbossad.tasks.base import TaskHandler
from barbossad.tasks.registry_default import builtin_handlers, default_registry

EXPECTED = [
    "api_call",
    "file_operation",
    "git_operation",
    "health_check",
    "python_script",
    "service_management",
    "shell_command",
    "workflow",
]


def test_all_builtin_types_are_registered() -> None:
    assert default_registry().names() == EXPECTED


@pytest.mark.parametrize("handler", builtin_handlers(), ids=lambda h: h.type_name)
def test_specs_are_frozen_slotted_keyword_only(handler: TaskHandler) -> None:
    spec_type = handler.spec_type
    assert dataclasses.is_dataclass(spec_type)
    params = spec_type.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert "__slots__" in vars(spec_type)
    assert all(f.kw_only for f in dataclasses.fields(spec_type))
