"""service_management against STUB `systemctl` and `docker` executables.

This machine has no systemd as PID 1 and no Docker engine, so these tests do not drive real
services: the `stub_bin` fixture (tests/tasks/conftest.py) writes small stand-in executables
into tmp_path/bin and puts that directory first on the task's PATH. The stubs record the argv
they were called with and print canned output; the tests check the exact argument vectors the
handler builds and how it parses `systemctl show` / `docker inspect` replies.
"""

from __future__ import annotations

import json

import pytest
from taskkit import MakeCtx, StubBin

from barbossad.tasks.service_management import (
    ServiceManagementHandler,
    ServiceManagementSpec,
    container_name,
    unit_name,
)

pytestmark = pytest.mark.timeout(30)
handler = ServiceManagementHandler()

SHOW = (
    "ActiveState=active\nSubState=running\nLoadState=loaded\nMainPID=1234\nUnitFileState=enabled\n"
)


def spec(action: str, name: str = "nginx", kind: str = "systemd") -> ServiceManagementSpec:
    return ServiceManagementSpec(action=action, service_name=name, service_type=kind)


@pytest.mark.parametrize("action", ["start", "stop", "restart", "reload", "enable", "disable"])
async def test_systemd_actions(action: str, make_ctx: MakeCtx, stub_bin: StubBin) -> None:
    result = await handler.run(spec(action), make_ctx(env=stub_bin.env()))
    assert result.ok, result.error
    assert stub_bin.calls() == [["systemctl", action, "--", "nginx.service"]]


async def test_systemd_status_is_structured(make_ctx: MakeCtx, stub_bin: StubBin) -> None:
    result = await handler.run(spec("status", "web.socket"), make_ctx(env=stub_bin.env(SHOW)))
    assert result.ok
    assert stub_bin.calls() == [
        [
            "systemctl",
            "show",
            "--property=ActiveState,SubState,LoadState,MainPID,UnitFileState",
            "--",
            "web.socket",
        ]
    ]
    assert result.outputs == {
        "active_state": "active",
        "sub_state": "running",
        "load_state": "loaded",
        "main_pid": "1234",
        "unit_file_state": "enabled",
        "active": "true",
    }


async def test_status_of_an_inactive_unit_still_succeeds(
    make_ctx: MakeCtx, stub_bin: StubBin
) -> None:
    show = "ActiveState=inactive\nSubState=dead\nLoadState=not-found\nMainPID=0\nUnitFileState=\n"
    result = await handler.run(spec("status", "ghost"), make_ctx(env=stub_bin.env(show)))
    assert result.ok
    assert result.outputs["active"] == "false"
    assert result.outputs["load_state"] == "not-found"


async def test_failure_carries_stderr(make_ctx: MakeCtx, stub_bin: StubBin) -> None:
    env = stub_bin.env(
        stderr="Failed to restart nginx.service: Unit nginx.service not found.\n", exit_code=5
    )
    result = await handler.run(spec("restart"), make_ctx(env=env))
    assert not result.ok and result.exit_code == 5
    assert result.error == (
        "systemctl restart nginx.service exited with status 5: "
        "Failed to restart nginx.service: Unit nginx.service not found."
    )


@pytest.mark.parametrize(
    ("action", "argv"),
    [
        ("start", ["docker", "start", "--", "web-1"]),
        ("stop", ["docker", "stop", "--", "web-1"]),
        ("restart", ["docker", "restart", "--", "web-1"]),
        ("enable", ["docker", "update", "--restart=unless-stopped", "--", "web-1"]),
        ("disable", ["docker", "update", "--restart=no", "--", "web-1"]),
        ("reload", ["docker", "kill", "--signal", "HUP", "--", "web-1"]),
    ],
)
async def test_docker_actions(
    action: str, argv: list[str], make_ctx: MakeCtx, stub_bin: StubBin
) -> None:
    result = await handler.run(spec(action, "web-1", "docker"), make_ctx(env=stub_bin.env()))
    assert result.ok, result.error
    assert stub_bin.calls() == [argv]


