"""The engine against bare asyncio, both measured in this run on the same commands.

    python bench/bench_engine.py                     # every figure below
    python bench/bench_engine.py --profile parallel  # cProfile one engine run (or chain, sleep)

Figures and targets:
  1. 1,000 independent no-op shell tasks at concurrency 32, and a 200-task chain, through a real
     WorkflowEngine (SQLite in a temporary directory, every state change committed) against a
     bare asyncio loop running the same argv: <= 1.15x and <= 1.10x.
  3. Planning a 10,000-task DAG against graphlib's static_order on the same graph: <= 3x.
  4. 1,000 concurrent `sleep 2` tasks: <= 1.2x the bare loop, with <= 16 threads in the process.
(Figure 2, Luigi and Prefect, is bench/compare/.)

Each run happens in a fresh interpreter (`--worker`) so that no run inherits another's child
watcher, open files or memory; engine and bare runs take turns (--repeats of each) and the
median of each is kept, so that noise from other work on the machine hits both alike. The
figures are wall times; each note adds the worker's own CPU per task, which noise moves less.

The bare loop uses asyncio.create_subprocess_exec with asyncio.PidfdChildWatcher (the default
from 3.12; 3.11's default starts a thread per child), runs the argv the shell_command task type
builds, and sends the child's output to /dev/null: the engine's pipes, capture and bookkeeping
all count as its overhead. (The engine does not use asyncio's subprocess transports: it watches
each child's pipes and pidfd itself.) An extra "info" row sets the engine against a bare loop
that spawns the way the engine must (stdout/stderr piped and read, a new session), to show
how much of the gap is the cost of capturing output at all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import graphlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result

CONCURRENCY = 32
PARALLEL_TASKS = 1000
CHAIN_TASKS = 200
SLEEP_TASKS = 1000
SLEEP_COMMAND = "sleep 2"
PLAN_TASKS = 10_000
PLAN_MAX_DEPS = 3
PARALLEL_TARGET = 1.15
CHAIN_TARGET = 1.10
PLAN_TARGET = 3.0
SLEEP_TARGET = 1.2
MAX_THREADS = 16
WORKER_TIMEOUT = 120.0
BARE_PIPES = "bare-pipes"  # a bare loop spawning the way the engine does


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """A workload: how many tasks, chained or not, at most how many at once, running what."""

    tasks: int
    chain: bool
    concurrency: int
    command: str

    def sized(self, tasks: int | None) -> Shape:
        """The same shape with another number of tasks."""
        return self if tasks is None else replace(self, tasks=tasks)


SHAPES: dict[str, Shape] = {
    "parallel": Shape(tasks=PARALLEL_TASKS, chain=False, concurrency=CONCURRENCY, command="true"),
    "chain": Shape(tasks=CHAIN_TASKS, chain=True, concurrency=CONCURRENCY, command="true"),
    "sleep": Shape(tasks=SLEEP_TASKS, chain=False, concurrency=SLEEP_TASKS, command=SLEEP_COMMAND),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One timed run in a worker process."""

    kind: str  # "engine", "bare" or BARE_PIPES
    tasks: int
    seconds: float  # wall time of the run
    cpu_seconds: float  # user + system time of the worker process itself (not its children)
    max_threads: int  # threading.active_count() at its highest
    max_os_threads: int  # entries of /proc/self/task at their highest


def shell_argv(command: str) -> list[str]:
    """The argv the shell_command task type runs for `command` (default shell)."""
    from barbossad.tasks.shell import ShellCommandHandler, ShellCommandSpec

    return ShellCommandHandler().argv(ShellCommandSpec(command=command))


# ---- inside a worker process -------------------------------------------------------------


class ThreadSampler:
    """Samples the process's thread counts from the event loop while a run is in progress."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.max_threads = threading.active_count()
        self.max_os_threads = _os_threads()
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Sample now and every `interval` seconds until stop()."""
        self.max_threads = max(self.max_threads, threading.active_count())
        self.max_os_threads = max(self.max_os_threads, _os_threads())
        self._handle = asyncio.get_running_loop().call_later(self.interval, self.start)

    def stop(self) -> None:
        """Take a last sample and stop."""
        if self._handle is not None:
            self._handle.cancel()
        self.max_threads = max(self.max_threads, threading.active_count())
        self.max_os_threads = max(self.max_os_threads, _os_threads())


