"""Cron expressions: crontab(5) syntax, evaluated in an IANA time zone, fast and bounded.

Syntax (see ``cron_parse``): five fields ``minute hour day-of-month month day-of-week``, or six
with a leading ``second`` field; ``*``, lists, ranges, ``/steps``, ``N/step`` (``N-max/step``,
where max is 6, Saturday, for day-of-week), month and weekday names (case-insensitive), Sunday as
0 or 7, and the macros ``@yearly @annually @monthly @weekly @daily @midnight @hourly``.
``@reboot``, Quartz's ``L W # ?`` and Jenkins' ``H`` are rejected, as are ranges that wrap around
and steps wider than their field (``*/90`` in the minute field would silently mean ``0``).

Day of month and day of week (Vixie cron's rule, which cron(8) implements): a field is
*unrestricted* when its text starts with ``*`` -- so ``*/2`` is unrestricted too. When both fields
are restricted a day matches if EITHER matches (``0 0 1 * mon``: the 1st and every Monday);
otherwise it must match BOTH (``0 0 */2 * mon``: odd-numbered days that are Mondays). This is
croniter's ``implement_cron_bug=True`` mode; croniter's default would OR the second example.

Time zones: matching is on the wall clock of the schedule's zone. Two days a year that clock is
not a simple line, and this module does what croniter 7 does (the tests hold it to croniter):

* Spring forward (a gap; e.g. 02:00-02:59 does not exist in New York on 2026-03-08). A match
  inside the gap fires once, when the clock jumps -- ``30 2 * * *`` fires at 03:00 EDT, and
  ``*/15 2 * * *`` fires just once, at 03:00 -- provided the hour field is restricted. When the
  hour field allows every hour the skipped times are simply skipped (``30 * * * *`` fires at 01:30
  EST and next at 03:30 EDT), because the job still runs every hour. With a seconds field the
  moved time keeps its seconds (02:30:15 -> 03:00:15), as croniter moves by whole minutes.
* Fall back (a repeated hour; 01:00-01:59 happens twice in New York on 2026-11-01). Every wall
  time that matches fires in both passes: ``30 1 * * *`` fires at 01:30 EDT and again at 01:30
  EST (``fold=1``). This differs from ISC cron, which runs fixed-time jobs once; a schedule that
  must run exactly once a day should use a zone without DST, such as UTC.

Where croniter 7 is wrong we follow cron(8) and the tests pin our behaviour in tables, leaving
exactly these corners out of the oracle comparison:

* It sometimes misses the second pass of a repeated hour: it looks for it only when the next
  regular match has another UTC offset, and only from the first match at or after "now minus the
  shift" -- so a yearly ``10 1 1 11 *`` in New York skips 01:10 EST on 2026-11-01, and
  ``*/7 1-3 * * 7`` skips 01:35-01:56 of Lord Howe's repeated half hour. Here every pass fires.
* A day field with a ``*`` after its first character (``28,*`` or ``1,*/3``): croniter may treat
  it, or the other day field, as unrestricted; cron(8), and this module, look at the first
  character only.
* An equal range (``5-5``): croniter widens it to the whole field; here it is just 5.

``CronExpression.parse`` rejects expressions that can never fire (``0 0 30 2 *``), so every search
terminates; a search is also capped at 400 years of calendar. ``next_after`` jumps field by field
over precomputed bit masks and takes a few microseconds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from barbossad.scheduler.cron_parse import CronError, parse_fields

__all__ = ["CronError", "CronExpression", "preview", "resolve_timezone", "system_timezone"]

logger = logging.getLogger(__name__)

_SEARCH_YEARS = 400  # the Gregorian calendar repeats every 400 years
_MAX_PREVIEW = 1000
_ALL_HOURS = (1 << 24) - 1
_SECOND = timedelta(seconds=1)
_MINUTE = timedelta(minutes=1)
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_BOUNDS = (
    ("seconds", 0, 59),
    ("minutes", 0, 59),
    ("hours", 0, 23),
    ("days", 1, 31),
    ("months", 1, 12),
    ("weekdays", 0, 6),
)
_Wall = tuple[int, int, int, int, int, int]  # year, month, day, hour, minute, second


def _mask(values: frozenset[int]) -> int:
    bits = 0
    for value in values:
        bits |= 1 << value
    return bits


def _lowest_from(mask: int, start: int) -> int:
    """The smallest bit index >= start set in mask, or -1."""
    rest = mask >> start
    return start + (rest & -rest).bit_length() - 1 if rest else -1


@dataclass(frozen=True, slots=True, kw_only=True)
class CronExpression:
    """A parsed cron expression; weekdays are 0-6 with 0 = Sunday."""

    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool
    # Bit masks of the allowed seconds, minutes, hours and months.
    _masks: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)
    # Days of a month matching the day rules, indexed by the weekday of the month's first day.
    _day_masks: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, low, high in _BOUNDS:
            found: frozenset[int] = getattr(self, name)
            if not found or min(found) < low or max(found) > high:
                raise CronError(
                    f"cron expression {self.text!r}: {name} must be within {low}-{high}"
                )
        day_masks = []
        for first in range(7):
            by_weekday = sum(
                1 << day for day in range(1, 32) if (first + day - 1) % 7 in self.weekdays
            )
            if self.dom_restricted and self.dow_restricted:
                day_masks.append(_mask(self.days) | by_weekday)
            else:
                day_masks.append(_mask(self.days) & by_weekday)
        masks = (_mask(self.seconds), _mask(self.minutes), _mask(self.hours), _mask(self.months))
        object.__setattr__(self, "_masks", masks)
        object.__setattr__(self, "_day_masks", tuple(day_masks))

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        """Parse crontab(5) text (5 fields, 6 with leading seconds, or a macro); raise CronError."""
        fields = parse_fields(text)
        return cls(
            text=text,
            seconds=fields.seconds,
            minutes=fields.minutes,
            hours=fields.hours,
            days=fields.days,
            months=fields.months,
            weekdays=fields.weekdays,
            dom_restricted=fields.dom_restricted,
            dow_restricted=fields.dow_restricted,
        )

    def next_after(self, after: datetime, tz: tzinfo) -> datetime:
        """The first fire time strictly after `after` (aware, any zone), as an aware time in tz."""
        if after.tzinfo is None or after.utcoffset() is None:
            raise CronError(f"cannot compute fire times after {after.isoformat()}: no time zone")
        try:
            return self._next_after(after, tz)
        except OverflowError:
            raise CronError(
                f"cron expression {self.text!r} has no fire time after {after.isoformat()} "
                "before the end of year 9999"
            ) from None

    def iter_after(self, after: datetime, tz: tzinfo) -> Iterator[datetime]:
        """Fire times strictly after `after`, in order, without end."""
        current = after
        while True:
            current = self.next_after(current, tz)
            yield current

    def fire_times_between(self, start: datetime, end: datetime, tz: tzinfo) -> Iterator[datetime]:
        """Fire times in (start, end], in order: the runs missed while the daemon was down."""
        if end.tzinfo is None or end.utcoffset() is None:
            raise CronError(f"cannot compute fire times up to {end.isoformat()}: no time zone")
        end_utc = end.astimezone(UTC)
        for fire_time in self.iter_after(start, tz):
            if fire_time.astimezone(UTC) > end_utc:
                return
            yield fire_time

    def _next_after(self, after: datetime, tz: tzinfo) -> datetime:
        after_utc = _utc(after)
        local = after.astimezone(tz)
        wall = local.replace(tzinfo=None, fold=0)
        best = self._first_from_walls_after(wall, after_utc, tz)
        first_offset, second_offset = _offsets(_wall(wall), tz)
        if local.fold == 0 and first_offset > second_offset:
            # `after` is in the first pass of a repeated hour, so the second pass (whose wall
            # times are not after `wall`) is still to come.
            change = _transition(tz, after_utc, after_utc + (first_offset - second_offset))
            repeat = self._first_at_or_after(_wall(change + second_offset))
            if _at(repeat) < change + first_offset:
                repeated = _at(repeat, tz, fold=1)
                if _utc(repeated) < _utc(best):
                    best = repeated
        return best

    def _first_from_walls_after(self, wall: datetime, after_utc: datetime, tz: tzinfo) -> datetime:
        """The earliest fire time > after_utc among wall times > wall (cron order = time order)."""
        cursor = wall.replace(microsecond=0) + _SECOND
        while True:
            found = self._first_at_or_after(_wall(cursor))
            first_offset, second_offset = _offsets(found, tz)
            local = _at(found)
            if first_offset >= second_offset:  # the wall time exists, once or twice
                for fold, offset in ((0, first_offset), (1, second_offset)):
                    if local - offset > after_utc:
                        return _at(found, tz, fold=fold)
                cursor = local + _SECOND
                continue
            # `local` falls in a gap: the clock jumps from `change + first_offset` to `resumes`.
            change = _transition(tz, local - second_offset, local - first_offset)
            resumes = change + second_offset
            if self._masks[2] != _ALL_HOURS:
                minutes = -((local - resumes) // _MINUTE)
                return (local + minutes * _MINUTE).replace(tzinfo=tz)
            cursor = resumes

    def _first_at_or_after(self, start: _Wall) -> _Wall:
        """The first wall time >= start whose fields match, ignoring time zones entirely."""
        second_mask, minute_mask, hour_mask, month_mask = self._masks
        year, month, day, hour, minute, second = start
        limit = year + _SEARCH_YEARS
        while year <= limit:
            found = _lowest_from(month_mask, month)
            if found < 0:
                year, month, day, hour, minute, second = year + 1, 1, 1, 0, 0, 0
                continue
            if found != month:
                month, day, hour, minute, second = found, 1, 0, 0, 0
            found = _lowest_from(self._month_day_mask(year, month), day)
            if found < 0:
                month, day, hour, minute, second = month + 1, 1, 0, 0, 0
                continue
            if found != day:
                day, hour, minute, second = found, 0, 0, 0
            found = _lowest_from(hour_mask, hour)
            if found < 0:
                day, hour, minute, second = day + 1, 0, 0, 0
                continue
            if found != hour:
                hour, minute, second = found, 0, 0
            found = _lowest_from(minute_mask, minute)
            if found < 0:
                hour, minute, second = hour + 1, 0, 0
                continue
            if found != minute:
                minute, second = found, 0
            found = _lowest_from(second_mask, second)
            if found < 0:
                minute, second = minute + 1, 0
                continue
            return year, month, day, hour, minute, found
        # Unreachable for parsed expressions: parse rejects those that can never fire.
        raise CronError(
            f"cron expression {self.text!r} has no fire time within {_SEARCH_YEARS} years"
        )

    def _month_day_mask(self, year: int, month: int) -> int:
        if year > 9999:
            raise OverflowError("year out of range")
        first = date(year, month, 1).toordinal() % 7  # 0 = Sunday, as in cron
        length = _MONTH_DAYS[month]
        if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            length = 29
        return self._day_masks[first] & ((2 << length) - 1)


def _wall(value: datetime) -> _Wall:
    return value.year, value.month, value.day, value.hour, value.minute, value.second


def _at(wall: _Wall, tz: tzinfo | None = None, *, fold: int = 0) -> datetime:
    return datetime(*wall, tzinfo=tz, fold=fold)


def _utc(value: datetime) -> datetime:
    """A naive UTC datetime; comparing aware datetimes that share a tzinfo would ignore fold."""
    return value.astimezone(UTC).replace(tzinfo=None)


def _offsets(wall: _Wall, tz: tzinfo) -> tuple[timedelta, timedelta]:
    """UTC offsets of a wall time read with fold=0 and fold=1 (PEP 495).

    Equal: the time exists once. First greater: it is repeated (fall back). First smaller: it
    falls in a gap (spring forward) and does not exist.
    """
    first = datetime(*wall, tzinfo=tz).utcoffset()
    second = datetime(*wall, tzinfo=tz, fold=1).utcoffset()
    if first is None or second is None:
        raise CronError(f"time zone {tz!r} gives no UTC offset for {_at(wall).isoformat()}")
    return first, second


def _offset_at(tz: tzinfo, instant: datetime) -> timedelta | None:
    return tz.fromutc(instant.replace(tzinfo=tz)).utcoffset()


def _transition(tz: tzinfo, before: datetime, after: datetime) -> datetime:
    """The first whole second in (before, after] (naive UTC) with the UTC offset of `after`."""
    target = _offset_at(tz, after)
    low = before.replace(microsecond=0)  # has the old offset; `high` always has the new one
    high = int((after - low) / _SECOND) + 1
    count = 0
    while high - count > 1:
        middle = (count + high) // 2
        if _offset_at(tz, low + middle * _SECOND) == target:
            high = middle
        else:
            count = middle
    return low + high * _SECOND


def system_timezone(
    *, environ: Mapping[str, str] | None = None, localtime: str = "/etc/localtime"
) -> tzinfo:
    """The host's zone: $TZ if it names an IANA zone, else /etc/localtime, else UTC."""
    variable = (os.environ if environ is None else environ).get("TZ", "").removeprefix(":")
    if variable:
        zone = _zone_from_name_or_path(variable)
        if zone is not None:
            return zone
        logger.warning("TZ=%r is not an IANA time zone; using %s", variable, localtime)
    zone = _zone_from_name_or_path(os.path.realpath(localtime))
    if zone is None:
        logger.warning("cannot read the time zone from %s; using UTC", localtime)
        return UTC
    return zone


