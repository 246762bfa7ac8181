"""Parsing valid definitions: the documented format, typed spec fields, JSON and mappings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from defkit import Limits, Mode, Parse, ProbeSpec, ShellSpec

from barbossad.definitions.model import RetryPolicy, RunCondition, ScheduleDef, VariableType
from barbossad.definitions.parse import dump_workflow, parse_workflow, workflow_from_mapping
from barbossad.definitions.trigger_model import WebhookTrigger
from barbossad.errors import DefinitionError
from barbossad.tasks.base import TaskRegistry

DOCUMENTED = """
name: "Custom Deployment"
description: "Deploy application with tests"
version: "1.0"
variables:
  app_dir: /srv/app
  env_name:
    type: choice
    choices: [staging, production]
    default: staging
    description: Target environment
    required: false
max_parallel: 4
timeout: 3600
schedule: "0 2 * * *"
triggers:
  - webhook: {name: deploy, secret_env: DEPLOY_HOOK_SECRET}
tasks:
  - id: build
    name: Build Application
    type: shell_command
    command: "npm run build"
    working_directory: "{{ app_dir }}"
    timeout: 300
    env: {NODE_ENV: production}
    retry: {attempts: 3, delay: 2, backoff_factor: 2, max_delay: 60}
    condition: all_succeeded
    continue_on_error: false
  - id: test
    name: Run Tests
    type: shell_command
    command: "npm test"
    dependencies: [build]