def _os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _timed(kind: str, tasks: int, body: Callable[[], Awaitable[None]]) -> Measurement:
    sampler = ThreadSampler()
    sampler.start()
    cpu, start = _cpu(), time.perf_counter()
    try:
        await body()
    finally:
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        sampler.stop()
    return Measurement(
        kind=kind,
        tasks=tasks,
        seconds=seconds,
        cpu_seconds=cpu,
        max_threads=sampler.max_threads,
        max_os_threads=sampler.max_os_threads,
    )


def workflow_config(shape: Shape) -> dict[str, Any]:
    """The definition the engine runs for a shape."""
    return {
        "name": f"bench-{shape.tasks}-{'chain' if shape.chain else 'parallel'}",
        "max_parallel": shape.concurrency,
        "tasks": [
            {
                "id": f"t{i}",
                "type": "shell_command",
                "command": shape.command,
                **({"dependencies": [f"t{i - 1}"]} if shape.chain and i else {}),
            }
            for i in range(shape.tasks)
        ],
    }


async def run_engine(shape: Shape, base_dir: Path) -> Measurement:
    """Run a shape through an in-process WorkflowEngine whose store lives in base_dir."""
    from barbossad import RunState, TaskState, TriggerType, WorkflowEngine

    engine = WorkflowEngine(
        base_dir, max_parallel_tasks=shape.concurrency, default_max_parallel=shape.concurrency
    )
    workflow = engine.create_workflow_from_config(workflow_config(shape))
    records: list[Any] = []

    async def body() -> None:
        records.append(await engine.execute_workflow(workflow, TriggerType.MANUAL))

    measurement = await _timed("engine", shape.tasks, body)
    run = records[0]
    failed = [t.task_id for t in run.tasks if t.state is not TaskState.SUCCEEDED]
    if run.state is not RunState.SUCCEEDED or failed or len(run.tasks) != shape.tasks:
        raise RuntimeError(f"engine run {run.id} ended {run.state.value}: {run.error} {failed[:5]}")
    await engine.store.close()
    return measurement


def _install_pidfd_watcher() -> None:
    """What 3.12+ does by default: no thread per child."""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(asyncio.get_running_loop())
        asyncio.set_child_watcher(watcher)


async def _drain(reader: asyncio.StreamReader | None) -> None:
    while reader is not None and await reader.read(65536):
        pass


async def _spawn(argv: Sequence[str], like_engine: bool) -> None:
    """Run argv to its end: output to /dev/null, or (like_engine) piped and read, new session."""
    out = asyncio.subprocess.PIPE if like_engine else asyncio.subprocess.DEVNULL
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        start_new_session=like_engine,
    )
    await asyncio.gather(_drain(proc.stdout), _drain(proc.stderr))
    if await proc.wait() != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}")


async def run_bare(shape: Shape, argv: Sequence[str], like_engine: bool = False) -> Measurement:
    """Run a shape as plain asyncio subprocesses: under a semaphore, or one after another."""
    _install_pidfd_watcher()
    limit = asyncio.Semaphore(shape.concurrency)

    async def limited() -> None:
        async with limit:
            await _spawn(argv, like_engine)

    async def body() -> None:
        if shape.chain:
            for _ in range(shape.tasks):
                await _spawn(argv, like_engine)
        else:
            await asyncio.gather(*(limited() for _ in range(shape.tasks)))

    return await _timed(BARE_PIPES if like_engine else "bare", shape.tasks, body)


