"""barbossad's command line: argv -> DaemonConfig -> logging -> asyncio.run(Daemon.run())."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import os
import sys
from pathlib import Path

from barbossad import __version__
from barbossad.config import LOG_LEVELS, DaemonConfig, load_config
from barbossad.errors import BarbossaError


def build_parser() -> argparse.ArgumentParser:
    """The daemon's options; each can also be set in the config file."""
    p = argparse.ArgumentParser(prog="barbossad", description="Barbossa workflow automation daemon")
    p.add_argument(
        "--config",
        type=Path,
        help="YAML config file (default: /etc/barbossad/barbossad.yaml "
        "as root, ~/barbossa-engineer/barbossad.yaml otherwise, if present)",
    )
    p.add_argument("--state-dir", type=Path, help="database, logs and run scratch space")
    p.add_argument("--templates-dir", type=Path, help="directory of workflow template YAML files")
    p.add_argument("--socket", type=Path, help="Unix socket the gRPC API listens on")
    p.add_argument("--log-level", choices=LOG_LEVELS, help="default: info")
    p.add_argument(
        "--shutdown-grace", type=float, help="seconds running runs get on SIGTERM (default 30)"
    )
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="listener for webhooks and /healthz (default 127.0.0.1:9740; 'off' or '' disables it)",
    )
    p.add_argument("--version", action="version", version=f"barbossad {__version__}")
    return p


def setup_logging(config: DaemonConfig) -> None:
    """Log to stderr (journald adds timestamps itself) and to logs/barbossad.log."""
    level = getattr(logging, config.log_level.upper())
    root = logging.getLogger()
    root.setLevel(level)
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if under_journald
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter(fmt))
    root.addHandler(stderr)
    try:
        config.logs_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            config.logs_dir / "barbossad.log", maxBytes=10 * 1024 * 1024, backupCount=5
        )
    except OSError:
        return  # startup reports the unwritable state dir
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)


def banner(config: DaemonConfig) -> str:
    """What `make run` prints: where things are and what to type next."""
    default_socket = (
        Path("/run/barbossad/barbossad.sock")
        if os.geteuid() == 0
        else (Path.home() / "barbossa-engineer" / "barbossad.sock")
    )
    sock_opt = "" if config.socket == default_socket else f" --socket {config.socket}"
    return (
        f"barbossad {__version__}\n"
        f"  socket:    {config.socket}\n"
        f"  database:  {config.database}\n"
        f"  templates: {config.templates_dir}\n"
        f"  logs:      {config.logs_dir}\n"
        f"next, in another shell:  barbossactl{sock_opt} exec hello\n"
        f"stop with Ctrl-C (or SIGTERM)."
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `barbossad` command."""
    args = build_parser().parse_args(argv)
    overrides = {
        "state_dir": args.state_dir,
        "templates_dir": args.templates_dir,
        "socket": args.socket,
        "log_level": args.log_level,
        "shutdown_grace": args.shutdown_grace,
        "http": args.http,
    }
    try:
        config = load_config(overrides, args.config)
    except BarbossaError as exc:
        print(f"barbossad: {exc}", file=sys.stderr)
        return 2
    setup_logging(config)
    if sys.stderr.isatty() or os.environ.get("BARBOSSA_BANNER"):
        print(banner(config), file=sys.stderr, flush=True)
    from barbossad.daemon import Daemon

    try:
        return asyncio.run(Daemon(config, overrides).run())
    except BarbossaError as exc:
        print(f"barbossad: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
