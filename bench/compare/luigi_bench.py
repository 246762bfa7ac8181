"""No-op shell DAGs in Luigi; run by bench/.venv-compare's python, prints one JSON line.

    bench/.venv-compare/bin/python bench/compare/luigi_bench.py --tasks 1000 --chain 200

Each task runs the given argv (default `bash -c true`) with subprocess.run and marks itself
done with a LocalTarget, the usual Luigi way; the local scheduler runs them with --workers
worker processes. Only the luigi.build call is timed. Standard library and luigi only.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import luigi

ARGV: list[str] = []


class NoOp(luigi.Task):  # type: ignore[misc]
    """Runs ARGV; depends on the previous task when part of a chain."""

    root = luigi.Parameter()
    index = luigi.IntParameter()
    chained = luigi.BoolParameter(default=False)

    def requires(self) -> Any:
        if self.chained and self.index > 0:
            return NoOp(root=self.root, index=self.index - 1, chained=True)
        return []

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.root) / f"{self.index}.done"))

    def run(self) -> None:
        subprocess.run(
            ARGV,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        Path(self.output().path).touch()


def _build(tasks: list[NoOp], workers: int, expected: int) -> float:
    start = time.perf_counter()
    result = luigi.build(
        tasks, local_scheduler=True, workers=workers, detailed_summary=True, log_level="WARNING"
    )
    elapsed = time.perf_counter() - start
    done = sum(1 for p in Path(tasks[0].root).iterdir() if p.suffix == ".done")
    if result.status not in (
        luigi.LuigiStatusCode.SUCCESS,
        luigi.LuigiStatusCode.SUCCESS_WITH_RETRY,
    ):
        raise RuntimeError(f"luigi.build ended {result.status}: {result.summary_text[-1000:]}")
    if done != expected:
        raise RuntimeError(f"luigi ran {done} tasks, expected {expected}")
    return elapsed


def parallel(n: int, workers: int) -> float:
    """n independent tasks scheduled together."""
    with tempfile.TemporaryDirectory(prefix="bbluigi-") as root:
        return _build([NoOp(root=root, index=i) for i in range(n)], workers, n)


def chain(n: int, workers: int) -> float:
    """n tasks, each requiring the one before."""
    with tempfile.TemporaryDirectory(prefix="bbluigi-") as root:
        return _build([NoOp(root=root, index=n - 1, chained=True)], workers, n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000, help="independent tasks")
    parser.add_argument("--chain", type=int, default=200, help="tasks in the chain")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument(
        "--argv", default=json.dumps([shutil.which("bash") or "bash", "-c", "true"])
    )
    args = parser.parse_args()
    ARGV[:] = json.loads(args.argv)
    logging.getLogger("luigi").setLevel(logging.WARNING)
    logging.getLogger("luigi-interface").setLevel(logging.WARNING)
    parallel(4, args.workers)  # warm up imports and the scheduler
    figures = {
        "framework": "luigi",
        "version": luigi.__version__,
        "workers": args.workers,
        "parallel": {"tasks": args.tasks, "seconds": parallel(args.tasks, args.workers)},
        "chain": {"tasks": args.chain, "seconds": chain(args.chain, args.workers)},
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
