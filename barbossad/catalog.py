"""The templates directory as a catalogue of workflow definitions, keeping the last good version.

A template's name is its file stem (`hello.yaml` -> `hello`). Loading a file that fails
validation keeps the previously loaded version active and records the issues, so a broken
edit never takes down a working workflow.

Loading is split in two so the file watcher can parse off the event loop: `read(path)` does the
I/O and the parse and may run in any thread; `apply(result)` swaps the outcome in and must run
on the loop (or the one thread that owns the catalogue). `load_file` does both at once.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.parse import parse_workflow
from barbossad.errors import Issue
from barbossad.tasks.base import TaskRegistry
from barbossad.template_file import (
    MAX_ISSUES,
    FileSignature,
    ReadResult,
    bounded_issues,
    read_template,
)

__all__ = [
    "MAX_ISSUES",
    "FileSignature",
    "ReadResult",
    "ReloadSummary",
    "TemplateCatalog",
    "TemplateEntry",
    "is_template_file",
    "template_name",
]

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml", ".json")
ChangeListener = Callable[[str, WorkflowDef | None], None]
StatusListener = Callable[[str], None]


def template_name(path: Path) -> str:
    """The workflow name a template file defines: its file stem."""
    return path.stem


def is_template_file(path: Path) -> bool:
    """True for the files the catalogue loads: no hidden, editor backup, swap or temp files.

    Hidden names cover `.#x.yaml` (emacs lock), `.x.yaml.swp` (vim swap) and dot-temp files;
    the suffix rule covers `x.yaml~`, `x.yaml.tmp` and vim's `4913` probe.
    """
    name = path.name
    return path.suffix in SUFFIXES and not name.startswith((".", "#")) and not name.endswith("~")


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateEntry:
    """One template file: its active (last good) definition and the current file's issues.

    Entries are immutable; every change swaps in a new one, so readers never see half an update.
    """

    name: str
    path: Path
    active: WorkflowDef | None = None
    issues: tuple[Issue, ...] = ()
    loaded_at: datetime | None = None

    @property
    def valid(self) -> bool:
        """True when the file on disk is the active definition."""
        return not self.issues


@dataclass(slots=True, kw_only=True)
class ReloadSummary:
    """What a rescan changed."""

    loaded: int = 0
    invalid: int = 0
    removed: int = 0
    changed: list[str] = field(default_factory=list)


class TemplateCatalog:
    """Templates by name, loaded from one directory."""

    def __init__(self, directory: Path, registry: TaskRegistry) -> None:
        self.directory = directory
        self.registry = registry
        self._entries: dict[str, TemplateEntry] = {}
        self._listeners: list[ChangeListener] = []
        self._status_listeners: list[StatusListener] = []
        # Per file: the sha256 of the bytes last applied (so unchanged files are not re-parsed)
        # and the stat signature (so a periodic sweep notices what inotify missed).
        self._digests: dict[Path, str] = {}
        self._signatures: dict[Path, FileSignature] = {}
        self._shadowed: dict[Path, str] = {}  # a second file with an already-loaded stem

    def on_change(self, listener: ChangeListener) -> None:
        """Call listener(name, definition or None when removed) after each change."""
        self._listeners.append(listener)

    def on_status(self, listener: StatusListener) -> None:
        """Call listener(name) whenever a template's status (validity, issues, active) changes."""
        self._status_listeners.append(listener)

    def entries(self) -> list[TemplateEntry]:
        """All known templates, by name."""
        return [self._entries[k] for k in sorted(self._entries)]

    def get(self, name: str) -> TemplateEntry | None:
        """A template entry by name."""
        return self._entries.get(name)

    def definition(self, name: str) -> WorkflowDef | None:
        """The active definition of a template, or None."""
        entry = self._entries.get(name)
        return entry.active if entry else None

    def signatures(self) -> dict[Path, FileSignature]:
        """The stat signature of every file read, as last applied (for the watcher's sweep)."""
        return dict(self._signatures)

    def install_bundled(self, bundled: Path) -> int:
        """Copy the bundled templates into an empty templates directory; returns how many."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if any(is_template_file(p) for p in self.directory.iterdir()):
            return 0
        count = 0
        for src in sorted(bundled.iterdir()) if bundled.is_dir() else []:
            if is_template_file(src):
                shutil.copy2(src, self.directory / src.name)
                count += 1
        return count

    # ---- reading (any thread) ------------------------------------------------------------

    def read(self, path: Path) -> ReadResult:
        """Read and validate one file without changing the catalogue (safe off the loop)."""
        return read_template(path, self._digests.get(path), self._parse)

    def _parse(self, data: bytes, path: Path) -> WorkflowDef:
        return parse_workflow(data, source=str(path), registry=self.registry)

    # ---- applying (the loop) -------------------------------------------------------------

    def load_file(self, path: Path) -> bool:
        """(Re)load one file; True when it is valid and now active."""
        return self.apply(self.read(path))

    def apply(self, result: ReadResult) -> bool:
        """Swap in what `read` found; True when the file is valid and active."""
        path = result.path
        if not result.present:
            self.remove_file(path)
            return False
        if result.signature is not None:
            self._signatures[path] = result.signature
        name = template_name(path)
        entry = self._entries.get(name)
        if entry is not None and entry.path != path and self._owner_present(entry):
            if self._shadowed.get(path) != result.digest:
                log.warning(
                    "template file %s ignored: %s already defines template %s",
                    path,
                    entry.path,
                    name,
                )
            self._shadowed[path] = result.digest
            return False
        self._shadowed.pop(path, None)
        if result.unchanged:
            if entry is not None and entry.path == path:
                return entry.valid
            return self.apply(read_template(path, None, self._parse))  # stale digest: parse anew
        self._digests[path] = result.digest
        if result.definition is None:
            self._reject(name, path, entry, result.issues)
            return False
        self._accept(name, path, entry, result.definition)
        return True

    def _owner_present(self, entry: TemplateEntry) -> bool:
        return entry.path in self._signatures

    def _accept(
        self, name: str, path: Path, entry: TemplateEntry | None, definition: WorkflowDef
    ) -> None:
        changed = entry is None or entry.active is None or entry.active.hash != definition.hash
        new = TemplateEntry(
            name=name,
            path=path,
            active=definition,
            loaded_at=datetime.now(UTC) if changed or entry is None else entry.loaded_at,
        )
        self._entries[name] = new
        if changed:
            log.info(
                "template %s loaded from %s (%d tasks, %s)",
                name,
                path,
                len(definition.tasks),
                definition.hash[:12],
            )
            self._notify(name, definition)
        if entry is None or changed or not entry.valid or entry.path != path:
            self._status(name)

    def _reject(
        self, name: str, path: Path, entry: TemplateEntry | None, issues: tuple[Issue, ...]
    ) -> None:
        issues = bounded_issues(issues, str(path))
        active = entry.active if entry is not None else None
        self._entries[name] = TemplateEntry(
            name=name,
            path=path,
            active=active,
            issues=issues,
            loaded_at=entry.loaded_at if entry else None,
        )
        first = issues[0] if issues else "invalid"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        log.warning(
            "template %s rejected, %s: %s%s",
            name,
            f"keeping the last good version {active.hash[:12]}" if active else "not loaded",
            first,
            more,
        )
        if entry is None or entry.issues != issues or entry.path != path:
            self._status(name)

    def restore(self, name: str, definition: WorkflowDef) -> bool:
        """Make a remembered last good version active for a template whose file is invalid."""
        entry = self._entries.get(name)
        if entry is None or entry.active is not None or entry.valid:
            return False
        self._entries[name] = replace(entry, active=definition, loaded_at=datetime.now(UTC))
        log.info(
            "template %s: file invalid, restored the last good version %s",
            name,
            definition.hash[:12],
        )
        self._notify(name, definition)
        self._status(name)
        return True

    def remove_file(self, path: Path) -> bool:
        """Forget the template a deleted file defined; True if one was known."""
        self._digests.pop(path, None)
        self._signatures.pop(path, None)
        self._shadowed.pop(path, None)
        name = template_name(path)
        entry = self._entries.get(name)
        if entry is None or entry.path != path:
            return False
        del self._entries[name]
        log.info("template %s removed (%s is gone)", name, path)
        self._notify(name, None)
        self._status(name)
        for other in [p for p in self._shadowed if template_name(p) == name]:
            self._shadowed.pop(other, None)
            self.load_file(other)  # the file it shadowed takes over
        return True

    def scan(self) -> ReloadSummary:
        """Rescan the whole directory: load every file, forget vanished ones."""
        summary = ReloadSummary()
        present = set(self.list_files())
        for path in sorted(present):
            before = self.definition(template_name(path))
            if self.load_file(path):
                summary.loaded += 1
            else:
                summary.invalid += 1
            if self.definition(template_name(path)) is not before:
                summary.changed.append(template_name(path))
        summary.removed = self.forget_missing(present)
        return summary

    def forget_missing(self, present: set[Path]) -> int:
        """Remove the templates whose files are not in `present`; returns how many."""
        removed = 0
        for entry in list(self._entries.values()):
            if entry.path not in present and self.remove_file(entry.path):
                removed += 1
        for path in [p for p in self._signatures if p not in present]:
            self.remove_file(path)
        return removed

    def list_files(self) -> list[Path]:
        """The template files now in the directory (any thread)."""
        return _files(self.directory)

    def _notify(self, name: str, definition: WorkflowDef | None) -> None:
        for listener in self._listeners:
            try:
                listener(name, definition)
            except Exception:
                log.exception("template change listener failed for %s", name)

    def _status(self, name: str) -> None:
        for listener in self._status_listeners:
            try:
                listener(name)
            except Exception:
                log.exception("template status listener failed for %s", name)


def _files(directory: Path) -> list[Path]:
    try:
        children: Iterable[Path] = list(directory.iterdir())
    except OSError:
        return []
    # Not only regular files: a FIFO or device named x.yaml is listed, so it is reported as refused.
    return [p for p in children if is_template_file(p) and p.exists() and not p.is_dir()]
