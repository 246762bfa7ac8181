"""Loading YAML and JSON: plain values only, positions for every key and item, clear errors."""

from __future__ import annotations

import textwrap

import pytest

from barbossad.definitions.loader import load_document
from barbossad.errors import DefinitionError, Issue


def load_error(text: str, source: str = "t.yaml") -> Issue:
    with pytest.raises(DefinitionError) as caught:
        load_document(textwrap.dedent(text), source=source)
    assert len(caught.value.issues) >= 1
    return caught.value.issues[-1]


def test_values_and_positions() -> None:
    doc = load_document(
        textwrap.dedent(
            """\
            name: demo   # a comment
            version: 1.10
            flag: yes
            octal: 017
            when: 2024-01-02
            none:
            quoted: "123"
            tasks:
              - id: a
                env: {A: b}
              - id: b
            """
        ),
        source="t.yaml",
    )
    assert doc.data == {
        "name": "demo",
        "version": 1.1,
        "flag": True,
        "octal": 15,
        "when": "2024-01-02",  # timestamps stay text
        "none": None,
        "quoted": "123",
        "tasks": [{"id": "a", "env": {"A": "b"}}, {"id": "b"}],
    }
    assert doc.texts[("version",)] == "1.10"
    assert doc.texts[("flag",)] == "yes"
    assert doc.where(("name",)) == (1, 1)
    assert doc.where(("tasks", 0)) == (9, 5)
    assert doc.where(("tasks", 0, "env", "A")) == (10, 11)
    assert doc.where(("tasks", 1, "id")) == (11, 5)
    assert doc.where(("tasks", 1, "missing", 3)) == (11, 5)  # nearest recorded ancestor


def test_keys_stay_as_written() -> None:
    doc = load_document("on: push\n1: one\nnull: x\n", source="t.yaml")
    assert doc.data == {"on": "push", "1": "one", "null": "x"}


def test_merge_keys() -> None:
    doc = load_document(
        textwrap.dedent(
            """\
            base: &base {retry: 3, env: {A: a}, timeout: 5}
            tasks:
              - <<: *base
                id: x
                timeout: 9
              - <<: [{condition: always}, *base]
                id: y
            """
        ),
        source="t.yaml",
    )
    first, second = doc.data["tasks"]
    assert first == {"id": "x", "timeout": 9, "retry": 3, "env": {"A": "a"}}
    assert second == {"id": "y", "condition": "always", "retry": 3, "env": {"A": "a"}, "timeout": 5}
    assert doc.where(("tasks", 0, "timeout")) == (5, 5)


@pytest.mark.parametrize(
    ("text", "line", "column", "field", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1, "a", "duplicate key 'a' (first defined at line 1)"),
        ("- 1\n", 1, 1, "", "expected a mapping at the top level, got a list"),
        ("just text\n", 1, 1, "", "expected a mapping at the top level, got a single value"),
        ("", 0, 0, "", "the file is empty"),
        ("# only a comment\n", 0, 0, "", "the file is empty"),
        ("a: [1, 2\n", 2, 1, "", "invalid YAML: "),
        ("a: b: c\n", 1, 5, "", "invalid YAML: mapping values are not allowed"),
        ("a: 1\n---\nb: 2\n", 2, 1, "", "expected a single document"),
        ("a: !!binary aGk=\n", 1, 4, "a", "YAML tag '!!binary' is not allowed"),
        ("a: !custom x\n", 1, 4, "a", "YAML tag '!custom' is not allowed"),
        ("a: !!set {x}\n", 1, 4, "a", "YAML tag '!!set' is not allowed"),
        ("? [1, 2]\n: x\n", 1, 3, "", "mapping keys must be plain text"),
        ("a: .inf\n", 1, 4, "a", "expected a finite number, got '.inf'"),
        ("a: !!int abc\n", 1, 4, "a", "'abc' is not a valid int"),
        ("a: *nope\n", 1, 4, "a", "undefined YAML alias '*nope'"),
        ("a: &x [1, *x]\n", 1, 11, "a[1]", "recursive YAML alias"),
        ("a: &m {b: *m}\n", 1, 11, "a.b", "recursive YAML alias"),
        ("a: &x 1\n<<: *x\n", 2, 5, "", "'<<' merges only mappings"),
    ],
)
def test_yaml_errors(text: str, line: int, column: int, field: str, message: str) -> None:
    issue = load_error(text)
    assert (issue.file, issue.line, issue.column, issue.field) == ("t.yaml", line, column, field)
    assert message in issue.message


def test_nesting_limit() -> None:
    issue = load_error("a: " + "[" * 150 + "]" * 150)
    assert "nested more than 100 levels deep" in issue.message


def test_invalid_utf8_names_line() -> None:
    with pytest.raises(DefinitionError, match=r"t\.yaml:2: not valid UTF-8 text"):
        load_document(b"a: 1\nb: \xff\n", source="t.yaml")


def test_bytes_with_bom() -> None:
    assert load_document("\ufeffa: 1\n".encode(), source="t.yaml").data == {"a": 1}


def test_format_by_suffix_and_explicit() -> None:
    assert load_document('{"a": 1e3}', source="x.JSON").data == {"a": 1000.0}
    assert load_document('{"a": 1e3}', source="x.yaml").data == {"a": "1e3"}  # YAML 1.1
    assert load_document('{"a": 1e3}', source="x", fmt="json").data == {"a": 1000.0}
    with pytest.raises(ValueError, match="unknown definition format 'toml'"):
        load_document("a = 1", source="x", fmt="toml")


def test_json_positions() -> None:
    doc = load_document(
        '{"name": "x",\n "tasks": [\n  {"id": "a", "args": ["p", {"q": 1}]},\n  {"id": "b"}]}',
        source="t.json",
    )
    assert doc.where(("name",)) == (1, 2)
    assert doc.where(("tasks", 0)) == (3, 3)
    assert doc.where(("tasks", 0, "args", 1, "q")) == (3, 30)
    assert doc.where(("tasks", 1, "id")) == (4, 4)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"a": 1,\n "a": 2}', 2, "duplicate key 'a' (first defined at line 1)"),
        ("[1]", 1, "expected an object at the top level, got a list"),
        ('{"a": NaN}', 0, "NaN is not allowed"),
        ('{"a":\n', 2, "invalid JSON: Expecting value"),
        ("[" * 100_000, 0, "nested too deeply"),
    ],
)
def test_json_errors(text: str, line: int, message: str) -> None:
    issue = load_error(text, source="t.json")
    assert issue.line == line
    assert message in issue.message
