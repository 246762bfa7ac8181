"""Path policy for file_operation: every path is resolved and must stay inside an allowed root.

Resolution follows symlinks (os.path.realpath), so a symlink inside a root that points outside
resolves outside and is refused. The one exception is `entry()`, used for delete and move: there
the operand is the directory entry itself (removing or renaming a symlink never touches what it
points to), so only its parent is resolved.

These checks stop hostile *values* (`../../etc/passwd`, a planted symlink) and configuration
mistakes. They are not a sandbox against another process rewriting the tree between check and
use; the daemon's own filesystem permissions remain the last line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from barbossad.errors import TaskError

NO_ROOTS = "file_operation: no allowed_roots configured"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry of a scanned tree: its path, its path relative to the tree's parent, its kind."""

    path: str
    arcname: str
    kind: str  # "file", "dir" or "symlink"
    size: int


class PathGuard:
    """Resolves task paths and refuses any that leave the allowed roots."""

    def __init__(self, roots: Sequence[Path], base: str | None) -> None:
        if not roots:
            raise TaskError(NO_ROOTS)
        self.roots = tuple(os.path.realpath(r) for r in roots)
        self.base = base  # relative paths are relative to the task's working directory

    def inside(self, real: str) -> bool:
        """True if the resolved path is a root or lies below one."""
        return any(real == r or real.startswith(r.rstrip("/") + "/") for r in self.roots)

    def is_root(self, real: str) -> bool:
        """True if the resolved path is one of the roots itself."""
        return real in self.roots

    def _absolute(self, value: str, field: str) -> str:
        if not value:
            raise TaskError(f"{field} is empty")
        if "\0" in value:
            raise TaskError(f"{field} contains a NUL byte")
        if not os.path.isabs(value):
            if not self.base:
                raise TaskError(
                    f"{field} {value!r} must be absolute (the task has no working_directory)"
                )
            value = os.path.join(self.base, value)
        return os.path.normpath(value)

    def _require_inside(self, real: str, value: str, field: str) -> str:
        if not self.inside(real):
            raise TaskError(f"{field} {value!r} resolves to {real!r}, outside the allowed roots")
        return real

    def existing(self, value: str, field: str) -> str:
        """An existing path, symlinks followed; refused unless it resolves inside a root."""
        path = self._absolute(value, field)
        try:
            real = os.path.realpath(path, strict=True)
        except FileNotFoundError:
            raise TaskError(f"{field} {value!r} does not exist") from None
        except OSError as exc:
            raise TaskError(f"{field} {value!r}: {exc.strerror}") from None
        return self._require_inside(real, value, field)

    def entry(self, value: str, field: str) -> str:
        """An existing directory entry itself (a final symlink is not followed); never a root."""
        path = self._absolute(value, field)
        parent, name = os.path.split(path)
        if name in ("", ".", ".."):
            raise TaskError(f"{field} {value!r} does not name an entry")
        try:
            real = os.path.join(os.path.realpath(parent, strict=True), name)
        except OSError:
            raise TaskError(f"{field} {value!r} does not exist") from None
        self._require_inside(real, value, field)
        if self.is_root(real):
            raise TaskError(f"{field} {value!r} is an allowed root; refusing to remove or move it")
        if not os.path.lexists(real):
            raise TaskError(f"{field} {value!r} does not exist")
        return real

    def target(self, value: str, field: str, *, parent_must_exist: bool = True) -> str:
        """A path to create or replace, symlinks followed as far as they exist; inside a root."""
        path = self._absolute(value, field)
        real = self._require_inside(os.path.realpath(path), value, field)
        if parent_must_exist and not os.path.isdir(os.path.dirname(real)):
            raise TaskError(f"{field} {value!r}: parent directory does not exist")
        return real

    def scan(self, top: str, field: str, *, follow_file_links: bool = False) -> list[TreeEntry]:
        """Every entry under `top` (itself included), refusing specials and links out of the roots.

        Symlinks are listed, never descended into; each must resolve inside a root. With
        `follow_file_links` (zip stores contents, not links) a link must point at a regular file.
        """
        base = os.path.dirname(top)
        entries: list[TreeEntry] = []
        stack = [top]
        while stack:
            path = stack.pop()
            st = os.lstat(path)
            arcname = os.path.relpath(path, base)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(path)
                if not self.inside(real):
                    raise TaskError(f"{field}: symlink {path!r} points outside the allowed roots")
                if follow_file_links and not os.path.isfile(real):
                    raise TaskError(f"{field}: symlink {path!r} does not point at a regular file")
                entries.append(
                    TreeEntry(
                        path, arcname, "symlink", os.stat(real).st_size if follow_file_links else 0
                    )
                )
            elif stat.S_ISDIR(st.st_mode):
                entries.append(TreeEntry(path, arcname, "dir", 0))
                with os.scandir(path) as it:
                    stack.extend(sorted((e.path for e in it), reverse=True))
            elif stat.S_ISREG(st.st_mode):
                entries.append(TreeEntry(path, arcname, "file", st.st_size))
            else:
                # Reading a FIFO or a device would block or never end.
                raise TaskError(f"{field}: {path!r} is not a regular file, directory or symlink")
        return entries
