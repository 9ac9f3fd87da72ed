"""Tests for the business calendar: properties, a brute-force oracle and hand-computed cases."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ticketledger.domain.calendar as calendar_module
from tests.calendar_oracle import OracleCalendar
from tests.strategies import (
    CALENDAR_ZONE_YEARS,
    CalendarCase,
    calendar_cases,
    calendar_instants,
    calendar_spans,
    calendars,
)
from ticketledger.domain.calendar import BusinessCalendar

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SANTIAGO = ZoneInfo("America/Santiago")
BUENOS_AIRES = ZoneInfo("America/Argentina/Buenos_Aires")
MICROSECOND = timedelta(microseconds=1)
WEEKDAYS = range(5)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORACLE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def office(zone: str, start: str, end: str, **kwargs: Any) -> BusinessCalendar:
    return BusinessCalendar(zone, {day: [(start, end)] for day in WEEKDAYS}, **kwargs)


def shift(instant: datetime, delta: timedelta) -> datetime:
    """Real elapsed-time arithmetic (plain ``+`` on a zoned datetime is wall-clock arithmetic).

    The result is in UTC because ``==`` between datetimes of different zones is always False
    when one of them falls in a repeated hour (PEP 495).
    """
    return instant.astimezone(UTC) + delta


def oracle_for(case: CalendarCase) -> OracleCalendar:
    return OracleCalendar(**case.kwargs)


# ------------------------------------------------------------------------------ properties


@PROPERTY
@given(case=calendar_cases(), first=calendar_spans(), second=calendar_spans(), data=st.data())
def test_business_time_is_additive_over_adjacent_spans(case, first, second, data):
    cal = case.build()
    a = data.draw(calendar_instants(case, whole_minutes=False))
    b = shift(a, first + timedelta(seconds=data.draw(st.integers(0, 59))))
    c = shift(b, second)
    assert cal.business_time_between(a, b) + cal.business_time_between(
        b, c
    ) == cal.business_time_between(a, c)


@PROPERTY
@given(case=calendar_cases(), span=calendar_spans(20), data=st.data())
def test_adding_business_time_reaches_exactly_the_requested_duration(case, span, data):
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=False))
    available = cal.business_time_between(start, shift(start, span))
    duration = MICROSECOND * data.draw(st.integers(0, available // MICROSECOND))
    due = cal.add_business_time(start, duration)
    assert cal.business_time_between(start, due) == duration
    assert due <= shift(start, span)


@PROPERTY
@given(case=calendar_cases(), span=calendar_spans(20), data=st.data())
def test_added_business_time_lands_on_the_earliest_instant_reaching_the_duration(case, span, data):
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=False))
    available = cal.business_time_between(start, shift(start, span))
    duration = MICROSECOND * data.draw(st.integers(1, max(1, available // MICROSECOND)))
    if duration > available:
        duration = available
    due = cal.add_business_time(start, duration)
    if duration:
        assert cal.business_time_between(start, due - MICROSECOND) < duration
        assert cal.is_business_time(due - MICROSECOND)
    else:
        assert due == start.astimezone(UTC)


@PROPERTY
@given(case=calendar_cases(), first=calendar_spans(), second=calendar_spans(), data=st.data())
def test_business_time_never_decreases_as_the_end_moves_later(case, first, second, data):
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=False))
    nearer, farther = shift(start, first), shift(start, first + second)
    assert cal.business_time_between(start, nearer) <= cal.business_time_between(start, farther)
    assert cal.business_time_between(start, farther) - cal.business_time_between(start, nearer) <= (
        farther - nearer
    )


@PROPERTY
@given(case=calendar_cases(), span=calendar_spans(15), data=st.data())
def test_adding_more_business_time_never_lands_earlier(case, span, data):
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=False))
    available = cal.business_time_between(start, shift(start, span)) // MICROSECOND
    smaller, larger = sorted(data.draw(st.lists(st.integers(0, available), min_size=2, max_size=2)))
    assert cal.add_business_time(start, smaller * MICROSECOND) <= cal.add_business_time(
        start, larger * MICROSECOND
    )


@PROPERTY
@given(case=calendar_cases(), span=calendar_spans(5), data=st.data())
def test_is_business_time_agrees_with_business_intervals(case, span, data):
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=False))
    end = shift(start, span + timedelta(minutes=1))
    intervals = cal.business_intervals(start, end)
    probes = [lo for lo, _ in intervals] + [hi - MICROSECOND for _, hi in intervals]
    probes += [hi for _, hi in intervals]
    probes += [shift(start, span * data.draw(st.floats(0, 1))) for _ in range(5)]
    for probe in (p for p in probes if start <= p < end):
        inside = any(lo <= probe < hi for lo, hi in intervals)
        assert cal.is_business_time(probe) == inside, probe


@PROPERTY
@given(case=calendar_cases(), span=calendar_spans(), data=st.data())
def test_business_intervals_are_sorted_disjoint_utc_and_inside_the_span(case, span, data):
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=False))
    end = shift(start, span)
    intervals = cal.business_intervals(start, end)
    for lo, hi in intervals:
        assert start <= lo < hi <= end
        assert lo.tzinfo is UTC and hi.tzinfo is UTC
    for (_, previous_end), (next_start, _) in pairwise(intervals):
        assert previous_end < next_start
    total = sum((hi - lo for lo, hi in intervals), timedelta())
    assert total == cal.business_time_between(start, end)
    assert total + cal.off_hours_between(start, end) == span


@PROPERTY
@given(zone=st.sampled_from(sorted(CALENDAR_ZONE_YEARS)), span=calendar_spans(), data=st.data())
def test_a_calendar_open_around_the_clock_counts_all_elapsed_time_even_across_dst(zone, span, data):
    case = CalendarCase(
        {"timezone": zone, "windows": {day: [("00:00", "24:00")] for day in range(7)}},
        *CALENDAR_ZONE_YEARS[zone],
    )
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=False))
    assert cal.business_time_between(start, shift(start, span)) == span
    assert cal.add_business_time(start, span) == shift(start, span)


@PROPERTY
@given(cal=calendars())
def test_spec_round_trip_preserves_the_calendar(cal):
    rebuilt = BusinessCalendar.from_spec(cal.to_spec())
    assert rebuilt == cal
    assert hash(rebuilt) == hash(cal)
    assert rebuilt.to_spec() == cal.to_spec()


# -------------------------------------------------------------------------------- oracle


@ORACLE
@given(case=calendar_cases(), span=calendar_spans(10), data=st.data())
def test_business_time_matches_the_minute_stepping_oracle(case, span, data):
    cal = case.build()
    start = data.draw(calendar_instants(case, whole_minutes=True))
    expected = oracle_for(case).business_minutes(start, shift(start, span))
    assert cal.business_time_between(start, shift(start, span)) == timedelta(minutes=expected)


@ORACLE
@given(case=calendar_cases(), span=calendar_spans(10), data=st.data())
def test_add_business_time_matches_the_minute_stepping_oracle(case, span, data):
    cal = case.build()
    oracle = oracle_for(case)
    start = data.draw(calendar_instants(case, whole_minutes=True))
    available = oracle.business_minutes(start, shift(start, span))
    minutes = data.draw(st.integers(0, available))
    expected = oracle.add_minutes(start, minutes, horizon=span)
    assert cal.add_business_time(start, timedelta(minutes=minutes)) == expected


@ORACLE
@given(case=calendar_cases(), data=st.data())
def test_is_business_time_matches_the_wall_clock_oracle_at_arbitrary_instants(case, data):
    cal = case.build()
    oracle = oracle_for(case)
    for _ in range(20):
        instant = data.draw(calendar_instants(case, whole_minutes=False))
        assert cal.is_business_time(instant) == oracle.is_business_instant(instant), instant


# ------------------------------------------------------------------- daylight-saving time


def test_sao_paulo_dst_start_2018_loses_the_skipped_midnight_hour():
    # 2018-11-04 00:00 (-03) jumped to 01:00 (-02): only 01:00-02:00 exists, i.e. 03:00-04:00Z.
    cal = BusinessCalendar("America/Sao_Paulo", {6: [("00:00", "02:00")]})
    assert cal.business_intervals(utc(2018, 11, 3), utc(2018, 11, 6)) == [
        (utc(2018, 11, 4, 3), utc(2018, 11, 4, 4))
    ]
    assert cal.business_time_between(utc(2018, 11, 3), utc(2018, 11, 6)) == timedelta(hours=1)


def test_sao_paulo_dst_end_2018_counts_the_repeated_hour_twice():
    # 2018-02-18 00:00 (-02) went back to 2018-02-17 23:00 (-03): Saturday 23:00-24:00 ran
    # twice (01:00-03:00Z); Sunday 00:00-02:00 then runs once at -03 (03:00-05:00Z).
    saturday = BusinessCalendar("America/Sao_Paulo", {5: [("23:00", "24:00")]})
    sunday = BusinessCalendar("America/Sao_Paulo", {6: [("00:00", "02:00")]})
    span = (utc(2018, 2, 16), utc(2018, 2, 20))
    assert saturday.business_intervals(*span) == [(utc(2018, 2, 18, 1), utc(2018, 2, 18, 3))]
    assert saturday.business_time_between(*span) == timedelta(hours=2)
    assert sunday.business_intervals(*span) == [(utc(2018, 2, 18, 3), utc(2018, 2, 18, 5))]


def test_adding_time_in_the_repeated_hour_continues_into_its_second_pass():
    cal = BusinessCalendar("America/Sao_Paulo", {5: [("23:00", "24:00")]})
    first_pass = datetime(2018, 2, 17, 23, 30, tzinfo=SAO_PAULO)  # fold=0: -02, 01:30Z
    due = cal.add_business_time(first_pass, timedelta(hours=1))
    assert due == utc(2018, 2, 18, 2, 30)
    assert due.astimezone(SAO_PAULO).replace(tzinfo=None) == datetime(2018, 2, 17, 23, 30)
    assert due.astimezone(SAO_PAULO).fold == 1


def test_santiago_april_2026_fall_back_repeats_the_last_hour_of_saturday():
    # zoneinfo: 2026-04-05 03:00Z is Saturday 24:00 at -03, which becomes 23:00 at -04.
    assert utc(2026, 4, 5, 2, 59).astimezone(SANTIAGO).utcoffset() == timedelta(hours=-3)
    assert utc(2026, 4, 5, 3).astimezone(SANTIAGO).replace(tzinfo=None) == datetime(2026, 4, 4, 23)
    cal = BusinessCalendar("America/Santiago", {5: [("22:00", "24:00")], 6: [("00:00", "02:00")]})
    # Saturday 22:00-24:00 lasts 3 real hours (01:00-04:00Z); Sunday 00:00-02:00 at -04.
    assert cal.business_intervals(utc(2026, 4, 3), utc(2026, 4, 7)) == [
        (utc(2026, 4, 5, 1), utc(2026, 4, 5, 6))
    ]
    assert cal.is_business_time(utc(2026, 4, 5, 3, 30))  # 23:30 on the second pass


def test_santiago_september_2026_spring_forward_skips_the_first_hour_of_sunday():
    # zoneinfo: 2026-09-06 04:00Z is Saturday 24:00 at -04, which becomes Sunday 01:00 at -03.
    assert utc(2026, 9, 6, 4).astimezone(SANTIAGO).replace(tzinfo=None) == datetime(2026, 9, 6, 1)
    cal = BusinessCalendar("America/Santiago", {5: [("22:00", "24:00")], 6: [("00:00", "02:00")]})
    # Saturday 22:00-24:00 is 02:00-04:00Z; Sunday only has 01:00-02:00, i.e. 04:00-05:00Z.
    assert cal.business_intervals(utc(2026, 9, 4), utc(2026, 9, 8)) == [
        (utc(2026, 9, 6, 2), utc(2026, 9, 6, 5))
    ]
    assert cal.business_time_between(utc(2026, 9, 4), utc(2026, 9, 8)) == timedelta(hours=3)


def test_a_holiday_closes_both_passes_of_a_repeated_hour():
    # 2026-04-04 is Holy Saturday in Chile, the day whose last hour is repeated.
    assert date(2026, 4, 4) in holidays.country_holidays("CL", years=2026)
    cal = BusinessCalendar(
        "America/Santiago",
        {5: [("22:00", "24:00")], 6: [("00:00", "02:00")]},
        holidays_country="CL",
    )
    assert cal.business_intervals(utc(2026, 4, 3), utc(2026, 4, 7)) == [
        (utc(2026, 4, 5, 4), utc(2026, 4, 5, 6))
    ]


def test_buenos_aires_dst_start_2007_at_midnight_shortens_the_day():
    # 2007-12-30 00:00 (-03) jumped to 01:00 (-02): a 00:00-24:00 window lasts 23 hours.
    cal = BusinessCalendar("America/Argentina/Buenos_Aires", {6: [("00:00", "24:00")]})
    assert cal.business_intervals(utc(2007, 12, 28), utc(2008, 1, 2)) == [
        (utc(2007, 12, 30, 3), utc(2007, 12, 31, 2))
    ]


# ----------------------------------------------------------------------------- holidays


def test_argentina_may_revolution_day_2026_closes_the_day():
    cal = office("America/Argentina/Buenos_Aires", "09:00", "18:00", holidays_country="AR")
    assert cal.is_holiday(date(2026, 5, 25))
    friday = datetime(2026, 5, 22, 9, tzinfo=BUENOS_AIRES)
    tuesday = datetime(2026, 5, 26, 18, tzinfo=BUENOS_AIRES)
    # Friday 9h + (weekend, Monday 25 closed) + Tuesday 9h.
    assert cal.business_time_between(friday, tuesday) == timedelta(hours=18)
    assert not cal.is_business_time(datetime(2026, 5, 25, 12, tzinfo=BUENOS_AIRES))


def test_chile_independence_day_2026_closes_the_day():
    cal = office("America/Santiago", "09:00", "18:00", holidays_country="CL")
    assert cal.is_holiday(date(2026, 9, 18))
    assert cal.is_holiday(date(2026, 9, 19))
    thursday = datetime(2026, 9, 17, 9, tzinfo=SANTIAGO)
    monday = datetime(2026, 9, 21, 18, tzinfo=SANTIAGO)
    assert cal.business_time_between(thursday, monday) == timedelta(hours=18)
    without = office("America/Santiago", "09:00", "18:00")
    assert without.business_time_between(thursday, monday) == timedelta(hours=27)


def test_brazil_black_awareness_day_2026_closes_the_day():
    cal = office("America/Sao_Paulo", "08:00", "17:00", holidays_country="BR")
    assert cal.is_holiday(date(2026, 11, 20))
    thursday = datetime(2026, 11, 19, 8, tzinfo=SAO_PAULO)
    monday = datetime(2026, 11, 23, 17, tzinfo=SAO_PAULO)
    assert cal.business_time_between(thursday, monday) == timedelta(hours=18)


def test_a_state_holiday_closes_the_day_only_with_its_subdivision():
    # 2026-07-09 (Thursday) is the Constitutionalist Revolution holiday of Sao Paulo state.
    national = office("America/Sao_Paulo", "08:00", "17:00", holidays_country="BR")
    state = office(
        "America/Sao_Paulo",
        "08:00",
        "17:00",
        holidays_country="BR",
        holidays_subdivision="SP",
    )
    wednesday = datetime(2026, 7, 8, 8, tzinfo=SAO_PAULO)
    friday = datetime(2026, 7, 10, 17, tzinfo=SAO_PAULO)
    assert national.business_time_between(wednesday, friday) == timedelta(hours=27)
    assert state.business_time_between(wednesday, friday) == timedelta(hours=18)


def test_extra_holidays_close_the_whole_local_day():
    cal = office("America/Sao_Paulo", "08:00", "17:00", extra_holidays=[date(2026, 12, 24)])
    assert cal.is_holiday(date(2026, 12, 24))
    assert not cal.is_holiday(date(2026, 12, 23))
    wednesday = datetime(2026, 12, 23, 8, tzinfo=SAO_PAULO)
    friday = datetime(2026, 12, 25, 17, tzinfo=SAO_PAULO)
    assert cal.business_time_between(wednesday, friday) == timedelta(hours=18)


def test_medium_ticket_opened_friday_before_independence_day_is_due_next_friday_morning():
    cal = BusinessCalendar(
        "America/Sao_Paulo",
        {day: [("08:00", "10:45"), ("13:00", "17:30")] for day in WEEKDAYS},
        holidays_country="BR",
    )
    opened = datetime(2026, 9, 4, 16, tzinfo=SAO_PAULO)
    # A working day holds 2h45 + 4h30 = 7h15. Friday 16:00-17:30 gives 1h30, Monday 7 is
    # Independence Day, Tue/Wed/Thu give 21h45 (23h15 so far), so 45 minutes remain for
    # Friday 11: due 08:45 local, which is 11:45Z.
    due = cal.add_business_time(opened, timedelta(hours=24))
    assert due == utc(2026, 9, 11, 11, 45)
    assert due.tzinfo is UTC
    assert cal.business_time_between(opened, due) == timedelta(hours=24)


# ------------------------------------------------------------------------------ semantics


def test_window_ending_at_24_00_runs_until_the_next_local_midnight():
    cal = BusinessCalendar("America/Sao_Paulo", {0: [("22:00", "24:00")]})
    monday = datetime(2026, 3, 2, tzinfo=SAO_PAULO)
    assert cal.business_intervals(monday, monday + timedelta(days=2)) == [
        (utc(2026, 3, 3, 1), utc(2026, 3, 3, 3))
    ]
    assert cal.windows == {0: (("22:00", "24:00"),)}


def test_adjacent_windows_are_allowed_and_form_one_interval():
    cal = BusinessCalendar("UTC", {0: [("13:00", "14:00"), ("12:00", "13:00")]})
    assert cal.windows == {0: (("12:00", "13:00"), ("13:00", "14:00"))}
    assert cal.business_intervals(utc(2026, 3, 2), utc(2026, 3, 3)) == [
        (utc(2026, 3, 2, 12), utc(2026, 3, 2, 14))
    ]


def test_windows_accept_time_objects():
    cal = BusinessCalendar("UTC", {0: [(time(8), time(12, 30))]})
    assert cal == BusinessCalendar("UTC", {0: [("08:00", "12:30")]})


def test_zero_duration_returns_start_even_outside_business_hours():
    cal = office("America/Sao_Paulo", "08:00", "17:00")
    sunday_night = datetime(2026, 3, 1, 23, tzinfo=SAO_PAULO)
    due = cal.add_business_time(sunday_night, timedelta())
    assert due == sunday_night
    assert due.tzinfo is UTC


def test_positive_duration_ends_at_the_window_end_not_the_next_window_start():
    cal = BusinessCalendar("UTC", {0: [("08:00", "12:00"), ("13:00", "17:00")]})
    assert cal.add_business_time(utc(2026, 3, 2, 8), timedelta(hours=4)) == utc(2026, 3, 2, 12)
    assert cal.add_business_time(utc(2026, 3, 2, 6), timedelta(hours=4)) == utc(2026, 3, 2, 12)
    assert cal.add_business_time(utc(2026, 3, 2, 12), timedelta(minutes=1)) == utc(
        2026, 3, 2, 13, 1
    )


def test_arguments_in_other_time_zones_give_the_same_answers():
    cal = office("America/Sao_Paulo", "08:00", "17:00")
    start, end = utc(2026, 3, 2, 10), utc(2026, 3, 4, 15)
    tokyo = ZoneInfo("Asia/Tokyo")
    # Monday 07:00 local .. Wednesday 12:00 local: 9h + 9h + 4h.
    assert cal.business_time_between(start, end) == cal.business_time_between(
        start.astimezone(tokyo), end.astimezone(tokyo)
    )
    assert cal.business_time_between(start, end) == timedelta(hours=9 + 9 + 4)


def test_business_time_is_zero_when_end_is_not_after_start():
    cal = BusinessCalendar.always()
    assert cal.business_time_between(utc(2026, 1, 2), utc(2026, 1, 1)) == timedelta()
    assert cal.business_time_between(utc(2026, 1, 1), utc(2026, 1, 1)) == timedelta()
    assert cal.off_hours_between(utc(2026, 1, 2), utc(2026, 1, 1)) == timedelta()
    assert cal.business_intervals(utc(2026, 1, 2), utc(2026, 1, 1)) == []


def test_always_calendar_counts_plain_elapsed_time():
    cal = BusinessCalendar.always()
    start = datetime(2026, 3, 1, 12, tzinfo=SAO_PAULO)
    assert cal.timezone == "UTC"
    assert cal.business_time_between(start, start + timedelta(days=400)) == timedelta(days=400)
    assert cal.add_business_time(start, timedelta(hours=5)) == utc(2026, 3, 1, 20)
    assert cal.is_business_time(start)
    assert cal == BusinessCalendar("UTC", {day: [("00:00", "24:00")] for day in range(7)})


def test_one_year_span_is_computed_per_local_day_not_per_minute(monkeypatch):
    computed_days: list[date] = []
    uncached = calendar_module._day_intervals.__wrapped__

    def counting(tz_key, local_day, windows):
        computed_days.append(local_day)
        return uncached(tz_key, local_day, windows)

    monkeypatch.setattr(calendar_module, "_day_intervals", counting)
    cal = office("America/Sao_Paulo", "09:00", "17:00", holidays_country="BR")
    start = datetime(2026, 1, 1, tzinfo=SAO_PAULO)
    end = datetime(2027, 1, 1, tzinfo=SAO_PAULO)
    total = cal.business_time_between(start, end)
    # Only open days are computed: 2026 weekdays minus BR holidays, plus margin days.
    assert 252 <= len(computed_days) <= 252 + 3
    assert len(set(computed_days)) == len(computed_days)
    assert total == timedelta(hours=8 * 252)


def test_one_year_business_time_matches_an_independent_weekday_count():
    cal = office("America/Sao_Paulo", "09:00", "17:00", holidays_country="BR")
    closed = holidays.country_holidays("BR", years=2026)
    day, open_days = date(2026, 1, 1), 0
    while day.year == 2026:
        open_days += day.weekday() < 5 and day not in closed
        day += timedelta(days=1)
    assert open_days == 261 - 9  # 261 weekdays; 9 national holidays fall on weekdays
    start = datetime(2026, 1, 1, tzinfo=SAO_PAULO)
    end = datetime(2027, 1, 1, tzinfo=SAO_PAULO)
    assert cal.business_time_between(start, end) == timedelta(hours=8 * open_days)


# --------------------------------------------------------------------------- value object


def test_calendars_are_immutable():
    cal = BusinessCalendar.always()
    with pytest.raises(AttributeError, match="immutable"):
        cal._tz_key = "America/Sao_Paulo"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cal.windows[0] = ()  # type: ignore[index]


def test_equal_calendars_compare_equal_and_hash_alike():
    a = BusinessCalendar(
        "America/Sao_Paulo",
        {0: [("08:00", "12:00"), ("13:30", "18:00")], 3: []},
        holidays_country="BR",
        extra_holidays=[date(2026, 12, 24), "2026-12-31"],
    )
    b = BusinessCalendar(
        "America/Sao_Paulo",
        {0: [(time(13, 30), "18:00"), ("08:00", "12:00")]},
        holidays_country="BR",
        extra_holidays=["2026-12-31", date(2026, 12, 24)],
    )
    assert a == b
    assert hash(a) == hash(b)
    assert a != BusinessCalendar.always()
    assert len({a, b, BusinessCalendar.always()}) == 2


def test_spec_is_plain_data_that_round_trips():
    cal = BusinessCalendar(
        "America/Sao_Paulo",
        {0: [("08:00", "12:00"), ("13:30", "18:00")], 4: [("09:00", "24:00")]},
        holidays_country="BR",
        holidays_subdivision="RS",
        extra_holidays=[date(2026, 12, 24)],
    )
    spec = cal.to_spec()
    assert spec == {
        "timezone": "America/Sao_Paulo",
        "windows": {"0": [["08:00", "12:00"], ["13:30", "18:00"]], "4": [["09:00", "24:00"]]},
        "holidays_country": "BR",
        "holidays_subdivision": "RS",
        "extra_holidays": ["2026-12-24"],
    }
    assert BusinessCalendar.from_spec(spec) == cal
    assert pickle.loads(pickle.dumps(cal)) == cal


def test_repr_shows_the_constructor_arguments():
    cal = BusinessCalendar("UTC", {1: [("08:00", "12:00")]}, extra_holidays=[date(2026, 1, 2)])
    assert repr(cal) == (
        "BusinessCalendar(timezone='UTC', windows={1: [('08:00', '12:00')]}, "
        "holidays_country=None, holidays_subdivision=None, "
        "extra_holidays=[datetime.date(2026, 1, 2)])"
    )


def test_read_only_properties_expose_the_configuration():
    cal = BusinessCalendar(
        "America/Sao_Paulo",
        {4: [("08:00", "12:00")]},
        holidays_country="BR",
        holidays_subdivision="RS",
        extra_holidays=[date(2026, 12, 24)],
    )
    assert cal.timezone == "America/Sao_Paulo"
    assert dict(cal.windows) == {4: (("08:00", "12:00"),)}
    assert cal.holidays_country == "BR"
    assert cal.holidays_subdivision == "RS"
    assert cal.extra_holidays == (date(2026, 12, 24),)
    assert cal.is_holiday(date(2026, 9, 20))  # Gaucho Day, Rio Grande do Sul


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call",
    [
        lambda cal: cal.business_time_between(datetime(2026, 1, 1), utc(2026, 1, 2)),
        lambda cal: cal.business_time_between(utc(2026, 1, 1), datetime(2026, 1, 2)),
        lambda cal: cal.add_business_time(datetime(2026, 1, 1), timedelta(hours=1)),
        lambda cal: cal.is_business_time(datetime(2026, 1, 1)),
        lambda cal: cal.business_intervals(datetime(2026, 1, 1), utc(2026, 1, 2)),
        lambda cal: cal.off_hours_between(datetime(2026, 1, 1), utc(2026, 1, 2)),
    ],
)
def test_naive_datetimes_are_rejected(call):
    cal = office("America/Sao_Paulo", "08:00", "17:00")
    with pytest.raises(ValueError, match=r"naive datetime .*use an aware datetime"):
        call(cal)


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        (
            {0: [("08:00", "12:00"), ("11:00", "13:00")]},
            "windows for Monday overlap: 08:00-12:00 and 11:00-13:00",
        ),
        ({2: [("8am", "12:00")]}, "window start '8am' for Wednesday is not in HH:MM format"),
        ({2: [("08:00", "25:00")]}, "'25:00' for Wednesday is not a valid time of day"),
        ({2: [("08:60", "12:00")]}, "'08:60' for Wednesday is not a valid time of day"),
        ({6: [("24:00", "24:00")]}, "24:00 is only allowed as a window end"),
        ({1: [("12:00", "08:00")]}, "window 12:00-08:00 for Tuesday must end after it starts"),
        ({1: [("12:00", "12:00")]}, "must end after it starts"),
        ({1: [("12:00",)]}, "must be a \\(start, end\\) pair"),
        ({1: [(time(8, 0, 30), "12:00")]}, "whole minute"),
        ({7: [("08:00", "12:00")]}, "weekday must be an integer 0 \\(Monday\\) .. 6"),
        ({-1: [("08:00", "12:00")]}, "weekday must be an integer"),
        ({"0": [("08:00", "12:00")]}, "weekday must be an integer"),
        ([("08:00", "12:00")], "windows must be a mapping"),
    ],
)
def test_invalid_windows_are_rejected_with_a_message_naming_the_problem(windows, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar("UTC", windows)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"timezone": "America"}, "unknown time zone 'America'"),
        ({"timezone": ""}, "timezone must be an IANA time zone name"),
        ({"holidays_country": "XX"}, "unknown holidays country/subdivision 'XX'"),
        (
            {"holidays_country": "BR", "holidays_subdivision": "ZZ"},
            "unknown holidays country/subdivision 'BR'/'ZZ'",
        ),
        ({"holidays_subdivision": "RS"}, "holidays_subdivision needs holidays_country"),
        ({"extra_holidays": ["2026-13-01"]}, "extra holiday '2026-13-01' is not an ISO date"),
        ({"extra_holidays": [utc(2026, 1, 1)]}, "must be a date, not a datetime"),
    ],
)
def test_invalid_zone_and_holiday_settings_are_rejected(kwargs, message):
    arguments: dict[str, Any] = {"timezone": "America/Sao_Paulo", "windows": {}} | kwargs
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)


def test_negative_durations_are_rejected():
    with pytest.raises(ValueError, match="must not be negative"):
        BusinessCalendar.always().add_business_time(utc(2026, 1, 1), timedelta(seconds=-1))


def test_a_calendar_without_windows_refuses_a_positive_duration():
    cal = BusinessCalendar("America/Sao_Paulo", {})
    assert cal.business_time_between(utc(2026, 1, 1), utc(2027, 1, 1)) == timedelta()
    assert cal.add_business_time(utc(2026, 1, 1), timedelta()) == utc(2026, 1, 1)
    with pytest.raises(ValueError, match="no business hours"):
        cal.add_business_time(utc(2026, 1, 1), timedelta(minutes=1))


def test_a_calendar_closed_for_ten_years_gives_up_instead_of_looping():
    first = date(2026, 1, 1)
    closed = [first + timedelta(days=n) for n in range(11 * 366)]
    cal = office("UTC", "08:00", "17:00", extra_holidays=closed)
    with pytest.raises(ValueError, match="within 10 years"):
        cal.add_business_time(utc(2026, 1, 1), timedelta(hours=1))


def test_from_spec_rejects_unknown_keys_and_missing_timezone():
    with pytest.raises(ValueError, match="unknown calendar spec keys: colour"):
        BusinessCalendar.from_spec({"timezone": "UTC", "windows": {}, "colour": "blue"})
    with pytest.raises(ValueError, match="no 'timezone'"):
        BusinessCalendar.from_spec({"windows": {}})
    with pytest.raises(ValueError, match="weekday 0 twice"):
        BusinessCalendar.from_spec({"timezone": "UTC", "windows": {"0": [], 0: []}})
    with pytest.raises(ValueError, match=r"weekday key in calendar spec must be '0'\.\.'6'"):
        BusinessCalendar.from_spec({"timezone": "UTC", "windows": {"Monday": []}})
