"""The checked-in API modules are exactly what proto/ generates (run `make proto` after editing)."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "proto" / "barbossa" / "v1"


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(REPO / "proto" / "generate.py"), str(tmp_path)], check=True)
    fresh = tmp_path / "barbossa" / "v1"
    generated = sorted(p.name for p in fresh.iterdir())
    checked_in = sorted(
        p.name for p in PACKAGE.iterdir() if p.suffix in (".py", ".pyi") and p.name != "__init__.py"
    )
    assert generated == checked_in, "generated file set differs: run `make proto` and commit"
    for name in generated:
        assert filecmp.cmp(fresh / name, PACKAGE / name, shallow=False), (
            f"{name} is stale: run `make proto`"
        )


def test_every_proto_file_has_its_modules() -> None:
    for proto in PACKAGE.glob("*.proto"):
        assert (PACKAGE / f"{proto.stem}_pb2.py").exists()
        assert (PACKAGE / f"{proto.stem}_pb2.pyi").exists()
