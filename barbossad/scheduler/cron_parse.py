"""Parse crontab(5) text into the sets of values each field allows; no time arithmetic here.

The grammar is cron(8)'s, plus two common extensions: an optional leading seconds field and the
``start/step`` shorthand (``5/15`` means ``5-max/15``). Every error names the field, the offending
text and what was expected, because the message is shown to whoever wrote the expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from barbossad.errors import InvalidArgumentError

__all__ = ["MACROS", "CronError", "CronFields", "parse_fields"]


class CronError(InvalidArgumentError):
    """A cron expression or time zone is malformed, unsupported, or can never fire."""


MACROS: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# The longest each month can be; February counts its leap day.
_MAX_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SEPARATOR = re.compile(r"[ \t]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Field:
    """How one field is written: its bounds, its names and how to describe them in errors."""

    name: str
    low: int
    high: int  # the largest number accepted (7 for day-of-week, an alias of Sunday)
    last: int  # where "*" and "N/step" stop (6 for day-of-week, as croniter does)
    names: Mapping[str, int]
    expected: str


def _field(name: str, low: int, high: int, names: tuple[str, ...] = (), last: int = -1) -> _Field:
    named = {text: low + index for index, text in enumerate(names)}
    expected = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
    last = high if last < 0 else last
    return _Field(name=name, low=low, high=high, last=last, names=named, expected=expected)


_SECOND = _field("second", 0, 59)
_MINUTE = _field("minute", 0, 59)
_HOUR = _field("hour", 0, 23)
_DOM = _field("day-of-month", 1, 31)
_MONTH = _field("month", 1, 12, _MONTH_NAMES)
_DOW = _field("day-of-week", 0, 7, _DAY_NAMES, last=6)
_FIVE = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)


@dataclass(frozen=True, slots=True, kw_only=True)
class CronFields:
    """The allowed values of each field of one parsed expression (weekdays 0-6, 0 = Sunday)."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool


class _Invalid(Exception):
    """Internal: one detail of what is wrong; parse_fields adds the expression to the message."""


def parse_fields(text: str) -> CronFields:
    """Parse a 5-field, 6-field (leading seconds) or @macro expression; raise CronError if bad."""
    try:
        return _parse(text)
    except _Invalid as exc:
        raise CronError(f"invalid cron expression {text!r}: {exc}") from None


def _parse(text: str) -> CronFields:
    stripped = text.strip(" \t")
    if stripped.startswith("@"):
        stripped = _expand_macro(stripped)
    raw = _SEPARATOR.split(stripped) if stripped else []
    if len(raw) not in (5, 6):
        raise _Invalid(
            "expected 5 fields (minute hour day-of-month month day-of-week) "
            f"or 6 with a leading seconds field, got {len(raw)}"
        )
    seconds = _parse_field(_SECOND, raw.pop(0)) if len(raw) == 6 else frozenset({0})
    minutes, hours, days, months, weekdays = (
        _parse_field(spec, item) for spec, item in zip(_FIVE, raw, strict=True)
    )
    fields = CronFields(
        seconds=seconds,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        # Day-of-week 7 is another name for Sunday.
        weekdays=frozenset(day % 7 for day in weekdays),
        # Vixie cron's rule (DOM_STAR / DOW_STAR): a field is unrestricted when its text starts
        # with "*", whatever follows, so "*/2" counts as unrestricted.
        dom_restricted=not raw[2].startswith("*"),
        dow_restricted=not raw[4].startswith("*"),
    )
    _check_some_day_exists(fields)
    return fields


def _expand_macro(text: str) -> str:
    macro = text.lower()
    if macro == "@reboot":
        raise _Invalid(
            "@reboot is not supported: schedules fire at clock times, not when a daemon starts"
        )
    if macro not in MACROS:
        known = ", ".join(MACROS)
        raise _Invalid(f"unknown macro {text!r} (expected one of {known})")
    return MACROS[macro]


def _parse_field(spec: _Field, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise _Invalid(f"{spec.name} field: empty item in list {text!r}")
        values.update(_parse_item(spec, item))
    return frozenset(values)


def _parse_item(spec: _Field, item: str) -> range:
    base, slash, step_text = item.partition("/")
    step = _parse_step(spec, item, step_text) if slash else 1
    if base == "*":
        return range(spec.low, spec.last + 1, step)
    start_text, dash, end_text = base.partition("-")
    start = _parse_value(spec, item, start_text)
    if not dash:
        # "N/step" runs from N up to the field's last value.
        return range(start, max(start, spec.last) + 1 if slash else start + 1, step)
    end = _parse_value(spec, item, end_text)
    if start > end:
        hint = " (Sunday is also 7: write e.g. 'fri-7')" if spec is _DOW and end == 0 else ""
        raise _Invalid(
            f"{spec.name} field: range {item!r} is reversed ({start} > {end}); "
            f"ranges do not wrap around{hint}"
        )
    return range(start, end + 1, step)


def _parse_step(spec: _Field, item: str, text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise _Invalid(f"{spec.name} field: step {text!r} in {item!r} is not a whole number")
    step = int(text)
    width = spec.last - spec.low + 1
    if not 1 <= step <= width:
        raise _Invalid(
            f"{spec.name} field: step {step} in {item!r} is out of range (expected 1-{width}; "
            "a step never carries over into the next larger unit)"
        )
    return step


def _parse_value(spec: _Field, item: str, text: str) -> int:
    if text.isascii() and text.isdigit():
        value = int(text)
        if not spec.low <= value <= spec.high:
            raise _Invalid(
                f"{spec.name} field: value {value} in {item!r} is out of range "
                f"(expected {spec.expected})"
            )
        return value
    if text.isascii() and text.isalpha():
        named = spec.names.get(text.lower())
        if named is not None:
            return named
        what = "unknown name" if spec.names else "not a number"
        raise _Invalid(f"{spec.name} field: {what} {text!r} (expected {spec.expected})")
    if not text:
        raise _Invalid(f"{spec.name} field: missing value in {item!r} (expected {spec.expected})")
    raise _Invalid(
        f"{spec.name} field: cannot read {text!r} in {item!r} "
        f"(expected {spec.expected}, '*', lists, ranges and /steps as in crontab(5))"
    )


def _check_some_day_exists(fields: CronFields) -> None:
    """Reject e.g. '0 0 30 2 *': when the days must match (not OR-ed with weekdays) but none can."""
    if fields.dom_restricted and fields.dow_restricted:
        return  # either field may match, and every month has every weekday
    if any(day <= _MAX_MONTH_DAYS[month] for day in fields.days for month in fields.months):
        return  # such a date falls on every weekday in some year (Feb 29 included)
    days = ",".join(str(day) for day in sorted(fields.days))
    months = ",".join(_MONTH_NAMES[month - 1] for month in sorted(fields.months))
    raise _Invalid(f"day-of-month {days} never occurs in {months}, so it would never fire")