def _zone_from_name_or_path(name: str) -> tzinfo | None:
    if name.startswith("/"):
        # /usr/share/zoneinfo/Europe/Berlin -> Europe/Berlin, so the zone keeps its name.
        head, marker, key = name.rpartition("/zoneinfo/")
        if marker and head:
            zone = _zone_from_name_or_path(key)
            if zone is not None:
                return zone
        try:
            with open(name, "rb") as data:
                return ZoneInfo.from_file(data, key=name)
        except (OSError, ValueError):
            return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def resolve_timezone(name: str | None) -> tzinfo:
    """The zone a schedule names (an IANA key such as Europe/Berlin); None or "" = the system's."""
    if not name:
        return system_timezone()
    zone = _zone_from_name_or_path(name) if not name.startswith("/") else None
    if zone is not None:
        return zone
    close = [key for key in available_timezones() if key.lower() == name.lower()]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise CronError(
        f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin){hint}"
    )


def preview(
    expr: str, tz_name: str | None, count: int, after: datetime | None = None
) -> list[datetime]:
    """The next `count` (1-1000) fire times of `expr` in zone `tz_name` after `after` (now)."""
    if not 1 <= count <= _MAX_PREVIEW:
        raise CronError(f"preview count must be between 1 and {_MAX_PREVIEW}, got {count}")
    expression = CronExpression.parse(expr)
    zone = resolve_timezone(tz_name)
    fire_times = expression.iter_after(datetime.now(UTC) if after is None else after, zone)
    return [next(fire_times) for _ in range(count)]
