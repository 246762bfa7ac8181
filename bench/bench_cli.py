"""`barbossactl status` wall time against `python -c "import grpc"`, same interpreter, same run.

    python bench/bench_cli.py                 # against a fake DaemonService started here
    python bench/bench_cli.py --socket PATH   # against a running barbossad

Target: status <= 1.5x the bare `import grpc`.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_RATIO = 1.5
WARMUP = 3


def barbossactl_argv() -> list[str]:
    """The installed console script next to this interpreter, else `python -m barbossactl`."""
    script = Path(sys.executable).parent / "barbossactl"
    return [str(script)] if script.exists() else [sys.executable, "-m", "barbossactl"]


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode()}")
    return elapsed


def bench_status(socket_path: str, repeats: int = 20) -> dict[str, float]:
    """Median wall seconds of `barbossactl --socket S status` and of `python -c "import grpc"`.

    The two commands alternate so that machine noise hits both alike.
    """
    status = [*barbossactl_argv(), "--socket", str(socket_path), "status"]
    baseline = [sys.executable, "-c", "import grpc"]
    for _ in range(WARMUP):
        _wall(status)
        _wall(baseline)
    status_times, baseline_times = [], []
    for _ in range(repeats):
        status_times.append(_wall(status))
        baseline_times.append(_wall(baseline))
    s, b = statistics.median(status_times), statistics.median(baseline_times)
    return {"status_s": s, "import_grpc_s": b, "ratio": s / b, "repeats": float(repeats)}


@contextlib.contextmanager
def fake_daemon() -> Iterator[str]:
    """A DaemonService answering GetStatus, served by threads of this process; yields the socket."""
    import grpc
    from barbossa.v1 import daemon_pb2, daemon_pb2_grpc

    class Status(daemon_pb2_grpc.DaemonServiceServicer):  # type: ignore[misc]
        def GetStatus(self, request: Any, context: Any) -> Any:
            return daemon_pb2.DaemonStatus(version="bench", pid=1, accepting=True)

    root = Path(tempfile.mkdtemp(prefix="bbc-", dir="/tmp"))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    daemon_pb2_grpc.add_DaemonServiceServicer_to_server(Status(), server)
    server.add_insecure_port(f"unix:{root / 'api.sock'}")
    server.start()
    try:
        yield str(root / "api.sock")
    finally:
        server.stop(None).wait()
        shutil.rmtree(root, ignore_errors=True)


def bench_status_result(repeats: int = 20) -> Any:
    """For bench/run.py: against the real daemon; the fake one if its GetStatus does not answer."""
    from bench.common import Result, running_daemon

    note = "real barbossad"
    with running_daemon() as sock:
        try:
            figures = bench_status(str(sock), repeats)
        except RuntimeError as exc:
            note = f"fake DaemonService ({str(exc).strip().splitlines()[-1]})"
            figures = {}
    if not figures:
        with fake_daemon() as fake:
            figures = bench_status(fake, repeats)
    return Result(
        name="barbossactl status vs python -c 'import grpc'",
        value=figures["status_s"] * 1e3,
        baseline=figures["import_grpc_s"] * 1e3,
        unit="ms",
        target=f"<={TARGET_RATIO}x",
        ok=figures["ratio"] <= TARGET_RATIO,
        note=note,
    )


def main() -> int:
    """Run standalone; exit 0 when the target is met."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--socket", help="a running barbossad (default: a fake started here)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        sock = args.socket or stack.enter_context(fake_daemon())
        figures = bench_status(sock, args.repeats)
    print(
        f"barbossactl status  {figures['status_s'] * 1e3:7.1f} ms (median of {args.repeats})\n"
        f"python -c 'import grpc'  {figures['import_grpc_s'] * 1e3:7.1f} ms\n"
        f"ratio  {figures['ratio']:.2f}x (target <= {TARGET_RATIO}x)"
    )
    return 0 if figures["ratio"] <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
