"""Webhook rules beyond the signature: hook names, delivery ids, timestamps, payload mapping,
secrets from files, and hooks following hot reload."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from trigkit import HookClient, write_template

from barbossad.engine.engine import WorkflowEngine
from barbossad.http.signing import sign, signed_bytes
from barbossad.models import RunState
from barbossad.store.base import DeliveryOutcome
from barbossad.triggers.service import TriggerService

BUILD = """
name: Build
variables:
  branch: {type: choice, choices: [main, dev], default: main}
  jobs: {type: int, default: "2"}
triggers:
  - webhook:
      secret_env: BB_TEST_HOOK_SECRET
      parameters: {branch: branch, jobs: jobs}
tasks:
  - {id: make, type: shell_command, command: "echo make -j{{ jobs }} {{ branch }}"}
"""


@pytest.fixture(autouse=True)
def build(engine: WorkflowEngine, service: TriggerService) -> None:
    write_template(engine, "build", BUILD)  # the hook takes the template's name


async def outcomes(engine: WorkflowEngine, hook: str) -> list[DeliveryOutcome]:
    return [r.outcome for r in reversed(await engine.store.list_deliveries(hook))]


async def test_unknown_hook_is_404_and_recorded(engine: WorkflowEngine, client: HookClient) -> None:
    status, answer = await client.post("nope", {})
    assert (status, answer["error"]) == (404, "no webhook named 'nope'")
    assert await outcomes(engine, "nope") == [DeliveryOutcome.UNKNOWN_HOOK]


@pytest.mark.parametrize("delivery", [None, "", "has space", "x" * 129])
async def test_delivery_id_is_required(
    engine: WorkflowEngine, client: HookClient, delivery: str | None
) -> None:
    status, answer = await client.post("build", {}, delivery=delivery)
    assert status == 401
    assert "delivery id" in answer["error"]
    assert await outcomes(engine, "build") == [DeliveryOutcome.MISSING_DELIVERY_ID]


async def test_barbossa_headers_and_a_fresh_signed_timestamp(
    engine: WorkflowEngine, client: HookClient
) -> None:
    now = str(int(time.time()))
    status, answer = await client.post(
        "build", {"jobs": 4}, delivery=None, timestamp=now, headers={"X-Barbossa-Delivery": "b-1"}
    )
    assert status == 202, answer
    run = await engine.wait(answer["run_id"])
    assert run.triggered_by == "webhook build delivery b-1"
    assert run.parameters["jobs"] == "4"


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [("1000", "old"), (str(int(time.time()) + 3600), "in the future"), ("soon", "not a Unix time")],
)
async def test_stale_or_bad_timestamp_is_401(
    engine: WorkflowEngine, client: HookClient, timestamp: str, message: str
) -> None:
    status, answer = await client.post("build", {}, timestamp=timestamp)
    assert status == 401
    assert message in answer["error"]
    assert await outcomes(engine, "build") == [DeliveryOutcome.STALE]


async def test_timestamp_is_covered_by_the_signature(client: HookClient) -> None:
    now = int(time.time())
    body = b"{}"
    # Signed for one timestamp, sent with another: the signature no longer matches.
    signature = sign(client.secret, signed_bytes(body, str(now)))
    status, answer = await client.post(
        "build", body=body, signature=signature, timestamp=str(now + 1)
    )
    assert status == 401
    assert "X-Hub-Signature-256" in answer["error"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"branch=main", "payload is not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (
            json.dumps({"branch": "release"}).encode(),
            "parameters.branch: expected one of main, dev",
        ),
        (json.dumps({"jobs": "many"}).encode(), "parameters.jobs: expected an integer, got 'many'"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ],
)
async def test_payload_the_variables_refuse_is_422(
    engine: WorkflowEngine, client: HookClient, payload: bytes, message: str
) -> None:
    status, answer = await client.post("build", body=payload)
    assert status == 422, answer
    assert message in answer["error"]
    assert engine.running_ids() == []
    assert await outcomes(engine, "build") == [DeliveryOutcome.BAD_PAYLOAD]


async def test_unset_secret_is_503_and_logged(
    engine: WorkflowEngine,
    client: HookClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("BB_TEST_HOOK_SECRET")
    status, answer = await client.post("build", {})
    assert (status, answer["error"]) == (503, "webhook not configured; see the daemon log")
    assert "environment variable BB_TEST_HOOK_SECRET is not set" in caplog.text
    assert await outcomes(engine, "build") == [DeliveryOutcome.MISCONFIGURED]


async def test_secret_file_is_read_per_delivery(
    engine: WorkflowEngine, client: HookClient, tmp_path: Path
) -> None:
    secret_file = tmp_path / "hook.secret"
    secret_file.write_text("file secret\n")
    secret_file.chmod(0o600)
    write_template(
        engine,
        "filed",
        BUILD.replace("secret_env: BB_TEST_HOOK_SECRET", f"secret_file: {secret_file}"),
    )
    status, _ = await client.post("filed", {})
    assert status == 401  # signed with the environment's secret
    with_file = HookClient(client.session, client.base_url, b"file secret")
    status, answer = await with_file.post("filed", {})
    assert status == 202, answer
    secret_file.write_text("rotated")  # no reload needed
    status, _ = await with_file.post("filed", {"jobs": 1})
    assert status == 401
    rotated = HookClient(client.session, client.base_url, b"rotated")
    status, answer2 = await rotated.post("filed", {"jobs": 1})
    assert status == 202, answer2
    for run_id in (answer["run_id"], answer2["run_id"]):
        assert (await engine.wait(run_id)).state is RunState.SUCCEEDED


async def test_hooks_follow_hot_reload(
    engine: WorkflowEngine, service: TriggerService, client: HookClient
) -> None:
    path = write_template(
        engine,
        "build",
        BUILD.replace("      secret_env:", "      name: builder\n      secret_env:"),
    )
    assert [h.name for h in service.registry.hooks()] == ["builder"]
    assert (await client.post("build", {}))[0] == 404
    status, answer = await client.post("builder", {})
    assert status == 202, answer
    await engine.wait(answer["run_id"])
    path.unlink()
    assert engine.catalog.remove_file(path)
    assert service.registry.hooks() == []
    assert (await client.post("builder", {}))[0] == 404
