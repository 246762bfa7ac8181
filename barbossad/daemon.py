"""The composition root: startup, serve, shutdown (in that order, reversed on the way out)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from barbossad import __version__
from barbossad.catalog import ReloadSummary
from barbossad.config import DaemonConfig, load_config
from barbossad.engine.engine import WorkflowEngine
from barbossad.errors import BarbossaError, StartupError, StoreError
from barbossad.notify import Notifier
from barbossad.rpc.context import ServiceContext
from barbossad.rpc.schedules import SchedulerServicer, ScheduleServicer
from barbossad.rpc.server import ApiServer
from barbossad.scheduler.manager import Scheduler
from barbossad.scheduler.service import build_scheduler
from barbossad.tasks.base import TaskSettings
from barbossad.tasks.spawner import become_subreaper, reap_orphans
from barbossad.triggers.service import TriggerService
from barbossad.watcher import TemplateWatcher

log = logging.getLogger(__name__)


def bundled_templates_dir() -> Path:
    """The template library shipped with barbossad: the checkout's, else the installed copy."""
    import sys

    candidates = (
        Path(__file__).resolve().parent.parent / "workflow_templates",
        Path(sys.prefix) / "share" / "barbossa" / "workflow_templates",
    )
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def _prepare_dir(path: Path, what: str, mode: int = 0o750) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=mode)
    except OSError as exc:
        raise StartupError(f"cannot create {what} {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise StartupError(f"{what} {path} is not writable by uid {os.geteuid()}")


def check_socket(path: Path) -> None:
    """Refuse a live daemon's socket; remove a stale one."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_socket():
        raise StartupError(f"{path} exists and is not a socket; remove it or choose --socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise StartupError(f"cannot check socket {path}: {exc.strerror}") from exc
        log.info("removing stale socket %s", path)
        path.unlink(missing_ok=True)
    else:
        raise StartupError(f"another barbossad is already serving on {path}")
    finally:
        probe.close()


async def _wait_answering(path: Path, within: float = 10.0) -> None:
    """Make one real health call through the socket before telling anyone we are ready."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async with grpc.aio.insecure_channel(f"unix:{path}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        await stub.Check(health_pb2.HealthCheckRequest(), timeout=within, wait_for_ready=True)


# Settings that only take effect at startup; a reload that changes them says so.
_RESTART_SETTINGS = frozenset(
    {
        "state_dir",
        "templates_dir",
        "socket",
        "http",
        "max_parallel_tasks",
        "default_max_parallel",
        "kill_grace",
        "output_head_bytes",
        "output_tail_bytes",
        "install_bundled_templates",
        "config_file",
    }
)


def task_settings(cfg: DaemonConfig) -> TaskSettings:
    """What task handlers need from the daemon's configuration."""
    return TaskSettings(
        allowed_roots=cfg.effective_allowed_roots,
        git_allowed_protocols=cfg.git_allowed_protocols,
        git_block_patterns=cfg.git_block_patterns,
        git_allow_patterns=cfg.git_allow_patterns,
    )


class Daemon:
    """One barbossad process."""

    def __init__(self, config: DaemonConfig, overrides: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.overrides = dict(overrides or {})  # the command line's, re-applied on reload
        self.notifier = Notifier()
        self.stop_event = asyncio.Event()
        self._stops = 0
        self.engine: WorkflowEngine | None = None
        self.scheduler: Scheduler | None = None
        self.watcher: TemplateWatcher | None = None

    def _prepare(self) -> None:
        cfg = self.config
        _prepare_dir(cfg.state_dir, "state directory")
        _prepare_dir(cfg.logs_dir, "log directory")
        _prepare_dir(cfg.templates_dir, "templates directory", 0o755)
        _prepare_dir(cfg.socket.parent, "socket directory", 0o755)
        check_socket(cfg.socket)

    def _build_engine(self) -> WorkflowEngine:
        cfg = self.config
        from barbossad.store.sqlite import SQLiteStore

        try:
            store = SQLiteStore.open(cfg.database)
        except StoreError as exc:
            raise StartupError(str(exc)) from exc
        settings = task_settings(cfg)
        return WorkflowEngine(
            store=store,
            templates_dir=cfg.templates_dir,
            settings=settings,
            max_parallel_tasks=cfg.max_parallel_tasks,
            default_max_parallel=cfg.default_max_parallel,
            kill_grace=cfg.kill_grace,
            output_head_bytes=cfg.output_head_bytes,
            output_tail_bytes=cfg.output_tail_bytes,
            scratch_dir=cfg.scratch_dir,
        )

    def reload_config(self) -> None:
        """Re-read the config file; apply what can change live, name what needs a restart."""
        assert self.engine is not None
        fresh = load_config(self.overrides, self.config.config_file)  # ConfigError: keep the old
        changed = [
            f.name for f in fields(fresh) if getattr(fresh, f.name) != getattr(self.config, f.name)
        ]
        restart = sorted(set(changed) & _RESTART_SETTINGS)
        if restart:
            log.warning("reload: %s changed; restart barbossad to apply", ", ".join(restart))
        logging.getLogger().setLevel(getattr(logging, fresh.log_level.upper()))
        self.engine.update_settings(task_settings(fresh))
        live = {
            f.name: getattr(fresh, f.name) for f in fields(fresh) if f.name not in _RESTART_SETTINGS
        }
        self.config = replace(self.config, **live)
        if changed:
            log.info("reload: configuration now in effect (%s)", ", ".join(sorted(changed)))

    async def reload(self) -> ReloadSummary:
        """Re-read the config file, rescan the templates (SIGHUP, `barbossactl reload`)."""
        assert self.engine is not None
        self.reload_config()
        summary = await self.watcher.rescan() if self.watcher else self.engine.catalog.scan()
        log.info(
            "reload: %d loaded, %d invalid, %d removed",
            summary.loaded,
            summary.invalid,
            summary.removed,
        )
        if self.scheduler is not None:
            await self.scheduler.refresh()  # schedules added to the database without the daemon
        return summary

    async def _on_hup(self) -> None:
        try:
            await self.reload()
        except BarbossaError as exc:
            log.error("reload on SIGHUP failed, keeping the running configuration: %s", exc)

    def _on_term(self) -> None:
        self._stops += 1
        if self._stops > 1:
            log.warning("second stop signal: exiting at once without draining")
            os._exit(1)
        log.info("stop signal received: draining")
        self.stop_event.set()

    async def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, drain, stop. Returns the exit status."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        self._prepare()
        engine = self.engine = self._build_engine()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.store.close)
            if cfg.install_bundled_templates:
                installed = engine.catalog.install_bundled(bundled_templates_dir())
                if installed:
                    log.info("installed %d bundled templates into %s", installed, cfg.templates_dir)
            summary = engine.catalog.scan()
            await engine.recover()
            scheduler = self.scheduler = build_scheduler(engine)
            await scheduler.open()  # loads schedules, follows templates; fires from activate()
            stack.push_async_callback(scheduler.close)
            self.watcher = TemplateWatcher(engine.catalog, store=engine.store)  # hot reload
            await self.watcher.start()
            stack.push_async_callback(self.watcher.stop)
            triggers = TriggerService(
                engine, engine.catalog, http=cfg.http, deliveries=engine.store
            )
            await triggers.start()  # webhook, on_workflow and file_watch triggers; HTTP listener
            stack.push_async_callback(triggers.stop)
            if become_subreaper():
                loop.add_signal_handler(signal.SIGCHLD, reap_orphans)
                stack.callback(loop.remove_signal_handler, signal.SIGCHLD)
            ctx = ServiceContext(
                engine=engine,
                config=cfg,
                started_at=datetime.now(UTC),
                version=__version__,
                reload=self.reload,
                scheduler=scheduler,
            )
            server = ApiServer(
                ctx,
                extra_servicers={
                    "schedules": ScheduleServicer(scheduler),
                    "scheduler": SchedulerServicer(scheduler),
                },
            )
            try:
                server.bind_unix(cfg.socket)
            except (OSError, RuntimeError) as exc:
                raise StartupError(f"cannot listen on {cfg.socket}: {exc}") from exc
            await server.start()
            stack.callback(lambda: cfg.socket.unlink(missing_ok=True))
            stack.push_async_callback(server.stop, 1.0)
            os.chmod(cfg.socket, 0o660)
            await _wait_answering(cfg.socket)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_term)
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._on_hup()))
            status = (
                f"serving on {cfg.socket}: {summary.loaded} templates, {summary.invalid} invalid"
            )
            await scheduler.activate()  # catch up missed slots, then fire (unless stopped)
            self.notifier.ready(status)
            interval = self.notifier.watchdog_interval()
            if interval and self.notifier.enabled:
                watchdog = asyncio.create_task(self.notifier.watchdog(interval), name="watchdog")
                stack.callback(watchdog.cancel)
            log.info("barbossad %s ready: %s", __version__, status)
            await self.stop_event.wait()
            self.notifier.stopping()
            self.notifier.status("draining")
            await scheduler.close()  # first: no new scheduled runs while draining
            await triggers.stop()  # first: no new webhook, event or file-watch runs while draining
            await server.draining()
            await engine.shutdown(cfg.shutdown_grace)
        log.info("barbossad stopped")
        return 0
