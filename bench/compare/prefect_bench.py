"""No-op shell DAGs in Prefect 3; run by bench/.venv-compare's python, prints one JSON line.

    bench/.venv-compare/bin/python bench/compare/prefect_bench.py --tasks 200 --chain 200

In process, against the temporary local API server Prefect starts by itself when no
PREFECT_API_URL is set (its "ephemeral" mode), with PREFECT_HOME in a temporary directory.
Each task runs the given argv (default `bash -c true`) with subprocess.run. The parallel shape
submits every task to a ThreadPoolTaskRunner of --workers threads and waits for all; the chain
submits each task with wait_for=[previous]. A one-task flow runs first so that starting the
server is not timed; only the flow calls are. Standard library and prefect only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

ARGV: list[str] = []


def _configure(home: str) -> None:
    # Must happen before prefect is imported: its settings are read at import.
    os.environ["PREFECT_HOME"] = home
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.setdefault("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _shell() -> None:
    subprocess.run(
        ARGV,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(tasks: int, chain: int, workers: int) -> dict[str, Any]:
    """Time the two shapes; returns the JSON figures."""
    import prefect
    from prefect import flow, task
    from prefect.futures import wait
    from prefect.task_runners import ThreadPoolTaskRunner

    noop = task(_shell, name="noop", persist_result=False)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=workers), persist_result=False)
    def parallel_flow(n: int) -> None:
        futures = [noop.submit() for _ in range(n)]
        wait(futures)
        for future in futures:
            future.result()

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=workers), persist_result=False)
    def chain_flow(n: int) -> None:
        previous = None
        for _ in range(n):
            previous = noop.submit(wait_for=[previous] if previous is not None else [])
        if previous is not None:
            previous.result()

    def timed(fn: Any, n: int) -> float:
        start = time.perf_counter()
        fn(n)
        return time.perf_counter() - start

    timed(parallel_flow, 1)  # starts the temporary server and warms up imports
    return {
        "framework": "prefect",
        "version": prefect.__version__,
        "workers": workers,
        "parallel": {"tasks": tasks, "seconds": timed(parallel_flow, tasks)},
        "chain": {"tasks": chain, "seconds": timed(chain_flow, chain)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=200, help="independent tasks")
    parser.add_argument("--chain", type=int, default=200, help="tasks in the chain")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument(
        "--argv", default=json.dumps([shutil.which("bash") or "bash", "-c", "true"])
    )
    args = parser.parse_args()
    ARGV[:] = json.loads(args.argv)
    with tempfile.TemporaryDirectory(prefix="bbprefect-") as home:
        _configure(home)
        figures = measure(args.tasks, args.chain, args.workers)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
