"""barbossactl.render: tables, human durations, JSON, and the YAML emitter's quoting."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from barbossactl import render


def test_table_aligns_columns_and_strips_trailing_blanks() -> None:
    text = render.table(["ID", "NAME", "NOTE"], [["1", "build", ""], ["42", "x", "long note"]])
    assert text == "ID  NAME   NOTE\n1   build\n42  x      long note\n"


def test_fields_aligns_values() -> None:
    assert render.fields([("a", "1"), ("long key", "2")]) == "a:         1\nlong key:  2\n"
    assert render.fields([]) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0.0, "0ms"),
        (0.045, "45ms"),
        (1.25, "1.2s"),
        (9.96, "10.0s"),
        (42.9, "42s"),
        (185, "3m05s"),
        (7620, "2h07m"),
        (273600, "3d04h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert render.duration(seconds) == text


def test_truncate_keeps_first_line_within_width() -> None:
    assert render.truncate("short", 10) == "short"
    assert render.truncate("0123456789abc", 10) == "012345678…"
    assert render.truncate("first\nsecond", 20) == "first…"
    assert render.truncate("", 5) == ""


def test_plural() -> None:
    assert [render.plural(n, "task") for n in (0, 1, 2)] == ["0 tasks", "1 task", "2 tasks"]


def test_json_is_indented_utf8_with_newline() -> None:
    assert render.dump_json({"a": "é", "b": [1]}) == '{\n  "a": "é",\n  "b": [\n    1\n  ]\n}\n'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (1.5, "1.5"),
        (1e-05, "1.0e-05"),  # YAML 1.1 reads "1e-05" as a string
        (1e20, "1.0e+20"),
        (math.inf, ".inf"),
        (-math.inf, "-.inf"),
        (math.nan, ".nan"),
        ("plain text", "plain text"),
        ("/var/lib/barbossad", "/var/lib/barbossad"),
        ("a,b and c]", "a,b and c]"),
        ("é ü", "é ü"),
        ("", '""'),
        ("yes", '"yes"'),
        ("No", '"No"'),
        ("on", '"on"'),
        ("null", '"null"'),
        ("~", '"~"'),
        ("=", '"="'),
        ("<<", '"<<"'),
        (".inf", '".inf"'),
        ("123", '"123"'),
        ("0.1.0", '"0.1.0"'),
        ("0x1F", '"0x1F"'),
        ("1:20", '"1:20"'),
        ("+1", '"+1"'),
        (".5", '".5"'),
        ("2025-01-01T12:00:00Z", '"2025-01-01T12:00:00Z"'),
        ("-x", '"-x"'),
        ("*ref", '"*ref"'),
        ("#c", '"#c"'),
        ("...", '"..."'),
        ("a: b", '"a: b"'),
        ("a #b", '"a #b"'),
        ("key:", '"key:"'),
        (" lead", '" lead"'),
        ("trail ", '"trail "'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        ("tab\there", '"tab\\there"'),
        ("bell\x07", '"bell\\x07"'),
        ("nel\x85", '"nel\\N"'),
        ("ls\u2028", '"ls\\L"'),
        ("bom\ufeff", '"bom\\ufeff"'),
    ],
)
def test_yaml_scalar(value: Any, text: str) -> None:
    assert render.yaml_scalar(value) == text


def test_yaml_block_layout() -> None:
    data = {
        "name": "deploy",
        "empty_map": {},
        "empty_list": [],
        "tasks": [{"id": "a", "deps": ["x", "y"]}, {"id": "b", "deps": []}],
        "nested": [[1, 2], [3]],
        "script": "echo 1\necho 2\n",
        "note": "line\n",
    }
    text = render.dump_yaml(data)
    assert text == (
        "name: deploy\n"
        "empty_map: {}\n"
        "empty_list: []\n"
        "tasks:\n"
        "  - id: a\n"
        "    deps:\n"
        "      - x\n"
        '      - "y"\n'  # YAML 1.1 reads a bare y as true
        "  - id: b\n"
        "    deps: []\n"
        "nested:\n"
        "  - - 1\n"
        "    - 2\n"
        "  - - 3\n"
        "script: |\n"
        "  echo 1\n"
        "  echo 2\n"
        'note: "line\\n"\n'
    )
    assert yaml.safe_load(text) == data


@pytest.mark.parametrize(
    "text",
    ["a\nb", "a\nb\n", "a\nb\n\n\n", "a\n\n  indented\n\tb\n", "# not a comment\n- not a list\n"],
)
def test_yaml_literal_blocks_keep_text_exactly(text: str) -> None:
    for data in (text, {"k": text}, [text], {"k": [{"j": text}]}):
        assert yaml.safe_load(render.dump_yaml(data)) == data


def test_yaml_top_level_scalars() -> None:
    assert render.dump_yaml({}) == "{}\n"
    assert render.dump_yaml([]) == "[]\n"
    assert render.dump_yaml(None) == "null\n"
    assert render.dump_yaml("yes") == '"yes"\n'


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.text(alphabet=" \n\ta-:#'\"|>-?.,[]{}0123456789eE+").map(str)
)
# Keys stay short: YAML caps implicit keys at 1024 characters (parameter names never get close).
_keys = st.text(max_size=40)
_data = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_data)
def test_yaml_round_trips_through_a_real_yaml_reader(data: Any) -> None:
    assert yaml.safe_load(render.dump_yaml(data)) == data


@settings(max_examples=200, deadline=None)
@given(_data)
def test_json_and_yaml_agree(data: Any) -> None:
    assert yaml.safe_load(render.dump_yaml(data)) == json.loads(render.dump_json(data))
