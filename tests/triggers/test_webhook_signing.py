"""Pure webhook pieces: signatures, delivery ids, timestamps, payload mapping, --http values,
and the delivery table's replay rules on a real SQLite file."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barbossad.definitions.trigger_model import WebhookTrigger
from barbossad.errors import StartupError
from barbossad.http import signing
from barbossad.http.payload import PayloadError, as_text, map_payload
from barbossad.http.server import parse_listen_address
from barbossad.store.base import DeliveryOutcome, WebhookDelivery
from barbossad.store.sqlite import SQLiteStore

# GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
GITHUB_SECRET = b"It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_signature_matches_githubs_documented_example() -> None:
    assert signing.sign(GITHUB_SECRET, b"Hello, World!") == GITHUB_SIGNATURE
    assert signing.signature_matches(GITHUB_SECRET, b"Hello, World!", GITHUB_SIGNATURE)
    assert signing.signature_matches(GITHUB_SECRET, b"Hello, World!", GITHUB_SIGNATURE.upper())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        GITHUB_SIGNATURE[:-1],
        GITHUB_SIGNATURE[7:],
        "sha1=" + "0" * 40,
        "sha256=zz\u00e9",
    ],
)
def test_signature_mismatches(header: str | None) -> None:
    assert not signing.signature_matches(GITHUB_SECRET, b"Hello, World!", header)


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=40))
def test_any_body_verifies_only_under_its_secret(body: bytes, secret: bytes) -> None:
    header = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert signing.signature_matches(secret, body, header)
    assert not signing.signature_matches(secret + b"x", body, header)


def test_timestamp_is_signed_with_the_body() -> None:
    assert signing.signed_bytes(b"{}", None) == b"{}"
    assert signing.signed_bytes(b"{}", "1700000000") == b"1700000000.{}"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        ),
        ({"X-Barbossa-Delivery": " job:42.1 "}, "job:42.1"),
        ({"X-GitHub-Delivery": "a", "X-Barbossa-Delivery": "b"}, "a"),
        ({}, None),
        ({"X-GitHub-Delivery": "two words"}, None),
        ({"X-GitHub-Delivery": "x" * 129}, None),
    ],
)
def test_delivery_ids(headers: dict[str, str], expected: str | None) -> None:
    assert signing.delivery_id(headers) == expected


def test_printable_id_is_safe_for_logs() -> None:
    assert signing.printable_id({"X-GitHub-Delivery": "a\nb c"}) == "a?b?c"


@pytest.mark.parametrize(
    ("sent", "problem"),
    [
        ("1000", ""),
        ("700", ""),
        ("1300", ""),
        ("699", "301s old"),
        ("1301", "in the future"),
        ("x", "Unix time"),
    ],
)
def test_timestamp_window(sent: str, problem: str) -> None:
    found = signing.timestamp_problem(sent, now=1000.0)
    assert (problem in found) if problem else found == ""


def test_secrets_from_environment_and_file(tmp_path: Path) -> None:
    assert signing.load_secret(WebhookTrigger(secret_env="S"), {"S": "env"}) == b"env"
    with pytest.raises(signing.SecretUnavailableError, match="S is not set"):
        signing.load_secret(WebhookTrigger(secret_env="S"), {})
    path = tmp_path / "hook.secret"
    path.write_bytes(b"from file\r\n")
    path.chmod(0o600)
    trigger = WebhookTrigger(secret_file=str(path))
    assert signing.load_secret(trigger) == b"from file"
    assert signing.secret_problem(trigger) == ""
    path.chmod(0o644)
    assert "readable or writable by every user" in signing.secret_problem(trigger)
    path.write_bytes(b"\n")
    with pytest.raises(signing.SecretUnavailableError, match="is empty"):
        signing.load_secret(trigger)
    assert "cannot read" in signing.secret_problem(WebhookTrigger(secret_file=str(tmp_path / "no")))


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ({"ref": "ref"}, {"ref": "refs/heads/main"}),
        ({"sha": "head_commit.id", "n": "commits.1.n"}, {"sha": "abc", "n": "2"}),
        ({"ok": "flags.ok", "ratio": "flags.ratio"}, {"ok": "true", "ratio": "0.5"}),
        (
            {"files": "commits.0.files", "commit": "commits.0"},
            {"files": '["a","b"]', "commit": '{"n":1,"files":["a","b"]}'},
        ),
        ({"gone": "nothing.here", "null": "empty", "oob": "commits.5", "neg": "commits.-1"}, {}),
    ],
)
def test_payload_mapping(mapping: dict[str, str], expected: dict[str, str]) -> None:
    body = (
        b'{"ref": "refs/heads/main", "head_commit": {"id": "abc"}, "empty": null,'
        b' "commits": [{"n": 1, "files": ["a", "b"]}, {"n": 2}],'
        b' "flags": {"ok": true, "ratio": 0.5}}'
    )
    assert map_payload(body, mapping) == expected


def test_payload_is_only_parsed_when_something_is_mapped() -> None:
    assert map_payload(b"not json at all", {}) == {}
    with pytest.raises(PayloadError, match="not JSON"):
        map_payload(b"not json at all", {"a": "b"})
    assert as_text("\u00e9") == "\u00e9" and as_text(False) == "false" and as_text(7) == "7"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:9740", ("127.0.0.1", 9740)),
        ("[::1]:80", ("::1", 80)),
        ("localhost:0", ("localhost", 0)),
        ("off", None),
        ("", None),
        ("OFF", None),
    ],
)
def test_listen_addresses(text: str, address: tuple[str, int] | None) -> None:
    assert parse_listen_address(text) == address


@pytest.mark.parametrize("text", ["9740", ":9740", "host:", "host:http", "host:70000"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(StartupError, match="expected HOST:PORT"):
        parse_listen_address(text)


async def test_delivery_table_replay_rules(tmp_path: Path) -> None:
    store = SQLiteStore.open(tmp_path / "db.sqlite")
    now = datetime.now(UTC)

    def delivery(hook: str, delivery_id: str, digest: str, **kw: object) -> WebhookDelivery:
        fields: dict[str, object] = {
            "outcome": DeliveryOutcome.ACCEPTED,
            "status": 202,
            "received_at": now,
        }
        fields.update(kw)
        return WebhookDelivery(hook=hook, delivery_id=delivery_id, digest=digest, **fields)  # type: ignore[arg-type]

    try:
        first = await store.claim_delivery(delivery("h", "d1", "x"))
        assert first is not None
        assert await store.claim_delivery(delivery("h", "d1", "y")) is None  # same id
        assert await store.claim_delivery(delivery("h", "d2", "x")) is None  # same signed body
        assert await store.claim_delivery(delivery("other", "d1", "x")) is not None  # per hook
        rejected = delivery("h", "d3", "z", outcome=DeliveryOutcome.BAD_SIGNATURE, status=401)
        await store.record_delivery(rejected)
        await store.record_delivery(rejected)  # rejected rows are not unique...
        assert await store.claim_delivery(delivery("h", "d3", "z")) is not None  # ...nor block
        await store.settle_delivery(first, outcome=DeliveryOutcome.ACCEPTED, status=202, run_id=9)
        rows = await store.list_deliveries("h")
        assert [(r.delivery_id, r.outcome.value) for r in rows] == [
            ("d3", "accepted"),
            ("d3", "bad_signature"),
            ("d3", "bad_signature"),
            ("d1", "accepted"),
        ]
        assert rows[-1].run_id == 9
        old = delivery(
            "h",
            "d4",
            "w",
            outcome=DeliveryOutcome.TOO_LARGE,
            status=413,
            received_at=now - timedelta(days=40),
        )
        await store.record_delivery(old)
        assert await store.prune_deliveries(now - timedelta(days=30)) == 1
        assert await store.prune_deliveries(now + timedelta(days=1)) == 2  # accepted rows stay
        assert len(await store.list_deliveries()) == 3
        with pytest.raises(ValueError, match="claimed"):
            await store.record_delivery(delivery("h", "d5", "v"))
    finally:
        await store.close()
