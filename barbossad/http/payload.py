"""Webhook payloads: a JSON body -> run parameters, by the hook's `parameters:` mapping.

Each parameter names a dotted path into the payload (`head_commit.id`, `commits.0.id`: a
number indexes a list). A path that leads nowhere, or to null, supplies nothing, so the
variable's default applies. Text stays as it is, true/false become "true"/"false", numbers
their JSON text, and lists and objects compact JSON. The body is parsed only when the hook maps
something: a hook without parameters accepts any body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from barbossad.errors import InvalidArgumentError

_MISSING = object()


class PayloadError(InvalidArgumentError):
    """The body is not the JSON the hook's mapping needs."""


def map_payload(body: bytes, mapping: Mapping[str, str]) -> dict[str, str]:
    """The parameters `mapping` (variable -> dotted path) picks out of the JSON `body`."""
    if not mapping:
        return {}
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PayloadError(
            "payload is not UTF-8 text; send JSON (Content-Type: application/json)"
        ) from None
    except ValueError as exc:
        raise PayloadError(
            f"payload is not JSON ({exc}); send Content-Type: application/json"
        ) from None
    except RecursionError:
        raise PayloadError("payload nests too deeply") from None
    parameters: dict[str, str] = {}
    for name, path in mapping.items():
        value = lookup(data, path)
        if value is not _MISSING and value is not None:
            try:
                parameters[name] = as_text(value)
            except RecursionError:
                raise PayloadError(f"the value at {path!r} nests too deeply") from None
    return parameters


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path, or a sentinel (not None: null is a value) when absent."""
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def as_text(value: Any) -> str:
    """A JSON value as parameter text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
