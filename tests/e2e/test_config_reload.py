"""Reload re-reads the config file: live settings apply to new runs; a broken file changes
nothing."""

from __future__ import annotations

import json

from harness import DaemonProcess, MakeDaemon

WRITER = """
name: writer
variables:
  target: {type: string, required: true}
tasks:
  - id: write
    type: file_operation
    operation: write
    destination: "{{ target }}"
    content: "hello"
"""


def test_reload_applies_allowed_roots_and_rejects_a_broken_file(make_daemon: MakeDaemon) -> None:
    d: DaemonProcess = make_daemon({"writer.yaml": WRITER})
    first, second = d.root / "first", d.root / "second"
    first.mkdir()
    second.mkdir()
    cfg = d.root / "barbossad.yaml"
    cfg.write_text(f"allowed_roots: [{first}]\n")
    d.extra_args = ["--config", str(cfg)]
    d.start()

    denied = d.ctl("exec", "writer", "-p", f"target={second}/out.txt")
    assert denied.returncode == 1
    assert not (second / "out.txt").exists()

    cfg.write_text(f"allowed_roots: [{first}, {second}]\n")
    assert d.ctl("reload").returncode == 0
    allowed = d.ctl("exec", "writer", "-p", f"target={second}/out.txt")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert (second / "out.txt").read_text() == "hello"

    cfg.write_text("allowed_rots: []\n")
    broken = d.ctl("reload")
    assert broken.returncode == 5
    assert "unknown setting 'allowed_rots' (did you mean 'allowed_roots'?)" in broken.stderr
    again = d.ctl("exec", "writer", "-p", f"target={second}/again.txt")
    assert again.returncode == 0  # the running configuration was kept
    status = json.loads(d.ctl("-o", "json", "status", check=True).stdout)
    assert status["accepting"] is True
