"""The one door every RPC passes: authorisation, error mapping, audit of mutating calls.

Our errors become their status code (most specific class first); an unexpected exception is
logged with its traceback and answered INTERNAL "internal error, see daemon log" (grpc.aio would
otherwise leak `Unexpected <type>: <message>` as UNKNOWN); aborts pass through.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import grpc

from barbossad import errors

log = logging.getLogger(__name__)

# Most specific first.
STATUS_BY_ERROR: tuple[tuple[type[errors.BarbossaError], grpc.StatusCode], ...] = (
    (errors.DefinitionError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (errors.InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.UnavailableError, grpc.StatusCode.UNAVAILABLE),
    (errors.PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (errors.ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.BarbossaError, grpc.StatusCode.INTERNAL),
)


def status_for(exc: errors.BarbossaError) -> grpc.StatusCode:
    """The gRPC status code for one of our errors."""
    for cls, code in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


class Authorizer(Protocol):
    """Decides whether the caller of an RPC may make it; raise PermissionDeniedError if not."""

    def authorize(self, method: str, context: grpc.aio.ServicerContext, mutating: bool) -> str:
        """Return the caller's identity (for the audit trail)."""
        ...


class Auditor(Protocol):
    """Records mutating calls."""

    async def audit(
        self, *, actor: str, action: str, target: str, outcome: str, details: dict[str, str]
    ) -> None:
        """Append one record."""
        ...


class LocalSocketAuthorizer:
    """Trusts whoever can open the Unix socket (its file mode is the access control for now)."""

    def authorize(self, method: str, context: grpc.aio.ServicerContext, mutating: bool) -> str:
        """Everyone who reached the socket is allowed; identity is the peer string."""
        return str(context.peer() or "local")


def _target(request: Any) -> str:
    for name in ("workflow", "name", "run_id", "id", "expression"):
        value = getattr(request, name, None)
        if value:
            return f"{name}={value}"
    return ""


class Guard:
    """Wraps servicer methods; holds the authorizer and the auditor."""

    def __init__(self, authorizer: Authorizer, auditor: Auditor | None) -> None:
        self.authorizer = authorizer
        self.auditor = auditor

    async def _audit(self, actor: str, method: str, request: Any, outcome: str) -> None:
        if self.auditor is None:
            return
        try:
            await self.auditor.audit(
                actor=actor, action=method, target=_target(request), outcome=outcome, details={}
            )
        except Exception:
            log.exception("audit of %s failed", method)

    async def _fail(
        self, context: grpc.aio.ServicerContext, method: str, exc: BaseException
    ) -> None:
        if isinstance(exc, errors.BarbossaError):
            code = status_for(exc)
            if code is grpc.StatusCode.INTERNAL:
                log.error("%s failed: %s", method, exc)
            await context.abort(code, str(exc))
        log.error("%s raised an unexpected error", method, exc_info=exc)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error, see daemon log")

    def unary(self, method: str, fn: Callable[..., Any], mutating: bool) -> Callable[..., Any]:
        """Wrap a unary-response method."""

        @functools.wraps(fn)
        async def wrapper(servicer: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            actor = "?"
            try:
                actor = self.authorizer.authorize(method, context, mutating)
                response = await fn(servicer, request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                if mutating:
                    await self._audit(actor, method, request, f"error: {type(exc).__name__}")
                await self._fail(context, method, exc)
                raise  # unreachable: abort raises
            if mutating:
                await self._audit(actor, method, request, "ok")
            return response

        return wrapper

    def stream(
        self, method: str, fn: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., AsyncIterator[Any]]:
        """Wrap a server-streaming method (read-only)."""

        @functools.wraps(fn)
        async def wrapper(
            servicer: Any, request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            try:
                self.authorizer.authorize(method, context, False)
                async for item in fn(servicer, request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await self._fail(context, method, exc)

        return wrapper


def guarded(guard: Guard, servicer: Any, mutating: frozenset[str] = frozenset()) -> Any:
    """Wrap every RPC method the servicer defines itself (the rest answer UNIMPLEMENTED)."""
    base = type(servicer).__mro__[1]
    for name, fn in vars(type(servicer)).items():
        if name.startswith("_") or not inspect.isfunction(fn) or not hasattr(base, name):
            continue
        full = f"{type(servicer).__name__}.{name}"
        if inspect.isasyncgenfunction(fn):
            wrapped = guard.stream(full, fn)
        else:
            wrapped = guard.unary(full, fn, name in mutating)
        setattr(servicer, name, wrapped.__get__(servicer))
    return servicer
