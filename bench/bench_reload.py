"""Hot reload latency: a template renamed into the directory -> the new version visible over gRPC.

Measured against a same-run floor: raw inotify (ctypes, no library) reporting the same rename,
plus one parse of the same file. Target: reload p99 <= 2 x floor p99 + 20 ms, with 1 and with
10,000 templates in the directory.
"""

from __future__ import annotations

import ctypes
import os
import select
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from barbossa.v1 import workflows_pb2, workflows_pb2_grpc

from bench.common import Result, running_daemon

SAMPLES = 300
WARMUP = 20
IN_MOVED_TO = 0x00000080


def template(word: str, name: str = "bench") -> str:
    """A small valid template whose hash changes with word."""
    return (
        f"name: {name}\ndescription: reload benchmark\nvariables:\n  who: {{default: world}}\n"
        f'tasks:\n  - id: say\n    type: shell_command\n    command: "echo {word} {{{{ who }}}}"\n'
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def floor_samples(samples: int) -> list[float]:
    """Seconds from rename to a raw inotify read, plus one parse of the same file."""
    from barbossad.definitions.parse import parse_workflow
    from barbossad.tasks.registry_default import default_registry

    registry = default_registry()
    libc = ctypes.CDLL(None, use_errno=True)
    out: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bbr-", dir="/tmp") as tmp:
        watched, staging = Path(tmp) / "watched", Path(tmp) / "staging"
        watched.mkdir()
        staging.mkdir()
        fd = libc.inotify_init1(os.O_CLOEXEC)
        if fd < 0 or libc.inotify_add_watch(fd, str(watched).encode(), IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), "inotify unavailable")
        try:
            for i in range(samples + WARMUP):
                text = template(f"floor {i}")
                (staging / "bench.yaml").write_text(text)
                started = time.perf_counter()
                os.rename(staging / "bench.yaml", watched / "bench.yaml")
                select.select([fd], [], [], 5.0)
                os.read(fd, 4096)
                data = (watched / "bench.yaml").read_bytes()
                parse_workflow(data, source=str(watched / "bench.yaml"), registry=registry)
                if i >= WARMUP:
                    out.append(time.perf_counter() - started)
        finally:
            os.close(fd)
    return out


def reload_samples(sock: Path, samples: int) -> list[float]:
    """Seconds from rename into the daemon's directory to GetTemplate showing the new hash."""
    templates, staging = sock.parent / "templates", sock.parent / "staging"
    staging.mkdir(exist_ok=True)
    out: list[float] = []
    with grpc.insecure_channel(f"unix:{sock}") as channel:
        stub = workflows_pb2_grpc.WorkflowServiceStub(channel)

        def current() -> str:
            request = workflows_pb2.GetTemplateRequest(name="bench")
            return str(stub.GetTemplate(request, timeout=10).definition_hash)

        previous = current()
        for i in range(samples + WARMUP):
            (staging / "bench.yaml").write_text(template(f"reload {i}"))
            started = time.perf_counter()
            os.rename(staging / "bench.yaml", templates / "bench.yaml")
            deadline = started + 10.0
            while (now := current()) == previous:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"reload {i} not visible after 10 s")
            elapsed = time.perf_counter() - started
            previous = now
            if i >= WARMUP:
                out.append(elapsed)
            time.sleep(0.005)  # pacing between samples, not synchronisation
    return out


def _results(label: str, values: list[float], floor: list[float], note: str) -> list[Result]:
    out = []
    for q, tag in ((0.5, "p50"), (0.99, "p99")):
        value, base = _percentile(values, q) * 1e3, _percentile(floor, q) * 1e3
        out.append(
            Result(
                name=f"reload {tag}, {label}",
                value=value,
                baseline=base,
                unit="ms",
                target="2x+20",
                ok=value <= 2 * base + 20,
                note=note,
            )
        )
    return out


def bench_reload(samples: int = SAMPLES, many: int = 10_000) -> list[Result]:
    """Reload latency p50/p99 with 1 and with `many` templates present, against the floor."""
    floor = floor_samples(samples)
    results: list[Result] = []
    for count in (1, many):
        files = {f"t{i:05d}.yaml": template(str(i), f"t{i:05d}") for i in range(count - 1)}
        files["bench.yaml"] = template("start")
        started = time.perf_counter()
        with running_daemon(files) as sock:
            ready = time.perf_counter() - started
            values = reload_samples(sock, samples)
        note = f"(n={samples}, mean {statistics.fmean(values) * 1e3:.2f} ms, ready in {ready:.1f}s)"
        results += _results(f"{count:,} template(s)", values, floor, note)
    return results


def main(run: Callable[[], list[Result]] = bench_reload) -> None:
    """Run standalone: python -m bench.bench_reload."""
    from bench.common import report

    print(report(run()))


if __name__ == "__main__":
    main()