def worker(kind: str, shape: Shape, argv: Sequence[str], profile: str | None) -> Measurement:
    """Run one measurement in this (fresh) process."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 children need ~4,000 fds
    with tempfile.TemporaryDirectory(prefix="bbeng-", dir="/tmp") as tmp:
        if kind == "engine":
            run = run_engine(shape, Path(tmp))
        else:
            run = run_bare(shape, argv, like_engine=kind == BARE_PIPES)
        if profile is None:
            return asyncio.run(run)
        import cProfile

        profiler = cProfile.Profile()
        try:
            return profiler.runcall(asyncio.run, run)
        finally:
            profiler.dump_stats(profile)


# ---- in the benchmark process ------------------------------------------------------------


def measure(
    kind: str, shape: str, *, tasks: int | None = None, profile: str | None = None
) -> Measurement:
    """Run one measurement in a fresh interpreter and return it."""
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        shape,
        "--argv",
        json.dumps(shell_argv(SHAPES[shape].command)),
    ]
    if tasks is not None:
        argv += ["--tasks", str(tasks)]
    if profile:
        argv += ["--profile-out", profile]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WORKER_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{kind} {shape} worker exited {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Paired:
    """Medians of alternating runs of one shape: the engine, the bare loop, maybe others."""

    median: Mapping[str, Measurement]
    times: Mapping[str, tuple[float, ...]]

    @property
    def engine(self) -> Measurement:
        """The engine's median run."""
        return self.median["engine"]

    @property
    def bare(self) -> Measurement:
        """The bare loop's median run."""
        return self.median["bare"]

    def overhead_per_task(self, against: str = "bare") -> float:
        """Seconds the engine adds per task over a bare loop."""
        return (self.engine.seconds - self.median[against].seconds) / self.engine.tasks


def paired(
    shape: str, repeats: int, kinds: Sequence[str] = ("engine", "bare"), tasks: int | None = None
) -> Paired:
    """Run each kind `repeats` times, rotating the order; keep each kind's median."""
    runs: dict[str, list[Measurement]] = {kind: [] for kind in kinds}
    for i in range(repeats):
        for kind in [*kinds[i % len(kinds) :], *kinds[: i % len(kinds)]]:
            runs[kind].append(measure(kind, shape, tasks=tasks))
    return Paired(
        median={kind: _median(r) for kind, r in runs.items()},
        times={kind: tuple(m.seconds for m in r) for kind, r in runs.items()},
    )


