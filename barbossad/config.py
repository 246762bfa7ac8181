"""DaemonConfig: defaults by who runs the daemon, then the config file, then the command line."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from barbossad.errors import ConfigError

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonConfig:
    """Everything barbossad is configured with."""

    state_dir: Path
    templates_dir: Path
    socket: Path
    log_level: str = "info"
    http: str = "127.0.0.1:9740"
    shutdown_grace: float = 30.0
    kill_grace: float = 5.0
    max_parallel_tasks: int = 256
    default_max_parallel: int = 16
    output_head_bytes: int = 1024 * 1024
    output_tail_bytes: int = 256 * 1024
    allowed_roots: tuple[Path, ...] = ()
    git_allowed_protocols: tuple[str, ...] = ("https", "ssh", "file")
    git_block_patterns: tuple[str, ...] = ("*zkp2p*",)
    git_allow_patterns: tuple[str, ...] = ()
    install_bundled_templates: bool = True
    config_file: Path | None = None

    @property
    def database(self) -> Path:
        """The SQLite database file."""
        return self.state_dir / "workflows.db"

    @property
    def logs_dir(self) -> Path:
        """Where the daemon writes its log file."""
        return self.state_dir / "logs"

    @property
    def scratch_dir(self) -> Path:
        """Per-run private directories (outputs files)."""
        return self.state_dir / "scratch"

    @property
    def effective_allowed_roots(self) -> tuple[Path, ...]:
        """Roots file_operation tasks may touch: configured ones, else the state dir's files/."""
        return self.allowed_roots or (self.state_dir / "files",)


def default_layout(uid: int | None = None, home: Path | None = None) -> dict[str, Path]:
    """Default paths: the system layout for root, ~/barbossa-engineer/ for anyone else."""
    uid = os.geteuid() if uid is None else uid
    if uid == 0:
        return {
            "state_dir": Path("/var/lib/barbossad"),
            "templates_dir": Path("/etc/barbossad/workflow_templates"),
            "socket": Path("/run/barbossad/barbossad.sock"),
            "config_file": Path("/etc/barbossad/barbossad.yaml"),
        }
    base = (home or Path.home()) / "barbossa-engineer"
    return {
        "state_dir": base,
        "templates_dir": base / "workflow_templates",
        "socket": base / "barbossad.sock",
        "config_file": base / "barbossad.yaml",
    }


_PATH_KEYS = {"state_dir", "templates_dir", "socket"}
_KNOWN = {f.name for f in fields(DaemonConfig)} - {"config_file"}


def _strings(key: str, value: Any, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key}: expected a list of {what}")
    return tuple(value)


def _number(key: str, value: Any, where: str, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: {key}: expected a positive number, got {value!r}")
    return kind(value)


def _text(key: str, value: Any, where: str) -> Any:
    if key == "http" and value is False:
        return "off"  # YAML reads `http: off` as false
    if key == "log_level" and value not in LOG_LEVELS:
        raise ConfigError(
            f"{where}: log_level: expected one of {', '.join(LOG_LEVELS)}, got {value!r}"
        )
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key}: expected a string, got {value!r}")
    return value


def _coerce(key: str, value: Any, where: str) -> Any:
    """One setting from the config file, checked against the type of its default."""
    default = DaemonConfig.__dataclass_fields__[key].default
    if key in _PATH_KEYS:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {key}: expected a path, got {value!r}")
        return Path(value).expanduser()
    if key == "allowed_roots":
        return tuple(Path(v).expanduser() for v in _strings(key, value, where, "paths"))
    if isinstance(default, tuple):
        return _strings(key, value, where, "strings")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int | float):
        return _number(key, value, where, type(default))
    return _text(key, value, where)


def parse_config_mapping(data: Any, where: str) -> dict[str, Any]:
    """Check a config file's mapping: known keys, right types."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings at the top level")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KNOWN:
            close = difflib.get_close_matches(str(key), sorted(_KNOWN), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown setting {key!r}{hint}")
        out[key] = _coerce(key, value, where)
    return out


def read_config_file(path: Path) -> dict[str, Any]:
    """Load a YAML config file with the safe loader."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    return parse_config_mapping(data, str(path))


def load_config(overrides: Mapping[str, Any], config_file: Path | None = None) -> DaemonConfig:
    """Defaults, then the config file (explicit, or the default one if present), then overrides."""
    layout = default_layout()
    explicit = config_file is not None
    path = config_file or layout["config_file"]
    settings: dict[str, Any] = {}
    if explicit or path.exists():
        settings = read_config_file(path)
    else:
        path = None  # type: ignore[assignment]
    state_dir = overrides.get("state_dir") or settings.get("state_dir") or layout["state_dir"]
    base: dict[str, Any] = {
        "state_dir": Path(state_dir),
        "templates_dir": layout["templates_dir"],
        "socket": layout["socket"],
    }
    if (overrides.get("state_dir") or "state_dir" in settings) and os.geteuid() != 0:
        # A chosen state dir carries the user layout with it unless paths are given too.
        base["templates_dir"] = Path(state_dir) / "workflow_templates"
        base["socket"] = Path(state_dir) / "barbossad.sock"
    base.update(settings)
    base.update({k: v for k, v in overrides.items() if v is not None})
    base["config_file"] = path
    try:
        return replace(
            DaemonConfig(
                state_dir=base.pop("state_dir"),
                templates_dir=base.pop("templates_dir"),
                socket=base.pop("socket"),
            ),
            **base,
        )
    except TypeError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
