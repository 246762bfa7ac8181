"""Hostile definitions are refused quickly, with a clear error, and without side effects."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from barbossad.definitions.loader import load_document
from barbossad.definitions.parse import parse_workflow
from barbossad.errors import DefinitionError
from barbossad.tasks.base import TaskRegistry

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def refused(text: str | bytes, registry: TaskRegistry, source: str = "evil.yaml") -> str:
    started = time.perf_counter()
    with pytest.raises(DefinitionError) as caught:
        parse_workflow(text, source=source, registry=registry)
    assert time.perf_counter() - started < 1.0
    return str(caught.value)


def test_billion_laughs(registry: TaskRegistry) -> None:
    message = refused(BILLION_LAUGHS, registry)
    assert message.startswith("evil.yaml:7:8: g[0]: too many YAML aliases: '*f' expands past")


def test_many_small_aliases(registry: TaskRegistry) -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 10_001) + "]\n"
    assert "too many YAML aliases (more than 10000)" in refused(text, registry)


def test_alias_count_and_node_limits_are_settings() -> None:
    with pytest.raises(DefinitionError, match="too many YAML aliases"):
        load_document("a: &a [1]\nb: [*a, *a, *a]\n", source="t.yaml", max_aliases=2)
    with pytest.raises(DefinitionError, match=r"too many YAML nodes \(more than 100\)"):
        load_document("a: [" + "1, " * 200 + "]", source="t.yaml", max_nodes=100)
    with pytest.raises(DefinitionError, match=r"too many JSON values \(more than 100\)"):
        load_document('{"a": [' + "1, " * 200 + "1]}", source="t.json", max_nodes=100)


def test_object_construction_is_refused(
    registry: TaskRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for tag in (
        "!!python/object/apply:os.system ['touch canary']",
        "!!python/object/new:os.system ['touch canary']",
        "!!python/object/apply:subprocess.check_call [['touch', 'canary']]",
        "!!python/name:os.system",
    ):
        message = refused(f"name: w\ntasks:\n  - {tag}\n", registry)
        assert message.startswith("evil.yaml:3:5: tasks[0]: YAML tag '!!python/")
        assert "is not allowed" in message
    assert not (tmp_path / "canary").exists()


def test_ten_megabyte_file(registry: TaskRegistry) -> None:
    text = "name: big\n# " + "x" * (10 * 1024 * 1024) + "\n"
    message = refused(text, registry)
    assert message == "evil.yaml: file is 10.0 MiB, larger than the 4.0 MiB limit"
    assert "10.0 MiB" in refused(text.encode(), registry)


def test_deep_nesting(registry: TaskRegistry) -> None:
    assert "invalid YAML" in refused("a: " + "[" * 100_000, registry)
    assert "nested more than 100 levels deep" in refused("a: " + "[" * 500 + "]" * 500, registry)
    assert "nested too deeply" in refused("[" * 100_000, registry, source="evil.json")


def test_cycle_through_many_tasks(registry: TaskRegistry) -> None:
    n = 2_000
    lines = ["name: ring", "tasks:"]
    for i in range(n):
        lines.append(
            f"  - {{id: t{i}, type: shell_command, command: x, dependencies: [t{(i + 1) % n}]}}"
        )
    message = refused("\n".join(lines), registry)
    assert "dependency cycle: t0 -> t1 -> t2 -> " in message
    assert message.endswith(f"t{n - 1} -> t0")


def chain(n: int) -> str:
    lines = [
        "name: chain",
        "variables: {v: x}",
        "tasks:",
        "  - {id: t0, type: shell_command, command: 'echo {{ v }}'}",
    ]
    for i in range(1, n):
        ref = f"{{{{ tasks.t{max(i - 2, 0)}.outputs.out }}}}"
        deps = f"dependencies: [t{i - 1}]"
        lines.append(f"  - {{id: t{i}, type: shell_command, command: 'echo {ref}', {deps}}}")
    return "\n".join(lines) + "\n"


def test_ten_thousand_task_chain_is_fast(registry: TaskRegistry) -> None:
    text = chain(10_000)
    started = time.perf_counter()
    wf = parse_workflow(text, source="chain.yaml", registry=registry)
    elapsed = time.perf_counter() - started
    assert len(wf.tasks) == 10_000 and wf.tasks[-1].dependencies == ("t9998",)
    assert elapsed < 2.0, f"parsing a 10,000-task chain took {elapsed:.2f}s"


def test_too_many_tasks(registry: TaskRegistry) -> None:
    text = "name: w\ntasks:\n" + "  - {id: a, type: x}\n" * 20_001
    assert "too many tasks (20001); the limit is 20000" in refused(text, registry)


def test_many_errors_do_not_take_long(registry: TaskRegistry) -> None:
    text = "name: w\ntasks:\n" + "".join(
        f"  - {{id: t{i}, type: nope, dependencies: [zz]}}\n" for i in range(5_000)
    )
    assert "(and 9999 more)" in refused(text, registry)
