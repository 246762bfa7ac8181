"""Outputs published through $BARBOSSA_OUTPUT: the GitHub Actions line format."""

from __future__ import annotations

from pathlib import Path

import pytest

from barbossad.engine.outputs_file import MAX_OUTPUTS_BYTES, parse_outputs, read_outputs


@pytest.mark.parametrize(
    ("text", "outputs"),
    [
        ("a=1\nb=two words\n", {"a": "1", "b": "two words"}),
        ("a=1\na=2\n", {"a": "2"}),
        ("url=http://x/?q=1&r=2", {"url": "http://x/?q=1&r=2"}),
        ("empty=\n", {"empty": ""}),
        ("text<<EOF\nline 1\nline 2\nEOF\n", {"text": "line 1\nline 2"}),
        ("text<<EOF\n\nEOF\n", {"text": ""}),
        ("text<<EOF\na=b\nEOF\nnext=1\n", {"text": "a=b", "next": "1"}),
        ("cr=a\rb\n", {"cr": "a\rb"}),  # only "\n" ends a line
        ("ff<<X\na\x0cb\x1cc\r\nX\n", {"ff": "a\x0cb\x1cc\r"}),
        ("no equals sign\n=no key\n1bad=x\nok.key-1=y\n", {"ok.key-1": "y"}),
        ("open<<EOF\nnever closed", {"open": "never closed"}),
        ("", {}),
    ],
)
def test_parse(text: str, outputs: dict[str, str]) -> None:
    assert parse_outputs(text) == outputs


def test_read_is_capped_and_a_missing_file_is_no_outputs(tmp_path: Path) -> None:
    assert read_outputs(tmp_path / "missing") == {}
    path = tmp_path / "outputs"
    path.write_bytes(b"a=1\n" + b"b=" + b"x" * MAX_OUTPUTS_BYTES + b"\nc=3\n")
    outputs = read_outputs(path)
    assert outputs["a"] == "1" and "c" not in outputs
    assert len(outputs["b"]) == MAX_OUTPUTS_BYTES - len(b"a=1\nb=")
