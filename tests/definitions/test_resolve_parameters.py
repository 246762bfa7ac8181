"""Values given at execution time (`barbossactl exec NAME -p k=v`) checked against variables."""

from __future__ import annotations

import pytest
from defkit import Parse

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.parse import resolve_parameters
from barbossad.errors import DefinitionError

VARIABLES = """
name: w
variables:
  app_dir: /srv/app
  note:
  count: {type: int, default: 2}
  debug: {type: bool, default: false}
  env_name: {type: choice, choices: [staging, production], default: staging}
  target: {required: true, description: Host to deploy to}
tasks:
  - {id: a, type: shell_command, command: "echo {{ target }}"}
"""


@pytest.fixture
def workflow(parse: Parse) -> WorkflowDef:
    return parse(VARIABLES)


def test_defaults_fill_in(workflow: WorkflowDef) -> None:
    assert resolve_parameters(workflow, {"target": "web1"}) == {
        "app_dir": "/srv/app",
        "note": "",
        "count": "2",
        "debug": "false",
        "env_name": "staging",
        "target": "web1",
    }


@pytest.mark.parametrize(
    ("name", "given", "normalised"),
    [
        ("count", " 42 ", "42"),
        ("count", "-3", "-3"),
        ("debug", "yes", "true"),
        ("debug", "1", "true"),
        ("debug", "FALSE", "false"),
        ("debug", "no", "false"),
        ("debug", "0", "false"),
        ("env_name", "production", "production"),
        ("app_dir", "  spaced  ", "  spaced  "),
    ],
)
def test_values_are_normalised(
    workflow: WorkflowDef, name: str, given: str, normalised: str
) -> None:
    assert resolve_parameters(workflow, {"target": "t", name: given})[name] == normalised


@pytest.mark.parametrize(
    ("supplied", "field", "message", "suggestion"),
    [
        (
            {"target": "t", "app_dri": "/x"},
            "parameters.app_dri",
            "unknown parameter 'app_dri'",
            "app_dir",
        ),
        (
            {"target": "t", "count": "many"},
            "parameters.count",
            "expected an integer, got 'many'",
            "",
        ),
        (
            {"target": "t", "debug": "perhaps"},
            "parameters.debug",
            "expected true/false/yes/no/1/0",
            "",
        ),
        (
            {"target": "t", "env_name": "prod"},
            "parameters.env_name",
            "expected one of staging, production, got 'prod'",
            "production",
        ),
        ({}, "parameters.target", "parameter 'target' is required", ""),
    ],
)
def test_bad_values(
    workflow: WorkflowDef, supplied: dict[str, str], field: str, message: str, suggestion: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        resolve_parameters(workflow, supplied)
    (issue,) = caught.value.issues
    assert (issue.file, issue.field, issue.suggestion) == ("wf.yaml", field, suggestion)
    assert message in issue.message


def test_all_problems_at_once(workflow: WorkflowDef) -> None:
    with pytest.raises(DefinitionError) as caught:
        resolve_parameters(workflow, {"nope": "1", "count": "x"})
    assert [i.field for i in caught.value.issues] == [
        "parameters.nope",
        "parameters.count",
        "parameters.target",
    ]
