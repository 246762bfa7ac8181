"""Shared fixtures: a real barbossad subprocess on a Unix socket in a temporary directory."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import DaemonProcess, MakeDaemon


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory (Unix socket paths are limited to 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="bb-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_daemon(short_tmp: Path) -> Iterator[MakeDaemon]:
    """A factory of DaemonProcess objects sharing one temporary root; all stopped at the end."""
    made: list[DaemonProcess] = []

    def factory(templates: dict[str, str] | None = None, **kwargs: object) -> DaemonProcess:
        root = short_tmp / f"d{len(made)}"
        root.mkdir()
        templates_dir = root / "templates"
        templates_dir.mkdir()
        for name, text in (templates or {}).items():
            (templates_dir / name).write_text(text)
        d = DaemonProcess(
            root=root,
            state_dir=root / "state",
            templates_dir=templates_dir,
            socket=root / "api.sock",
            **kwargs,
        )
        made.append(d)
        return d

    yield factory
    for d in made:
        d.stop()
        if d.notify is not None:
            d.notify.close()


@pytest.fixture
def daemon(make_daemon: MakeDaemon) -> DaemonProcess:
    """A running daemon with the bundled templates (installed into its empty templates dir)."""
    return make_daemon().start()
