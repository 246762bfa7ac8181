"""Regenerate the checked-in Python modules of the Barbossa API from proto/.

Usage: python proto/generate.py [OUT_DIR]   (default: proto/, in place)
The test suite runs this into a temporary directory and compares the output
with the checked-in files, so an edited .proto without regeneration fails CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent


def proto_files() -> list[Path]:
    """The API's .proto files, in a stable order."""
    return sorted((PROTO_ROOT / "barbossa" / "v1").glob("*.proto"))


def generate(out_dir: Path) -> None:
    """Run protoc (from grpcio-tools) on every API file into out_dir."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p) for p in proto_files()),
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT)
