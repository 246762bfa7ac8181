"""The `triggers:` format: typed definitions, canonical dumps, and errors with file, line, field."""

from __future__ import annotations

import textwrap

import pytest

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.parse import dump_workflow, parse_workflow, workflow_from_mapping
from barbossad.definitions.trigger_model import (
    FileChange,
    FileWatchTrigger,
    WebhookTrigger,
    WorkflowOutcome,
    WorkflowTrigger,
)
from barbossad.errors import DefinitionError, Issue
from barbossad.tasks.registry_default import default_registry

REGISTRY = default_registry()
TASKS = "tasks:\n  - {id: a, type: shell_command, command: 'echo {{ ref }}'}\n"


def parse(triggers: str, variables: str = "variables: {ref: main}\n") -> WorkflowDef:
    text = "name: w\n" + variables + textwrap.dedent(triggers).lstrip("\n") + TASKS
    return parse_workflow(text, source="w.yaml", registry=REGISTRY)


def issues(triggers: str, variables: str = "variables: {ref: main}\n") -> list[Issue]:
    with pytest.raises(DefinitionError) as caught:
        parse(triggers, variables)
    return list(caught.value.issues)


def test_every_kind_with_its_defaults_and_shorthands() -> None:
    wf = parse(
        """
        triggers:
          - webhook:
              name: deploy
              secret_env: DEPLOY_HOOK_SECRET
              max_body: 512KiB
              parameters: {ref: head_commit.id}
          - webhook: {secret_file: /etc/barbossad/hooks/w.secret}
          - on_workflow: build
          - on_workflow: {workflow: test, outcome: failed, parameters: {ref: dev}}
          - file_watch: /srv/incoming
          - file_watch: {path: /srv/x.csv, events: [deleted], pattern: "*.csv", debounce: 1m}
        """
    )
    assert wf.triggers == (
        WebhookTrigger(
            name="deploy",
            secret_env="DEPLOY_HOOK_SECRET",
            max_body=512 * 1024,
            parameters={"ref": "head_commit.id"},
            line=4,
        ),
        WebhookTrigger(secret_file="/etc/barbossad/hooks/w.secret", line=9),
        WorkflowTrigger(workflow="build", line=10),
        WorkflowTrigger(
            workflow="test", outcome=WorkflowOutcome.FAILED, parameters={"ref": "dev"}, line=11
        ),
        FileWatchTrigger(path="/srv/incoming", line=12),
        FileWatchTrigger(
            path="/srv/x.csv", events=(FileChange.DELETED,), pattern="*.csv", debounce=60.0, line=13
        ),
    )
    assert wf.triggers[4].events == (FileChange.CREATED, FileChange.MODIFIED, FileChange.MOVED)


def test_dump_is_canonical_and_parses_back() -> None:
    wf = parse("triggers:\n  - on_workflow: build\n  - webhook: {secret_env: S, max_body: 1MiB}\n")
    dumped = dump_workflow(wf)
    assert dumped["triggers"] == [
        {"on_workflow": {"workflow": "build"}},
        {"webhook": {"secret_env": "S"}},
    ]
    again = workflow_from_mapping(dumped, source="dump", registry=REGISTRY)
    assert again.hash == wf.hash


