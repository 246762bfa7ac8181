"""The command line: global options, one sub-parser per command, argument types.

Building every sub-parser costs more than a status request, so `build_parser(argv)` builds only
the command named in argv (all of them for `--help` and usage errors).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from barbossactl.context import OUTPUT_FORMATS, SOCKET_ENV
from barbossactl.errors import EXIT_CODES_HELP, ExitCode

# Short names as printed in JSON; tests check them against the generated enums.
RUN_STATES = ("pending", "running", "succeeded", "failed", "cancelled", "interrupted", "timed_out")
MISFIRE_POLICIES = ("skip", "run_once", "run_all")
OVERLAP_POLICIES = ("skip", "queue_one", "queue_all", "cancel_previous", "allow")

DESCRIPTION = "Control barbossad, the Barbossa workflow automation daemon."
EXEC_EPILOG = """\
Waits for the run and prints each task's progress and output: stdout lines as
`TASK | text`, stderr as `TASK ! text`, the daemon's notes as `TASK # text`; then a
summary. Exit status 0 if the run succeeded, 1 if it failed, was cancelled, timed out or
was interrupted. Ctrl-C stops waiting (exit 130); the run goes on.
With -o json|yaml only the final run is printed."""
_VALUED = frozenset({"--socket", "--address", "-o", "--output", "--timeout"})


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error as `barbossactl: <message> (see '<prog> --help')`."""
        self.exit(ExitCode.USAGE, f"barbossactl: {message} (see '{self.prog} --help')\n")


def parameter(text: str) -> tuple[str, str]:
    """Parse `-p KEY=VALUE`."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def positive_int(text: str) -> int:
    """An integer >= 1 (run ids, schedule ids, counts)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _add_globals(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global options; accepted before or after the command (the later one wins)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--socket",
        metavar="PATH",
        default=default(None),
        help=f"barbossad's Unix socket (env {SOCKET_ENV}; default: /run/barbossad/barbossad.sock "
        "for root, else ~/barbossa-engineer/barbossad.sock)",
    )
    group.add_argument(
        "--address", metavar="HOST:PORT", default=default(None), help="connect over TCP instead"
    )
    group.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default=default("table"),
        help="output format (default: table; json and yaml are stable)",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        default=default(30.0),
        help="deadline of each request (default: 30)",
    )
    group.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks on errors"
    )


def _params(p: Parser, help: str) -> None:
    p.add_argument(
        "-p",
        "--param",
        dest="params",
        metavar="KEY=VALUE",
        type=parameter,
        action="append",
        default=[],
        help=help,
    )


def _run_id(p: Parser) -> None:
    p.add_argument("run_id", metavar="ID", type=positive_int)


