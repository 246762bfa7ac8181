"""Webhooks end to end in process: a real aiohttp listener, the real engine, real shell tasks.

A good delivery runs the workflow with parameters mapped from the payload; a bad signature, a
replay and an oversized body are refused with 401/413, start nothing, and are recorded.
"""

from __future__ import annotations

import json

import aiohttp
import pytest
from trigkit import SECRET, HookClient, output_of, write_template

from barbossad.engine.engine import WorkflowEngine
from barbossad.models import RunState, TriggerType
from barbossad.store.base import DeliveryOutcome, RunFilter
from barbossad.triggers.service import TriggerService

DEPLOY = """
name: Deploy
variables:
  ref: main
  sha: ""
  count: {type: int, default: "1"}
triggers:
  - webhook:
      name: deploy
      secret_env: BB_TEST_HOOK_SECRET
      max_body: 4KiB
      parameters: {ref: ref, sha: head_commit.id, count: commits.0.count}
tasks:
  - id: show
    type: shell_command
    command: "echo ref={{ ref }} sha={{ sha }} count={{ count }}"
"""
PUSH = {"ref": "refs/tags/v1.2", "head_commit": {"id": "abc123"}, "commits": [{"count": 3}]}


@pytest.fixture(autouse=True)
def deploy(engine: WorkflowEngine, service: TriggerService) -> None:
    write_template(engine, "deploy", DEPLOY)


async def run_count(engine: WorkflowEngine) -> int:
    return (await engine.store.list_runs(RunFilter(), limit=1, before_id=None))[1]


async def test_signed_delivery_runs_with_mapped_parameters(
    engine: WorkflowEngine, client: HookClient
) -> None:
    status, answer = await client.post("deploy", PUSH, delivery="gh-1")
    assert status == 202, answer
    assert answer["delivery"] == "gh-1"
    run = await engine.wait(answer["run_id"])
    assert run.state is RunState.SUCCEEDED
    assert run.workflow == "deploy"
    assert run.trigger is TriggerType.WEBHOOK
    assert run.triggered_by == "webhook deploy delivery gh-1"
    assert dict(run.parameters) == {"ref": "refs/tags/v1.2", "sha": "abc123", "count": "3"}
    assert "ref=refs/tags/v1.2 sha=abc123 count=3" in await output_of(engine, run.id)
    [record] = await engine.store.list_deliveries("deploy")
    assert (record.outcome, record.status, record.run_id) == (DeliveryOutcome.ACCEPTED, 202, run.id)
    assert record.delivery_id == "gh-1" and len(record.digest) == 64


async def test_missing_payload_fields_leave_defaults(
    engine: WorkflowEngine, client: HookClient
) -> None:
    status, answer = await client.post("deploy", {"zen": "Keep it logically awesome."})
    assert status == 202, answer
    run = await engine.wait(answer["run_id"])
    assert dict(run.parameters) == {"ref": "main", "sha": "", "count": "1"}


async def test_bad_signature_is_refused_recorded_and_never_logged(
    engine: WorkflowEngine, client: HookClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "sha256=" + "0" * 64
    for signature in (forged, None, "sha1=abc"):
        status, answer = await client.post("deploy", PUSH, signature=signature)
        assert status == 401, answer
        assert "X-Hub-Signature-256" in answer["error"]
    wrong_key = HookClient(client.session, client.base_url, b"not the secret")
    status, _ = await wrong_key.post("deploy", PUSH, delivery="wrong-key")
    assert status == 401
    assert await run_count(engine) == 0
    records = await engine.store.list_deliveries("deploy")
    assert [r.outcome for r in records] == [DeliveryOutcome.BAD_SIGNATURE] * 4
    assert all(r.status == 401 and r.run_id is None for r in records)
    assert SECRET not in caplog.text and forged[7:] not in caplog.text
    assert "refused 401 (bad_signature)" in caplog.text


async def test_replayed_delivery_is_refused(engine: WorkflowEngine, client: HookClient) -> None:
    status, first = await client.post("deploy", PUSH, delivery="gh-7")
    assert status == 202
    status, again = await client.post("deploy", PUSH, delivery="gh-7")
    assert (status, again["error"]) == (401, "this delivery was already accepted (replay)")
    # The delivery id is not signed: the same signed body under a new id is a replay too.
    status, renamed = await client.post("deploy", PUSH, delivery="gh-8")
    assert status == 401, renamed
    await engine.wait(first["run_id"])
    assert await run_count(engine) == 1
    outcomes = [r.outcome for r in await engine.store.list_deliveries("deploy")]
    assert outcomes == [DeliveryOutcome.REPLAY, DeliveryOutcome.REPLAY, DeliveryOutcome.ACCEPTED]


async def test_forged_request_cannot_burn_a_delivery_id(
    engine: WorkflowEngine, client: HookClient
) -> None:
    status, _ = await client.post("deploy", PUSH, delivery="gh-9", signature="sha256=" + "f" * 64)
    assert status == 401
    status, answer = await client.post("deploy", PUSH, delivery="gh-9")
    assert status == 202, answer
    await engine.wait(answer["run_id"])


async def test_oversized_body_is_refused_413(engine: WorkflowEngine, client: HookClient) -> None:
    big = json.dumps({"ref": "x" * 5000}).encode()
    status, answer = await client.post("deploy", body=big)  # refused from Content-Length
    assert status == 413, answer
    assert "4096" in answer["error"]

    async def chunks():  # no Content-Length: refused while reading, past the cap
        for _ in range(10):
            yield b" " * 1000

    async with client.session.post(
        f"{client.base_url}/hooks/deploy",
        data=chunks(),
        headers={"X-GitHub-Delivery": "chunked", "X-Hub-Signature-256": "sha256=00"},
    ) as response:
        assert response.status == 413
        assert "over 4096 bytes" in (await response.json())["error"]
    assert await run_count(engine) == 0
    records = await engine.store.list_deliveries("deploy")
    assert [(r.outcome, r.status) for r in records] == [(DeliveryOutcome.TOO_LARGE, 413)] * 2
    assert records[0].delivery_id == "chunked"


async def test_body_exactly_at_the_cap_is_accepted(
    engine: WorkflowEngine, client: HookClient
) -> None:
    body = json.dumps({"ref": "main", "pad": ""}).encode()
    body = body[:-2] + b" " * (4096 - len(body)) + body[-2:]
    assert len(body) == 4096
    status, answer = await client.post("deploy", body=body)
    assert status == 202, answer
    await engine.wait(answer["run_id"])


async def test_healthz_follows_the_engine(engine: WorkflowEngine, client: HookClient) -> None:
    async with client.session.get(f"{client.base_url}/healthz") as response:
        assert (response.status, await response.text()) == (200, "ok\n")
    engine.accepting = False  # what draining does
    async with client.session.get(f"{client.base_url}/healthz") as response:
        assert (response.status, await response.text()) == (503, "draining\n")
    status, answer = await client.post("deploy", PUSH)
    assert (status, answer["error"]) == (503, "barbossad is shutting down")
    [record] = await engine.store.list_deliveries()
    assert record.outcome is DeliveryOutcome.UNAVAILABLE


async def test_stopped_listener_refuses_connections(service: TriggerService) -> None:
    url = service.url
    await service.stop()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(f"{url}/healthz"):
                pass
