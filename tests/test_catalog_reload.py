"""The catalogue's reload rules, without a watcher: read off the loop, apply, keep the last good."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from barbossad.catalog import MAX_ISSUES, TemplateCatalog
from barbossad.definitions.model import WorkflowDef
from barbossad.tasks.registry_default import default_registry
from barbossad.template_file import MAX_MESSAGE


def valid(word: str, name: str = "a") -> str:
    return (
        f'name: {name}\ntasks:\n  - id: say\n    type: shell_command\n    command: "echo {word}"\n'
    )


@pytest.fixture
def catalog(tmp_path: Path) -> TemplateCatalog:
    return TemplateCatalog(tmp_path, default_registry())


def test_unchanged_bytes_are_not_parsed_again(catalog: TemplateCatalog, tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(valid("one"))
    assert catalog.load_file(path)
    again = catalog.read(path)
    assert again.unchanged and again.definition is None
    os.utime(path, ns=(1, 1))  # touched, same bytes: still nothing to parse
    assert catalog.read(path).unchanged
    path.write_text(valid("two"))
    assert not catalog.read(path).unchanged


def test_invalid_file_keeps_last_good_and_listeners_hear_only_real_changes(
    catalog: TemplateCatalog, tmp_path: Path
) -> None:
    heard: list[tuple[str, WorkflowDef | None]] = []
    statuses: list[str] = []
    catalog.on_change(lambda name, d: heard.append((name, d)))
    catalog.on_status(statuses.append)
    path = tmp_path / "a.yaml"
    path.write_text(valid("one"))
    catalog.load_file(path)
    good = catalog.definition("a")
    path.write_text("name: a\ntasks: {")
    assert not catalog.load_file(path)
    entry = catalog.get("a")
    assert entry is not None and entry.active is good and not entry.valid
    assert catalog.load_file(path) is False  # same broken bytes: no new status
    path.write_text(valid("one"))  # back to the good version: valid again, same hash
    assert catalog.load_file(path)
    assert heard == [("a", good)]
    assert statuses == ["a", "a", "a"]  # loaded, rejected, valid again
    path.unlink()
    catalog.apply(catalog.read(path))
    assert heard[-1] == ("a", None) and catalog.get("a") is None


def test_entries_are_swapped_not_mutated(catalog: TemplateCatalog, tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(valid("one"))
    catalog.load_file(path)
    before = catalog.get("a")
    path.write_text(valid("two"))
    catalog.load_file(path)
    after = catalog.get("a")
    assert before is not None and after is not None and before is not after
    assert before.active is not None and "echo one" in str(before.active)


def test_a_second_file_with_the_same_stem_is_ignored_until_the_first_goes(
    catalog: TemplateCatalog, tmp_path: Path
) -> None:
    (tmp_path / "hello.yaml").write_text(valid("yaml", "hello"))
    (tmp_path / "hello.yml").write_text(valid("yml", "hello"))
    catalog.scan()
    entry = catalog.get("hello")
    assert entry is not None and entry.path.name == "hello.yaml"
    catalog.scan()  # no flip-flop
    assert catalog.get("hello") is entry
    (tmp_path / "hello.yaml").unlink()
    catalog.apply(catalog.read(tmp_path / "hello.yaml"))
    entry = catalog.get("hello")
    assert entry is not None and entry.path.name == "hello.yml" and entry.valid


def issues_of(catalog: TemplateCatalog, path: Path) -> list[str]:
    catalog.load_file(path)
    entry = catalog.get(path.stem)
    assert entry is not None and entry.active is None
    return [str(i) for i in entry.issues]


def test_many_errors_are_bounded(catalog: TemplateCatalog, tmp_path: Path) -> None:
    path = tmp_path / "errors.yaml"
    path.write_text(
        "name: w\ntasks:\n"
        + "".join(f"  - {{id: t{i}, type: nope, dependencies: [zz]}}\n" for i in range(2_000))
    )
    issues = issues_of(catalog, path)
    assert len(issues) == MAX_ISSUES
    assert issues[-1].endswith(f"... and {4_000 - MAX_ISSUES + 1} more issues")


def test_long_messages_are_cut(catalog: TemplateCatalog, tmp_path: Path) -> None:
    n = 2_000
    path = tmp_path / "ring.yaml"
    path.write_text(
        "name: ring\ntasks:\n"
        + "".join(
            f"  - {{id: t{i}, type: shell_command, command: x, dependencies: [t{(i + 1) % n}]}}\n"
            for i in range(n)
        )
    )
    assert not catalog.load_file(path)
    entry = catalog.get("ring")
    assert entry is not None
    [issue] = entry.issues
    assert "dependency cycle" in issue.message and len(issue.message) <= MAX_MESSAGE


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        (
            "big.yaml",
            lambda p: os.truncate(p, 10 * 1024 * 1024),
            "10.0 MiB, larger than the 4.0 MiB limit",
        ),
        ("zero.yaml", lambda p: (p.unlink(), p.symlink_to("/dev/zero")), "is not a regular file"),
        ("fifo.yaml", lambda p: (p.unlink(), os.mkfifo(p)), "is not a regular file"),
        ("junk.yaml", lambda p: p.write_bytes(bytes(range(256)) * 4), "not valid UTF-8"),
        (
            "tag.yaml",
            lambda p: p.write_text("name: t\ntasks:\n  - !!python/object/apply:os.system [x]\n"),
            "is not allowed",
        ),
        ("empty.json", lambda p: None, "invalid JSON"),
    ],
)
def test_hostile_files_are_refused_with_path_and_reason(
    catalog: TemplateCatalog, tmp_path: Path, name: str, make: object, reason: str
) -> None:
    path = tmp_path / name
    path.write_text("")
    make(path)  # type: ignore[operator]
    issues = issues_of(catalog, path)
    assert issues[0].startswith(str(path)) and reason.lower() in issues[0].lower()


def test_restore_only_fills_an_invalid_template_without_a_version(
    catalog: TemplateCatalog, tmp_path: Path
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(valid("g", "good"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntasks: 3\n")
    catalog.scan()
    definition = catalog.definition("good")
    assert definition is not None
    assert not catalog.restore("good", definition)  # valid: nothing to restore
    assert catalog.restore("bad", definition)
    assert catalog.definition("bad") is definition
    assert not catalog.restore("bad", definition)  # once only
