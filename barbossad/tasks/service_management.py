"""service_management: start/stop/... a systemd unit or a Docker container, argv only.

The service name is validated before it goes anywhere near an argument vector, and a `--` always
separates it from the options, so a rendered value can never become an option or a second unit.
`status` is a query: it succeeds when the query worked and reports the state as outputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from barbossad.models import OutputStream
from barbossad.tasks.base import PlannedAction, TaskContext, TaskResult
from barbossad.tasks.support import CaptureSink, deferred, flag, process_failure, unrunnable


class ServiceAction(StrEnum):
    """What to do to the service."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"
    RELOAD = "reload"
    STATUS = "status"
    ENABLE = "enable"
    DISABLE = "disable"


class ServiceType(StrEnum):
    """Which service manager owns the service."""

    SYSTEMD = "systemd"
    DOCKER = "docker"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceManagementSpec:
    """Fields of a service_management task."""

    action: str
    service_name: str
    service_type: str = ServiceType.SYSTEMD.value


# systemd's unit name alphabet (unit-name.c); at most 255 characters.
_UNIT_RE = re.compile(r"[A-Za-z0-9:_.\-@\\]{1,255}")
_UNIT_SUFFIXES = (
    ".service", ".socket", ".device", ".mount", ".automount", ".swap",
    ".target", ".path", ".timer", ".slice", ".scope",
)  # fmt: skip
# Docker's container name rule, which also admits container ids.
_CONTAINER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}")
_SHOW_PROPERTIES = "ActiveState,SubState,LoadState,MainPID,UnitFileState"


def unit_name(name: str) -> str:
    """The full systemd unit for a service name ("nginx" -> "nginx.service"); ValueError if bad."""
    if name.startswith("-") or not _UNIT_RE.fullmatch(name):
        raise ValueError(
            f"invalid systemd unit name {name!r}: use letters, digits and ':_.-@\\', "
            "not starting with '-'"
        )
    return name if name.endswith(_UNIT_SUFFIXES) else name + ".service"


def container_name(name: str) -> str:
    """A validated Docker container name or id; ValueError if bad."""
    if not _CONTAINER_RE.fullmatch(name):
        raise ValueError(
            f"invalid docker container name {name!r}: use letters, digits and '_.-', "
            "starting with a letter or digit"
        )
    return name


def _camel_to_snake(key: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", key).lower()


class ServiceManagementHandler:
    """Drives systemctl or the docker CLI."""

    type_name: ClassVar[str] = "service_management"
    spec_type: ClassVar[type] = ServiceManagementSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        """Load-time checks; values still holding placeholders are checked when run."""
        return self.problems(spec, rendered=False)

    def problems(self, spec: Any, *, rendered: bool = True) -> list[tuple[str, str]]:
        """Known action and type, a valid unit or container name."""
        problems: list[tuple[str, str]] = []
        if not deferred(spec.action, rendered) and spec.action not in set(ServiceAction):
            problems.append(
                ("action", f"unknown action {spec.action!r} (expected {_choices(ServiceAction)})")
            )
        if not deferred(spec.service_type, rendered) and spec.service_type not in set(ServiceType):
            problems.append(
                (
                    "service_type",
                    f"unknown service_type {spec.service_type!r} "
                    f"(expected {_choices(ServiceType)})",
                )
            )
        elif not deferred(spec.service_name, rendered):
            try:
                self._target(spec)
            except ValueError as exc:
                problems.append(("service_name", str(exc)))
        return problems

    def _target(self, spec: ServiceManagementSpec) -> str:
        if spec.service_type == ServiceType.DOCKER:
            return container_name(spec.service_name)
        return unit_name(spec.service_name)

    def argv(self, spec: ServiceManagementSpec) -> list[str]:
        """The argument vector for a (valid, rendered) spec."""
        action = ServiceAction(spec.action)
        target = self._target(spec)
        if spec.service_type == ServiceType.SYSTEMD:
            if action is ServiceAction.STATUS:
                return ["systemctl", "show", f"--property={_SHOW_PROPERTIES}", "--", target]
            return ["systemctl", action.value, "--", target]
        match action:
            case ServiceAction.STATUS:
                return ["docker", "inspect", "--type", "container", "--", target]
            case ServiceAction.ENABLE:
                return ["docker", "update", "--restart=unless-stopped", "--", target]
            case ServiceAction.DISABLE:
                return ["docker", "update", "--restart=no", "--", target]
            case ServiceAction.RELOAD:
                return ["docker", "kill", "--signal", "HUP", "--", target]
            case _:
                return ["docker", action.value, "--", target]

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        """Dry run: e.g. "would restart nginx.service via systemctl"."""
        problems = self.problems(spec)
        if problems:
            return unrunnable(problems)
        argv = self.argv(spec)
        verb = "query the status of" if spec.action == ServiceAction.STATUS else spec.action
        return PlannedAction(description=f"would {verb} {argv[-1]} via {argv[0]}", argv=tuple(argv))

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        """Run the command; for status, parse the reply into outputs."""
        problems = self.problems(spec)
        if problems:
            field, message = problems[0]
            return TaskResult(ok=False, error=f"service_management: {field}: {message}")
        argv = self.argv(spec)
        what = f"{argv[0]} {spec.action} {argv[-1]}"
        ctx.log(f"service_management: {' '.join(argv)}")
        capture = CaptureSink(ctx.sink)
        try:
            result = await ctx.spawner.run(
                argv, env=ctx.env, cwd=ctx.working_directory, sink=capture, timeout=ctx.timeout
            )
        except OSError as exc:
            return TaskResult(
                ok=False, error=f"service_management: cannot run {argv[0]}: {exc.strerror}"
            )
        failure = process_failure(result, what, ctx.timeout, capture.tail())
        if failure is not None:
            return failure
        if spec.action != ServiceAction.STATUS:
            return TaskResult(ok=True, exit_code=0)
        stdout = capture.text(OutputStream.STDOUT)
        if spec.service_type == ServiceType.SYSTEMD:
            return TaskResult(ok=True, exit_code=0, outputs=parse_systemctl_show(stdout))
        try:
            return TaskResult(ok=True, exit_code=0, outputs=parse_docker_inspect(stdout))
        except ValueError as exc:
            return TaskResult(ok=False, exit_code=0, error=f"{what}: {exc}")


def parse_systemctl_show(text: str) -> dict[str, str]:
    """`KEY=VALUE` lines -> snake_case outputs, plus `active` (true when ActiveState=active)."""
    outputs: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key:
            outputs[_camel_to_snake(key.strip())] = value.strip()
    outputs["active"] = flag(outputs.get("active_state") == "active")
    return outputs


def parse_docker_inspect(text: str) -> dict[str, str]:
    """`docker inspect` JSON -> state outputs; ValueError if it is not what docker prints."""
    try:
        data = json.loads(text)
        info = data[0]
        state = info["State"]
        status = str(state["Status"])
    except (ValueError, LookupError, TypeError) as exc:
        raise ValueError(f"unexpected docker inspect output ({exc.__class__.__name__})") from exc
    outputs = {
        "state": status,
        "active": flag(bool(state.get("Running"))),
        "main_pid": str(state.get("Pid", "")),
        "exit_code": str(state.get("ExitCode", "")),
        "started_at": str(state.get("StartedAt", "")),
    }
    policy = (info.get("HostConfig") or {}).get("RestartPolicy") or {}
    outputs["restart_policy"] = str(policy.get("Name", ""))
    health = state.get("Health")
    if isinstance(health, dict) and "Status" in health:
        outputs["health"] = str(health["Status"])
    return outputs


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(m.value for m in enum)
