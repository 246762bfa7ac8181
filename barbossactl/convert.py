"""Protobuf messages -> plain JSON-ready data, and the small readers tables use.

JSON/YAML conventions (stable; scripts rely on them):

- Field names are the proto field names (snake_case). Every field of a message is present,
  except members of a `oneof` that are not set (so exactly one member of e.g. a task's
  `spec` appears). Message-typed fields and `optional` scalars that are not set are `null`.
- Enum values are the value's short name in lower case, without the enum's prefix:
  RUN_STATE_SUCCEEDED -> "succeeded", TRIGGER_KIND_MANUAL -> "manual",
  TASK_STATE_TIMED_OUT -> "timed_out". The *_UNSPECIFIED value (0) is `null`.
  A number the client does not know (a newer daemon) is printed as that number.
- Timestamps are RFC 3339 strings in UTC ("2025-01-31T12:00:01.250Z"); durations are
  seconds as a float (1.25); int64/uint64 values are JSON numbers; maps are objects.

What each command prints with -o json (yaml: the same data), named by proto message:

  status -> DaemonStatus                 reload -> ReloadResponse
  templates -> ListTemplatesResponse     list -> ListWorkflowsResponse    show -> Workflow
  validate -> [ValidateWorkflowResponse plus "file"], one object per file, in argument order
  exec -> the finished Run (with tasks); --detach: the Run as started; --dry-run: ExecutionPlan
  runs -> ListRunsResponse (runs without tasks; page.total_count)    run -> Run
  logs -> GetLogsResponse; logs -f -> one LogLine per line (JSON Lines; YAML: one document each)
  cancel -> Run    retry -> the new Run (--wait: the finished one)   running -> ListRunningResponse
  stats -> GetStatsResponse    alerts -> ListAlertsResponse
  schedule list -> ListSchedulesResponse; add, pause, resume -> Schedule; rm -> {};
  schedule preview -> PreviewScheduleResponse;  scheduler status|start|stop -> SchedulerStatus

On an error stdout stays empty and stderr gets one line; a waited-for run that did not succeed
is still printed (exit code 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

# protobuf ships no type stubs and types-protobuf may or may not be installed: descriptors are
# annotated as Any so that this module checks cleanly either way.
from google.protobuf.descriptor import (  # type: ignore[import-untyped, unused-ignore]
    FieldDescriptor,
)
from google.protobuf.message import Message  # type: ignore[import-untyped, unused-ignore]

_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_INT64_WRAPPERS = frozenset({"google.protobuf.Int64Value", "google.protobuf.UInt64Value"})
_PASS_THROUGH = frozenset(
    {
        "google.protobuf.Timestamp",  # MessageToDict already gives RFC 3339
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.Any",
        "google.protobuf.FieldMask",
    }
)


# ---- enums ------------------------------------------------------------------------------------


@cache
def enum_prefix(enum: Any) -> str:
    """The prefix shared by an enum's value names, e.g. "RUN_STATE_" for RunState."""
    names = [v.name for v in enum.values]
    from_type = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    if all(n.startswith(from_type) and len(n) > len(from_type) for n in names):
        return from_type
    common = names[0] if names else ""
    for name in names[1:]:
        while not name.startswith(common):
            common = common[:-1]
    cut = common.rfind("_")
    return common[: cut + 1] if cut >= 0 and len(names) > 1 else ""


def enum_label(enum: Any, number: int) -> str | None:
    """The short lower-case name of a value: "succeeded"; None for the UNSPECIFIED (0) value."""
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)
    if number == 0 and value.name.endswith("_UNSPECIFIED"):
        return None
    return str(value.name).removeprefix(enum_prefix(enum)).lower()


def enum_labels(enum: Any) -> list[str]:
    """Every short name of an enum except the UNSPECIFIED one, in number order."""
    labels = (enum_label(enum, v.number) for v in enum.values)
    return [label for label in labels if label is not None]


def enum_number(enum: Any, label: str) -> int:
    """The number of a short name ("timed_out" -> RUN_STATE_TIMED_OUT); KeyError if unknown."""
    return int(enum.values_by_name[enum_prefix(enum) + label.upper()].number)


def label(message: Any, field: str) -> str:
    """The short name of an enum field's value, "-" when unspecified."""
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    return enum_label(enum, getattr(message, field)) or "-"


# ---- to_plain ---------------------------------------------------------------------------------


def to_plain(data: Any) -> Any:
    """A message (or list/dict of them, or plain data) as JSON-ready data, per the conventions."""
    if isinstance(data, Message):
        from google.protobuf.json_format import (  # type: ignore[import-untyped, unused-ignore]
            MessageToDict,
        )

        raw = MessageToDict(
            data, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        return _message_value(data.DESCRIPTOR, raw)
    if isinstance(data, Mapping):
        return {str(k): to_plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [to_plain(v) for v in data]
    return data


def _synthetic_oneof(field: Any) -> bool:
    """True for the hidden oneof protoc makes for a proto3 `optional` field."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == "_" + field.name


def _message_value(desc: Any, raw: Any) -> Any:
    name = desc.full_name
    if name in _PASS_THROUGH:
        return raw
    if name == "google.protobuf.Duration":
        return float(raw.removesuffix("s"))
    if name in _INT64_WRAPPERS:
        return int(raw)
    if name.startswith("google.protobuf.") and name.endswith("Value"):
        return raw  # the other wrappers are already plain
    out: dict[str, Any] = {}
    for field in desc.fields:
        if field.name in raw:
            out[field.name] = _field_value(field, raw[field.name])
        elif field.containing_oneof is None or _synthetic_oneof(field):
            out[field.name] = None
    return out


def _field_value(field: Any, raw: Any) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        return {key: _single(value_field, v) for key, v in raw.items()}
    if field.is_repeated:
        return [_single(field, v) for v in raw]
    return _single(field, raw)


def _single(field: Any, raw: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        if field.enum_type.full_name == "google.protobuf.NullValue":
            return None
        if isinstance(raw, int):
            return raw  # a number this client's enum does not know
        number = field.enum_type.values_by_name[raw].number
        return enum_label(field.enum_type, number)
    if field.type in _INT64_TYPES:
        return int(raw)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _message_value(field.message_type, raw)
    return raw


# ---- readers for tables -----------------------------------------------------------------------


def has(message: Any, field: str) -> bool:
    """True when a message-typed or optional field is set."""
    return bool(message.HasField(field))


def seconds(message: Any, field: str) -> float | None:
    """A Duration field in seconds; None when not set."""
    if not message.HasField(field):
        return None
    d = getattr(message, field)
    return float(d.seconds + d.nanos / 1e9)


def local_time(message: Any, field: str) -> datetime | None:
    """A Timestamp field as an aware datetime in the local zone; None when not set."""
    if not message.HasField(field):
        return None
    ts = getattr(message, field)
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9).astimezone()