def _median(runs: list[Measurement]) -> Measurement:
    ordered = sorted(runs, key=lambda m: m.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    return Measurement(**{**asdict(middle), "seconds": statistics.median(m.seconds for m in runs)})


def _spread(times: Sequence[float]) -> str:
    return "/".join(f"{t:.2f}" for t in times)


def machine_note() -> str:
    """The load average now, flagged when the machine is busy enough to make figures noisy."""
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    busy = " (busy machine: expect noisy figures)" if load > cpus / 2 else ""
    return f"load {load:.1f} on {cpus} CPUs at start{busy}"


def _per_task_ms(m: Measurement, seconds: float | None = None) -> float:
    return (m.cpu_seconds if seconds is None else seconds) / m.tasks * 1e3


def shape_results(name: str, pair: Paired, target: float) -> list[Result]:
    """The verdict against the bare loop, and (when measured) the figure against BARE_PIPES."""
    ratio = pair.engine.seconds / pair.bare.seconds
    runs = "; ".join(f"{kind} {_spread(times)}" for kind, times in pair.times.items())
    results = [
        Result(
            name=name,
            value=pair.engine.seconds,
            baseline=pair.bare.seconds,
            unit="s",
            target=f"<={target}x",
            ok=ratio <= target,
            note=(
                f"+{pair.overhead_per_task() * 1e3:.2f} ms/task; own CPU "
                f"{_per_task_ms(pair.engine):.2f} ms/task vs bare {_per_task_ms(pair.bare):.2f}; "
                f"runs (s): {runs}"
            ),
        )
    ]
    piped = pair.median.get(BARE_PIPES)
    if piped is not None:
        results.append(
            Result(
                name="  same, vs bare loop with pipes + new session",
                value=pair.engine.seconds,
                baseline=piped.seconds,
                unit="s",
                target="info",
                ok=True,
                note=(
                    f"+{pair.overhead_per_task(BARE_PIPES) * 1e3:.2f} ms/task; that loop's own "
                    f"CPU {_per_task_ms(piped):.2f} ms/task"
                ),
            )
        )
    return results


# ---- planning ------------------------------------------------------------------------------


def random_dag(tasks: int, max_deps: int, seed: int = 1) -> dict[str, list[str]]:
    """A reproducible DAG: each task depends on up to max_deps earlier ones (none for the first)."""
    rng = random.Random(seed)
    graph: dict[str, list[str]] = {}
    for i in range(tasks):
        deps = rng.sample(range(i), min(i, rng.randint(0, max_deps)))
        graph[f"t{i}"] = [f"t{d}" for d in sorted(deps)]
    return graph


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_plan(graph: Mapping[str, list[str]], label: str, repeats: int = 7) -> Result:
    """barbossad.engine.plan.plan on a parsed workflow against graphlib's static_order."""
    from barbossad.engine.engine import WorkflowEngine
    from barbossad.engine.plan import plan

    with tempfile.TemporaryDirectory(prefix="bbplan-", dir="/tmp") as tmp:
        engine = WorkflowEngine(tmp)
        workflow = engine.create_workflow_from_config(
            {
                "name": "plan",
                "tasks": [
                    {"id": task, "type": "shell_command", "command": "true", "dependencies": deps}
                    for task, deps in graph.items()
                ],
            }
        )
    ours = _best_of(lambda: plan(workflow), repeats)
    theirs = _best_of(lambda: list(graphlib.TopologicalSorter(graph).static_order()), repeats)
    ratio = ours / theirs
    return Result(
        name=f"plan {len(graph):,}-task {label} vs graphlib",
        value=ours * 1e3,
        baseline=theirs * 1e3,
        unit="ms",
        target=f"<={PLAN_TARGET:g}x",
        ok=ratio <= PLAN_TARGET,
        note=f"best of {repeats}",
    )


# ---- the benchmark -------------------------------------------------------------------------


def bench_engine(repeats: int = 5, sleep_repeats: int = 2) -> list[Result]:
    """Every engine figure (for bench/run.py)."""
    context = machine_note()
    kinds = ("engine", "bare", BARE_PIPES)
    results = [
        *shape_results(
            f"{PARALLEL_TASKS} no-op shell tasks, conc {CONCURRENCY}, vs bare asyncio",
            paired("parallel", repeats, kinds),
            PARALLEL_TARGET,
        ),
        *shape_results(
            f"{CHAIN_TASKS}-task no-op chain vs bare asyncio",
            paired("chain", repeats, kinds),
            CHAIN_TARGET,
        ),
        bench_plan(random_dag(PLAN_TASKS, PLAN_MAX_DEPS), f"DAG (<= {PLAN_MAX_DEPS} deps)"),
        bench_plan({f"t{i}": [f"t{i - 1}"] if i else [] for i in range(PLAN_TASKS)}, "chain"),
    ]
    sleep = paired("sleep", sleep_repeats)
    results += shape_results(
        f"{SLEEP_TASKS} concurrent `{SLEEP_COMMAND}` tasks vs bare asyncio", sleep, SLEEP_TARGET
    )
    threads = max(sleep.engine.max_threads, sleep.engine.max_os_threads)
    results[0].note = f"{context}; {results[0].note}"
    results.append(
        Result(
            name=f"threads during {SLEEP_TASKS} concurrent tasks (engine)",
            value=float(threads),
            baseline=float(MAX_THREADS),
            unit="",
            target=f"<={MAX_THREADS}",
            ok=threads <= MAX_THREADS,
            note=(
                f"threading.active_count {sleep.engine.max_threads}, /proc/self/task "
                f"{sleep.engine.max_os_threads}; the bare loop had {sleep.bare.max_os_threads}"
            ),
        )
    )
    return results


def _print_profile(path: str, limit: int) -> None:
    import pstats

    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


@contextlib.contextmanager
def _profile_file(path: str | None) -> Iterator[str]:
    if path:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="bbprof-") as tmp:
        yield str(Path(tmp) / "engine.pstats")


def main() -> int:
    """Run standalone; exit 0 when every target is met."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SHAPE"), help=argparse.SUPPRESS)
    parser.add_argument("--argv", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile", choices=sorted(SHAPES), help="cProfile one engine run of a shape"
    )
    parser.add_argument("--save", help="with --profile: keep the pstats file here")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each side per shape")
    args = parser.parse_args()
    if args.worker:
        kind, name = args.worker
        shape = SHAPES[name].sized(args.tasks)
        print(json.dumps(asdict(worker(kind, shape, json.loads(args.argv), args.profile_out))))
        return 0
    if args.profile:
        with _profile_file(args.save) as path:
            print(measure("engine", args.profile, profile=path))
            _print_profile(path, 35)
        return 0
    from bench.common import report

    results = bench_engine(args.repeats)
    print(report(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