"""


def test_documented_example(parse: Parse) -> None:
    wf = parse(DOCUMENTED)
    assert (wf.name, wf.description, wf.version) == (
        "Custom Deployment",
        "Deploy application with tests",
        "1.0",
    )
    assert [(v.name, v.type, v.default, v.choices) for v in wf.variables] == [
        ("app_dir", VariableType.STRING, "/srv/app", ()),
        ("env_name", VariableType.CHOICE, "staging", ("staging", "production")),
    ]
    assert (wf.max_parallel, wf.timeout) == (4, 3600.0)
    assert wf.schedules == (ScheduleDef(cron="0 2 * * *", line=15),)
    assert wf.triggers == (WebhookTrigger(name="deploy", secret_env="DEPLOY_HOOK_SECRET", line=17),)
    build, test = wf.tasks
    assert build.spec == ShellSpec(command="npm run build")
    assert (build.name, build.timeout, build.line) == ("Build Application", 300.0, 19)
    assert build.retry == RetryPolicy(attempts=3, delay=2.0, backoff_factor=2.0, max_delay=60.0)
    assert build.env == {"NODE_ENV": "production"}
    assert build.working_directory == "{{ app_dir }}"
    assert test.dependencies == ("build",)
    assert test.retry == RetryPolicy() and test.condition is RunCondition.ALL_SUCCEEDED
    assert len(wf.hash) == 64 and wf.source == "wf.yaml"


def test_shorthands_and_durations(parse: Parse) -> None:
    wf = parse(
        """
        name: w
        timeout: 1h30m
        tasks:
          - id: a
            type: shell_command
            command: x
            retry: 3
            timeout: 5m
          - {id: b, type: shell_command, command: x, timeout: "90s", condition: on_failure}
          - {id: c, type: shell_command, command: x, timeout: 1.5, continue_on_error: yes}
        """
    )
    a, b, c = wf.tasks
    assert wf.timeout == 5400.0
    assert (a.retry, a.timeout, a.name) == (RetryPolicy(attempts=3), 300.0, "a")
    assert (b.timeout, b.condition) == (90.0, RunCondition.ON_FAILURE)
    assert (c.timeout, c.continue_on_error) == (1.5, True)


def test_text_fields_keep_what_was_written(parse: Parse) -> None:
    wf = parse(
        """
        name: 2024
        version: 1.10
        variables:
          on: yes
          n: {type: int, default: 0x10}
          b: {type: bool, default: on}
        tasks:
          - {id: a, type: shell_command, command: 007, env: {A: 1.50, B: no}}
        """
    )
    assert (wf.name, wf.version) == ("2024", "1.10")
    assert [v.default for v in wf.variables] == ["yes", "16", "true"]
    assert wf.tasks[0].spec.command == "007"
    assert wf.tasks[0].env == {"A": "1.50", "B": "no"}


def test_generic_spec_fields(parse: Parse) -> None:
    wf = parse(
        """
        name: w
        variables: {host: example.org}
        tasks:
          - id: p
            type: probe
            url: "https://{{ host }}/health"
            count: "3"
            ratio: 2
            verbose: true
            label: null
            port: 8080
            wait: 2m
            args: [a, 1, true]
            headers: {Accept: text/plain}
            body: {nested: [1, 2.5, null, {x: y}]}
            mode: fast
            limits: {cpu: 2, files: 10}
            timeout: 5
        """
    )
    (task,) = wf.tasks
    assert task.spec == ProbeSpec(
        url="https://{{ host }}/health",
        count=3,
        ratio=2.0,
        verbose=True,
        label=None,
        port=8080,
        wait=120.0,
        args=("a", "1", "true"),
        headers={"Accept": "text/plain"},
        body={"nested": [1, 2.5, None, {"x": "y"}]},
        mode=Mode.FAST,
        limits=Limits(cpu=2.0, files=10),
        timeout=5.0,
    )
    assert task.timeout is None  # `timeout` belongs to the probe type


def test_placeholders_that_resolve(parse: Parse) -> None:
    wf = parse(
        """
        name: w
        variables: {v: x}
        tasks:
          - {id: a, type: shell_command, command: "echo {{ v }} {{run.id}} {{ workflow.name }}"}
          - {id: b, type: shell_command, command: x, dependencies: [a]}
          - id: c-1
            type: shell_command
            dependencies: [b]
            command: echo {{ tasks.a.outputs.ver-sion }} {{ tasks.b.exit_code }}
            env: {OUT: "{{ tasks.a.stdout }}", T: "{{ run.trigger }}"}
        """
    )
    assert [t.id for t in wf.tasks] == ["a", "b", "c-1"]


def test_json_definition_and_positions(registry: TaskRegistry) -> None:
    text = json.dumps(
        {"name": "j", "tasks": [{"id": "a", "type": "shell_command", "command": "x"}]}, indent=2
    )
    wf = parse_workflow(text, source="w.json", registry=registry)
    assert wf.tasks[0].line == 4
    bad = text.replace('"command"', '"comand"')
    with pytest.raises(DefinitionError) as caught:
        parse_workflow(bad, source="w.json", registry=registry)
    assert [str(i) for i in caught.value.issues] == [
        "w.json:4:5: tasks[0].command: required field 'command' missing for type shell_command",
        "w.json:7:7: tasks[0].comand: unknown key 'comand' for type shell_command"
        " (did you mean 'command'?)",
    ]


def test_from_mapping_accepts_protobuf_numbers(registry: TaskRegistry) -> None:
    data = {
        "name": "m",
        "max_parallel": 2.0,  # protobuf Struct numbers are doubles
        "tasks": [
            {"id": "a", "type": "probe", "url": "http://x", "count": 3.0, "args": ("t",)},
        ],
    }
    wf = workflow_from_mapping(data, source="rpc", registry=registry)
    assert wf.max_parallel == 2
    assert (wf.tasks[0].spec.count, wf.tasks[0].spec.args, wf.tasks[0].line) == (3, ("t",), 0)
    with pytest.raises(
        DefinitionError, match=r"^rpc: tasks\[0\]\.count: expected an integer, got 3\.5"
    ):
        workflow_from_mapping(
            {"name": "m", "tasks": [{"id": "a", "type": "probe", "url": "http://x", "count": 3.5}]},
            source="rpc",
            registry=registry,
        )


def test_hash_ignores_layout_and_spelling(parse: Parse) -> None:
    one = parse(DOCUMENTED)
    reformatted = "# a comment\n" + DOCUMENTED.replace("timeout: 300", "timeout: 5m").replace(
        "max_parallel: 4", "max_parallel:    4   # four"
    )
    two = parse(reformatted, source="other.yaml")
    assert one.hash == two.hash
    changed = parse(DOCUMENTED.replace("npm test", "npm test --ci"))
    assert changed.hash != one.hash


def test_dump_is_minimal_and_json(parse: Parse) -> None:
    wf = parse(DOCUMENTED)
    dumped = dump_workflow(wf)
    assert json.loads(json.dumps(dumped)) == dumped
    assert dumped["tasks"][1] == {
        "id": "test",
        "name": "Run Tests",
        "type": "shell_command",
        "dependencies": ["build"],
        "command": "npm test",
    }
    assert dumped["variables"]["app_dir"] == "/srv/app"


def test_bundled_template_parses_with_builtin_types() -> None:
    from barbossad.tasks.registry_default import default_registry

    path = Path(__file__).resolve().parents[2] / "workflow_templates" / "hello.yaml"
    wf = parse_workflow(path.read_bytes(), source=str(path), registry=default_registry())
    assert wf.name == "hello" and wf.tasks[0].spec.command.startswith("echo")
