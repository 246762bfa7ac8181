#!/usr/bin/env bash
# Create bench/.venv-compare with Luigi and Prefect for bench/compare (never the project's venv).
#
#     bash bench/compare/setup.sh            # create or update
#     PYTHON=python3.12 bash bench/compare/setup.sh
#
# The venv is gitignored; bench/run.py's "compare" benchmark runs its python as a subprocess.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${COMPARE_VENV:-$here/../.venv-compare}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md

for name in ("luigi", "prefect"):
    print(f"{name} {md.version(name)}")
PY
