"""Brute-force reference for BusinessCalendar, deliberately naive.

It walks UTC minute by minute and asks zoneinfo what the local wall clock reads at the start
of each minute. With minute-aligned instants, whole-minute UTC offsets and windows on minute
boundaries, the reading is the same for the whole minute, so summing minutes is exact.
It shares no code with ``ticketledger.domain.calendar``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

MINUTE = timedelta(minutes=1)


def _minutes(clock: str | time) -> int:
    if isinstance(clock, time):
        return clock.hour * 60 + clock.minute
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass
class OracleCalendar:
    timezone: str
    windows: Mapping[int, Iterable[tuple[str | time, str | time]]]
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    extra_holidays: Iterable[date] = ()
    _holiday_years: dict[int, object] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.timezone)
        self.minute_windows = {
            weekday: [(_minutes(s), _minutes(e)) for s, e in pairs]
            for weekday, pairs in self.windows.items()
        }
        self.extra = set(self.extra_holidays)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra:
            return True
        if self.holidays_country is None:
            return False
        if day.year not in self._holiday_years:
            self._holiday_years[day.year] = holidays.country_holidays(
                self.holidays_country, subdiv=self.holidays_subdivision, years=day.year
            )
        return day in self._holiday_years[day.year]  # type: ignore[operator]

    def is_business_instant(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone)
        day = local.date()
        if self.is_holiday(day):
            return False
        wall = local.replace(tzinfo=None) - datetime.combine(day, time())
        return any(
            timedelta(minutes=start) <= wall < timedelta(minutes=end)
            for start, end in self.minute_windows.get(day.weekday(), [])
        )

    def business_minutes(self, start: datetime, end: datetime) -> int:
        """Business minutes in [start, end); both must be on whole UTC minutes."""
        moment = _aligned(start)
        stop = _aligned(end)
        count = 0
        while moment < stop:
            if self.is_business_instant(moment):
                count += 1
            moment += MINUTE
        return count

    def add_minutes(self, start: datetime, minutes: int, horizon: timedelta) -> datetime | None:
        """Earliest instant after `minutes` business minutes from start, or None past horizon."""
        moment = _aligned(start)
        if minutes == 0:
            return moment
        stop = moment + horizon
        count = 0
        while moment < stop:
            if self.is_business_instant(moment):
                count += 1
                if count == minutes:
                    return moment + MINUTE
            moment += MINUTE
        return None


def _aligned(instant: datetime) -> datetime:
    moment = instant.astimezone(UTC)
    assert moment.second == 0 and moment.microsecond == 0, "oracle needs whole minutes"
    return moment
