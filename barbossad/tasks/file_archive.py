"""Archives for file_operation: create tar.gz/zip from a scanned tree, check and extract them.

Every member of an archive is checked before anything is written: absolute names, `..`
components, links leaving the destination, device files and encrypted zip members are refused
with the member's name. tar extraction then runs with tarfile's "data" filter as well, which
re-checks each member against what is already on disk (a symlink planted by an earlier member).
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from barbossad.errors import TaskError
from barbossad.tasks.file_guard import TreeEntry

FORMATS = ("tar.gz", "zip")
_DRIVE_RE = re.compile(r"[A-Za-z]:")


class Cancelled(Exception):
    """The task was cancelled; the worker stops at the next checkpoint and cleans up."""


def checkpoint(cancel: threading.Event) -> None:
    """Raise Cancelled if the task has been cancelled."""
    if cancel.is_set():
        raise Cancelled


def archive_format(fmt: str, name: str) -> str:
    """The archive format: as given, else inferred from the file name."""
    if fmt:
        if fmt not in FORMATS:
            raise TaskError(f"unknown format {fmt!r} (expected {', '.join(FORMATS)})")
        return fmt
    lowered = name.lower()
    if lowered.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    if lowered.endswith(".zip"):
        return "zip"
    raise TaskError(f"cannot tell the archive format of {name!r}; set format: tar.gz or zip")


def create_archive(
    fmt: str, target: str, entries: Sequence[TreeEntry], cancel: threading.Event
) -> None:
    """Write the scanned entries to `target` (a fresh temporary file) in `fmt`."""
    if fmt == "tar.gz":
        with tarfile.open(target, "w:gz") as tf:
            for entry in entries:
                checkpoint(cancel)
                # Links are stored as links (their targets were checked by the scan).
                tf.add(entry.path, arcname=entry.arcname, recursive=False)
        return
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in entries:
            checkpoint(cancel)
            # zip has no portable symlinks: a link to a file is stored as the file's content.
            zf.write(entry.path, arcname=entry.arcname)


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """What an archive holds, once its members have passed the checks."""

    files: int
    bytes: int


def _name_problem(name: str) -> str:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or _DRIVE_RE.match(name):
        return "has an absolute path"
    if ".." in parts:
        return "has a '..' component"
    if "\0" in name:
        return "contains a NUL byte"
    return ""


def check_archive(fmt: str, path: str, dest: str) -> ArchiveSummary:
    """Refuse the archive (TaskError naming the member) unless every member is safe to extract.

    `dest` is the (empty) directory it would be extracted into.
    """
    try:
        if fmt == "tar.gz":
            return _check_tar(path, dest)
        return _check_zip(path)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise TaskError(f"{os.path.basename(path)!r} is not a valid {fmt} archive: {exc}") from None


def _check_tar(path: str, dest: str) -> ArchiveSummary:
    files = size = 0
    with tarfile.open(path, "r:*") as tf:
        for member in tf.getmembers():
            problem = _name_problem(member.name)
            if not problem:
                try:
                    tarfile.data_filter(member, dest)
                except tarfile.FilterError as exc:
                    problem = _filter_reason(exc)
            if problem:
                raise TaskError(f"archive member {member.name!r} {problem}; nothing was extracted")
            if not member.isdir():
                files += 1
                size += member.size
    return ArchiveSummary(files, size)


def _filter_reason(exc: tarfile.FilterError) -> str:
    if isinstance(exc, tarfile.AbsoluteLinkError | tarfile.LinkOutsideDestinationError):
        return "is a link pointing outside the destination"
    if isinstance(exc, tarfile.SpecialFileError):
        return "is a device, FIFO or other special file"
    if isinstance(exc, tarfile.OutsideDestinationError):
        return "would be written outside the destination"
    return f"is refused ({exc})"


def _check_zip(path: str) -> ArchiveSummary:
    files = size = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            problem = _name_problem(info.filename)
            mode = info.external_attr >> 16
            if not problem and stat.S_ISLNK(mode):
                problem = "is a symlink (not supported in zip archives)"
            elif (
                not problem and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
            ):
                problem = "is a device, FIFO or other special file"
            elif not problem and info.flag_bits & 0x1:
                problem = "is encrypted"
            if problem:
                raise TaskError(
                    f"archive member {info.filename!r} {problem}; nothing was extracted"
                )
            if not info.is_dir():
                files += 1
                size += info.file_size
    return ArchiveSummary(files, size)


def extract_archive(fmt: str, path: str, dest: str, cancel: threading.Event) -> None:
    """Extract a checked archive into the empty directory `dest`."""
    if fmt == "tar.gz":
        with tarfile.open(path, "r:*") as tf:
            tf.errorlevel = 2  # every extraction problem is an error, not a debug message

            def data_filter(member: tarfile.TarInfo, dest_path: str) -> tarfile.TarInfo | None:
                checkpoint(cancel)
                return tarfile.data_filter(member, dest_path)

            tf.extractall(dest, filter=data_filter)
        return
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            checkpoint(cancel)
            zf.extract(info, dest)
