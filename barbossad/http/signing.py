"""Webhook authentication, pure: secrets, HMAC-SHA256 signatures, delivery ids, timestamps.

The signature scheme is GitHub's: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
body>` under the hook's secret, plus a delivery id (`X-GitHub-Delivery`, or
`X-Barbossa-Delivery` for other senders). A sender may add `X-Barbossa-Timestamp: <Unix
seconds>`; the signature then covers `<timestamp>.<body>`, so the timestamp cannot be altered,
and a request older or newer than five minutes is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from collections.abc import Mapping

from barbossad.definitions.trigger_model import WebhookTrigger
from barbossad.errors import BarbossaError

SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADERS = ("X-GitHub-Delivery", "X-Barbossa-Delivery")
TIMESTAMP_HEADER = "X-Barbossa-Timestamp"
MAX_SKEW = 300.0
_DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
_PREFIX = "sha256="


class SecretUnavailableError(BarbossaError):
    """A hook's secret cannot be read (variable unset, file missing or empty)."""


def load_secret(trigger: WebhookTrigger, environ: Mapping[str, str] | None = None) -> bytes:
    """The hook's secret, read now (so a rotated secret needs no reload)."""
    if trigger.secret_env is not None:
        value = (os.environ if environ is None else environ).get(trigger.secret_env, "")
        if not value:
            raise SecretUnavailableError(
                f"environment variable {trigger.secret_env} is not set or empty"
            )
        return value.encode()
    if trigger.secret_file is None:
        raise SecretUnavailableError("the hook names no secret")
    try:
        with open(trigger.secret_file, "rb") as handle:
            data = handle.read(64 * 1024)
    except OSError as exc:
        raise SecretUnavailableError(f"cannot read {trigger.secret_file}: {exc.strerror}") from None
    secret = data.rstrip(b"\r\n")  # `echo secret > file` leaves a newline
    if not secret:
        raise SecretUnavailableError(f"{trigger.secret_file} is empty")
    return secret


def secret_problem(trigger: WebhookTrigger, environ: Mapping[str, str] | None = None) -> str:
    """Why the hook's secret is unusable or unsafe right now, or "" (for a startup warning)."""
    try:
        load_secret(trigger, environ)
    except SecretUnavailableError as exc:
        return str(exc)
    if trigger.secret_file is not None:
        try:
            mode = os.stat(trigger.secret_file).st_mode
        except OSError as exc:
            return f"cannot stat {trigger.secret_file}: {exc.strerror}"
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            return f"{trigger.secret_file} is readable or writable by every user; chmod 600 it"
    return ""


def signed_bytes(body: bytes, timestamp: str | None) -> bytes:
    """What the signature covers: the body, or `<timestamp>.<body>` when a timestamp is sent."""
    return body if timestamp is None else timestamp.encode() + b"." + body


def sign(secret: bytes, signed: bytes) -> str:
    """The header value a sender puts in X-Hub-Signature-256."""
    return _PREFIX + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def signature_matches(secret: bytes, signed: bytes, header: str | None) -> bool:
    """True when `header` is `sha256=<hex>` of `signed` under `secret` (constant-time compare)."""
    given = (header or "").strip().lower()
    if not given.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, signed).encode(), given.encode("utf-8", "replace"))


def delivery_id(headers: Mapping[str, str]) -> str | None:
    """The delivery id sent (GitHub's header first), or None when absent or malformed."""
    for name in DELIVERY_HEADERS:
        value = headers.get(name)
        if value is not None:
            value = value.strip()
            return value if _DELIVERY_ID.match(value) else None
    return None


def printable_id(headers: Mapping[str, str]) -> str:
    """The delivery id for records and logs, even when malformed (shortened, safe characters)."""
    for name in DELIVERY_HEADERS:
        value = headers.get(name)
        if value is not None:
            return re.sub(r"[^A-Za-z0-9._:-]", "?", value.strip()[:128])
    return ""


def timestamp_problem(text: str, now: float, max_skew: float = MAX_SKEW) -> str:
    """Why an X-Barbossa-Timestamp is not acceptable at `now`, or ""."""
    try:
        sent = int(text.strip())
    except ValueError:
        return f"{TIMESTAMP_HEADER} is not a Unix time in seconds"
    skew = now - sent
    if abs(skew) > max_skew:
        when = "old" if skew > 0 else "in the future"
        return f"{TIMESTAMP_HEADER} is {abs(skew):.0f}s {when}; at most {max_skew:.0f}s allowed"
    return ""


def digest(signed: bytes) -> str:
    """sha256 hex of the signed bytes: the same signed request is accepted only once."""
    return hashlib.sha256(signed).hexdigest()
