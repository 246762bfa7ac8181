"""Run the benchmarks and print each figure against its same-run baseline.

    make bench                    # all
    make bench BENCH_ARGS="rpc"   # some: rpc, cli, reload, engine, compare
Results are also written as JSON to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, report


def _cli() -> list[Result]:
    from bench.bench_cli import bench_status_result

    return [bench_status_result()]


def _rpc() -> list[Result]:
    from bench.bench_rpc import bench_rpc

    return [bench_rpc()]


def _reload() -> list[Result]:
    from bench.bench_reload import bench_reload

    return bench_reload()


def _engine() -> list[Result]:
    from bench.bench_engine import bench_engine

    return bench_engine()


def _compare() -> list[Result]:
    from bench.compare.compare import bench_compare

    return bench_compare()


def _scheduler() -> list[Result]:
    from bench.bench_scheduler import bench_scheduler

    return bench_scheduler()


BENCHES: dict[str, Callable[[], list[Result]]] = {
    "cli": _cli,
    "rpc": _rpc,
    "reload": _reload,
    "engine": _engine,
    "compare": _compare,  # Luigi and Prefect from bench/.venv-compare, created on first use
    "scheduler": _scheduler,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"which benchmarks: {', '.join(BENCHES)} (default: all)"
    )
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    results: list[Result] = []
    for name in args.names or list(BENCHES):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.extend(BENCHES[name]())
    print(report(results))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps([{**dataclasses.asdict(r), "ratio": r.ratio} for r in results], indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
