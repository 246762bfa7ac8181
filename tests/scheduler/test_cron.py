"""Tests for the cron engine: parse tables, day rules, DST tables, and croniter as an oracle."""

from __future__ import annotations

import functools
import importlib.resources
import logging
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from barbossad.errors import InvalidArgumentError
from barbossad.scheduler.cron import (
    CronError,
    CronExpression,
    preview,
    resolve_timezone,
    system_timezone,
)

NEW_YORK = ZoneInfo("America/New_York")
ORACLE_ZONES = (
    "America/New_York",  # 1 h gap at 02:00, repeated 01:00-01:59
    "Europe/London",  # gap at 01:00, repeated 01:00-01:59
    "Europe/Berlin",
    "Australia/Lord_Howe",  # 30 min DST: gap 02:00-02:29, repeated 01:30-01:59
    "Australia/Sydney",  # southern hemisphere
    "America/Santiago",  # changes at midnight: 00:00 does not exist, 23:00-23:59 repeats
    "Asia/Kolkata",  # +05:30, no DST
    "UTC",
)


def _fire_times(expr: str, zone: str, start: str, count: int) -> list[str]:
    times = CronExpression.parse(expr).iter_after(datetime.fromisoformat(start), ZoneInfo(zone))
    return [next(times).isoformat() for _ in range(count)]


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("5/15 * * * *", "minutes", {5, 20, 35, 50}),
        ("59/15 * * * *", "minutes", {59}),
        ("1-10/3 * * * *", "minutes", {1, 4, 7, 10}),
        ("0,30,5-7 * * * *", "minutes", {0, 5, 6, 7, 30}),
        ("5-5 * * * *", "minutes", {5}),  # croniter would read the whole field
        ("0 9-17/4 * * *", "hours", {9, 13, 17}),
        ("0 0 */10 * *", "days", {1, 11, 21, 31}),
        ("0 0 * JAN-mar,Dec *", "months", {1, 2, 3, 12}),
        ("0 0 * */5 *", "months", {1, 6, 11}),
        ("0 0 * * Mon,FRI", "weekdays", {1, 5}),
        ("0 0 * * 7", "weekdays", {0}),
        ("0 0 * * 5-7", "weekdays", {0, 5, 6}),
        ("0 0 * * fri-7", "weekdays", {0, 5, 6}),
        ("0 0 * * 0-7/2", "weekdays", {0, 2, 4, 6}),
        ("0 0 * * mon/2", "weekdays", {1, 3, 5}),
        ("0 0 * * */2", "weekdays", {0, 2, 4, 6}),
        ("0 0 * * *", "seconds", {0}),
        ("*/20 0 12 * * *", "seconds", {0, 20, 40}),
        ("*/20 0 12 * * *", "minutes", {0}),
        ("  0\t0   1 * *  ", "days", {1}),
        ("05 * * * *", "minutes", {5}),
    ],
)
def test_parse_values(text: str, field: str, expected: set[int]) -> None:
    assert getattr(CronExpression.parse(text), field) == expected


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros(macro: str, equivalent: str) -> None:
    parsed, expected = CronExpression.parse(macro), CronExpression.parse(equivalent)
    assert parsed.text == macro
    after = datetime(2026, 5, 17, 13, 37, tzinfo=UTC)
    assert [parsed.next_after(after, UTC)] == [expected.next_after(after, UTC)]
    for name in ("seconds", "minutes", "hours", "days", "months", "weekdays", "dom_restricted"):
        assert getattr(parsed, name) == getattr(expected, name)


