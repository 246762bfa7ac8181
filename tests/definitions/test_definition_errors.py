"""Every definition error names the file, line, field and what was expected (table tests)."""

from __future__ import annotations

import pytest
from defkit import Issues

CASES = [
    # (case id, YAML, line, field, message fragment, suggestion)
    (
        "missing name",
        """
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        2,  # a missing key is reported where its mapping starts
        "name",
        "required field 'name' missing",
        "",
    ),
    (
        "empty name",
        """
        name: " "
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        2,
        "name",
        "'name' must not be empty",
        "",
    ),
    (
        "unknown top-level key",
        """
        name: w
        vars: {}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        3,
        "vars",
        "unknown key 'vars' for a workflow",
        "variables",
    ),
    (
        "missing tasks",
        """
        name: w
        """,
        2,
        "tasks",
        "required field 'tasks' missing",
        "",
    ),
    (
        "tasks not a list",
        """
        name: w
        tasks: {a: 1}
        """,
        3,
        "tasks",
        "expected a non-empty list of tasks, got a mapping",
        "",
    ),
    (
        "task not a mapping",
        """
        name: w
        tasks:
          - build
        """,
        4,
        "tasks[0]",
        "expected a mapping with 'id' and 'type', got 'build'",
        "",
    ),
    (
        "missing id",
        """
        name: w
        tasks:
          - type: shell_command
            command: x
        """,
        4,
        "tasks[0].id",
        "required field 'id' missing",
        "",
    ),
    (
        "bad id",
        """
        name: w
        tasks:
          - id: a.b
            type: shell_command
            command: x
        """,
        4,
        "tasks[0].id",
        "invalid task id 'a.b'",
        "",
    ),
    (
        "unknown type",
        """
        name: w
        tasks:
          - id: a
            type: shell_comand
            command: x
        """,
        5,
        "tasks[0].type",
        "unknown task type 'shell_comand' (known types: probe, shell_command)",
        "shell_command",
    ),
    (
        "required spec field",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
        """,
        4,
        "tasks[0].command",
        "required field 'command' missing for type shell_command",
        "",
    ),
    (
        "misspelt spec key",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            shel: sh
        """,
        7,
        "tasks[0].shel",
        "unknown key 'shel' for type shell_command",
        "shell",
    ),
    (
        "depends_on is not an alias",
        """
        name: w
        tasks:
          - {id: a, type: shell_command, command: x}
          - id: b
            type: shell_command
            command: x
            depends_on: [a]
        """,
        8,
        "tasks[1].depends_on",
        "unknown key 'depends_on'",
        "dependencies",
    ),
    (
        "wrong int type",
        """
        name: w
        tasks:
          - id: a
            type: probe
            url: http://x
            count: abc
        """,
        7,
        "tasks[0].count",
        "expected an integer, got 'abc'",
        "",
    ),
    (
        "placeholder in an int field",
        """
        name: w
        variables: {n: "3"}
        tasks:
          - id: a
            type: probe
            url: http://x
            count: "{{ n }}"
        """,
        8,
        "tasks[0].count",
        "placeholders are only allowed in text fields",
        "",
    ),
    (
        "list item of wrong type",
        """
        name: w
        tasks:
          - id: a
            type: probe
            url: http://x
            args: [ok, [nested]]
        """,
        7,
        "tasks[0].args[1]",
        "expected text, got a list",
        "",
    ),
    (
        "enum spec field",
        """
        name: w
        tasks:
          - id: a
            type: probe
            url: http://x
            mode: fsat
        """,
        7,
        "tasks[0].mode",
        "expected one of fast, safe, got 'fsat'",
        "fast",
    ),
    (
        "nested dataclass key",
        """
        name: w
        tasks:
          - id: a
            type: probe
            url: http://x
            limits: {cpus: 2}
        """,
        7,
        "tasks[0].limits.cpus",
        "unknown key 'cpus'",
        "cpu",
    ),
    (
        "handler check",
        """
        name: w
        tasks:
          - id: a
            type: probe
            url: ftp://x
        """,
        6,
        "tasks[0].url",
        "expected an http(s) URL, got 'ftp://x'",
        "",
    ),
    (
        "bad timeout",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            timeout: soon
        """,
        7,
        "tasks[0].timeout",
        "expected a number or a duration like '90s', '5m', '1h30m', got 'soon'",
        "",
    ),
    (
        "negative timeout",
        """
        name: w
        timeout: -5
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        3,
        "timeout",
        "must be greater than 0, got -5",
        "",
    ),
    (
        "retry attempts",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            retry: 0
        """,
        7,
        "tasks[0].retry",
        "attempts must be at least 1, got 0",
        "",
    ),
    (
        "retry key",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            retry: {attempts: 2, dleay: 1}
        """,
        7,
        "tasks[0].retry.dleay",
        "unknown key 'dleay' for retry",
        "delay",
    ),
    (
        "retry shape",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            retry: [1]
        """,
        7,
        "tasks[0].retry",
        "expected a number of attempts or a mapping",
        "",
    ),
    (
        "condition",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            condition: on_fail
        """,
        7,
        "tasks[0].condition",
        "expected one of all_succeeded, always, on_failure, got 'on_fail'",
        "on_failure",
    ),
    (
        "continue_on_error",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            continue_on_error: maybe
        """,
        7,
        "tasks[0].continue_on_error",
        "expected true or false, got 'maybe'",
        "",
    ),
    (
        "env name",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            env: {"1BAD": x}
        """,
        7,
        "tasks[0].env.1BAD",
        "invalid environment variable name '1BAD'",
        "",
    ),
    (
        "env reserved",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            env:
              BARBOSSA_RUN_ID: "1"
        """,
        8,
        "tasks[0].env.BARBOSSA_RUN_ID",
        "names starting with BARBOSSA_ are reserved",
        "",
    ),
    (
        "duplicate id",
        """
        name: w
        tasks:
          - {id: a, type: shell_command, command: x}
          - {id: a, type: shell_command, command: y}
        """,
        5,
        "tasks[1].id",
        "duplicate task id 'a' (first used at line 4)",
        "",
    ),
    (
        "unknown dependency",
        """
        name: w
        tasks:
          - {id: build, type: shell_command, command: x}
          - id: test
            type: shell_command
            command: x
            dependencies: [biuld]
        """,
        8,
        "tasks[1].dependencies[0]",
        "unknown dependency 'biuld'",
        "build",
    ),
    (
        "self dependency",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            dependencies:
              - a
        """,
        8,
        "tasks[0].dependencies[0]",
        "task 'a' depends on itself",
        "",
    ),
    (
        "repeated dependency",
        """
        name: w
        tasks:
          - {id: a, type: shell_command, command: x}
          - {id: b, type: shell_command, command: x, dependencies: [a, a]}
        """,
        5,
        "tasks[1].dependencies[1]",
        "dependency 'a' is listed twice",
        "",
    ),
    (
        "cycle",
        """
        name: w
        tasks:
          - {id: a, type: shell_command, command: x, dependencies: [c]}
          - {id: b, type: shell_command, command: x, dependencies: [a]}
          - {id: c, type: shell_command, command: x, dependencies: [b]}
        """,
        4,
        "tasks[0].dependencies",
        "dependency cycle: a -> c -> b -> a",
        "",
    ),
    (
        "undeclared variable",
        """
        name: w
        variables: {app_dir: /srv}
        tasks:
          - id: a
            type: shell_command
            command: cd {{ app_dri }}
        """,
        7,
        "tasks[0].command",
        "'{{ app_dri }}' uses undeclared variable 'app_dri'",
        "app_dir",
    ),
    (
        "filter is not a placeholder",
        """
        name: w
        variables: {x: "1"}
        tasks:
          - id: a
            type: shell_command
            command: echo {{ x | upper }}
        """,
        7,
        "tasks[0].command",
        "'{{ x | upper }}' is not a placeholder",
        "",
    ),
    (
        "unknown built-in",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: echo {{ run.idd }}
        """,
        6,
        "tasks[0].command",
        "'{{ run.idd }}' is not a built-in (built-ins: run.id, run.trigger, workflow.name)",
        "run.id",
    ),
    (
        "task result shape",
        """
        name: w
        tasks:
          - {id: a, type: shell_command, command: x}
          - id: b
            type: shell_command
            command: echo {{ tasks.a.output.v }}
            dependencies: [a]
        """,
        7,
        "tasks[1].command",
        "expected tasks.ID.outputs.KEY, tasks.ID.exit_code or tasks.ID.stdout",
        "",
    ),
    (
        "own results",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: echo {{ tasks.a.exit_code }}
        """,
        6,
        "tasks[0].command",
        "a task cannot use its own results",
        "",
    ),
    (
        "unknown task in placeholder",
        """
        name: w
        tasks:
          - {id: build, type: shell_command, command: x}
          - id: b
            type: shell_command
            command: echo {{ tasks.biuld.stdout }}
            dependencies: [build]
        """,
        7,
        "tasks[1].command",
        "refers to unknown task 'biuld'",
        "build",
    ),
    (
        "not upstream",
        """
        name: w
        tasks:
          - {id: a, type: shell_command, command: x}
          - id: b
            type: shell_command
            command: echo {{ tasks.a.outputs.v }}
        """,
        7,
        "tasks[1].command",
        "task 'a' is not upstream of 'b'; add it to 'dependencies'",
        "",
    ),
    (
        "placeholder in env",
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            command: x
            env: {A: "{{ nope }}"}
        """,
        7,
        "tasks[0].env.A",
        "uses undeclared variable 'nope'",
        "",
    ),
    (
        "placeholder in arithmetic",
        """
        name: w
        variables: {n: "1"}
        tasks:
          - id: a
            type: shell_command
            command: echo $(( {{ n }} + 1 ))
        """,
        7,
        "tasks[0].command",
        "is inside $(( )) or (( ))",
        "",
    ),
    (
        "escaped placeholder",
        """
        name: w
        variables: {n: "1"}
        tasks:
          - id: a
            type: shell_command
            command: echo \\{{ n }}
        """,
        7,
        "tasks[0].command",
        "follows a backslash",
        "",
    ),
    (
        "variable name",
        """
        name: w
        variables: {"app-dir": x}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        3,
        "variables.app-dir",
        "invalid variable name 'app-dir'",
        "",
    ),
    (
        "reserved variable name",
        """
        name: w
        variables:
          tasks: x
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        4,
        "variables.tasks",
        "variable name 'tasks' is reserved",
        "",
    ),
    (
        "variable type",
        """
        name: w
        variables:
          n: {type: integer}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        4,
        "variables.n.type",
        "unknown variable type 'integer' (expected one of string, int, bool, choice)",
        "int",
    ),
    (
        "variable default type",
        """
        name: w
        variables:
          n:
            type: int
            default: many
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        6,
        "variables.n.default",
        "expected an integer, got 'many'",
        "",
    ),
    (
        "choice default",
        """
        name: w
        variables:
          env:
            type: choice
            choices: [staging, production]
            default: prod
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        7,
        "variables.env.default",
        "expected one of staging, production, got 'prod'",
        "production",
    ),
    (
        "choice without choices",
        """
        name: w
        variables:
          env: {type: choice}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        4,
        "variables.env.choices",
        "a choice variable needs a non-empty list of 'choices'",
        "",
    ),
    (
        "choices on a string",
        """
        name: w
        variables:
          env: {choices: [a]}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        4,
        "variables.env.choices",
        "'choices' is only allowed for type choice, not string",
        "",
    ),
    (
        "variable key",
        """
        name: w
        variables:
          env: {defualt: a}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        4,
        "variables.env.defualt",
        "unknown key 'defualt' for variable 'env'",
        "default",
    ),
    (
        "cron",
        """
        name: w
        schedule: "0 2 * *"
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        3,
        "schedule",
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6",
        "",
    ),
    (
        "schedule key",
        """
        name: w
        schedule:
          - cron: "0 2 * * *"
            timezon: UTC
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        5,
        "schedule[0].timezon",
        "unknown key 'timezon' for a schedule",
        "timezone",
    ),
    (
        "schedule parameters",
        """
        name: w
        variables: {app_dir: /srv}
        schedule:
          cron: "@daily"
          parameters: {app_dri: /x}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        6,
        "schedule.parameters.app_dri",
        "unknown parameter 'app_dri'",
        "app_dir",
    ),
    (
        "schedule misses a required parameter",
        """
        name: w
        variables:
          target: {required: true}
        schedule: "@hourly"
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        5,
        "schedule.parameters.target",
        "parameter 'target' is required",
        "",
    ),
    (
        "triggers not a list",
        """
        name: w
        triggers: {on: push}
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        3,
        "triggers",
        "expected a list of trigger mappings, got a mapping",
        "",
    ),
    (
        "trigger not a mapping",
        """
        name: w
        triggers: [push]
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        3,
        "triggers[0]",
        "expected a trigger mapping, got 'push'",
        "",
    ),
    (
        "max_parallel",
        """
        name: w
        max_parallel: 0
        tasks:
          - {id: a, type: shell_command, command: x}
        """,
        3,
        "max_parallel",
        "must be greater than 0, got 0",
        "",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "message", "suggestion"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_error_names_file_line_field_and_expectation(
    issues: Issues, text: str, line: int, field: str, message: str, suggestion: str
) -> None:
    found = issues(text)
    matching = [i for i in found if i.field == field and message in i.message]
    assert matching, f"no issue for {field!r} with {message!r} in: {[str(i) for i in found]}"
    issue = matching[0]
    assert issue.file == "wf.yaml"
    assert issue.line == line
    assert issue.suggestion == suggestion
    assert str(issue).startswith(f"wf.yaml:{line}:")


def test_every_issue_is_reported_at_once(issues: Issues) -> None:
    found = issues(
        """
        name: w
        tasks:
          - id: a
            type: shell_command
            comand: x
          - id: b
            type: nope
          - id: c
            type: shell_command
            command: x
            dependencies: [zz]
            timeout: never
        """
    )
    fields = [i.field for i in found]
    assert fields == [
        "tasks[0].command",
        "tasks[0].comand",
        "tasks[1].type",
        "tasks[2].dependencies[0]",
        "tasks[2].timeout",
    ]
    assert [i.line for i in found] == sorted(i.line for i in found)


def test_error_message_summarises_the_rest(issues: Issues, parse: object) -> None:
    from barbossad.errors import DefinitionError

    with pytest.raises(DefinitionError, match=r"^wf\.yaml:3:1: vars: .* \(and 1 more\)$"):
        parse(  # type: ignore[operator]
            """
            name: w
            vars: {}
            tasks:
              - {id: a, type: nope}
            """
        )