async def test_docker_status_parses_inspect(make_ctx: MakeCtx, stub_bin: StubBin) -> None:
    inspect = [
        {
            "State": {
                "Status": "running",
                "Running": True,
                "Pid": 4321,
                "ExitCode": 0,
                "StartedAt": "2024-01-01T00:00:00Z",
                "Health": {"Status": "healthy"},
            },
            "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}},
        }
    ]
    ctx = make_ctx(env=stub_bin.env(json.dumps(inspect)))
    result = await handler.run(spec("status", "web-1", "docker"), ctx)
    assert result.ok, result.error
    assert stub_bin.calls() == [["docker", "inspect", "--type", "container", "--", "web-1"]]
    assert result.outputs["state"] == "running"
    assert result.outputs["active"] == "true"
    assert result.outputs["main_pid"] == "4321"
    assert result.outputs["restart_policy"] == "unless-stopped"
    assert result.outputs["health"] == "healthy"


async def test_docker_status_of_missing_container(make_ctx: MakeCtx, stub_bin: StubBin) -> None:
    env = stub_bin.env("[]\n", "Error: No such container: ghost\n", exit_code=1)
    result = await handler.run(spec("status", "ghost", "docker"), make_ctx(env=env))
    assert not result.ok
    assert "Error: No such container: ghost" in result.error


async def test_docker_status_garbage_is_a_clear_error(make_ctx: MakeCtx, stub_bin: StubBin) -> None:
    result = await handler.run(spec("status", "web", "docker"), make_ctx(env=stub_bin.env("nope")))
    assert not result.ok
    assert result.error.startswith("docker status web: unexpected docker inspect output")


@pytest.mark.parametrize(
    "name",
    ["-H", "--now", "a b", "x;rm -rf /", "nginx\n", "a/b", "", "$(id)", "web`id`"],
)
async def test_bad_unit_names_never_reach_systemctl(
    name: str, make_ctx: MakeCtx, stub_bin: StubBin
) -> None:
    assert [f for f, _ in handler.check(spec("restart", name))] == ["service_name"]
    result = await handler.run(spec("restart", name), make_ctx(env=stub_bin.env()))
    assert not result.ok and result.error.startswith("service_management: service_name:")
    assert stub_bin.calls() == []


@pytest.mark.parametrize("name", ["-f", ".hidden", "a b", "x;y", "a:b", ""])
def test_bad_container_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid docker container name"):
        container_name(name)


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("nginx", "nginx.service"),
        ("nginx.service", "nginx.service"),
        ("getty@tty1", "getty@tty1.service"),
        ("backup.timer", "backup.timer"),
        ("dev-sda1.device", "dev-sda1.device"),
        ("foo.bar", "foo.bar.service"),
        ("system-foo\\x2dbar", "system-foo\\x2dbar.service"),
    ],
)
def test_unit_names(name: str, unit: str) -> None:
    assert unit_name(name) == unit


def test_check_unknown_action_and_type() -> None:
    assert [f for f, _ in handler.check(spec("explode"))] == ["action"]
    assert [f for f, _ in handler.check(spec("start", kind="podman"))] == ["service_type"]
    assert handler.check(spec("{{ params.action }}", "{{ params.unit }}")) == []


async def test_rendered_values_are_checked_even_if_they_look_templated(
    make_ctx: MakeCtx, stub_bin: StubBin
) -> None:
    bad = spec("restart", "-{{ x }}")
    assert handler.check(bad) == []
    result = await handler.run(bad, make_ctx(env=stub_bin.env()))
    assert not result.ok and stub_bin.calls() == []
    assert handler.describe(bad, make_ctx()).description.startswith("would be refused as rendered")


def test_describe(make_ctx: MakeCtx) -> None:
    action = handler.describe(spec("restart"), make_ctx())
    assert action.description == "would restart nginx.service via systemctl"
    assert action.argv == ("systemctl", "restart", "--", "nginx.service")
    status = handler.describe(spec("status", "db", "docker"), make_ctx())
    assert status.description == "would query the status of db via docker"


async def test_missing_executable_is_a_clear_error(make_ctx: MakeCtx, tmp_path: object) -> None:
    ctx = make_ctx(env={"PATH": str(tmp_path)})
    result = await handler.run(spec("start", "web", "docker"), ctx)
    assert not result.ok
    assert result.error.startswith("service_management: cannot run docker:")