# fmt: off
_PARSE_ERRORS = [
    ("", "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading "
     "seconds field, got 0"),
    ("* * * *", "got 4"),
    ("0 0 1 1 * 2026 x", "got 7"),
    ("60 * * * *", "minute field: value 60 in '60' is out of range (expected 0-59)"),
    ("0 24 * * *", "hour field: value 24 in '24' is out of range (expected 0-23)"),
    ("0 0 0 * *", "day-of-month field: value 0 in '0' is out of range (expected 1-31)"),
    ("0 0 1 13 *", "month field: value 13 in '13' is out of range (expected 1-12 or jan-dec)"),
    ("0 0 * * 8", "day-of-week field: value 8 in '8' is out of range (expected 0-7 or sun-sat)"),
    ("60 0 0 * * *", "second field: value 60 in '60' is out of range (expected 0-59)"),
    ("1-70 * * * *", "minute field: value 70 in '1-70' is out of range"),
    ("*/0 * * * *", "minute field: step 0 in '*/0' is out of range (expected 1-60"),
    ("0 */25 * * *", "hour field: step 25 in '*/25' is out of range (expected 1-24"),
    ("*/x * * * *", "minute field: step 'x' in '*/x' is not a whole number"),
    ("*/5/2 * * * *", "step '5/2' in '*/5/2' is not a whole number"),
    ("0 5-2 * * *", "hour field: range '5-2' is reversed (5 > 2); ranges do not wrap around"),
    ("0 0 * * sat-sun", "range 'sat-sun' is reversed (6 > 0); ranges do not wrap around "
     "(Sunday is also 7: write e.g. 'fri-7')"),
    ("0 0 * foo *", "month field: unknown name 'foo' (expected 1-12 or jan-dec)"),
    ("0 0 * * monday", "day-of-week field: unknown name 'monday' (expected 0-7 or sun-sat)"),
    ("0 0 * * jan", "day-of-week field: unknown name 'jan'"),
    ("mon * * * *", "minute field: not a number 'mon' (expected 0-59)"),
    ("0 0 1,,5 * *", "day-of-month field: empty item in list '1,,5'"),
    ("0 0 1, * *", "day-of-month field: empty item in list '1,'"),
    ("0 0 -5 * *", "day-of-month field: missing value in '-5'"),
    ("0 0 L * *", "day-of-month field: not a number 'L' (expected 1-31)"),
    ("0 0 * * 5#3", "day-of-week field: cannot read '5#3' in '5#3'"),
    ("0 0 ? * *", "cannot read '?'"),
    ("*-5 * * * *", "minute field: cannot read '*' in '*-5'"),
    ("@reboot", "@reboot is not supported: schedules fire at clock times"),
    ("@often", "unknown macro '@often' (expected one of @yearly, @annually, @monthly"),
    ("0 0 30 2 *", "day-of-month 30 never occurs in feb, so it would never fire"),
    ("0 0 31 4,6,9,11 *", "day-of-month 31 never occurs in apr,jun,sep,nov"),
    ("0 0 31 2 */2", "never occurs"),  # "*/2" is unrestricted, so the days must match
]
# fmt: on


@pytest.mark.parametrize(("text", "message"), _PARSE_ERRORS)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        CronExpression.parse(text)
    assert str(caught.value).startswith(f"invalid cron expression {text!r}: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, InvalidArgumentError)


def test_feb_30_is_fine_when_weekdays_may_match_instead() -> None:
    assert _fire_times("0 0 30 2 mon", "UTC", "2026-01-31T00:00+00:00", 2) == [
        "2026-02-02T00:00:00+00:00",
        "2026-02-09T00:00:00+00:00",
    ]


def test_rare_date_is_found_decades_ahead() -> None:
    # February 29th that is a Sunday ("*/7" is unrestricted, so both must match).
    assert _fire_times("0 0 29 2 */7", "UTC", "2026-01-01T00:00+00:00", 2) == [
        "2032-02-29T00:00:00+00:00",
        "2060-02-29T00:00:00+00:00",
    ]


# --- day of month / day of week ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "dom_restricted", "dow_restricted", "days"),
    [
        # Both restricted: either matches. January 2026 starts on a Thursday.
        ("0 0 1 * mon", True, True, [1, 5, 12, 19, 26]),
        ("0 0 13 * fri", True, True, [2, 9, 13, 16, 23, 30]),
        ("0 0 1-31 * mon", True, True, list(range(1, 32))),
        ("0 0 15 * 0-6", True, True, list(range(1, 32))),
        # A field starting with "*" is unrestricted even when it skips values: both must match.
        ("0 0 */2 * mon", False, True, [5, 19]),
        ("0 0 */1 * 1", False, True, [5, 12, 19, 26]),
        ("0 0 13 * */1", True, False, [13]),
        ("0 0 * * mon", False, True, [5, 12, 19, 26]),
        ("0 0 10-20 * *", True, False, list(range(10, 21))),
        ("0 0 */10 * */2", False, False, [1, 11, 31]),  # Sun, Wed, Sat / Thu; 1st and 11th...
        # Only the first character counts, as in cron(8) (croniter differs; see the module doc).
        ("0 0 28,* * mon", True, True, list(range(1, 32))),
        ("0 0 1-31 * 1,*/3", True, True, list(range(1, 32))),
    ],
)
def test_day_of_month_and_day_of_week(
    expr: str, dom_restricted: bool, dow_restricted: bool, days: list[int]
) -> None:
    expression = CronExpression.parse(expr)
    assert (expression.dom_restricted, expression.dow_restricted) == (
        dom_restricted,
        dow_restricted,
    )
    start, end = datetime(2025, 12, 31, tzinfo=UTC), datetime(2026, 1, 31, tzinfo=UTC)
    fired = [t.day for t in expression.fire_times_between(start, end, UTC)]
    assert fired == days


