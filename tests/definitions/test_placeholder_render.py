"""Placeholder grammar and rendering: literal text fields, env-var references in shell fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from defkit import Limits, Mode, ProbeSpec, ShellSpec

from barbossad.definitions.render import (
    RenderedShell,
    RenderError,
    referenced_names,
    render_shell,
    render_spec,
    render_text,
    scan,
    shell_problems,
)
from barbossad.tasks.base import SHELL_FIELD

V = "${BARBOSSA_VAR_x}"


def test_scan_and_names() -> None:
    text = "a {{x}} b {{  tasks.build-1.outputs.v  }} {{ x | up }} {{}} {{ run.id }}"
    assert [p.name for p in scan(text)] == ["x", "tasks.build-1.outputs.v", None, None, "run.id"]
    assert referenced_names(text) == {"x", "tasks.build-1.outputs.v", "run.id"}
    assert scan("no placeholders { here }") == []
    assert scan("{{ unterminated") == []


def test_render_text_is_literal() -> None:
    values = {"x": "$(rm -rf /) `id` {{ y }}", "y": "no"}
    assert render_text("cp {{ x }} /tmp/{{x}}", values) == f"cp {values['x']} /tmp/{values['x']}"
    assert render_text("plain", {}) == "plain"


def test_render_text_errors() -> None:
    with pytest.raises(RenderError, match=r"no value for '\{\{ y \}\}'"):
        render_text("{{ y }}", {"x": "1"})
    with pytest.raises(RenderError, match="is not a valid placeholder"):
        render_text("{{ x | y }}", {"x": "1"})


def test_missing_values_may_be_answered_by_the_mapping() -> None:
    class Defaulting(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return f"<{key}>"

    assert render_text("{{ tasks.a.stdout }}", Defaulting()) == "<tasks.a.stdout>"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("echo {{ x }}", f'echo "{V}"'),
        ("echo a{{ x }}b", f'echo a"{V}"b'),
        ('echo "a {{ x }} b"', f'echo "a {V} b"'),
        ("echo 'a {{ x }} b'", f"echo 'a '\"{V}\"' b'"),
        ("echo $'a\\'{{ x }}'", f"echo $'a\\''\"{V}\"$''"),
        ("# note {{ x }}\necho {{ x }}", f'# note {V}\necho "{V}"'),
        ("echo a#{{ x }}", f'echo a#"{V}"'),
        ('echo "$(cat {{ x }})"', f'echo "$(cat "{V}")"'),
        ('echo "$(echo "(" {{ x }})" "{{ x }}"', f'echo "$(echo "(" "{V}")" "{V}"'),
        ('echo "`cat {{ x }}`"', f'echo "`cat "{V}"`"'),
        ("echo ${FOO:-{{ x }}}", f'echo ${{FOO:-"{V}"}}'),
        ('echo "it\'s {{ x }}"', f'echo "it\'s {V}"'),
        ('echo \\"{{ x }}', f'echo \\""{V}"'),
        ("echo '\\'{{ x }}", f"echo '\\'\"{V}\""),
        ("cat <<'EOF'\n{{ x }}\nEOF", f"cat <<'EOF'\n\"{V}\"\nEOF"),  # heredocs: out of scope
    ],
)
def test_shell_contexts(script: str, expected: str) -> None:
    assert render_shell(script, {"x": "v"}) == RenderedShell(expected, {"BARBOSSA_VAR_x": "v"})


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ("echo $(( {{ x }} + 1 ))", "is inside $(( )) or (( ))"),
        ("(( {{ x }} > 1 ))", "is inside $(( )) or (( ))"),
        ('echo "$(( {{ x }} ))"', "is inside $(( )) or (( ))"),
        ("echo \\{{ x }}", "follows a backslash"),
        ('echo "\\{{ x }}"', "follows a backslash"),
        ("echo ${{ x }}", "follows '$'"),
        ('echo "${{ x }}"', "follows '$'"),
    ],
)
def test_unsafe_shell_positions(script: str, problem: str) -> None:
    (message,) = shell_problems(script)
    assert problem in message
    with pytest.raises(RenderError, match=re.escape(problem)):
        render_shell(script, {"x": "1"})


def test_shell_names_are_unique_and_readable() -> None:
    rendered = render_shell(
        "echo {{ tasks.a-b.exit_code }} {{ tasks.a_b.exit_code }} {{ tasks.a-b.exit_code }}"
        " {{ run.id }} {{ workflow.name }}",
        {
            "tasks.a-b.exit_code": "1",
            "tasks.a_b.exit_code": "2",
            "run.id": "7",
            "workflow.name": "w",
        },
    )
    assert rendered.env == {
        "BARBOSSA_REF_tasks_a_b_exit_code": "1",
        "BARBOSSA_REF_tasks_a_b_exit_code_2": "2",
        "BARBOSSA_REF_run_id": "7",
        "BARBOSSA_REF_workflow_name": "w",
    }
    assert rendered.script == (
        'echo "${BARBOSSA_REF_tasks_a_b_exit_code}" "${BARBOSSA_REF_tasks_a_b_exit_code_2}"'
        ' "${BARBOSSA_REF_tasks_a_b_exit_code}" "${BARBOSSA_REF_run_id}"'
        ' "${BARBOSSA_REF_workflow_name}"'
    )


def test_shell_rejects_nul_values() -> None:
    with pytest.raises(RenderError, match="NUL"):
        render_shell("echo {{ x }}", {"x": "a\0b"})


def test_render_spec_by_field_kind() -> None:
    values = {"x": "v w", "host": "example.org"}
    spec, env = render_spec(ShellSpec(command="ls {{ x }}", shell="{{ x }}"), values)
    assert spec == ShellSpec(command=f'ls "{V}"', shell="v w")  # only `command` is shell
    assert env == {"BARBOSSA_VAR_x": "v w"}
    probe = ProbeSpec(
        url="https://{{ host }}/",
        args=("{{ x }}", "-"),
        headers={"X": "{{ x }}"},
        body={"k": ["{{ host }}", 1]},
        mode=Mode.FAST,
        limits=Limits(),
    )
    rendered, env = render_spec(probe, values)
    assert rendered.url == "https://example.org/"
    assert rendered.args == ("v w", "-")
    assert rendered.headers == {"X": "v w"}
    assert rendered.body == {"k": ["example.org", 1]}
    assert env == {}
    unchanged = ShellSpec(command="true")
    assert render_spec(unchanged, {}) == (unchanged, {})


def test_render_spec_shares_names_across_fields() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class TwoScripts:
        setup: str = field(metadata=SHELL_FIELD)
        run: str = field(metadata=SHELL_FIELD)

    spec, env = render_spec(TwoScripts(setup="a {{ x }}", run="b '{{ x }}'"), {"x": "1"})
    assert (spec.setup, spec.run) == (f'a "{V}"', f"b ''\"{V}\"''")
    assert env == {"BARBOSSA_VAR_x": "1"}
