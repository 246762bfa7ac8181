"""Exit codes and the one error type barbossactl reports; imports neither grpc nor protobuf.

Exit codes are part of the CLI's stable interface:

  0    success
  1    the run or operation finished unsuccessfully (a waited-for run failed, was cancelled,
       timed out or was interrupted)
  2    usage error (unknown option, malformed -p KEY=VALUE, ...)
  3    not found (NOT_FOUND)
  4    invalid input (INVALID_ARGUMENT, OUT_OF_RANGE; `validate` found issues; unreadable file)
  5    conflict or failed precondition (FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED)
  6    daemon unreachable or unavailable (no socket, connection refused, UNAVAILABLE including
       shutting down, DEADLINE_EXCEEDED)
  7    permission denied (PERMISSION_DENIED, UNAUTHENTICATED, socket not accessible)
  8    not implemented by this daemon yet (UNIMPLEMENTED)
  10   internal or other error
  130  interrupted by Ctrl-C
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The process exit codes (see the module docstring)."""

    OK = 0
    UNSUCCESSFUL = 1
    USAGE = 2
    NOT_FOUND = 3
    INVALID = 4
    CONFLICT = 5
    UNAVAILABLE = 6
    PERMISSION = 7
    UNIMPLEMENTED = 8
    INTERNAL = 10
    INTERRUPTED = 130


# gRPC status code name -> exit code; anything else is INTERNAL.
EXIT_BY_STATUS: dict[str, ExitCode] = {
    "NOT_FOUND": ExitCode.NOT_FOUND,
    "INVALID_ARGUMENT": ExitCode.INVALID,
    "OUT_OF_RANGE": ExitCode.INVALID,
    "FAILED_PRECONDITION": ExitCode.CONFLICT,
    "ALREADY_EXISTS": ExitCode.CONFLICT,
    "ABORTED": ExitCode.CONFLICT,
    "UNAVAILABLE": ExitCode.UNAVAILABLE,
    "DEADLINE_EXCEEDED": ExitCode.UNAVAILABLE,
    "PERMISSION_DENIED": ExitCode.PERMISSION,
    "UNAUTHENTICATED": ExitCode.PERMISSION,
    "UNIMPLEMENTED": ExitCode.UNIMPLEMENTED,
}

EXIT_CODES_HELP = """\
exit codes:
  0 success                       1 run/operation finished unsuccessfully
  2 usage error                   3 not found
  4 invalid input                 5 conflict / failed precondition
  6 daemon unreachable            7 permission denied
  8 not implemented by daemon     10 internal error
  130 interrupted (Ctrl-C)"""


def exit_for_status(code_name: str) -> ExitCode:
    """The exit code for a gRPC status code, given by name (e.g. "NOT_FOUND")."""
    return EXIT_BY_STATUS.get(code_name, ExitCode.INTERNAL)


class CliError(Exception):
    """An error to report as one line `barbossactl: <message>` and exit with `code`."""

    def __init__(self, message: str, code: ExitCode = ExitCode.INTERNAL) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
