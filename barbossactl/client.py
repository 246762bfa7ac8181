"""The gRPC channel to barbossad: stub calls and the translation of status codes into CliErrors."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from barbossactl.context import Endpoint
from barbossactl.errors import CliError, ExitCode, exit_for_status

START_HINT = "start it with 'barbossad' or 'systemctl start barbossad', or pass --socket"
CONNECT_TIMEOUT_MS = 5000

_OPTIONS = [
    # A TCP connect to a silent host gives up after this long instead of gRPC's default 20 s.
    ("grpc.min_reconnect_backoff_ms", CONNECT_TIMEOUT_MS),
    # Never route the daemon's API through $http_proxy.
    ("grpc.enable_http_proxy", 0),
    # Stored logs of a run can be large.
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
]


def unreachable(endpoint: Endpoint, reason: str) -> CliError:
    """The one-line error for a daemon that cannot be reached, with how to start it."""
    hint = START_HINT if endpoint.socket else "is it running and listening there?"
    return CliError(
        f"cannot reach barbossad at {endpoint.display} ({reason}); {hint}", ExitCode.UNAVAILABLE
    )


def check_socket(endpoint: Endpoint) -> None:
    """Fail fast, with a clear message, when the socket file is missing or unusable."""
    assert endpoint.socket is not None
    try:
        st = os.stat(endpoint.socket)
    except FileNotFoundError:
        raise unreachable(endpoint, "no such socket") from None
    except PermissionError:
        raise _denied(endpoint) from None
    except OSError as exc:
        raise unreachable(endpoint, exc.strerror or str(exc)) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise unreachable(endpoint, "not a socket")


def _denied(endpoint: Endpoint) -> CliError:
    return CliError(
        f"permission denied connecting to barbossad at {endpoint.display}; "
        "run as a user allowed to use the socket (or with sudo)",
        ExitCode.PERMISSION,
    )


def _connect_failure(details: str) -> str | None:
    """The reason, when an UNAVAILABLE status means no connection was made at all."""
    if details.startswith("errors resolving"):
        return "cannot resolve the host name"
    if "failed to connect" not in details.lower():
        return None
    lower = details.lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("no such file", "no such socket"),
        ("permission denied", "permission denied"),
        ("timed out", "connection timed out"),
        ("deadline", "connection timed out"),
    ):
        if needle in lower:
            return reason
    return details.rsplit(": ", 1)[-1] or "connection failed"


class Client:
    """A channel to barbossad plus one stub per service, created on demand."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        if endpoint.socket is not None:
            check_socket(endpoint)
        self.channel = grpc.insecure_channel(endpoint.target, options=_OPTIONS)
        self._stubs: dict[Any, Any] = {}

    def stub(self, stub_class: Callable[[Any], Any]) -> Any:
        """The stub of a service (a generated *Stub class) on this channel."""
        stub = self._stubs.get(stub_class)
        if stub is None:
            stub = self._stubs[stub_class] = stub_class(self.channel)
        return stub

    def call(self, stub_class: Callable[[Any], Any], method: str, request: Any) -> Any:
        """A unary RPC with the configured deadline; failing fast when not connected."""
        rpc = getattr(self.stub(stub_class), method)
        try:
            return rpc(request, timeout=self.timeout, wait_for_ready=False)
        except grpc.RpcError as exc:
            raise self.translate(exc, method) from exc

    def stream(self, stub_class: Callable[[Any], Any], method: str, request: Any) -> Iterator[Any]:
        """A server-streaming RPC without deadline; the call is cancelled when the caller stops."""
        call = getattr(self.stub(stub_class), method)(request, wait_for_ready=False)
        try:
            yield from call
        except grpc.RpcError as exc:
            raise self.translate(exc, method) from exc
        finally:
            call.cancel()

    def translate(self, exc: grpc.RpcError, method: str) -> CliError:
        """The CliError for a failed call: the server's message and the documented exit code."""
        code: grpc.StatusCode = exc.code()
        details: str = exc.details() or ""
        if code is grpc.StatusCode.UNAVAILABLE:
            reason = _connect_failure(details)
            if reason == "permission denied":
                return _denied(self.endpoint)
            if reason is not None:
                return unreachable(self.endpoint, reason)
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            return CliError(
                f"barbossad did not answer {method} within {self.timeout:g}s (see --timeout)",
                ExitCode.UNAVAILABLE,
            )
        if code is grpc.StatusCode.UNIMPLEMENTED:
            if details.startswith("Received http2 header"):
                return CliError(
                    f"{self.endpoint.display} does not look like barbossad ({details})",
                    ExitCode.UNAVAILABLE,
                )
            return CliError(
                f"this barbossad does not implement {method} yet", ExitCode.UNIMPLEMENTED
            )
        message = details or f"{method} failed: {code.name.lower()}"
        return CliError(message, exit_for_status(code.name))

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()
