"""The BarbossaError tree: every error we raise on purpose, with a message safe to show a user.

This module imports neither grpc nor aiohttp; the RPC layer maps these classes to status codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class BarbossaError(Exception):
    """Base class: the message says what went wrong, where, and what was expected."""


class NotFoundError(BarbossaError):
    """A named workflow, template, run or schedule does not exist."""


class AlreadyExistsError(BarbossaError):
    """Creating something whose name is taken."""


class InvalidArgumentError(BarbossaError):
    """A caller-supplied value is malformed (a parameter, an expression, a path)."""


class FailedPreconditionError(BarbossaError):
    """The request is well formed but the current state forbids it (e.g. retrying a running run)."""


class UnavailableError(BarbossaError):
    """The daemon cannot take the request now (e.g. it is shutting down)."""


class PermissionDeniedError(BarbossaError):
    """The caller may not do this."""


class ConfigError(BarbossaError):
    """The daemon's configuration is invalid; raised at startup or reload."""


class StartupError(BarbossaError):
    """The daemon cannot start (socket taken, state dir unwritable, ...)."""


class StoreError(BarbossaError):
    """The database failed or is in an unexpected shape."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem found in a definition, with its location."""

    file: str
    line: int
    column: int
    field: str
    message: str
    suggestion: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        text = (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class DefinitionError(InvalidArgumentError):
    """A workflow definition failed validation; carries every issue found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        first = str(self.issues[0]) if self.issues else "invalid definition"
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(first + more)


class TaskError(BarbossaError):
    """A task failed in a way its handler detected (bad input at run time, a peer refusing)."""
