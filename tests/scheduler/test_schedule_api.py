"""The embeddable WorkflowSchedulerService and the RPC layer's conversions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from barbossa.v1 import schedules_pb2
from google.protobuf import duration_pb2
from schedule_support import START, FakeEngine, Rig, utc

from barbossad.errors import InvalidArgumentError, NotFoundError
from barbossad.rpc.schedules import (
    ScheduleServicer,
    schedule_message,
    spec_from_request,
    status_message,
)
from barbossad.scheduler.cron import CronError
from barbossad.scheduler.fakes import FakeClock
from barbossad.scheduler.model import (
    FireOutcome,
    MisfirePolicy,
    OverlapPolicy,
    ScheduleOrigin,
    ScheduleRecord,
    SchedulerState,
    SchedulerStatus,
    ScheduleSpec,
    ScheduleView,
)

TEMPLATE = "name: backup\ntasks:\n  - id: a\n    type: shell_command\n    command: 'true'\n"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "workflow_templates").mkdir()
    (tmp_path / "workflow_templates" / "backup.yaml").write_text(TEMPLATE)
    return tmp_path


def test_the_documented_call_persists_an_api_schedule(base: Path) -> None:
    from barbossad import WorkflowSchedulerService

    service = WorkflowSchedulerService(base)
    schedule_id = service.add_scheduled_workflow("backup", "0 2 * * 0", enabled=True)
    paused_id = service.add_scheduled_workflow(
        "backup", "0 3 * * *", enabled=False, misfire="run_once"
    )
    records = service.list_scheduled_workflows()
    assert [(r.id, r.spec.expression, r.paused) for r in records] == [
        (schedule_id, "0 2 * * 0", False),
        (paused_id, "0 3 * * *", True),
    ]
    assert records[0].origin is ScheduleOrigin.API
    assert records[1].spec.misfire is MisfirePolicy.RUN_ONCE
    assert service.remove_scheduled_workflow(paused_id)
    assert not service.remove_scheduled_workflow(paused_id)
    service.close()
    assert (base / "workflows.db").exists()


def test_the_facade_validates(base: Path) -> None:
    from barbossad.scheduler.service import WorkflowSchedulerService

    with WorkflowSchedulerService(base) as service:
        with pytest.raises(NotFoundError, match="no workflow named 'nope'"):
            service.add_scheduled_workflow("nope", "0 2 * * 0")
        with pytest.raises(CronError, match="cron expression '0 2 \\* \\*'"):
            service.add_scheduled_workflow("backup", "0 2 * *")
        with pytest.raises(ValueError, match="'sometimes'"):
            service.add_scheduled_workflow("backup", "0 2 * * 0", overlap="sometimes")
        assert service.list_scheduled_workflows() == []


async def test_the_facade_works_inside_a_loop_and_a_reload_picks_it_up(base: Path) -> None:
    from barbossad.scheduler.service import WorkflowSchedulerService

    rig = await Rig(base / "workflows.db", FakeClock(START), FakeEngine("backup")).up()
    with WorkflowSchedulerService(base) as service:
        schedule_id = service.add_scheduled_workflow("backup", "* * * * * *")
    assert schedule_id not in rig.ticker.next_ticks()
    await rig.scheduler.refresh()
    assert schedule_id in rig.ticker.next_ticks()
    await rig.down()


# ---- RPC conversions ------------------------------------------------------------------------


@pytest.mark.parametrize("policy", list(MisfirePolicy))
def test_misfire_policies_map_both_ways(policy: MisfirePolicy) -> None:
    number = schedules_pb2.MisfirePolicy.Value(f"MISFIRE_POLICY_{policy.name}")
    spec = spec_from_request(
        schedules_pb2.AddScheduleRequest(workflow="w", expression="* * * * *", misfire=number)
    )
    assert spec.misfire is policy


@pytest.mark.parametrize("policy", list(OverlapPolicy))
def test_overlap_policies_map_both_ways(policy: OverlapPolicy) -> None:
    number = schedules_pb2.OverlapPolicy.Value(f"OVERLAP_POLICY_{policy.name}")
    request = schedules_pb2.AddScheduleRequest(workflow="w", expression="* * * * *", overlap=number)
    spec = spec_from_request(request)
    assert spec.overlap is policy
    view = ScheduleView(record=_record(spec), next_fire_time=None)
    assert schedule_message(view).overlap == number


def _record(spec: ScheduleSpec, **fields: Any) -> ScheduleRecord:
    return ScheduleRecord(
        id=3, spec=spec, origin=ScheduleOrigin.API, created_at=START, active_since=START, **fields
    )


def test_request_defaults() -> None:
    spec = spec_from_request(schedules_pb2.AddScheduleRequest(workflow="w", expression="0 2 * * *"))
    assert spec == ScheduleSpec(workflow="w", expression="0 2 * * *")
    window = duration_pb2.Duration(seconds=90)
    request = schedules_pb2.AddScheduleRequest(
        workflow="w",
        expression="0 2 * * *",
        catch_up_limit=4,
        catch_up_window=window,
        parameters={"a": "b"},
    )
    spec = spec_from_request(request)
    assert (spec.catch_up_limit, spec.catch_up_window, dict(spec.parameters)) == (
        4,
        90.0,
        {"a": "b"},
    )
    with pytest.raises(InvalidArgumentError, match="unknown misfire policy 99"):
        spec_from_request(
            schedules_pb2.AddScheduleRequest(workflow="w", expression="* * * * *", misfire=99)
        )


def test_schedule_message_carries_the_last_slot() -> None:
    from barbossad.models import RunState

    spec = ScheduleSpec(workflow="w", expression="* * * * *", catch_up_window=60.0)
    record = _record(
        spec,
        last_slot=utc("2026-03-02T10:00:00"),
        last_slot_outcome=FireOutcome.SKIPPED,
        last_slot_reason="skipped: run 4 of this schedule was still running (overlap policy skip)",
        last_run_id=4,
        last_outcome=RunState.SUCCEEDED,
        missed_count=2,
        skipped_count=1,
    )
    msg = schedule_message(ScheduleView(record=record, next_fire_time=utc("2026-03-02T10:01:00")))
    assert msg.last_slot_outcome == schedules_pb2.FIRE_OUTCOME_SKIPPED
    assert msg.last_slot_reason.startswith("skipped: run 4")
    assert msg.last_slot_time.ToDatetime(tzinfo=UTC) == utc("2026-03-02T10:00:00")
    assert (msg.missed_count, msg.skipped_count, msg.last_run_id) == (2, 1, 4)
    assert msg.catch_up_window.seconds == 60
    assert msg.origin == schedules_pb2.SCHEDULE_ORIGIN_API
    status = status_message(
        SchedulerStatus(state=SchedulerState.STOPPED, schedule_count=3, paused_count=1)
    )
    assert status.state == schedules_pb2.SCHEDULER_STATE_STOPPED and not status.HasField(
        "next_fire_time"
    )


async def test_preview_uses_the_scheduler_s_cron(tmp_path: Path) -> None:
    rig = await Rig(tmp_path / "db.sqlite", FakeClock(START), FakeEngine("backup")).up()
    servicer = ScheduleServicer(rig.scheduler)
    after = datetime(2026, 3, 7, 12, tzinfo=UTC)
    request = schedules_pb2.PreviewScheduleRequest(
        expression="30 2 * * sun", timezone="America/New_York", count=2
    )
    request.after.FromDatetime(after)
    response = await servicer.PreviewSchedule(request, None)  # type: ignore[arg-type]
    assert response.timezone == "America/New_York"
    assert list(response.local_times) == ["2026-03-08T03:00:00-04:00", "2026-03-15T02:30:00-04:00"]
    first = response.fire_times[0].ToDatetime(tzinfo=UTC)
    assert first == datetime(2026, 3, 8, 7, tzinfo=UTC) and first - after < timedelta(days=1)
    await rig.down()
