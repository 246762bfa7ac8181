"""Webhooks the way a user drives them: a template with a webhook trigger, a real barbossad with
`--http`, signed HTTP deliveries, results through barbossactl and in the database."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import sqlite3
import urllib.error
import urllib.request
from typing import Any

from harness import DaemonProcess, MakeDaemon

SECRET = b"e2e hook secret"
DEPLOY = """
name: Deploy
variables:
  version: {required: true}
triggers:
  - webhook:
      name: deploy
      secret_env: BB_E2E_HOOK_SECRET
      max_body: 1KiB
      parameters: {version: release.tag_name}
tasks:
  - id: ship
    type: shell_command
    command: "echo deployed {{ version }}"
"""


def base_url(d: DaemonProcess) -> str:
    """The listener's URL, as the daemon logged it before READY (it was asked for port 0)."""
    found = re.search(r"HTTP listener on (http://127\.0\.0\.1:\d+)", d.log())
    assert found, d.log()
    return found.group(1)


def request(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    req = urllib.request.Request(
        url, data=body, headers=headers or {}, method="POST" if body is not None else "GET"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    return status, json.loads(text) if text.startswith("{") else text


def deliver(
    d: DaemonProcess, payload: Any, delivery: str, secret: bytes = SECRET
) -> tuple[int, Any]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "release",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
    }
    return request(f"{base_url(d)}/hooks/deploy", body, headers)


def test_webhook_delivery_runs_the_workflow(make_daemon: MakeDaemon) -> None:
    d = make_daemon(
        templates={"deploy.yaml": DEPLOY},
        extra_args=["--http", "127.0.0.1:0"],
        env={"BB_E2E_HOOK_SECRET": SECRET.decode()},
    ).start()
    assert request(f"{base_url(d)}/healthz") == (200, "ok\n")

    status, answer = deliver(d, {"action": "published", "release": {"tag_name": "v1.2"}}, "gh-1")
    assert status == 202, answer
    run_id = answer["run_id"]
    follow = d.ctl("logs", str(run_id), "-f", check=True)  # follows until the run ends
    assert "deployed v1.2" in follow.stdout
    run = json.loads(d.ctl("-o", "json", "run", str(run_id), check=True).stdout)
    assert (run["state"], run["trigger"]) == ("succeeded", "webhook")
    assert run["parameters"] == {"version": "v1.2"}
    assert run["triggered_by"] == "webhook deploy delivery gh-1"

    refused = [
        deliver(d, {"release": {"tag_name": "v6.6.6"}}, "gh-2", secret=b"guessed"),  # forged
        deliver(d, {"action": "published", "release": {"tag_name": "v1.2"}}, "gh-1"),  # replay
        deliver(d, {"release": {"tag_name": "x" * 2000}}, "gh-3"),  # over max_body
        deliver(d, {"release": {}}, "gh-4"),  # required variable not in the payload
    ]
    assert [status for status, _ in refused] == [401, 401, 413, 422]
    assert "parameters.version: parameter 'version' is required" in refused[3][1]["error"]

    runs = json.loads(d.ctl("-o", "json", "runs", check=True).stdout)
    assert [r["id"] for r in runs["runs"]] == [run_id]  # nothing else ran

    d.signal(signal.SIGTERM)
    assert d.wait(30) == 0
    with sqlite3.connect(d.state_dir / "workflows.db") as db:
        rows = db.execute(
            "SELECT delivery_id, outcome, status, run_id FROM webhook_deliveries ORDER BY id"
        ).fetchall()
    assert rows == [
        ("gh-1", "accepted", 202, run_id),
        ("gh-2", "bad_signature", 401, None),
        ("gh-1", "replay", 401, None),
        ("gh-3", "too_large", 413, None),
        ("gh-4", "bad_payload", 422, None),
    ]
    log = d.log()
    assert SECRET.decode() not in log and "sha256=" not in log
    assert log.index("HTTP listener on") < log.index("ready:")
    stopped = re.search(r"HTTP listener on \S+ stopped", log)
    assert stopped and log.index("stop signal received") < stopped.start() < log.index(
        "barbossad stopped"
    )


def test_http_off_and_a_taken_port(make_daemon: MakeDaemon) -> None:
    first = make_daemon(extra_args=["--http", "127.0.0.1:0"]).start()
    taken = base_url(first).rsplit(":", 1)[1]
    second = make_daemon(extra_args=["--http", f"127.0.0.1:{taken}"]).start(wait=False)
    assert second.wait(30) == 1
    assert f"cannot listen on 127.0.0.1:{taken} for webhooks" in second.log()
    off = make_daemon().start()  # the harness passes --http off
    assert "HTTP listener disabled" in off.log()
