"""Fixtures for task handler tests: a minimal TaskContext and stub executables.

Handlers run with the real ProcessSpawner. `stub_bin` writes stand-ins for `systemctl` and
`docker` (this machine has no systemd as PID 1 and no Docker engine): each records its argv to
a log file and prints canned output, as told by STUB_* variables in the task environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from taskkit import STUB_SCRIPT, CollectingSink, MakeCtx, StubBin

from barbossad.tasks.base import TaskContext, TaskSettings
from barbossad.tasks.spawner import ProcessSpawner


@pytest.fixture
def make_ctx(tmp_path: Path) -> MakeCtx:
    """Build a TaskContext; keyword arguments override fields, `settings` may be a dict."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def make(**overrides: Any) -> TaskContext:
        settings = overrides.pop("settings", TaskSettings())
        if isinstance(settings, dict):
            settings = TaskSettings(**settings)
        env = dict(os.environ)
        env.update(overrides.pop("env", {}))
        fields: dict[str, Any] = {
            "run_id": 1,
            "task_id": "t",
            "attempt": 1,
            "env": env,
            "working_directory": None,
            "timeout": 30.0,
            "spawner": ProcessSpawner(kill_grace=1.0),
            "sink": CollectingSink(),
            "settings": settings,
            "outputs_file": scratch / "outputs",
            "scratch_dir": scratch,
        }
        fields.update(overrides)
        return TaskContext(**fields)

    return make


@pytest.fixture
def stub_bin(tmp_path: Path) -> StubBin:
    """Stub systemctl/docker executables (see the module docstring)."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for tool in ("systemctl", "docker"):
        path = directory / tool
        path.write_text(STUB_SCRIPT.format(python=sys.executable, tool=tool))
        path.chmod(0o755)
    return StubBin(directory, tmp_path / "stub-calls.log")
