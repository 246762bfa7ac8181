"""The templates directory as a catalogue of workflow definitions, keeping the last good version.

A template's name is its file stem (`hello.yaml` -> `hello`). Loading a file that fails
validation keeps the previously loaded version active and records the issues, so a broken
edit never takes down a working workflow.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.parse import parse_workflow
from barbossad.errors import BarbossaError, DefinitionError, Issue
from barbossad.tasks.base import TaskRegistry

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml", ".json")
MAX_TEMPLATE_BYTES = 4 * 1024 * 1024


def template_name(path: Path) -> str:
    """The workflow name a template file defines: its file stem."""
    return path.stem


def is_template_file(path: Path) -> bool:
    """True for the files the catalogue loads (no hidden or editor temp files)."""
    name = path.name
    return path.suffix in SUFFIXES and not name.startswith((".", "#")) and not name.endswith("~")


@dataclass(slots=True, kw_only=True)
class TemplateEntry:
    """One template file: its active (last good) definition and the current file's issues."""

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
        self._listeners: list[Callable[[str, WorkflowDef | None], None]] = []

    def on_change(self, listener: Callable[[str, WorkflowDef | None], None]) -> None:
        """Call listener(name, definition or None when removed) after each change."""
        self._listeners.append(listener)

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

    def load_file(self, path: Path) -> bool:
        """(Re)load one file; True when it is valid and now active."""
        name = template_name(path)
        entry = self._entries.get(name) or TemplateEntry(name=name, path=path)
        entry.path = path
        self._entries[name] = entry
        try:
            size = path.stat().st_size
            if size > MAX_TEMPLATE_BYTES:
                raise DefinitionError(
                    [Issue(file=str(path), line=0, column=0, field="",
                           message=f"file is {size} bytes; templates may be at most {MAX_TEMPLATE_BYTES}")]
                )
            definition = parse_workflow(path.read_bytes(), source=str(path), registry=self.registry)
        except DefinitionError as exc:
            entry.issues = exc.issues
            log.warning("template %s rejected, %s: %s", name,
                        "keeping the last good version" if entry.active else "not loaded", exc)
            return False
        except (OSError, BarbossaError) as exc:
            entry.issues = (Issue(file=str(path), line=0, column=0, field="", message=str(exc)),)
            log.warning("template %s unreadable: %s", name, exc)
            return False
        changed = entry.active is None or entry.active.hash != definition.hash
        entry.active = definition
        entry.issues = ()
        entry.loaded_at = datetime.now(UTC)
        if changed:
            log.info("template %s loaded (%d tasks, %s)", name, len(definition.tasks), definition.hash[:12])
            self._notify(name, definition)
        return True

    def remove_file(self, path: Path) -> bool:
        """Forget the template a deleted file defined; True if one was known."""
        name = template_name(path)
        entry = self._entries.get(name)
        if entry is None or entry.path != path:
            return False
        del self._entries[name]
        log.info("template %s removed", name)
        self._notify(name, None)
        return True

    def scan(self) -> ReloadSummary:
        """Rescan the whole directory: load every file, forget vanished ones."""
        summary = ReloadSummary()
        present = {p for p in self._files()}
        for path in sorted(present):
            if self.load_file(path):
                summary.loaded += 1
            else:
                summary.invalid += 1
        for entry in list(self._entries.values()):
            if entry.path not in present and self.remove_file(entry.path):
                summary.removed += 1
        return summary

    def _files(self) -> Iterable[Path]:
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.iterdir() if p.is_file() and is_template_file(p)]

    def _notify(self, name: str, definition: WorkflowDef | None) -> None:
        for listener in self._listeners:
            try:
                listener(name, definition)
            except Exception:
                log.exception("template change listener failed for %s", name)
