"""Template schedules follow their template: declared, hot-reloaded, removed with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from schedule_support import START, FakeEngine, Rig, utc

from barbossad.catalog import TemplateCatalog
from barbossad.errors import DefinitionError
from barbossad.scheduler.fakes import FakeClock
from barbossad.scheduler.model import MisfirePolicy, OverlapPolicy, ScheduleOrigin
from barbossad.tasks.registry_default import default_registry

TASKS = """
tasks:
  - id: hi
    type: shell_command
    command: "echo hi"
"""
TWO = (
    """
name: nightly backup
schedule:
  - "* * * * * *"
  - cron: "0 3 * * *"
    timezone: Europe/Berlin
    misfire: run_all
    overlap: queue_all
    catch_up_limit: 4
"""
    + TASKS
)


@pytest.fixture
def catalog(tmp_path: Path) -> TemplateCatalog:
    directory = tmp_path / "templates"
    directory.mkdir()
    (directory / "backup.yaml").write_text(TWO)
    catalog = TemplateCatalog(directory, default_registry())
    catalog.scan()
    return catalog


async def _rig(tmp_path: Path, catalog: TemplateCatalog) -> Rig:
    return await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup"), catalog).up()


async def test_a_template_declares_its_schedules(tmp_path: Path, catalog: TemplateCatalog) -> None:
    rig = await _rig(tmp_path, catalog)
    views = await rig.scheduler.list()
    assert [v.record.origin_key for v in views] == ["template:backup#0", "template:backup#1"]
    first, second = (v.record for v in views)
    assert first.origin is ScheduleOrigin.TEMPLATE and first.workflow == "backup"  # the file stem
    assert (second.spec.misfire, second.spec.overlap) == (
        MisfirePolicy.RUN_ALL,
        OverlapPolicy.QUEUE_ALL,
    )
    assert (second.spec.timezone, second.spec.catch_up_limit) == ("Europe/Berlin", 4)
    assert views[1].next_fire_time == utc("2026-03-03T02:00:00")  # 03:00 CET
    await rig.advance(2)
    assert len(rig.engine.runs) == 1  # overlap skip: the second slot found the first still running
    await rig.down()


async def test_editing_the_template_updates_its_schedules(
    tmp_path: Path, catalog: TemplateCatalog
) -> None:
    rig = await _rig(tmp_path, catalog)
    ids = [v.record.id for v in await rig.scheduler.list()]
    await rig.advance(1)
    path = catalog.directory / "backup.yaml"
    path.write_text('name: nightly backup\nschedule: "*/2 * * * * *"\n' + TASKS)
    catalog.load_file(path)
    await rig.scheduler.idle()
    views = await rig.scheduler.list()
    assert [(v.record.id, v.record.spec.expression) for v in views] == [(ids[0], "*/2 * * * * *")]
    assert views[0].record.last_slot == utc("2026-03-02T10:00:01")  # history kept
    assert views[0].record.active_since == rig.clock.now()  # but nothing before the edit is due
    await rig.finish_all()
    await rig.advance(1)  # :02
    await rig.finish_all()
    await rig.advance(2)  # :03 does not match, :04 does
    assert [f"{s:%S}" for s in rig.engine.slots()] == ["01", "02", "04"]
    await rig.down()


async def test_enabled_false_pauses_an_entry(tmp_path: Path, catalog: TemplateCatalog) -> None:
    rig = await _rig(tmp_path, catalog)
    path = catalog.directory / "backup.yaml"
    path.write_text(TWO.replace('  - "* * * * * *"', '  - cron: "* * * * * *"\n    enabled: false'))
    catalog.load_file(path)
    await rig.scheduler.idle()
    first = (await rig.scheduler.list())[0]
    assert first.record.paused and first.next_fire_time is None
    await rig.advance(3)
    assert rig.engine.runs == []
    await rig.down()


async def test_a_removed_template_takes_its_schedules_but_not_its_runs(
    tmp_path: Path, catalog: TemplateCatalog
) -> None:
    rig = await _rig(tmp_path, catalog)
    await rig.advance(1)
    path = catalog.directory / "backup.yaml"
    path.unlink()
    catalog.remove_file(path)
    await rig.scheduler.idle()
    assert await rig.scheduler.list() == []
    assert rig.ticker.next_ticks() == {}
    assert list(rig.engine.running) == [1] and rig.engine.cancelled == []
    await rig.finish_all()
    await rig.down()


async def test_a_broken_edit_keeps_the_last_good_schedules(
    tmp_path: Path, catalog: TemplateCatalog
) -> None:
    rig = await _rig(tmp_path, catalog)
    path = catalog.directory / "backup.yaml"
    path.write_text(TWO.replace("overlap: queue_all", "overlap: queue"))
    assert not catalog.load_file(path)
    entry = catalog.get("backup")
    assert entry is not None and "unknown overlap policy 'queue'" in str(entry.issues[0])
    await rig.scheduler.idle()
    assert len(await rig.scheduler.list()) == 2
    await rig.down()


async def test_restart_with_the_same_template_keeps_ids_and_history(
    tmp_path: Path, catalog: TemplateCatalog
) -> None:
    rig = await _rig(tmp_path, catalog)
    before = [v.record.id for v in await rig.scheduler.list()]
    await rig.advance(1)
    await rig.crash()
    fresh = TemplateCatalog(catalog.directory, default_registry())
    fresh.scan()
    again = await Rig(rig.path, rig.clock, FakeEngine("backup"), fresh).up()
    views = await again.scheduler.list()
    assert [v.record.id for v in views] == before
    assert views[0].record.last_slot == utc("2026-03-02T10:00:01")
    await again.down()


async def test_templates_gone_while_down_lose_their_schedules(
    tmp_path: Path, catalog: TemplateCatalog
) -> None:
    rig = await _rig(tmp_path, catalog)
    await rig.add("0 * * * *")  # an API schedule of the same workflow stays
    await rig.down()
    (catalog.directory / "backup.yaml").unlink()
    empty = TemplateCatalog(catalog.directory, default_registry())
    empty.scan()
    again = await Rig(rig.path, rig.clock, FakeEngine("backup"), empty).up()
    assert [v.record.origin for v in await again.scheduler.list()] == [ScheduleOrigin.API]
    await again.down()


def test_parse_rejects_unknown_policies_with_a_suggestion() -> None:
    from barbossad.definitions.parse import parse_workflow

    text = "name: x\nschedule:\n  cron: '0 2 * * *'\n  misfire: run-all\n" + TASKS
    with pytest.raises(DefinitionError) as caught:
        parse_workflow(text, source="x.yaml", registry=default_registry())
    issue = caught.value.issues[0]
    assert (issue.line, issue.field) == (4, "schedule.misfire")
    assert (
        "unknown misfire policy 'run-all'; expected one of skip, run_once, run_all" in issue.message
    )
    assert issue.suggestion == "run_all"
