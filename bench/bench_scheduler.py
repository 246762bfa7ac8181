"""The scheduler with 10,000 schedules loaded: firing lateness against a bare asyncio `call_at`
floor (same loop, same run), and the idle CPU and memory of a daemon holding them.

Lateness is measured where a tick enters the scheduler (`Scheduler.tick`), for a probe schedule
firing every second, while a bare `loop.call_at` timer fires at every half second in the same
loop: both are "how late after the intended wall-clock instant did the callback run". The time
until the run's row is stored is reported in the note.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import psutil
from barbossa.v1 import daemon_pb2, daemon_pb2_grpc, schedules_pb2, schedules_pb2_grpc

from barbossad.engine.engine import WorkflowEngine
from barbossad.scheduler.clock import SystemClock, TickHandler
from barbossad.scheduler.manager import Scheduler
from barbossad.scheduler.model import ScheduleOrigin, ScheduleSpec
from barbossad.scheduler.service import ApschedulerTicker
from barbossad.store.base import RunFilter
from barbossad.store.sqlite import SQLiteStore
from bench.common import Result, running_daemon

SCHEDULES = 10_000
LATENESS_SECONDS = 45
IDLE_SECONDS = 20
SETTLE_SECONDS = 3
TASK = "tasks:\n  - id: a\n    type: shell_command\n    command: 'true'\n"


def idle_expressions(count: int, seed: int = 7) -> Iterator[str]:
    """Yearly expressions (some with seconds) on dates other than today: none fires soon."""
    rng = random.Random(seed)
    today = datetime.now().astimezone()
    tomorrow = (today.month, today.day + 1)
    while count:
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        if (month, day) in ((today.month, today.day), tomorrow):
            continue
        count -= 1
        minute, hour = rng.randint(0, 59), rng.randint(0, 23)
        yield (
            f"{rng.randint(0, 59)} {minute} {hour} {day} {month} *"
            if count % 2
            else f"{minute} {hour} {day} {month} *"
        )


def p99(samples: list[float]) -> float:
    """The 99th percentile (inclusive method: with few samples, close to the maximum)."""
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


class TimedTicker(ApschedulerTicker):
    """The production ticker, noting when each tick of the probe schedule enters the scheduler."""

    def __init__(self) -> None:
        super().__init__()
        self.probe = -1
        self.samples: list[float] = []

    def start(self, handler: TickHandler) -> None:
        async def timed(schedule_id: int) -> None:
            if schedule_id == self.probe:
                now = time.time()
                self.samples.append(now - math.floor(now))  # the slot is the whole second
            await handler(schedule_id)

        super().start(timed)


async def _floor(until: float, samples: list[float]) -> None:
    """A bare call_at timer at every half second until `until`."""
    loop = asyncio.get_running_loop()
    while True:
        target = math.floor(time.time()) + 1.5
        if target > until:
            return
        fired: asyncio.Future[float] = loop.create_future()
        loop.call_at(loop.time() + (target - time.time()), _resolve, fired)
        samples.append(await fired - target)


def _resolve(fired: asyncio.Future[float]) -> None:
    fired.set_result(time.time())


async def _lateness(root: Path) -> tuple[list[float], list[float], list[float], float]:
    templates = root / "templates"
    templates.mkdir()
    (templates / "probe.yaml").write_text("name: probe\n" + TASK)
    store = SQLiteStore.open(root / "db.sqlite")
    now = datetime.now(UTC)
    for expression in idle_expressions(SCHEDULES):
        await store.add_schedule(
            ScheduleSpec(workflow="probe", expression=expression), origin=ScheduleOrigin.API, at=now
        )
    engine = WorkflowEngine(store=store, templates_dir=templates, scratch_dir=root / "scratch")
    engine.load_templates()
    ticker = TimedTicker()
    scheduler = Scheduler(
        store=store, engine=engine, ticker=ticker, clock=SystemClock(), catalog=engine.catalog
    )
    started = time.perf_counter()
    await scheduler.open()
    await scheduler.activate()
    load = time.perf_counter() - started
    probe = await scheduler.add(ScheduleSpec(workflow="probe", expression="* * * * * *"))
    ticker.probe = probe.record.id
    floor: list[float] = []
    await _floor(time.time() + LATENESS_SECONDS, floor)
    await scheduler.close()
    await engine.shutdown(10)
    runs, _ = await store.list_runs(RunFilter(workflow="probe"), limit=1000, before_id=None)
    stored = [r.created_at.timestamp() % 1 for r in runs]
    await engine.close()
    return ticker.samples, floor, stored, load


def bench_lateness() -> Result:
    """Firing lateness p99 with 10,000 schedules loaded vs a bare call_at timer in the same loop."""
    with tempfile.TemporaryDirectory(prefix="bbs-") as tmp:
        ticks, floor, stored, load = asyncio.run(_lateness(Path(tmp)))
    value, baseline = p99(ticks) * 1e3, p99(floor) * 1e3
    return Result(
        name=f"scheduler firing lateness p99, {SCHEDULES} schedules",
        value=value,
        baseline=baseline,
        unit="ms",
        target="<=+5ms",
        ok=value <= baseline + 5.0,
        note=(
            f"{len(ticks)} fires; median {statistics.median(ticks) * 1e3:.2f} ms; "
            f"run row stored p99 {p99(stored) * 1e3:.2f} ms; "
            f"{SCHEDULES} schedules loaded in {load:.2f} s"
        ),
    )


def _idle_templates() -> dict[str, str]:
    """10,000 template files, each with its own schedule (the issue's "templates and schedules")."""
    return {
        f"idle{i:05d}.yaml": f'name: idle{i}\nschedule: "{e}"\n' + TASK
        for i, e in enumerate(idle_expressions(SCHEDULES))
    }


def _measure_idle(sock: Path, expected: int) -> tuple[float, float]:
    """CPU % of one core and RSS (MiB) of the daemon behind `sock`, once it holds `expected`."""
    with grpc.insecure_channel(f"unix:{sock}") as channel:
        pid = (
            daemon_pb2_grpc.DaemonServiceStub(channel)
            .GetStatus(daemon_pb2.GetStatusRequest(), timeout=30)
            .pid
        )
        status = schedules_pb2_grpc.SchedulerServiceStub(channel).GetSchedulerStatus(
            schedules_pb2.GetSchedulerStatusRequest(), timeout=30
        )
    assert status.schedule_count == expected, status
    process = psutil.Process(pid)
    time.sleep(SETTLE_SECONDS)  # let start-up work finish; the measurement window follows
    before = process.cpu_times()
    time.sleep(IDLE_SECONDS)
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return used / IDLE_SECONDS * 100, process.memory_info().rss / 2**20


def bench_idle_cpu() -> Result:
    """Idle CPU of a daemon holding 10,000 templates with a schedule each vs one holding none."""
    with running_daemon(_idle_templates()) as sock:
        value, rss = _measure_idle(sock, SCHEDULES)
    with running_daemon({"idle.yaml": "name: idle\n" + TASK}) as sock:
        baseline, rss_empty = _measure_idle(sock, 0)
    return Result(
        name=f"idle daemon CPU, {SCHEDULES} templates+schedules",
        value=value,
        baseline=baseline,
        unit="%",
        target="<=1%",
        ok=value <= 1.0,
        note=f"RSS {rss:.0f} MiB ({rss_empty:.0f} MiB with none); {IDLE_SECONDS}s window",
    )


def bench_scheduler() -> list[Result]:
    """Both scheduler figures."""
    return [bench_lateness(), bench_idle_cpu()]
