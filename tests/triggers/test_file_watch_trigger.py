"""`file_watch` triggers with the real engine and a real watchdog observer on tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from trigkit import FinishedRuns, output_of, write_template

from barbossad.definitions.trigger_model import FileChange
from barbossad.engine.engine import WorkflowEngine
from barbossad.models import RunState, TriggerType
from barbossad.triggers.filewatch import net_change
from barbossad.triggers.service import TriggerService


def importer(directory: Path, extra: str = "") -> str:
    return f"""
    name: import csv
    variables:
      changed_path: ""
      change: ""
    triggers:
      - file_watch:
          path: {directory}
          pattern: "*.csv"
          debounce: 0.2
          {extra}
    tasks:
      - id: load
        type: shell_command
        command: 'echo "{{{{ change }}}} $(wc -l < "{{{{ changed_path }}}}") lines"'
    """


@pytest.fixture
def incoming(tmp_path: Path) -> Path:
    path = tmp_path / "incoming"
    path.mkdir()
    return path


async def test_dropped_file_starts_a_run_with_its_path(
    engine: WorkflowEngine, service: TriggerService, finished: FinishedRuns, incoming: Path
) -> None:
    write_template(engine, "importer", importer(incoming))
    assert service.registry.files.watched("importer") == [str(incoming)]
    (incoming / "notes.txt").write_text("not a csv\n")
    with (incoming / "sales.csv").open("w") as handle:  # created, then written in pieces
        for line in ("a,b\n", "1,2\n", "3,4\n"):
            handle.write(line)
            handle.flush()
    run = await finished.wait_for(lambda r: r.workflow == "importer")
    assert run.state is RunState.SUCCEEDED
    assert run.trigger is TriggerType.FILE_WATCH
    assert dict(run.parameters) == {
        "changed_path": str(incoming / "sales.csv"),
        "change": "created",
    }
    assert run.triggered_by == f"file created: {incoming / 'sales.csv'}"
    assert "created 3 lines" in await output_of(engine, run.id)
    assert len(finished.runs) == 1  # the .txt was never a candidate, the burst was one run


async def test_rename_into_place_counts_as_moved(
    engine: WorkflowEngine, service: TriggerService, finished: FinishedRuns, incoming: Path
) -> None:
    write_template(engine, "importer", importer(incoming))
    partial = incoming / "upload.csv.part"
    partial.write_text("x\n")
    os.rename(partial, incoming / "upload.csv")
    run = await finished.wait_for(lambda r: r.workflow == "importer")
    assert run.parameters["change"] == "moved"
    assert run.parameters["changed_path"] == str(incoming / "upload.csv")


async def test_a_single_file_and_no_declared_parameters(
    engine: WorkflowEngine, service: TriggerService, finished: FinishedRuns, tmp_path: Path
) -> None:
    flag = tmp_path / "deploy.flag"  # does not exist yet: watched through its directory
    write_template(
        engine,
        "flagged",
        f"""
        name: flagged
        triggers:
          - file_watch: {{path: {flag}, events: [created, modified], debounce: 0.1}}
        tasks:
          - {{id: go, type: shell_command, command: "echo go"}}
        """,
    )
    (tmp_path / "other.flag").write_text("ignored")
    flag.write_text("now")
    run = await finished.wait_for(lambda r: r.workflow == "flagged")
    assert dict(run.parameters) == {}
    assert run.triggered_by == f"file created: {flag}"


async def test_watch_is_dropped_when_the_template_goes(
    engine: WorkflowEngine, service: TriggerService, incoming: Path
) -> None:
    path = write_template(engine, "importer", importer(incoming, "recursive: true"))
    assert service.registry.files.watched("importer") == [str(incoming)]
    path.unlink()
    engine.catalog.remove_file(path)
    assert service.registry.files.watched("importer") == []


async def test_missing_directory_is_not_watched(
    engine: WorkflowEngine,
    service: TriggerService,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_template(engine, "importer", importer(tmp_path / "nope" / "deeper"))
    assert service.registry.files.watched("importer") == []
    assert "does not exist; not watched until a reload" in caplog.text


@pytest.mark.parametrize(
    ("changes", "net"),
    [
        (["created", "modified", "modified"], "created"),
        (["modified"], "modified"),
        (["created", "deleted"], "deleted"),
        (["deleted", "created"], "created"),
        (["moved", "modified"], "moved"),
    ],
)
def test_net_change_of_a_burst(changes: list[str], net: str) -> None:
    assert net_change([FileChange(c) for c in changes]) is FileChange(net)


async def test_a_triggered_task_does_not_inherit_the_watchers_inotify_descriptor(
    engine: WorkflowEngine, service: TriggerService, finished: FinishedRuns, tmp_path: Path
) -> None:
    # watchdog opens its inotify descriptor without close-on-exec, after the engine started.
    flag = tmp_path / "go.flag"
    write_template(
        engine,
        "fds",
        f"""
        name: fds
        triggers:
          - file_watch: {{path: {flag}, events: [created], debounce: 0.1}}
        tasks:
          - {{id: list, type: shell_command, command: "ls /proc/$$/fd; true"}}
        """,
    )
    flag.write_text("now")
    run = await finished.wait_for(lambda r: r.workflow == "fds")
    assert run.state is RunState.SUCCEEDED
    assert (await output_of(engine, run.id)).split() == ["0", "1", "2"]
