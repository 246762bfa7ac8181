"""What every command gets: where the daemon is, the output format, a lazily opened client.

Importing this module is cheap: grpc is imported only when a command first needs the client.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from barbossactl.client import Client

SYSTEM_SOCKET = "/run/barbossad/barbossad.sock"
SOCKET_ENV = "BARBOSSA_SOCKET"
OUTPUT_FORMATS = ("table", "json", "yaml")


def default_socket() -> str:
    """$BARBOSSA_SOCKET, else the daemon's default for this user (root: the system socket)."""
    from_env = os.environ.get(SOCKET_ENV)
    if from_env:
        return from_env
    if os.geteuid() == 0:
        return SYSTEM_SOCKET
    return str(Path.home() / "barbossa-engineer" / "barbossad.sock")


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """Where barbossad listens: a Unix socket (`socket` set) or a TCP address."""

    target: str  # the gRPC target, e.g. "unix:/run/barbossad/barbossad.sock"
    display: str  # what to call it in messages
    socket: str | None = None

    @classmethod
    def resolve(cls, socket: str | None, address: str | None) -> Endpoint:
        """--address wins (TCP); else --socket, $BARBOSSA_SOCKET or the default socket."""
        if address:
            return cls(target=address, display=address)
        path = os.path.abspath(os.path.expanduser(socket or default_socket()))
        return cls(target=f"unix:{path}", display=path, socket=path)


@dataclass(slots=True, kw_only=True)
class Settings:
    """The global options, parsed."""

    endpoint: Endpoint
    output: str = "table"
    timeout: float = 30.0
    debug: bool = False


class Context:
    """Per-invocation state shared by the command functions."""

    def __init__(self, settings: Settings, stdout: TextIO | None = None) -> None:
        self.settings = settings
        self.output = settings.output
        self.stdout = stdout if stdout is not None else sys.stdout
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The gRPC client, connected on first use."""
        if self._client is None:
            from barbossactl.client import Client

            self._client = Client(self.settings.endpoint, self.settings.timeout)
        return self._client

    def call(self, stub_class: Callable[[Any], Any], method: str, request: Any) -> Any:
        """One unary RPC: `stub_class` is a generated *Stub class, `method` its RPC name."""
        return self.client.call(stub_class, method, request)

    @property
    def structured(self) -> bool:
        """True when the output is json or yaml rather than a table."""
        return self.output != "table"

    def emit(self, data: Any, table: Callable[[], str]) -> None:
        """Print `data` (a message or plain data) as json/yaml, or `table()` in table mode."""
        if self.output == "table":
            self.write(table())
            return
        from barbossactl import convert, render

        plain = convert.to_plain(data)
        self.write(render.dump_json(plain) if self.output == "json" else render.dump_yaml(plain))

    def write(self, text: str) -> None:
        """Write text to stdout, ending it with a newline, and flush."""
        if text and not text.endswith("\n"):
            text += "\n"
        self.stdout.write(text)
        self.stdout.flush()

    def close(self) -> None:
        """Close the channel, if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None
