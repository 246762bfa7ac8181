"""barbossactl.convert: protobuf messages -> the documented JSON shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from barbossa.v1 import (
    common_pb2,
    daemon_pb2,
    executions_pb2,
    monitoring_pb2,
    schedules_pb2,
    workflows_pb2,
)
from google.protobuf import duration_pb2, timestamp_pb2

from barbossactl import convert, parser

MODULES = (common_pb2, daemon_pb2, executions_pb2, monitoring_pb2, schedules_pb2, workflows_pb2)
ALL_ENUMS = [e for m in MODULES for e in m.DESCRIPTOR.enum_types_by_name.values()]


@pytest.mark.parametrize("enum", ALL_ENUMS, ids=lambda e: e.name)
def test_every_enum_has_short_lowercase_labels_that_map_back(enum: Any) -> None:
    prefix = convert.enum_prefix(enum)
    assert prefix.endswith("_") and len(prefix) > 1
    for value in enum.values:
        label = convert.enum_label(enum, value.number)
        if value.number == 0:
            assert label is None  # *_UNSPECIFIED is null
            continue
        assert label is not None and label == value.name.removeprefix(prefix).lower()
        assert convert.enum_number(enum, label) == value.number


@pytest.mark.parametrize(
    ("enum", "number", "label"),
    [
        (common_pb2.RunState.DESCRIPTOR, common_pb2.RUN_STATE_SUCCEEDED, "succeeded"),
        (common_pb2.TriggerKind.DESCRIPTOR, common_pb2.TRIGGER_KIND_MANUAL, "manual"),
        (common_pb2.TaskState.DESCRIPTOR, common_pb2.TASK_STATE_TIMED_OUT, "timed_out"),
        (common_pb2.TriggerKind.DESCRIPTOR, common_pb2.TRIGGER_KIND_FILE_WATCH, "file_watch"),
        (
            schedules_pb2.OverlapPolicy.DESCRIPTOR,
            schedules_pb2.OVERLAP_POLICY_CANCEL_PREVIOUS,
            "cancel_previous",
        ),
        (common_pb2.RunState.DESCRIPTOR, 99, "99"),  # a value from a newer daemon
    ],
)
def test_enum_label_examples(enum: Any, number: int, label: str) -> None:
    assert convert.enum_label(enum, number) == label


def test_cli_choices_match_the_enums() -> None:
    assert list(parser.RUN_STATES) == convert.enum_labels(common_pb2.RunState.DESCRIPTOR)
    assert list(parser.MISFIRE_POLICIES) == convert.enum_labels(
        schedules_pb2.MisfirePolicy.DESCRIPTOR
    )
    assert list(parser.OVERLAP_POLICIES) == convert.enum_labels(
        schedules_pb2.OverlapPolicy.DESCRIPTOR
    )


class _Value:
    def __init__(self, name: str, number: int) -> None:
        self.name, self.number = name, number


class _OddEnum:
    """An enum whose values do not start with its type name (the common-prefix fallback)."""

    name = "Color"
    values = (_Value("PAINT_UNSPECIFIED", 0), _Value("PAINT_RED", 1), _Value("PAINT_REAL_BLUE", 2))


def test_enum_prefix_falls_back_to_the_common_prefix() -> None:
    assert convert.enum_prefix(_OddEnum()) == "PAINT_"


def _ts(seconds: int, nanos: int = 0) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def test_run_to_plain() -> None:
    run = executions_pb2.Run(
        id=2**40,
        workflow="deploy",
        state=common_pb2.RUN_STATE_TIMED_OUT,
        parameters={"env": "prod"},
        created_at=_ts(1_735_732_800, 250_000_000),
        duration=duration_pb2.Duration(seconds=3, nanos=500_000_000),
    )
    task = run.tasks.add(task_id="a", state=common_pb2.TASK_STATE_RETRYING, exit_code=0)
    run.tasks.add(task_id="b")
    plain = convert.to_plain(run)
    assert plain["id"] == 2**40 and isinstance(plain["id"], int)
    assert plain["state"] == "timed_out"
    assert plain["trigger"] is None  # TRIGGER_KIND_UNSPECIFIED
    assert plain["parameters"] == {"env": "prod"}
    assert plain["created_at"] == "2025-01-01T12:00:00.250Z"
    assert plain["started_at"] is None and plain["finished_at"] is None
    assert plain["duration"] == 3.5
    assert plain["retry_of"] == 0 and plain["error"] == ""
    assert [t["exit_code"] for t in plain["tasks"]] == [0, None]  # optional: set 0 vs unset
    assert plain["tasks"][0]["state"] == "retrying"
    assert plain["tasks"][1]["outputs"] == {}
    assert list(plain) == [f.name for f in executions_pb2.Run.DESCRIPTOR.fields]
    assert task.exit_code == 0
    json.dumps(plain)  # JSON-ready


def test_oneof_members_appear_only_when_set() -> None:
    task = workflows_pb2.TaskConfig(id="t", type="shell_command")
    task.shell_command.command = "true"
    plain = convert.to_plain(task)
    assert plain["shell_command"] == {"command": "true", "shell": ""}
    assert "python_script" not in plain and "workflow" not in plain
    assert plain["retry"] is None and plain["timeout"] is None
    assert plain["condition"] is None

    event = executions_pb2.RunEvent(sequence=5, log=executions_pb2.LogLine(task_id="t", stream=2))
    plain = convert.to_plain(event)
    assert plain == {
        "sequence": 5,
        "time": None,
        "log": {"task_id": "t", "attempt": 0, "stream": "stderr", "text": ""},
    }


def test_struct_and_value_pass_through_as_json() -> None:
    custom = workflows_pb2.CustomTaskSpec()
    custom.fields.update({"n": 1, "nested": {"ok": True}, "list": ["a", None]})
    assert convert.to_plain(custom) == {
        "fields": {"n": 1.0, "nested": {"ok": True}, "list": ["a", None]}
    }


def test_uint64_and_nested_page() -> None:
    response = executions_pb2.ListRunsResponse(page=common_pb2.PageResponse(total_count=2**63))
    assert convert.to_plain(response) == {
        "runs": [],
        "page": {"next_page_token": "", "total_count": 2**63},
    }


def test_stats_and_plain_containers() -> None:
    stats = monitoring_pb2.WorkflowStats(
        workflow="w", success_rate=0.5, last_state=common_pb2.RUN_STATE_FAILED
    )
    plain = convert.to_plain([{"file": "x", "stats": stats}, 3, "s"])
    assert plain[0]["stats"]["success_rate"] == 0.5
    assert plain[0]["stats"]["last_state"] == "failed"
    assert plain[0]["stats"]["mean_duration"] is None
    assert plain[1:] == [3, "s"]


def test_table_readers() -> None:
    st = daemon_pb2.DaemonStatus(uptime=duration_pb2.Duration(seconds=90, nanos=500_000_000))
    assert convert.seconds(st, "uptime") == 90.5
    assert convert.local_time(st, "started_at") is None
    st.started_at.CopyFrom(_ts(1_735_732_800))
    moment = convert.local_time(st, "started_at")
    assert moment is not None and moment.timestamp() == 1_735_732_800
    assert convert.label(st, "scheduler") == "-"
