"""Reading one template file safely: regular files only, a size cap, no blocking, bounded issues.

`read_template` does the disk I/O and the parse and touches no shared state, so the file watcher
runs it in a worker thread and the catalogue applies its `ReadResult` on the event loop. A FIFO or
device named `x.yaml` is refused without blocking; a file larger than the cap is refused from its
size alone, before any of it is read; a file with thousands of errors keeps only the first few, so
memory stays bounded however many hostile files the directory holds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from barbossad.definitions.loader import MAX_BYTES
from barbossad.definitions.model import WorkflowDef
from barbossad.errors import BarbossaError, DefinitionError, Issue

log = logging.getLogger(__name__)

MAX_TEMPLATE_BYTES = MAX_BYTES
MAX_ISSUES = 20
MAX_MESSAGE = 1000

Parser = Callable[[bytes, Path], WorkflowDef]


@dataclass(frozen=True, slots=True)
class FileSignature:
    """What stat says about a file; a change means its content may have changed."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileSignature:
        """The signature of a stat result."""
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadResult:
    """What reading one template path found: nothing, the same bytes as before, or a verdict."""

    path: Path
    present: bool = True  # False: no file (or a directory) at path any more
    signature: FileSignature | None = None
    digest: str = ""  # sha256 of the bytes read; "" when they could not be read
    definition: WorkflowDef | None = None
    issues: tuple[Issue, ...] = ()
    unchanged: bool = False  # the bytes equal those last applied: nothing to parse


def read_template(path: Path, known_digest: str | None, parse: Parser) -> ReadResult:
    """Read and validate the file at path; `known_digest` skips the parse of unchanged bytes."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return ReadResult(path=path, present=False)
    except OSError as exc:
        return _refused(path, None, f"cannot read the file: {exc.strerror}")
    if stat.S_ISDIR(st.st_mode):
        return ReadResult(path=path, present=False)
    signature = FileSignature.of(st)
    if not stat.S_ISREG(st.st_mode):
        return _refused(path, signature, "is not a regular file")
    if st.st_size > MAX_TEMPLATE_BYTES:
        return _refused(path, signature, _too_big(st.st_size))
    try:
        data, signature = _read_capped(path)
    except FileNotFoundError:
        return ReadResult(path=path, present=False)
    except OSError as exc:
        return _refused(path, signature, f"cannot read the file: {exc.strerror}")
    except _Refusal as refusal:
        return _refused(path, signature, str(refusal))
    digest = hashlib.sha256(data).hexdigest()
    if known_digest and digest == known_digest:
        return ReadResult(path=path, signature=signature, digest=digest, unchanged=True)
    return _verdict(path, signature, digest, data, parse)


def _verdict(
    path: Path, signature: FileSignature, digest: str, data: bytes, parse: Parser
) -> ReadResult:
    try:
        definition = parse(data, path)
    except DefinitionError as exc:
        return ReadResult(
            path=path,
            signature=signature,
            digest=digest,
            issues=bounded_issues(exc.issues, str(path)),
        )
    except BarbossaError as exc:
        return _refused(path, signature, str(exc), digest)
    except Exception:
        log.exception("template file %s: unexpected error while validating it", path)
        return _refused(
            path, signature, "internal error while validating the file, see the daemon log", digest
        )
    return ReadResult(path=path, signature=signature, digest=digest, definition=definition)


class _Refusal(Exception):
    """The file is not something to parse (raced into a FIFO, or grew past the cap)."""


def _read_capped(path: Path) -> tuple[bytes, FileSignature]:
    # O_NONBLOCK: a FIFO swapped in after the stat must not hang the reader thread.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Refusal("is not a regular file")
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_TEMPLATE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_TEMPLATE_BYTES + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_TEMPLATE_BYTES:
            raise _Refusal(_too_big(max(total, os.fstat(fd).st_size)))
        return b"".join(chunks), FileSignature.of(st)
    finally:
        os.close(fd)


def _too_big(size: int) -> str:
    mib = 1024 * 1024
    return f"file is {size / mib:.1f} MiB, larger than the {MAX_TEMPLATE_BYTES / mib:.1f} MiB limit"


def _refused(
    path: Path, signature: FileSignature | None, message: str, digest: str = ""
) -> ReadResult:
    issue = Issue(file=str(path), line=0, column=0, field="", message=message)
    return ReadResult(path=path, signature=signature, digest=digest, issues=(issue,))


def bounded_issues(issues: tuple[Issue, ...], file: str) -> tuple[Issue, ...]:
    """At most MAX_ISSUES issues of at most MAX_MESSAGE characters, saying how many were cut."""
    if not issues:
        return (Issue(file=file, line=0, column=0, field="", message="invalid definition"),)
    kept = [
        _short(i) for i in issues[: MAX_ISSUES if len(issues) <= MAX_ISSUES else MAX_ISSUES - 1]
    ]
    if len(issues) > MAX_ISSUES:
        dropped = len(issues) - len(kept)
        kept.append(
            Issue(file=file, line=0, column=0, field="", message=f"... and {dropped} more issues")
        )
    return tuple(kept)


def _short(issue: Issue) -> Issue:
    if len(issue.message) <= MAX_MESSAGE and len(issue.field) <= MAX_MESSAGE:
        return issue
    return Issue(
        file=issue.file,
        line=issue.line,
        column=issue.column,
        field=issue.field[:MAX_MESSAGE],
        message=issue.message[: MAX_MESSAGE - 1] + "…",
        suggestion=issue.suggestion[:MAX_MESSAGE],
    )
