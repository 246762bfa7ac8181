"""Per-task overhead of the engine, Luigi and Prefect on the same no-op shell DAGs.

    python bench/compare/compare.py      # or: make bench BENCH_ARGS=compare

A framework's overhead per task is (its run time - the bare asyncio loop's time for the same
number of tasks) / tasks, for the parallel shape (independent tasks, 32 at a time) and for
the chain. Target: ours <= one tenth of the lower of Luigi's and Prefect's, for both shapes.

Luigi and Prefect live in bench/.venv-compare (created here by setup.sh when missing, never
in the project's venv) and run as subprocesses of its python: luigi_bench.py and
prefect_bench.py print their timings as JSON. Prefect runs 200 parallel tasks rather than
1,000 (it takes tens of milliseconds a task); the overhead is per task, so the shapes compare.
The engine and bare loop figures come from bench/bench_engine.py's workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.bench_engine import (
    CHAIN_TASKS,
    PARALLEL_TASKS,
    Paired,
    machine_note,
    paired,
    shell_argv,
)
from bench.common import REPO, Result

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COMPARE_VENV") or REPO / "bench" / ".venv-compare")
SETUP_TIMEOUT = 420.0
TARGET_FRACTION = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class Framework:
    """A framework to compare with: its script, task counts and time bound."""

    name: str
    script: str
    parallel_tasks: int
    chain_tasks: int
    timeout: float


FRAMEWORKS = (
    Framework(
        name="luigi",
        script="luigi_bench.py",
        parallel_tasks=PARALLEL_TASKS,
        chain_tasks=CHAIN_TASKS,
        timeout=240,
    ),
    Framework(
        name="prefect", script="prefect_bench.py", parallel_tasks=200, chain_tasks=200, timeout=240
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """One framework's timings, or why there are none."""

    name: str
    version: str = ""
    parallel: tuple[int, float] | None = None  # (tasks, seconds)
    chain: tuple[int, float] | None = None
    error: str = ""


def compare_python() -> tuple[Path | None, str]:
    """The compare venv's python, creating the venv with setup.sh if needed; or why not."""
    python = VENV / "bin" / "python"
    if python.exists():
        return python, ""
    print("creating bench/.venv-compare (bench/compare/setup.sh) ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            ["bash", str(HERE / "setup.sh")],
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"setup.sh did not finish in {SETUP_TIMEOUT:g}s"
    if done.returncode != 0 or not python.exists():
        return None, f"setup.sh failed: {_last_line(done.stderr or done.stdout)}"
    return python, ""


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def run_framework(python: Path, fw: Framework) -> Figures:
    """Run one framework's script; its figures, or the error that stopped it."""
    argv = [
        str(python),
        str(HERE / fw.script),
        "--tasks",
        str(fw.parallel_tasks),
        "--chain",
        str(fw.chain_tasks),
        "--argv",
        json.dumps(shell_argv("true")),
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=fw.timeout, check=False)
    except subprocess.TimeoutExpired:
        return Figures(name=fw.name, error=f"did not finish in {fw.timeout:g}s")
    if done.returncode != 0:
        return Figures(name=fw.name, error=f"exited {done.returncode}: {_last_line(done.stderr)}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Figures(
        name=fw.name,
        version=data["version"],
        parallel=(data["parallel"]["tasks"], data["parallel"]["seconds"]),
        chain=(data["chain"]["tasks"], data["chain"]["seconds"]),
    )


def _bare_seconds(shape: str, tasks: int, ours: Paired, repeats: int) -> float:
    if tasks == ours.bare.tasks:
        return ours.bare.seconds
    return paired(shape, repeats, ("bare",), tasks=tasks).bare.seconds


def compare_shape(shape: str, ours: Paired, others: list[Figures], repeats: int) -> list[Result]:
    """One row per framework (its overhead per task) and the verdict row for ours."""
    rows: list[Result] = []
    theirs: dict[str, float] = {}
    for fig in others:
        timing = fig.parallel if shape == "parallel" else fig.chain
        if timing is None:
            continue
        tasks, seconds = timing
        bare = _bare_seconds(shape, tasks, ours, repeats)
        theirs[fig.name] = (seconds - bare) / tasks
        rows.append(
            Result(
                name=f"{fig.name} {fig.version} {shape}, {tasks} tasks",
                value=seconds,
                baseline=bare,
                unit="s",
                target="info",
                ok=True,
                note=f"overhead {theirs[fig.name] * 1e3:.2f} ms/task over the bare loop",
            )
        )
    mine = ours.overhead_per_task()
    missing = [f"{f.name}: {f.error}" for f in others if f.error]
    if not theirs:
        rows.append(
            Result(
                name=f"our overhead/task, {shape} (no framework to compare)",
                value=mine * 1e3,
                baseline=float("nan"),
                unit="ms",
                target=f"<={TARGET_FRACTION:g}x",
                ok=False,
                note="; ".join(missing),
            )
        )
        return rows
    best = min(theirs, key=lambda name: theirs[name])
    note = (
        f"lower of theirs: {best}; engine {ours.engine.seconds:.2f}s, bare {ours.bare.seconds:.2f}s"
    )
    rows.append(
        Result(
            name=f"our overhead/task, {shape} ({ours.engine.tasks}) vs lower of theirs",
            value=mine * 1e3,
            baseline=theirs[best] * 1e3,
            unit="ms",
            target=f"<={TARGET_FRACTION:g}x",
            ok=mine <= TARGET_FRACTION * theirs[best],
            note="; ".join([note, *missing]),
        )
    )
    return rows


def bench_compare(repeats: int = 3) -> list[Result]:
    """Every comparison figure (for bench/run.py)."""
    context = machine_note()
    python, why = compare_python()
    others = (
        [run_framework(python, fw) for fw in FRAMEWORKS]
        if python is not None
        else [Figures(name=fw.name, error=why) for fw in FRAMEWORKS]
    )
    for fig in others:
        if fig.error:
            print(f"compare: {fig.name} unavailable: {fig.error}", file=sys.stderr)
    results: list[Result] = []
    for shape in ("parallel", "chain"):
        ours = paired(shape, repeats)
        results += compare_shape(shape, ours, others, repeats)
    results[0].note = f"{context}; {results[0].note}"
    return results


def main() -> int:
    """Run standalone; exit 0 when both targets are met."""
    from bench.common import report

    results = bench_compare()
    print(report(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