def _exec(p: Parser) -> None:
    p.add_argument("name", metavar="NAME")
    _params(p, "a parameter value (repeatable)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    mode.add_argument("--detach", action="store_true", help="print the run id and return")
    p.epilog = EXEC_EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def _runs(p: Parser) -> None:
    p.add_argument("workflow", metavar="NAME", nargs="?", default="")
    p.add_argument("--limit", type=positive_int, default=20, metavar="N", help="default: 20")
    p.add_argument(
        "--state",
        dest="states",
        action="append",
        choices=RUN_STATES,
        default=[],
        help="only runs in this state (repeatable)",
    )


def _logs(p: Parser) -> None:
    _run_id(p)
    p.add_argument("--task", metavar="TASK", default="", help="only this task's output, unprefixed")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")


def _retry(p: Parser) -> None:
    _run_id(p)
    p.add_argument("--wait", action="store_true", help="wait like exec (exit 1 if it fails)")


def _workflow_arg(p: Parser) -> None:
    p.add_argument("workflow", metavar="NAME", nargs="?", default="")


def _schedule_add(p: Parser) -> None:
    p.add_argument("workflow", metavar="WORKFLOW")
    p.add_argument("expression", metavar="EXPR")
    p.add_argument("--tz", default="", metavar="ZONE", help="IANA time zone (default: system's)")
    p.add_argument("--misfire", choices=MISFIRE_POLICIES, default=None)
    p.add_argument("--overlap", choices=OVERLAP_POLICIES, default=None)
    p.add_argument("--paused", action="store_true", help="add it paused")
    p.add_argument(
        "--catch-up-limit",
        type=int,
        default=0,
        metavar="N",
        help="run_all: run at most the newest N missed slots (default 10)",
    )
    p.add_argument(
        "--catch-up-window",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="only catch up slots missed within this many seconds",
    )
    _params(p, "a parameter value for its runs (repeatable)")


def _schedule_id(p: Parser) -> None:
    p.add_argument("schedule_id", metavar="ID", type=positive_int)


def _schedule_preview(p: Parser) -> None:
    p.add_argument("expression", metavar="EXPR")
    p.add_argument("--tz", default="", metavar="ZONE", help="IANA time zone (default: system's)")
    p.add_argument("--count", type=positive_int, default=5, metavar="N", help="default: 5")
    p.add_argument("--after", default="", metavar="ISO-8601", help="default: now")


Configure = Callable[[Parser], object] | None
# name -> (handler "module:function" in barbossactl.commands, help, configure)
Spec = dict[str, tuple[str, str, Configure]]

SCHEDULE: Spec = {
    "list": ("schedules:list_schedules", "list schedules", _workflow_arg),
    "add": ("schedules:add", "add a schedule (a cron expression)", _schedule_add),
    "rm": ("schedules:remove", "remove a schedule", _schedule_id),
    "pause": ("schedules:pause", "pause a schedule", _schedule_id),
    "resume": ("schedules:resume", "resume a schedule", _schedule_id),
    "preview": (
        "schedules:preview",
        "print the next fire times of an expression",
        _schedule_preview,
    ),
}
SCHEDULER: Spec = {
    action: (f"schedules:scheduler_{action}", f"{action} the scheduler", None)
    for action in ("status", "start", "stop")
}
_GROUPS: dict[str, Spec] = {"schedule": SCHEDULE, "scheduler": SCHEDULER}

COMMANDS: Spec = {
    "status": ("daemon:status", "show the daemon's status", None),
    "reload": ("daemon:reload", "re-read the configuration and rescan templates", None),
    "templates": ("workflows:templates", "list templates and whether they are valid", None),
    "list": ("workflows:list_workflows", "list the workflows that can run", None),
    "show": (
        "workflows:show",
        "show a workflow: tasks, dependencies, variables",
        lambda p: p.add_argument("name", metavar="NAME"),
    ),
    "validate": (
        "workflows:validate",
        "validate workflow files (exit 4 if any is invalid)",
        lambda p: p.add_argument("files", metavar="FILE", nargs="+"),
    ),
    "exec": ("runs:execute", "run a workflow and wait for it (exit 1 if it fails)", _exec),
    "runs": ("runs:list_runs", "list runs, newest first", _runs),
    "run": ("runs:show_run", "show a run and its tasks", _run_id),
    "logs": ("runs:logs", "print a run's output", _logs),
    "cancel": ("runs:cancel", "cancel a run", _run_id),
    "retry": ("runs:retry", "re-run a failed run from its failed tasks", _retry),
    "running": ("monitoring:running", "list the runs in progress", None),
    "stats": ("monitoring:stats", "run statistics per workflow", _workflow_arg),
    "alerts": (
        "monitoring:alerts",
        "list active alerts",
        lambda p: p.add_argument("--all", action="store_true", help="include resolved alerts"),
    ),
    "schedule": ("", "manage schedules: list, add, rm, pause, resume, preview", None),
    "scheduler": ("", "the scheduler: status, start, stop", None),
}


def command_in(argv: Sequence[str]) -> str | None:
    """The command named in argv (skipping global options and their values), if any."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--":
            return None
        elif token.startswith("-"):
            skip = token in _VALUED
        else:
            return token if token in COMMANDS else None
    return None


def _add(sub: Any, common: Parser, spec: Spec, names: Sequence[str]) -> None:
    for name in names:
        handler, help, configure = spec[name]
        p: Parser = sub.add_parser(name, help=help, description=help, parents=[common])
        if name in _GROUPS:
            nested = p.add_subparsers(dest="action", metavar="ACTION", required=True)
            group = _GROUPS[name]
            _add(nested, common, group, list(group))
            continue
        p.set_defaults(handler=handler)
        if configure is not None:
            configure(p)


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser for argv's command (every command when argv names none)."""
    parser = Parser(
        prog="barbossactl",
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_globals(parser, suppress=False)
    common = Parser(add_help=False)
    _add_globals(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    selected = command_in(argv) if argv is not None else None
    _add(sub, common, COMMANDS, [selected] if selected else list(COMMANDS))
    return parser
