"""The file operations themselves: synchronous, run in a worker thread, atomic where possible.

Each operation first resolves and checks every path and input (nothing is touched while any
check can still fail), then builds its result under a temporary name in the destination's
directory and renames it into place. A failure or a cancellation before the rename removes the
temporary and leaves the tree as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from barbossad.errors import TaskError
from barbossad.tasks.file_archive import (
    archive_format,
    check_archive,
    checkpoint,
    create_archive,
    extract_archive,
)
from barbossad.tasks.file_guard import PathGuard, TreeEntry

if TYPE_CHECKING:
    from barbossad.tasks.file_operation import FileOperationSpec

_CHUNK = 1024 * 1024
Outputs = dict[str, str]


def parse_mode(text: str) -> int:
    """An octal permission string ("0755", "644") as an int; no setuid/setgid bits."""
    digits = text.removeprefix("0o")
    if not 3 <= len(digits) <= 4 or any(c not in "01234567" for c in digits):
        raise TaskError(f"mode {text!r} is not an octal permission like '0644'")
    mode = int(digits, 8)
    if mode & (stat.S_ISUID | stat.S_ISGID):
        raise TaskError(f"mode {text!r} sets setuid/setgid bits, which file_operation refuses")
    return mode


def _umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads.
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _temp_path(parent: str, name: str) -> str:
    return os.path.join(parent, f".{name}.{secrets.token_hex(4)}.barbossa-tmp")


def _temp_dir(parent: str, name: str) -> str:
    while True:
        path = _temp_path(parent, name)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)
            return path


def _temp_file(parent: str, name: str) -> str:
    fd, path = tempfile.mkstemp(dir=parent, prefix=f".{name}.", suffix=".barbossa-tmp")
    os.close(fd)
    return path


def _discard(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _build(path: str, make: Callable[[str], None]) -> None:
    """Run `make(path)` and remove `path` again if it fails or is cancelled."""
    try:
        make(path)
    except BaseException:
        _discard(path)
        raise


def _require_space(directory: str, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise TaskError(f"not enough free space in {directory!r}: need {needed} bytes, {free} free")


def _copy_file(src: str, dst: str, cancel: threading.Event) -> None:
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            checkpoint(cancel)  # a large copy stops promptly when the task is cancelled
            fout.write(chunk)
    shutil.copystat(src, dst)


def _copy_entries(
    entries: Sequence[TreeEntry], top: str, into: str, cancel: threading.Event
) -> None:
    """Recreate the scanned tree under `into` (which stands for `top`); links stay links."""
    for entry in entries:
        checkpoint(cancel)
        rel = os.path.relpath(entry.path, top)
        dst = into if rel == "." else os.path.join(into, rel)
        if entry.kind == "dir":
            if dst != into:
                os.mkdir(dst)
        elif entry.kind == "symlink":
            os.symlink(os.readlink(entry.path), dst)
        else:
            _copy_file(entry.path, dst, cancel)
    for entry in reversed(entries):  # after the contents, so directory times stick
        if entry.kind == "dir":
            rel = os.path.relpath(entry.path, top)
            shutil.copystat(entry.path, into if rel == "." else os.path.join(into, rel))


def _destination(guard: PathGuard, value: str, src: str) -> str:
    """The final path: `value` itself, or inside it when it is (or ends like) a directory."""
    dest = guard.target(value, "destination")
    if os.path.isdir(dest) or value.endswith("/"):
        if not os.path.isdir(dest):
            raise TaskError(f"destination directory {value!r} does not exist")
        dest = guard.target(os.path.join(dest, os.path.basename(src)), "destination")
    return dest


def _check_not_inside(src: str, dest: str) -> None:
    if dest == src or dest.startswith(src.rstrip("/") + "/"):
        raise TaskError(f"destination {dest!r} is the source or inside it")


def copy(spec: FileOperationSpec, guard: PathGuard, cancel: threading.Event) -> Outputs:
    """Copy a file (replacing the destination atomically) or a whole directory tree."""
    assert spec.source is not None and spec.destination is not None
    src = guard.existing(spec.source, "source")
    entries = guard.scan(src, "source")
    dest = _destination(guard, spec.destination, src)
    _check_not_inside(src, dest)
    is_dir = entries[0].kind == "dir"
    if os.path.lexists(dest) and (is_dir or os.path.isdir(dest)):
        raise TaskError(f"destination {dest!r} already exists; nothing is merged or overwritten")
    size = sum(e.size for e in entries)
    parent, name = os.path.split(dest)
    _require_space(parent, size)
    tmp = _temp_dir(parent, name) if is_dir else _temp_file(parent, name)
    _build(tmp, lambda t: _copy_entries(entries, src, t, cancel))
    os.replace(tmp, dest)
    files = sum(1 for e in entries if e.kind != "dir")
    return {"path": dest, "bytes": str(size), "files": str(files)}


def move(spec: FileOperationSpec, guard: PathGuard, cancel: threading.Event) -> Outputs:
    """Rename; across filesystems, copy under a temporary name, rename, then remove the source."""
    assert spec.source is not None and spec.destination is not None
    src = guard.entry(spec.source, "source")
    is_dir = os.path.isdir(src) and not os.path.islink(src)
    dest = _destination(guard, spec.destination, src)
    _check_not_inside(src, dest)
    if os.path.lexists(dest) and (is_dir or os.path.isdir(dest)):
        raise TaskError(f"destination {dest!r} already exists; nothing is merged or overwritten")
    try:
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        entries = guard.scan(src, "source")
        parent, name = os.path.split(dest)
        _require_space(parent, sum(e.size for e in entries))
        tmp = _temp_dir(parent, name) if is_dir else _temp_path(parent, name)
        _build(tmp, lambda t: _copy_entries(entries, src, t, cancel))
        os.replace(tmp, dest)
        # The copy is in place: finish the move even if cancelled now.
        if is_dir:
            shutil.rmtree(src)
        else:
            os.unlink(src)
    return {"path": dest}


def delete(spec: FileOperationSpec, field: str, guard: PathGuard) -> Outputs:
    """Remove a file or symlink; a directory only with recursive: true."""
    path = guard.entry(getattr(spec, field), field)
    if os.path.isdir(path) and not os.path.islink(path):
        if not spec.recursive:
            raise TaskError(
                f"{path!r} is a directory; set recursive: true to delete it and its contents"
            )
        # Rename first so the directory vanishes at once; the removal itself is not atomic.
        doomed = _temp_path(*os.path.split(path))
        os.rename(path, doomed)
        shutil.rmtree(doomed)
    else:
        os.unlink(path)
    return {"path": path}


def mkdir(spec: FileOperationSpec, field: str, guard: PathGuard) -> Outputs:
    """Create a directory and missing parents; an existing directory is fine (mode re-applied)."""
    path = guard.target(getattr(spec, field), field, parent_must_exist=False)
    mode = parse_mode(spec.mode) if spec.mode else None
    created = not os.path.lexists(path)
    if not created and not os.path.isdir(path):
        raise TaskError(f"{path!r} exists and is not a directory")
    if created:
        os.makedirs(path)
    if mode is not None:
        os.chmod(path, mode)  # makedirs' mode is filtered by the umask; this is exact
    return {"path": path, "created": "true" if created else "false"}


def write(
    spec: FileOperationSpec, field: str, guard: PathGuard, cancel: threading.Event
) -> Outputs:
    """Write `content` to a temporary file and rename it over the destination."""
    assert spec.content is not None
    path = guard.target(getattr(spec, field), field)
    if os.path.isdir(path):
        raise TaskError(f"{path!r} is a directory")
    existing = os.stat(path) if os.path.exists(path) else None
    mode = parse_mode(spec.mode) if spec.mode else None
    if mode is None:
        mode = stat.S_IMODE(existing.st_mode) if existing else 0o666 & ~_umask()
    data = spec.content.encode()
    parent, name = os.path.split(path)
    tmp = _temp_file(parent, name)

    def make(tmp_path: str) -> None:
        with open(tmp_path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            if existing is not None:
                # Replacing someone's file keeps it theirs (matters when the daemon runs as root).
                with contextlib.suppress(PermissionError):
                    os.fchown(fh.fileno(), existing.st_uid, existing.st_gid)
            os.fchmod(fh.fileno(), mode)
        checkpoint(cancel)

    _build(tmp, make)
    os.replace(tmp, path)
    return {"path": path, "bytes": str(len(data))}


def chmod(spec: FileOperationSpec, field: str, guard: PathGuard) -> Outputs:
    """Set permissions on a path, or with recursive: true on everything below it (links skipped)."""
    assert spec.mode is not None
    path = guard.existing(getattr(spec, field), field)
    mode = parse_mode(spec.mode)
    if spec.recursive and os.path.isdir(path):
        targets = [e.path for e in guard.scan(path, field) if e.kind != "symlink"]
    else:
        targets = [path]
    for target in targets:
        os.chmod(target, mode, follow_symlinks=False)
    return {"path": path, "mode": f"{mode:04o}", "files": str(len(targets))}


def compress(spec: FileOperationSpec, guard: PathGuard, cancel: threading.Event) -> Outputs:
    """Pack a file or directory into a tar.gz or zip archive at `destination`."""
    assert spec.source is not None and spec.destination is not None
    src = guard.existing(spec.source, "source")
    dest = guard.target(spec.destination, "destination")
    if os.path.isdir(dest):
        raise TaskError(f"destination {dest!r} is a directory; give the archive's file name")
    fmt = archive_format(spec.format, dest)
    entries = guard.scan(src, "source", follow_file_links=fmt == "zip")
    parent, name = os.path.split(dest)
    tmp = _temp_file(parent, name)

    def make(tmp_path: str) -> None:
        create_archive(fmt, tmp_path, entries, cancel)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp made it private

    _build(tmp, make)
    os.replace(tmp, dest)
    files = sum(1 for e in entries if e.kind != "dir")
    return {"path": dest, "bytes": str(os.path.getsize(dest)), "files": str(files), "format": fmt}


def extract(spec: FileOperationSpec, guard: PathGuard, cancel: threading.Event) -> Outputs:
    """Unpack a checked archive into `destination`, which must not exist or be empty."""
    assert spec.source is not None and spec.destination is not None
    src = guard.existing(spec.source, "source")
    if not os.path.isfile(src):
        raise TaskError(f"source {spec.source!r} is not a file")
    fmt = archive_format(spec.format, src)
    dest = guard.target(spec.destination, "destination")
    exists = os.path.lexists(dest)
    if exists and not (os.path.isdir(dest) and not os.listdir(dest)):
        raise TaskError(f"destination {dest!r} must not exist or be an empty directory")
    summary = check_archive(fmt, src, dest)
    parent, name = os.path.split(dest)
    _require_space(dest if exists else parent, summary.bytes)
    # Unpack beside (or, for an existing directory, inside) the destination on the same
    # filesystem, so that moving the result into place is a rename.
    tmp = _temp_dir(dest, "extract") if exists else _temp_dir(parent, name)
    _build(tmp, lambda t: extract_archive(fmt, src, t, cancel))
    if exists:
        for entry in os.listdir(tmp):
            os.rename(os.path.join(tmp, entry), os.path.join(dest, entry))
        os.rmdir(tmp)
    else:
        os.rename(tmp, dest)
    return {"path": dest, "files": str(summary.files), "bytes": str(summary.bytes), "format": fmt}
