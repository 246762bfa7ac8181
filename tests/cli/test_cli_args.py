"""Argument parsing: global options, command selection, argument types, where the daemon is."""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path

import pytest

from barbossactl import context, parser


def parse(*argv: str) -> argparse.Namespace:
    return parser.build_parser(argv).parse_args(argv)


def test_global_options_before_or_after_the_command() -> None:
    args = parse("status")
    assert (args.output, args.timeout, args.debug, args.socket, args.address) == (
        "table",
        30.0,
        False,
        None,
        None,
    )
    args = parse("-o", "json", "status", "--timeout", "2.5", "--debug")
    assert (args.output, args.timeout, args.debug) == ("json", 2.5, True)
    args = parse("--output=yaml", "runs", "--socket", "/x.sock", "-o", "json")
    assert (args.output, args.socket) == ("json", "/x.sock")  # the later one wins


def test_exec_arguments() -> None:
    args = parse("exec", "deploy", "-p", "env=prod", "--param", "expr=a=b", "-p", "empty=")
    assert args.handler == "runs:execute"
    assert args.params == [("env", "prod"), ("expr", "a=b"), ("empty", "")]
    assert not args.dry_run and not args.detach


def test_runs_arguments() -> None:
    args = parse("runs", "deploy", "--limit", "5", "--state", "failed", "--state", "timed_out")
    assert (args.workflow, args.limit, args.states) == ("deploy", 5, ["failed", "timed_out"])


def test_schedule_add_arguments() -> None:
    args = parse(
        "schedule",
        "add",
        "deploy",
        "0 3 * * *",
        "--tz",
        "UTC",
        "--overlap",
        "queue_one",
        "--paused",
    )
    assert args.handler == "schedules:add"
    assert (args.workflow, args.expression, args.tz, args.overlap, args.misfire, args.paused) == (
        "deploy", "0 3 * * *", "UTC", "queue_one", None, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["exec", "deploy", "-p", "novalue"], "expected KEY=VALUE, got 'novalue'"),
        (["exec", "deploy", "-p", "=v"], "expected KEY=VALUE"),
        (["exec", "deploy", "--dry-run", "--detach"], "not allowed with argument"),
        (["run", "0"], "expected a positive integer, got '0'"),
        (["run", "x"], "expected a positive integer, got 'x'"),
        (["status", "--timeout", "-1"], "expected a positive number of seconds"),
        (["runs", "--state", "done"], "invalid choice: 'done'"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["schedule"], "the following arguments are required: ACTION"),
        ([], "the following arguments are required: COMMAND"),
        (["--socket", "/a", "--address", "h:1", "status"], "cannot be used together"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from barbossactl.cli import main

    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("barbossactl: ")
    assert message in err


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["status"], "status"),
        (["--socket", "/s", "-o", "json", "runs"], "runs"),
        (["--socket=/s", "--debug", "exec", "x"], "exec"),
        (["-o", "status"], None),  # "status" is the value of -o
        (["--help"], None),
        (["bogus", "status"], None),
        ([], None),
    ],
)
def test_command_in(argv: list[str], command: str | None) -> None:
    assert parser.command_in(argv) == command


def test_only_the_named_command_is_built() -> None:
    sub = next(
        a
        for a in parser.build_parser(["status"])._actions
        if isinstance(a, argparse._SubParsersAction)
    )
    assert list(sub.choices) == ["status"]
    full = next(
        a for a in parser.build_parser(None)._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert list(full.choices) == list(parser.COMMANDS)


def _handlers() -> list[str]:
    specs = [parser.COMMANDS, parser.SCHEDULE, parser.SCHEDULER]
    return [handler for spec in specs for handler, _, _ in spec.values() if handler]


@pytest.mark.parametrize("handler", _handlers())
def test_every_handler_exists(handler: str) -> None:
    module, _, function = handler.partition(":")
    assert callable(getattr(importlib.import_module(f"barbossactl.commands.{module}"), function))


def test_endpoint_for_a_socket_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    endpoint = context.Endpoint.resolve("rel/api.sock", None)
    assert endpoint.socket == str(tmp_path / "rel" / "api.sock")
    assert endpoint.target == f"unix:{tmp_path}/rel/api.sock"
    tcp = context.Endpoint.resolve(None, "localhost:7070")
    assert (tcp.target, tcp.socket, tcp.display) == ("localhost:7070", None, "localhost:7070")


def test_default_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(context.SOCKET_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert context.default_socket() == "/run/barbossad/barbossad.sock"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert context.default_socket() == f"{tmp_path}/barbossa-engineer/barbossad.sock"
    monkeypatch.setenv(context.SOCKET_ENV, "/elsewhere.sock")
    assert context.default_socket() == "/elsewhere.sock"
    assert context.Endpoint.resolve(None, None).socket == "/elsewhere.sock"
