"""Business calendar: how much working time lies between two instants.

A calendar is a time zone, weekly opening windows in local wall-clock time and a set of
closed days (public holidays from the ``holidays`` package plus extra dates).

Business time is *real elapsed time* during which the local wall clock reads inside a window
of an open local day. Across daylight-saving changes this means an hour repeated when clocks
go back counts twice and an hour skipped when they go forward does not count at all.

All instants returned by this module are aware datetimes in UTC (``tzinfo=datetime.UTC``);
arguments may be aware datetimes in any time zone. Naive datetimes are rejected because their
meaning would depend on the machine the code runs on.

Cost grows with the number of local days spanned, never with minutes: each local day is
turned into at most a handful of UTC intervals (cached), and everything else is arithmetic
on those intervals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketledger.domain.copies import shared_when_copied

__all__ = ["BusinessCalendar"]

Interval = tuple[datetime, datetime]
# A window is (start, end) in minutes after local midnight; end may be 1440 ("24:00").
_Window = tuple[int, int]
_DayWindows = tuple[_Window, ...]
# A constant-offset piece of UTC time: (start, end, utc offset in force).
_Piece = tuple[datetime, datetime, timedelta]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DAY: Final = timedelta(days=1)
_SECOND: Final = timedelta(seconds=1)
_SECONDS_PER_DAY: Final = 86_400
_MINUTES_PER_DAY: Final = 1440
# zoneinfo offers no public list of transitions, so offsets are sampled and bisected.
# Two offset changes closer together than the sampling step would go unnoticed; the closest
# pair in tzdata 2026 is about four days apart (Africa/Freetown, 1939), so an hour is ample.
_SAMPLE_SECONDS: Final = 3600
# add_business_time gives up after this much real time, so a calendar whose days are all
# holidays cannot make it loop forever.
_SEARCH_LIMIT: Final = timedelta(days=3653)
_SEARCH_CHUNK: Final = timedelta(days=7)
# Day arithmetic reaches a few days beyond the arguments; keep clear of datetime.min/max.
_EARLIEST: Final = datetime(2, 1, 1, tzinfo=UTC)
_LATEST: Final = datetime(9990, 1, 1, tzinfo=UTC)
_UTC_KEYS: Final = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})
_WEEKDAY_NAMES: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_SPANS_KEPT: Final = 256
_CLOCK: Final = re.compile(r"(\d\d):(\d\d)")
_SPEC_KEYS: Final = frozenset(
    {"timezone", "windows", "holidays_country", "holidays_subdivision", "extra_holidays"}
)


# Immutable, and what it remembers is a pure function of it: shared by copies.
@shared_when_copied
class BusinessCalendar:
    """Immutable business calendar; see the module docstring for the exact semantics.

    ``windows`` maps weekday (0 = Monday ... 6 = Sunday) to ``(start, end)`` pairs of
    ``"HH:MM"`` strings or ``datetime.time`` objects; ``"24:00"`` is accepted as an end and
    means the following local midnight. A weekday that is absent (or has no windows) is closed.
    """

    __slots__ = (
        "_always",
        "_country",
        "_extra",
        "_near",
        "_subdivision",
        "_tz_key",
        "_windows",
    )

    _tz_key: str
    _windows: tuple[_DayWindows, ...]
    _country: str | None
    _subdivision: str | None
    _extra: frozenset[date]
    _always: bool
    # The merged intervals of a span of local days, by its first and last day:
    # a pure function of the calendar, asked again and again by the SLA clocks.
    _near: dict[tuple[date, date], list[Interval]]

    def __init__(
        self,
        timezone: str,
        windows: Mapping[int, Iterable[Sequence[str | time]]],
        *,
        holidays_country: str | None = None,
        holidays_subdivision: str | None = None,
        extra_holidays: Iterable[date | str] = (),
    ) -> None:
        values: dict[str, object] = {
            "_tz_key": _parse_timezone(timezone),
            "_windows": _parse_windows(windows),
            "_country": holidays_country,
            "_subdivision": holidays_subdivision,
            "_extra": _parse_extra_holidays(extra_holidays),
        }
        _check_holiday_source(holidays_country, holidays_subdivision)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_always", self._is_always_open())
        object.__setattr__(self, "_near", {})

    # ----------------------------------------------------------------- construction helpers

    @classmethod
    def always(cls) -> BusinessCalendar:
        """A 24x7 calendar in UTC without holidays: business time is plain elapsed time."""
        return cls("UTC", {weekday: [("00:00", "24:00")] for weekday in range(7)})

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> BusinessCalendar:
        """Rebuild a calendar from the plain dict produced by :meth:`to_spec`."""
        if not isinstance(spec, Mapping):
            raise ValueError("calendar spec must be a mapping")
        unknown = sorted(str(key) for key in set(spec) - _SPEC_KEYS)
        if unknown:
            raise ValueError(f"unknown calendar spec keys: {', '.join(unknown)}")
        if "timezone" not in spec:
            raise ValueError("calendar spec has no 'timezone'")
        return cls(
            spec["timezone"],
            _spec_windows(spec.get("windows", {})),
            holidays_country=spec.get("holidays_country"),
            holidays_subdivision=spec.get("holidays_subdivision"),
            extra_holidays=spec.get("extra_holidays", ()),
        )

    def to_spec(self) -> dict[str, Any]:
        """A JSON-friendly dict (suitable for storing in events) that :meth:`from_spec` reads."""
        return {
            "timezone": self._tz_key,
            "windows": {
                str(weekday): [list(pair) for pair in pairs]
                for weekday, pairs in self.windows.items()
            },
            "holidays_country": self._country,
            "holidays_subdivision": self._subdivision,
            "extra_holidays": [day.isoformat() for day in self.extra_holidays],
        }

    # ------------------------------------------------------------------------- properties

    @property
    def timezone(self) -> str:
        return self._tz_key

    @property
    def windows(self) -> Mapping[int, tuple[tuple[str, str], ...]]:
        """Open weekdays only, windows sorted, as ``"HH:MM"`` strings."""
        return MappingProxyType(
            {
                weekday: tuple((_format_clock(s), _format_clock(e)) for s, e in day)
                for weekday, day in enumerate(self._windows)
                if day
            }
        )

    @property
    def holidays_country(self) -> str | None:
        return self._country

    @property
    def holidays_subdivision(self) -> str | None:
        return self._subdivision

    @property
    def extra_holidays(self) -> tuple[date, ...]:
        return tuple(sorted(self._extra))

    # ------------------------------------------------------------------------ value object

    def _identity(self) -> tuple[object, ...]:
        return (self._tz_key, self._windows, self._country, self._subdivision, self._extra)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        windows = {weekday: list(pairs) for weekday, pairs in self.windows.items()}
        return (
            f"BusinessCalendar(timezone={self._tz_key!r}, windows={windows!r}, "
            f"holidays_country={self._country!r}, "
            f"holidays_subdivision={self._subdivision!r}, "
            f"extra_holidays={list(self.extra_holidays)!r})"
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("BusinessCalendar is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("BusinessCalendar is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        # The default slot-based pickling would go through the blocked __setattr__.
        return (BusinessCalendar.from_spec, (self.to_spec(),))

    # ---------------------------------------------------------------------------- queries

    def is_holiday(self, local_date: date) -> bool:
        """Whether the local date is closed as a holiday (country/subdivision or extra)."""
        if isinstance(local_date, datetime) or not isinstance(local_date, date):
            raise TypeError(f"is_holiday expects a local date, got {local_date!r}")
        if local_date in self._extra:
            return True
        if self._country is None:
            return False
        return local_date in _country_holidays(self._country, self._subdivision, local_date.year)

    def business_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Business time within ``[start, end)`` as sorted, disjoint, non-adjacent UTC intervals.

        Every other query is derived from these intervals.
        """
        lo = _as_utc(start, "start")
        hi = _as_utc(end, "end")
        if hi <= lo:
            return []
        if self._always:
            return [(lo, hi)]
        return _clip(self._intervals_near(lo, hi), lo, hi)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in ``[start, end)``; zero when ``end <= start``."""
        return sum((b - a for a, b in self.business_intervals(start, end)), timedelta())

    def off_hours_between(self, start: datetime, end: datetime) -> timedelta:
        """Elapsed time in ``[start, end)`` that is not business time; zero when end <= start."""
        lo = _as_utc(start, "start")
        hi = _as_utc(end, "end")
        if hi <= lo:
            return timedelta()
        return (hi - lo) - self.business_time_between(lo, hi)

    def is_business_time(self, instant: datetime) -> bool:
        """Whether ``instant`` lies inside a (half-open) business interval."""
        moment = _as_utc(instant, "instant")
        return bool(self.business_intervals(moment, moment + timedelta(microseconds=1)))

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """Earliest instant ``t`` (in UTC) with ``business_time_between(start, t) == duration``.

        A zero duration returns ``start`` itself (as UTC). A positive duration ends inside or
        exactly at the end of a business interval, never at the start of the next one.
        """
        origin = _as_utc(start, "start")
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a timedelta, got {duration!r}")
        if duration < timedelta():
            raise ValueError(f"duration must not be negative, got {duration}")
        if duration == timedelta():
            return origin
        if self._always:
            return _as_utc(origin + duration, "result")
        if not any(self._windows):
            raise ValueError("calendar has no business hours: cannot add a positive duration")
        return self._walk_forward(origin, duration)

    # --------------------------------------------------------------------------- internals

    def _is_always_open(self) -> bool:
        full_day: _DayWindows = ((0, _MINUTES_PER_DAY),)
        return (
            self._tz_key in _UTC_KEYS
            and all(day == full_day for day in self._windows)
            and self._country is None
            and not self._extra
        )

    def _walk_forward(self, origin: datetime, duration: timedelta) -> datetime:
        remaining = duration
        limit = min(origin + _SEARCH_LIMIT, _LATEST)
        cursor = origin
        while cursor < limit:
            chunk_end = min(cursor + _SEARCH_CHUNK, limit)
            for lo, hi in self.business_intervals(cursor, chunk_end):
                if hi - lo >= remaining:
                    return lo + remaining
                remaining -= hi - lo
            cursor = chunk_end
        raise ValueError(
            f"cannot add {duration} of business time to {origin.isoformat()}: "
            f"only {duration - remaining} found within 10 years"
        )

    def _intervals_near(self, lo: datetime, hi: datetime) -> list[Interval]:
        """Merged business intervals of every local day whose instants may fall in [lo, hi)."""
        # A UTC offset is strictly within +-24h (datetime enforces it), so the instants of
        # local day D lie strictly between D 00:00 UTC - 24h and D+1 00:00 UTC + 24h.
        span = ((lo - 2 * _DAY).date(), (hi + _DAY).date())
        known = self._near.get(span)
        if known is not None:
            return known
        found: list[Interval] = []
        for day in _dates(*span):
            windows = self._windows[day.weekday()]
            if windows and not self.is_holiday(day):
                found.extend(_day_intervals(self._tz_key, day, windows))
        merged = _merge(found)
        if len(self._near) >= _SPANS_KEPT:
            self._near.clear()
        self._near[span] = merged
        return merged


# ------------------------------------------------------------------------ day computation


@lru_cache(maxsize=16_384)
def _day_intervals(tz_key: str, local_day: date, windows: _DayWindows) -> tuple[Interval, ...]:
    """UTC instants whose local wall reading falls on ``local_day`` inside one of ``windows``.

    Within a constant-offset piece, wall = instant + offset, so the instants reading inside
    [s, e) are just [s - offset, e - offset) clipped to the piece. Doing this for every piece
    covers gaps (no piece maps there) and folds (two pieces map there) alike.
    """
    # The wall clock is labelled UTC only so that "wall - offset" yields the UTC instant.
    midnight = datetime.combine(local_day, time(), UTC)
    pieces = [
        piece
        for utc_day in (local_day - _DAY, local_day, local_day + _DAY)
        for piece in _utc_day_pieces(tz_key, utc_day)
    ]
    found: list[Interval] = []
    for start_minute, end_minute in windows:
        wall_start = midnight + timedelta(minutes=start_minute)
        wall_end = midnight + timedelta(minutes=end_minute)
        for piece_start, piece_end, offset in pieces:
            lo = max(piece_start, wall_start - offset)
            hi = min(piece_end, wall_end - offset)
            if lo < hi:
                found.append((lo, hi))
    return tuple(_merge(found))


@lru_cache(maxsize=4096)
def _utc_day_pieces(tz_key: str, utc_day: date) -> tuple[_Piece, ...]:
    """Constant-offset pieces tiling the UTC day ``[utc_day 00:00, next day 00:00)``."""
    tz = ZoneInfo(tz_key)
    day_start = (datetime.combine(utc_day, time(), UTC) - _EPOCH) // _SECOND
    samples = range(day_start, day_start + _SECONDS_PER_DAY + 1, _SAMPLE_SECONDS)
    sampled = [(second, _offset_at(tz, second)) for second in samples]
    changes: list[tuple[int, timedelta]] = [sampled[0]]
    for (a, offset_a), (b, offset_b) in pairwise(sampled):
        if offset_a != offset_b:
            changes.extend(_changes_between(tz, a, offset_a, b, offset_b))
    ends = [second for second, _ in changes[1:]] + [day_start + _SECONDS_PER_DAY]
    return tuple(
        (_from_epoch(begin), _from_epoch(end), offset)
        for (begin, offset), end in zip(changes, ends, strict=True)
        if begin < end
    )


def _changes_between(
    tz: ZoneInfo, lo: int, offset_lo: timedelta, hi: int, offset_hi: timedelta
) -> list[tuple[int, timedelta]]:
    """Offset changes in (lo, hi] as (first second with the new offset, new offset).

    Bisects on whole seconds: tzdata transitions fall on whole seconds, and zoneinfo decides
    the offset of an instant from its whole-second timestamp.
    """
    if hi - lo == 1:
        return [(hi, offset_hi)]
    mid = (lo + hi) // 2
    offset_mid = _offset_at(tz, mid)
    found: list[tuple[int, timedelta]] = []
    if offset_mid != offset_lo:
        found += _changes_between(tz, lo, offset_lo, mid, offset_mid)
    if offset_mid != offset_hi:
        found += _changes_between(tz, mid, offset_mid, hi, offset_hi)
    return found


def _offset_at(tz: ZoneInfo, epoch_second: int) -> timedelta:
    offset = _from_epoch(epoch_second).astimezone(tz).utcoffset()
    if offset is None:  # pragma: no cover - ZoneInfo always knows the offset of an instant
        raise ValueError(f"time zone {tz.key} gives no UTC offset")
    return offset


def _from_epoch(epoch_second: int) -> datetime:
    return _EPOCH + timedelta(seconds=epoch_second)


@lru_cache(maxsize=512)
def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(country_holidays(country, subdivision, year))


# -------------------------------------------------------------------- interval arithmetic


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and fuse overlapping or touching intervals."""
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _clip(intervals: Iterable[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    clipped: list[Interval] = []
    for a, b in intervals:
        start, end = max(a, lo), min(b, hi)
        if start < end:
            clipped.append((start, end))
    return clipped


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _DAY


# ------------------------------------------------------------------------- validation


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be an aware datetime, got {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime for {name} ({value.isoformat()}): use an aware datetime")
    moment = value.astimezone(UTC)
    if not _EARLIEST <= moment <= _LATEST:
        raise ValueError(
            f"{name} {value.isoformat()} is outside the supported range "
            f"{_EARLIEST.isoformat()} .. {_LATEST.isoformat()}"
        )
    return moment


def _parse_timezone(timezone: object) -> str:
    if isinstance(timezone, ZoneInfo):
        timezone = timezone.key
    if not isinstance(timezone, str) or not timezone:
        raise ValueError(f"timezone must be an IANA time zone name, got {timezone!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}") from exc
    return timezone


def _parse_windows(windows: object) -> tuple[_DayWindows, ...]:
    if not isinstance(windows, Mapping):
        raise ValueError(
            "windows must be a mapping from weekday (0 = Monday .. 6 = Sunday) "
            "to a list of (start, end) pairs"
        )
    days: list[_DayWindows] = [()] * 7
    for weekday, pairs in windows.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(
                f"weekday must be an integer 0 (Monday) .. 6 (Sunday), got {weekday!r}"
            )
        days[weekday] = _parse_day(_WEEKDAY_NAMES[weekday], pairs)
    return tuple(days)


def _parse_day(day_name: str, pairs: object) -> _DayWindows:
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise ValueError(f"windows for {day_name} must be a list of (start, end) pairs")
    parsed = sorted(_parse_window(day_name, pair) for pair in pairs)
    for (s1, e1), (s2, e2) in pairwise(parsed):
        if s2 < e1:
            raise ValueError(
                f"windows for {day_name} overlap: {_format_window((s1, e1))} and "
                f"{_format_window((s2, e2))}"
            )
    return tuple(parsed)


def _parse_window(day_name: str, pair: object) -> _Window:
    if isinstance(pair, str | bytes) or not isinstance(pair, tuple | list) or len(pair) != 2:
        raise ValueError(f"window for {day_name} must be a (start, end) pair, got {pair!r}")
    start = _parse_clock(pair[0], day_name, is_end=False)
    end = _parse_clock(pair[1], day_name, is_end=True)
    if end <= start:
        raise ValueError(
            f"window {_format_window((start, end))} for {day_name} must end after it starts"
        )
    return start, end


def _parse_clock(value: object, day_name: str, *, is_end: bool) -> int:
    role = "end" if is_end else "start"
    if isinstance(value, time):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise ValueError(
                f"window {role} {value!r} for {day_name} must be a naive time on a whole minute"
            )
        return value.hour * 60 + value.minute
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"window {role} {value!r} for {day_name} is not in HH:MM format")
    minutes = int(match[1]) * 60 + int(match[2])
    if value == "24:00":
        if not is_end:
            raise ValueError(f"24:00 is only allowed as a window end (start for {day_name})")
        return minutes
    if int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"window {role} {value!r} for {day_name} is not a valid time of day")
    return minutes


def _format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _format_window(window: _Window) -> str:
    return f"{_format_clock(window[0])}-{_format_clock(window[1])}"


def _spec_windows(raw: object) -> dict[int, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError("calendar spec 'windows' must be a mapping")
    windows: dict[int, Any] = {}
    for key, pairs in raw.items():
        weekday = _spec_weekday(key)
        if weekday in windows:
            raise ValueError(f"calendar spec gives windows for weekday {weekday} twice")
        windows[weekday] = pairs
    return windows


def _spec_weekday(key: object) -> int:
    if isinstance(key, str) and key.isdecimal():
        return int(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    raise ValueError(f"weekday key in calendar spec must be '0'..'6', got {key!r}")


def _parse_extra_holidays(extra: object) -> frozenset[date]:
    if isinstance(extra, str | bytes) or not isinstance(extra, Iterable):
        raise ValueError("extra_holidays must be a list of dates or ISO date strings")
    return frozenset(_parse_date(item) for item in extra)


def _parse_date(item: object) -> date:
    if isinstance(item, datetime):
        raise ValueError(f"extra holiday {item!r} must be a date, not a datetime")
    if isinstance(item, date):
        return item
    if isinstance(item, str):
        try:
            return date.fromisoformat(item)
        except ValueError as exc:
            raise ValueError(f"extra holiday {item!r} is not an ISO date (YYYY-MM-DD)") from exc
    raise ValueError(f"extra holiday {item!r} must be a date or an ISO date string")


def _check_holiday_source(country: object, subdivision: object) -> None:
    if country is None:
        if subdivision is not None:
            raise ValueError("holidays_subdivision needs holidays_country as well")
        return
    if not isinstance(country, str) or not country:
        raise ValueError(f"holidays_country must be a country code, got {country!r}")
    if subdivision is not None and (not isinstance(subdivision, str) or not subdivision):
        raise ValueError(f"holidays_subdivision must be a subdivision code, got {subdivision!r}")
    try:
        country_holidays(country, subdivision, ())
    except NotImplementedError as exc:
        raise ValueError(
            f"unknown holidays country/subdivision {country!r}/{subdivision!r}: {exc}"
        ) from exc


def country_holidays(country: str, subdivision: str | None, years: Any) -> Any:
    # The holidays package loads every country's calendar when imported (tens
    # of milliseconds): only a walk over a calendar with a country pays for it.
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision, years=years)
