"""Property: whatever a value holds, a rendered script prints it literally and runs none of it.

Real shells run the rendered scripts; each value is placed bare, inside double quotes, inside
single quotes, inside $'...', in an assignment, inside a command substitution and next to a
comment, and every one must print exactly the value while no canary file ever appears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barbossad.definitions.render import render_shell

# name -> (script line with the placeholder, what it must print for value v)
CONTEXTS = {
    "bare": ("printf '%s' {{ x }}", lambda v: v),
    "joined": ("printf '%s' pre{{ x }}post", lambda v: f"pre{v}post"),
    "double": ("printf '%s' \"{{ x }}\"", lambda v: v),
    "double_joined": ("printf '%s' \"a {{ x }} b\"", lambda v: f"a {v} b"),
    "single": ("printf '%s' '{{ x }}'", lambda v: v),
    "single_joined": ("printf '%s' 'a {{ x }} b'", lambda v: f"a {v} b"),
    "ansi": ("printf '%s' $'a\\t{{ x }}'", lambda v: f"a\t{v}"),
    "assign": ("v={{ x }}; printf '%s' \"$v\"", lambda v: v),
    "subst": ("v=\"$(printf '%s' {{ x }}; printf .)\"; printf '%s' \"${v%.}\"", lambda v: v),
    "comment": ("printf '%s' {{ x }} # {{ x }} $(touch canary)", lambda v: v),
    "twice": ("printf '%s|%s' {{ x }} '{{ x }}'", lambda v: f"{v}|{v}"),
}
POSIX_ONLY = {"ansi"}  # $'...' is not POSIX: dash prints it differently

DANGEROUS = [
    "$(touch canary)",
    "`touch canary`",
    "; touch canary",
    "&& touch canary",
    "| touch canary",
    "'; touch canary; '",
    '"; touch canary; "',
    "\ntouch canary\n",
    "$'\\n'touch canary",
    "-n",
    "--help",
    "*",
    "~",
    "$HOME",
    "${IFS}",
    "\\",
    "{{ x }}",
    "%s%n",
    " ",
    "",
]

values = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
    st.sampled_from(DANGEROUS),
    st.lists(
        st.sampled_from([*DANGEROUS, "'", '"', "$", "(", ")", "`", "\\", "a"]), max_size=8
    ).map("".join),
)

SHELLS = [s for s in ("bash", "dash", "zsh") if shutil.which(s)]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("render")


def run_all_contexts(shell: str, value: str, sandbox: Path) -> dict[str, bytes]:
    names = [n for n in CONTEXTS if shell == "bash" or n not in POSIX_ONLY]
    script = "\n".join(f"{{\n{CONTEXTS[n][0]}\n}} > out_{n}" for n in names)
    rendered = render_shell(script, {"x": value})
    assert rendered.script == render_shell(script, {"x": "other"}).script  # value-independent
    env = {"PATH": os.environ["PATH"], "HOME": str(sandbox), "LC_ALL": "C.UTF-8", **rendered.env}
    done = subprocess.run(
        [shell, "-c", rendered.script], cwd=sandbox, env=env, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return {n: (sandbox / f"out_{n}").read_bytes() for n in names}


@pytest.mark.parametrize("shell", SHELLS)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values)
def test_values_print_literally_and_never_run(shell: str, value: str, sandbox: Path) -> None:
    outputs = run_all_contexts(shell, value, sandbox)
    assert not (sandbox / "canary").exists()
    for name, output in outputs.items():
        assert output == CONTEXTS[name][1](value).encode(), name


def test_dangerous_values_in_every_context(sandbox: Path) -> None:
    for value in DANGEROUS:
        for shell in SHELLS:
            outputs = run_all_contexts(shell, value, sandbox)
            assert not (sandbox / "canary").exists(), (shell, value)
            assert outputs["bare"] == value.encode()
