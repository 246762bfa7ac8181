"""barbossactl: parse argv, run one command, turn errors into one line and an exit code.

Importing this module imports neither grpc nor protobuf: a command's module is imported only
when that command runs, and imports just the generated modules it needs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from barbossactl.context import Context, Endpoint, Settings
from barbossactl.errors import CliError, ExitCode
from barbossactl.parser import build_parser


def dispatch(args: argparse.Namespace, ctx: Context) -> int:
    """Import the command's module and run it."""
    module_name, _, function = args.handler.partition(":")
    module = importlib.import_module(f"barbossactl.commands.{module_name}")
    return int(getattr(module, function)(ctx, args))


def _report(message: str, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()
    sys.stderr.write(f"barbossactl: {message}\n")
    sys.stderr.flush()


def run(argv: Sequence[str]) -> int:
    """Parse argv and run the command; returns the exit code (usage errors raise SystemExit)."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.socket and args.address:
        parser.error("--socket and --address cannot be used together")
    settings = Settings(
        endpoint=Endpoint.resolve(args.socket, args.address),
        output=args.output,
        timeout=args.timeout,
        debug=args.debug,
    )
    ctx = Context(settings)
    try:
        return dispatch(args, ctx)
    except CliError as exc:
        _report(exc.message, settings.debug)
        return int(exc.code)
    except KeyboardInterrupt:
        _report("interrupted", settings.debug)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep the final flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.UNSUCCESSFUL)
    except Exception as exc:
        _report(
            f"internal error: {type(exc).__name__}: {exc} (--debug shows where)", settings.debug
        )
        return int(ExitCode.INTERNAL)
    finally:
        ctx.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: the exit code, or (as the program itself) exit with it.

    Called without argv it is the program: once everything is flushed and the channel is closed
    it leaves with os._exit, because tearing down an interpreter holding grpc and protobuf costs
    ~15 ms, more than the request itself.
    """
    if argv is not None:
        return run(argv)
    code = run(sys.argv[1:])
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    os._exit(code)