# --- time zones and DST --------------------------------------------------------------------------


# fmt: off
_DST_CASES = [
    # New York springs forward 02:00 EST -> 03:00 EDT on 2026-03-08.
    ("30 2 * * *", "America/New_York", "2026-03-08T00:00-05:00",
     ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]),
    ("*/15 2 * * *", "America/New_York", "2026-03-08T00:00-05:00",
     ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"]),
    ("15 2,3 * * *", "America/New_York", "2026-03-08T00:00-05:00",
     ["2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"]),
    ("30 * * * *", "America/New_York", "2026-03-08T01:00-05:00",
     ["2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"]),
    ("*/20 * * * *", "America/New_York", "2026-03-08T01:30-05:00",
     ["2026-03-08T01:40:00-05:00", "2026-03-08T03:00:00-04:00"]),
    ("15,45 30 2 * * *", "America/New_York", "2026-03-08T01:00-05:00",
     ["2026-03-08T03:00:15-04:00", "2026-03-09T02:30:15-04:00"]),
    ("15,45 * * * * *", "America/New_York", "2026-03-08T01:59:50-05:00",
     ["2026-03-08T03:00:15-04:00", "2026-03-08T03:00:45-04:00"]),
    # ...and falls back 02:00 EDT -> 01:00 EST on 2026-11-01: matches fire in both passes.
    ("30 1 * * *", "America/New_York", "2026-11-01T00:00-04:00",
     ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"]),
    ("*/30 * * * *", "America/New_York", "2026-11-01T00:45-04:00",
     ["2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00",
      "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"]),
    ("10 1 * * *", "America/New_York", "2026-11-01T01:50-04:00",
     ["2026-11-01T01:10:00-05:00", "2026-11-02T01:10:00-05:00"]),
    ("30 1 * * *", "America/New_York", "2026-11-01T01:20-05:00",
     ["2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"]),
    # London: the gap is 01:00-01:59 on 2026-03-29, 01:00-01:59 repeats on 2026-10-25.
    ("30 1 * * *", "Europe/London", "2026-03-29T00:00+00:00",
     ["2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"]),
    ("0 * * * *", "Europe/London", "2026-10-25T00:30+01:00",
     ["2026-10-25T01:00:00+01:00", "2026-10-25T01:00:00+00:00", "2026-10-25T02:00:00+00:00"]),
    # Lord Howe moves by 30 minutes: 02:00 -> 02:30 on 2026-10-04, 02:00 -> 01:30 on 04-05.
    ("15 2 * * *", "Australia/Lord_Howe", "2026-10-04T00:00+10:30",
     ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"]),
    ("*/20 * * * *", "Australia/Lord_Howe", "2026-10-04T01:30+10:30",
     ["2026-10-04T01:40:00+10:30", "2026-10-04T02:40:00+11:00"]),
    ("*/15 1 * * *", "Australia/Lord_Howe", "2026-04-05T00:00+11:00",
     ["2026-04-05T01:00:00+11:00", "2026-04-05T01:15:00+11:00", "2026-04-05T01:30:00+11:00",
      "2026-04-05T01:45:00+11:00", "2026-04-05T01:30:00+10:30", "2026-04-05T01:45:00+10:30",
      "2026-04-06T01:00:00+10:30"]),
    # Santiago changes at midnight: 00:00 does not exist on 2026-09-06, 23:xx repeats 04-04.
    ("0 0 * * *", "America/Santiago", "2026-09-05T12:00-04:00",
     ["2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00"]),
    ("0 0 * * 0", "America/Santiago", "2026-09-05T12:00-04:00",
     ["2026-09-06T01:00:00-03:00", "2026-09-13T00:00:00-03:00"]),
    ("30 23 * * *", "America/Santiago", "2026-04-04T12:00-03:00",
     ["2026-04-04T23:30:00-03:00", "2026-04-04T23:30:00-04:00", "2026-04-05T23:30:00-04:00"]),
    # No DST at all.
    ("30 2 * * *", "Asia/Kolkata", "2026-03-08T00:00+05:30",
     ["2026-03-08T02:30:00+05:30", "2026-03-09T02:30:00+05:30"]),
    # Where croniter misses the second pass (excluded from the oracle comparison below).
    ("10 1 1 11 *", "America/New_York", "2026-11-01T01:10-04:00",
     ["2026-11-01T01:10:00-05:00", "2027-11-01T01:10:00-04:00"]),
    ("*/7 1-3 * * 7", "Australia/Lord_Howe", "2027-04-04T01:56+11:00",
     ["2027-04-04T01:35:00+10:30", "2027-04-04T01:42:00+10:30", "2027-04-04T01:49:00+10:30",
      "2027-04-04T01:56:00+10:30", "2027-04-04T02:00:00+10:30"]),
]
# fmt: on


@pytest.mark.parametrize(("expr", "zone", "start", "expected"), _DST_CASES)
def test_dst_transitions(expr: str, zone: str, start: str, expected: list[str]) -> None:
    assert _fire_times(expr, zone, start, len(expected)) == expected


def test_start_in_another_zone_and_result_in_schedule_zone() -> None:
    expression = CronExpression.parse("0 9 * * *")
    fired = expression.next_after(datetime(2026, 7, 1, 14, 0, tzinfo=UTC), NEW_YORK)  # 10:00 EDT
    assert fired.tzinfo is NEW_YORK
    assert fired.isoformat() == "2026-07-02T09:00:00-04:00"


def test_next_after_is_strictly_after() -> None:
    expression = CronExpression.parse("*/5 * * * * *")
    start = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    assert expression.next_after(start, UTC) == start + timedelta(seconds=5)
    assert expression.next_after(start - timedelta(microseconds=1), UTC) == start


def test_fire_times_between_is_half_open() -> None:
    expression = CronExpression.parse("0 * * * *")
    start, end = datetime(2026, 1, 1, 0, tzinfo=UTC), datetime(2026, 1, 1, 3, tzinfo=UTC)
    fired = list(expression.fire_times_between(start, end, UTC))
    assert fired == [start + timedelta(hours=hour) for hour in (1, 2, 3)]
    assert list(expression.fire_times_between(end, start, UTC)) == []


def test_fire_times_between_counts_both_passes_of_a_repeated_hour() -> None:
    expression = CronExpression.parse("30 1 * * *")
    start = datetime(2026, 10, 31, 12, tzinfo=UTC)
    fired = list(expression.fire_times_between(start, start + timedelta(days=2), NEW_YORK))
    assert [t.isoformat() for t in fired] == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_naive_start_is_rejected() -> None:
    with pytest.raises(CronError, match="no time zone"):
        CronExpression.parse("* * * * *").next_after(datetime(2026, 1, 1), UTC)


def test_end_of_calendar_is_an_error_not_a_crash() -> None:
    with pytest.raises(CronError, match="before the end of year 9999"):
        CronExpression.parse("0 0 1 1 *").next_after(datetime(9999, 6, 1, tzinfo=UTC), UTC)


# --- time zone names and preview ----------------------------------------------------------------


def test_resolve_timezone() -> None:
    assert resolve_timezone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    for bad in ("Mars/Olympus_Mons", "/etc/passwd", "../../etc/passwd", "Europe/"):
        with pytest.raises(CronError, match="expected an IANA name such as Europe/Berlin"):
            resolve_timezone(bad)
    with pytest.raises(CronError, match="did you mean 'Europe/Berlin'"):
        resolve_timezone("europe/berlin")


@pytest.mark.parametrize("name", [None, ""])
def test_resolve_timezone_defaults_to_system(
    name: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    assert resolve_timezone(name) == ZoneInfo("Asia/Kolkata")


def test_system_timezone_sources(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Tokyo")  # only the name after zoneinfo/ is used
    tokyo = ZoneInfo("Asia/Tokyo")
    assert system_timezone(environ={"TZ": ":Europe/Paris"}, localtime=str(link)) == ZoneInfo(
        "Europe/Paris"
    )
    assert system_timezone(environ={}, localtime=str(link)) == tokyo
    with caplog.at_level(logging.WARNING):
        assert system_timezone(environ={"TZ": "CET-1CEST,M3.5.0"}, localtime=str(link)) == tokyo
    assert "is not an IANA time zone" in caplog.text

    copied = tmp_path / "copied"  # /etc/localtime may be a copy rather than a link
    copied.write_bytes(
        importlib.resources.files("tzdata.zoneinfo").joinpath("Asia/Tokyo").read_bytes()
    )
    zone = system_timezone(environ={}, localtime=str(copied))
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() == timedelta(hours=9)
    assert system_timezone(environ={}, localtime=str(tmp_path / "missing")) is UTC


def test_preview() -> None:
    after = datetime(2026, 3, 7, 12, tzinfo=UTC)
    fired = preview("30 2 * * *", "America/New_York", 3, after)
    assert [t.isoformat() for t in fired] == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
        "2026-03-10T02:30:00-04:00",
    ]
    assert len(preview("* * * * * *", "UTC", 1000, after)) == 1000
    assert preview("@hourly", "UTC", 1)[0] > datetime.now(UTC)
    for count in (0, 1001):
        with pytest.raises(CronError, match=f"between 1 and 1000, got {count}"):
            preview("@hourly", "UTC", count, after)
    with pytest.raises(CronError, match="unknown time zone 'Nowhere'"):
        preview("@hourly", "Nowhere", 1, after)


# --- croniter as an oracle -----------------------------------------------------------------------

# fmt: off
_FIELDS = {  # name: (lowest, highest accepted, last value of "*", names)
    "second": (0, 59, 59, ()),
    "minute": (0, 59, 59, ()),
    "hour": (0, 23, 23, ()),
    "dom": (1, 31, 31, ()),
    "month": (1, 12, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                          "nov", "dec")),
    "dow": (0, 7, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
}
# fmt: on


@st.composite
def _value(draw: st.DrawFn, field: str, low: int, high: int) -> str:
    value = draw(st.integers(low, high))
    names = _FIELDS[field][3]
    offset = value - _FIELDS[field][0]
    if offset < len(names) and draw(st.booleans()):
        return draw(st.sampled_from([str.lower, str.upper, str.title]))(names[offset])
    return str(value)


@st.composite
def _item(draw: st.DrawFn, field: str) -> str:
    low, high, last, _ = _FIELDS[field]
    step = st.integers(1, last - low + 1).map(lambda step: f"/{step}")
    kind = draw(st.sampled_from(["*", "*/", "value", "value", "range", "range/", "start/"]))
    if kind == "*":
        return "*"
    if kind == "*/":
        return "*" + draw(step)
    if kind == "value":
        return draw(_value(field, low, high))
    if kind == "start/":
        return draw(_value(field, low, last)) + draw(step)
    # No equal ranges: croniter reads "5-5" as the whole field (see test_parse_values).
    start = draw(st.integers(low, min(high, last) - 1))
    text = draw(_value(field, start, start)) + "-" + draw(_value(field, start + 1, high))
    return text + draw(step) if kind == "range/" else text


def _field(field: str) -> st.SearchStrategy[str]:
    return st.lists(_item(field), min_size=1, max_size=3).map(",".join)


# Hours near the changes (00-03, 23) are the interesting ones, so offer them often; and let
# half the day fields be "*" so that fire times often fall on the day of a change.
_HOURS = st.one_of(
    _field("hour"), st.sampled_from(["*", "1", "2", "0-3", "1,2", "*/2", "2/3", "23,0", "1-2,23"])
)


def _day_field(field: str) -> st.SearchStrategy[str]:
    return st.one_of(st.just("*"), _field(field))


_FIVE_FIELDS = st.tuples(
    _field("minute"), _HOURS, _day_field("dom"), _day_field("month"), _day_field("dow")
)
_SECONDS = st.one_of(_field("second"), st.sampled_from(["0", "15,45", "*/20"]))
_EXPRESSIONS = st.one_of(
    _FIVE_FIELDS.map(" ".join),
    st.tuples(_SECONDS, _FIVE_FIELDS).map(lambda parts: " ".join((parts[0], *parts[1]))),
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly"]),
)


@functools.cache
def _transitions(zone: str) -> tuple[datetime, ...]:
    """UTC instants in 2024-2029 at which the zone's offset changes (to the minute)."""
    tz, found = ZoneInfo(zone), []
    day = datetime(2024, 1, 1, tzinfo=UTC)
    while day.year < 2030:
        low, high = day, day + timedelta(days=1)
        if low.astimezone(tz).utcoffset() != high.astimezone(tz).utcoffset():
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                same = middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            found.append(high.replace(second=0, microsecond=0))
        day += timedelta(days=1)
    return tuple(found)


@st.composite
def _near_a_change(draw: st.DrawFn) -> tuple[str, datetime]:
    zone = draw(st.sampled_from([z for z in ORACLE_ZONES if _transitions(z)]))
    change = draw(st.sampled_from(_transitions(zone)))
    seconds = draw(
        st.one_of(
            st.integers(-3 * 3600, 3 * 3600).map(lambda seconds: seconds // 60 * 60),  # on a minute
            st.integers(-3 * 3600, 3 * 3600),
            st.integers(-3 * 86400, 3 * 86400),
        )
    )
    return zone, change + timedelta(seconds=seconds)


_ANYWHERE = st.tuples(
    st.sampled_from(ORACLE_ZONES),
    st.integers(0, 6 * 365 * 86400).map(
        lambda s: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
    ),
)


def _croniter_text(expression: CronExpression, fields: list[str]) -> str:
    """The text to give croniter: day fields with a '*' after their first character are written
    out as plain lists, because croniter does not apply cron(8)'s first-character rule to them."""
    day, weekday = len(fields) - 3, len(fields) - 1
    rewritten = list(fields)
    for index, values in ((day, expression.days), (weekday, expression.weekdays)):
        if "*" in fields[index][1:] and not fields[index].startswith("*"):
            event("croniter: day field written out")
            rewritten[index] = ",".join(str(value) for value in sorted(values))
    return " ".join(rewritten)


def _matches(expression: CronExpression, wall: datetime) -> bool:
    weekday = wall.isoweekday() % 7
    day_ok = (wall.day in expression.days, weekday in expression.weekdays)
    return (
        wall.second in expression.seconds
        and wall.minute in expression.minutes
        and wall.hour in expression.hours
        and wall.month in expression.months
        and (
            any(day_ok) if expression.dom_restricted and expression.dow_restricted else all(day_ok)
        )
    )


def _check_missed_second_pass(
    expression: CronExpression, after: datetime, ours: datetime, theirs: datetime, tz: tzinfo
) -> None:
    """The one disagreement we accept: croniter skipping a match in the second pass of a repeated
    hour. Check ours independently, by brute force over every second in between."""
    assert ours.fold == 1 and ours.utcoffset() != ours.replace(fold=0).utcoffset()
    assert ours.astimezone(UTC) < theirs.astimezone(UTC)
    assert _matches(expression, ours.replace(tzinfo=None))
    instant = after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    while instant < ours:
        assert not _matches(expression, instant.astimezone(tz).replace(tzinfo=None)), instant
        instant += timedelta(seconds=1)


def _compare_with_croniter(expr: str, zone: str, start: datetime, count: int = 8) -> None:
    try:
        expression = CronExpression.parse(expr)
    except CronError:
        assume(False)  # e.g. day 31 of a 30-day month, where the days must match
        raise
    tz = ZoneInfo(zone)
    fields = expr.split()
    six = len(fields) == 6
    text = expr if expr.startswith("@") else _croniter_text(expression, fields)
    after = start.astimezone(tz)
    oracle = croniter(text, after, implement_cron_bug=True, second_at_beginning=six)
    for _ in range(count):
        theirs = oracle.get_next(datetime)
        ours = expression.next_after(after, tz)
        if (ours.timestamp(), ours.utcoffset()) != (theirs.timestamp(), theirs.utcoffset()):
            event("croniter: missed a second pass")
            _check_missed_second_pass(expression, after, ours, theirs, tz)
            oracle = croniter(text, ours, implement_cron_bug=True, second_at_beginning=six)
        if ours.fold or _offsets_differ(ours):
            event("fire time in a repeated hour")
        elif not _matches(expression, ours.replace(tzinfo=None)):
            event("fire time moved out of a gap")
        after = ours


def _offsets_differ(moment: datetime) -> bool:
    return moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset()


_ORACLE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@settings(_ORACLE, max_examples=2500)
@given(expr=_EXPRESSIONS, where=_near_a_change())
def test_matches_croniter_around_dst_changes(expr: str, where: tuple[str, datetime]) -> None:
    _compare_with_croniter(expr, *where)


@settings(_ORACLE, max_examples=1000)
@given(expr=_EXPRESSIONS, where=_ANYWHERE)
def test_matches_croniter_anywhere(expr: str, where: tuple[str, datetime]) -> None:
    _compare_with_croniter(expr, *where)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(expr=_EXPRESSIONS, where=st.one_of(_ANYWHERE, _near_a_change()))
def test_fire_times_increase_and_match(expr: str, where: tuple[str, datetime]) -> None:
    try:
        expression = CronExpression.parse(expr)
    except CronError:
        assume(False)
        raise
    zone, start = where
    tz = ZoneInfo(zone)
    previous = start
    for _, fired in zip(range(6), expression.iter_after(start, tz), strict=False):
        assert fired.tzinfo is tz
        assert fired.astimezone(UTC) > previous.astimezone(UTC)
        if not _matches(expression, fired.replace(tzinfo=None)):
            # Moved out of a spring-forward gap: the clock jumped less than a minute earlier.
            just_before = (fired.astimezone(UTC) - timedelta(minutes=1)).astimezone(tz)
            assert just_before.utcoffset() != fired.utcoffset(), fired
        previous = fired


# The hours around each zone's changes, with every day allowed, so most examples cross one.
_AROUND_CHANGES = st.tuples(
    st.one_of(st.just(""), _SECONDS.map(lambda seconds: seconds + " ")),
    _field("minute"),
    st.sampled_from(["0", "1", "2", "23", "0-2", "1,2", "1-3", "0,23", "2/3", "*/2", "*"]),
).map(lambda parts: f"{parts[0]}{parts[1]} {parts[2]} * * *")


@settings(_ORACLE, max_examples=600)
@given(expr=_AROUND_CHANGES, where=_near_a_change())
def test_matches_croniter_in_gaps_and_repeated_hours(
    expr: str, where: tuple[str, datetime]
) -> None:
    _compare_with_croniter(expr, *where)


@pytest.mark.parametrize(
    ("expr", "zone", "start"),
    [
        ("10 1 1 11 *", "America/New_York", "2026-11-01T01:10-04:00"),
        ("*/7 1-3 * * 7", "Australia/Lord_Howe", "2027-04-04T01:56+11:00"),
    ],
)
@settings(max_examples=1, database=None)
@given(st.none())
def test_oracle_accepts_croniter_missing_a_second_pass(
    expr: str, zone: str, start: str, _: None
) -> None:
    _compare_with_croniter(expr, zone, datetime.fromisoformat(start))


def test_oracle_rejects_any_other_disagreement() -> None:
    expression = CronExpression.parse("30 1 * * *")
    after = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    first_pass = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)
    second_pass = first_pass.replace(fold=1)
    too_late = datetime(2026, 11, 2, 1, 30, tzinfo=NEW_YORK)
    with pytest.raises(AssertionError):  # not in the second pass
        _check_missed_second_pass(expression, after, first_pass, too_late, NEW_YORK)
    with pytest.raises(AssertionError):  # skips the first pass, which matched
        _check_missed_second_pass(expression, after, second_pass, too_late, NEW_YORK)
    with pytest.raises(AssertionError):  # later than croniter's
        _check_missed_second_pass(expression, after, second_pass, first_pass, NEW_YORK)