@pytest.mark.parametrize(
    ("triggers", "line", "field", "message", "suggestion"),
    [
        ("triggers: {webhook: {}}\n", 1, "triggers", "expected a list of trigger mappings", ""),
        ("triggers: [push]\n", 1, "triggers[0]", "expected a trigger mapping, got 'push'", ""),
        (
            "triggers:\n  - {type: webhook, path: /deploy}\n",
            2,
            "triggers[0].type",
            "write a trigger as '- KIND: {...}'",
            "",
        ),
        ("triggers:\n  - {}\n", 2, "triggers[0]", "exactly one key, its kind", ""),
        ("triggers:\n  - webhok: {}\n", 2, "triggers[0].webhok", "unknown trigger kind", "webhook"),
        (
            "triggers:\n  - schedule: '@daily'\n",
            2,
            "triggers[0].schedule",
            "top-level 'schedule:'",
            "",
        ),
        ("triggers:\n  - webhook: {}\n", 2, "triggers[0].webhook", "a webhook needs a secret", ""),
        (
            "triggers:\n  - webhook:\n      secret: hunter2\n      secret_env: S\n",
            3,
            "triggers[0].webhook.secret",
            "inline secrets are not allowed",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_env: S, secret_file: /s}\n",
            2,
            "triggers[0].webhook",
            "only one of secret_env and secret_file",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_env: 9X}\n",
            2,
            "triggers[0].webhook.secret_env",
            "invalid",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_file: hook.secret}\n",
            2,
            "triggers[0].webhook.secret_file",
            "expected an absolute path",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_env: S, name: 'a b'}\n",
            2,
            "triggers[0].webhook.name",
            "invalid hook name 'a b'",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_env: S, max_body: 1TB}\n",
            2,
            "triggers[0].webhook.max_body",
            "expected a size in bytes",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_env: S, max_body: 64MiB}\n",
            2,
            "triggers[0].webhook.max_body",
            "between 1 byte and 32 MiB",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_env: S, parameters: {reff: a}}\n",
            2,
            "triggers[0].webhook.parameters.reff",
            "unknown parameter 'reff'",
            "ref",
        ),
        (
            "triggers:\n  - webhook: {secret_env: S, parameters: {ref: a..b}}\n",
            2,
            "triggers[0].webhook.parameters.ref",
            "expected a dotted path",
            "",
        ),
        (
            "triggers:\n  - webhook: {secret_env: S}\n  - webhook: {secret_env: T}\n",
            3,
            "triggers[1].webhook.name",
            "another webhook already uses the default name",
            "",
        ),
        (
            "triggers:\n  - on_workflow: {workflow: b, outcome: done}\n",
            2,
            "triggers[0].on_workflow.outcome",
            "expected one of succeeded, failed, any",
            "",
        ),
        (
            "triggers:\n  - on_workflow: {outcome: failed}\n",
            2,
            "triggers[0].on_workflow.workflow",
            "required field 'workflow' missing",
            "",
        ),
        (
            "triggers:\n  - on_workflow: {workflow: b, parameters: {nope: x}}\n",
            2,
            "triggers[0].on_workflow.parameters.nope",
            "unknown parameter 'nope'",
            "",
        ),
        (
            "triggers:\n  - file_watch: incoming\n",
            2,
            "triggers[0].file_watch.path",
            "absolute path",
            "",
        ),
        (
            "triggers:\n  - file_watch: {path: /x, events: [touched]}\n",
            2,
            "triggers[0].file_watch.events[0]",
            "expected one of created, modified, deleted, moved",
            "",
        ),
        (
            "triggers:\n  - file_watch: {path: /x, events: []}\n",
            2,
            "triggers[0].file_watch.events",
            "at least one",
            "",
        ),
        (
            "triggers:\n  - file_watch: {path: /x, pattern: a/b}\n",
            2,
            "triggers[0].file_watch.pattern",
            "glob",
            "",
        ),
        (
            "triggers:\n  - file_watch: {path: /x, debounce: 2h}\n",
            2,
            "triggers[0].file_watch.debounce",
            "1h",
            "",
        ),
        (
            "triggers:\n  - file_watch: {path: /x, recursiv: true}\n",
            2,
            "triggers[0].file_watch.recursiv",
            "unknown key",
            "recursive",
        ),
    ],
)
def test_errors_name_line_and_field(
    triggers: str, line: int, field: str, message: str, suggestion: str
) -> None:
    found = issues(triggers)
    assert any(
        i.file == "w.yaml"
        and i.line == line + 2  # lines in the table count from `triggers:`
        and i.field == field
        and message in i.message
        and i.suggestion == suggestion
        for i in found
    ), found


@pytest.mark.parametrize("kind", ["webhook: {secret_env: S}", "file_watch: /srv/in"])
def test_required_variables_must_be_reachable(kind: str) -> None:
    [issue] = issues(f"triggers:\n  - {kind}\n", "variables: {ref: {required: true}}\n")
    assert "variable 'ref' is required and has no default" in issue.message
