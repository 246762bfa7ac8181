"""Helpers for task handler tests: a collecting sink, stub executables, tree snapshots."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from barbossad.models import OutputStream
from barbossad.tasks.base import TaskContext

MakeCtx = Callable[..., TaskContext]


class CollectingSink:
    """An OutputSink keeping every byte per stream; tests can wait for a piece of output."""

    def __init__(self) -> None:
        self.data: dict[OutputStream, bytearray] = {s: bytearray() for s in OutputStream}
        self._written = asyncio.Event()

    def write(self, stream: OutputStream, data: bytes) -> None:
        self.data[stream] += data
        self._written.set()

    async def wait_for(self, stream: OutputStream, needle: str) -> None:
        """Return once `needle` has been written to `stream`; TimeoutError after 10 seconds."""
        async with asyncio.timeout(10):
            while needle not in self.text(stream):
                self._written.clear()
                await self._written.wait()

    def text(self, stream: OutputStream) -> str:
        return bytes(self.data[stream]).decode()


def sink_text(ctx: TaskContext, stream: OutputStream) -> str:
    """Everything the task wrote to one stream."""
    assert isinstance(ctx.sink, CollectingSink)
    return ctx.sink.text(stream)


STUB_SCRIPT = """#!{python}
# Test stub standing in for `{tool}`: records argv, prints canned output, exits as told.
import json, os, sys
with open(os.environ["STUB_LOG"], "a") as fh:
    fh.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
sys.stdout.write(os.environ.get("STUB_STDOUT", ""))
sys.stderr.write(os.environ.get("STUB_STDERR", ""))
sys.exit(int(os.environ.get("STUB_EXIT", "0")))
"""


@dataclass
class StubBin:
    """Stub `systemctl` and `docker` in a directory put first on the task's PATH."""

    directory: Path
    log: Path

    def env(self, stdout: str = "", stderr: str = "", exit_code: int = 0) -> dict[str, str]:
        """Environment making the stubs answer with this output and exit status."""
        return {
            "PATH": f"{self.directory}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "STUB_LOG": str(self.log),
            "STUB_STDOUT": stdout,
            "STUB_STDERR": stderr,
            "STUB_EXIT": str(exit_code),
        }

    def calls(self) -> list[list[str]]:
        """argv of every stub invocation so far, the tool name first."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def snapshot(top: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under `top` with its kind, mode and content (or link target)."""
    tree: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, top)
            if stat.S_ISLNK(st.st_mode):
                tree[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                tree[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif not stat.S_ISREG(st.st_mode):
                tree[rel] = ("special", st.st_mode)  # never read a FIFO: it would block
            else:
                tree[rel] = ("file", stat.S_IMODE(st.st_mode), Path(path).read_bytes())
    return tree
