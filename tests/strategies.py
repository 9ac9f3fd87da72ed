"""Hypothesis strategies shared by the test-suite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from ticketledger.domain.calendar import BusinessCalendar
from ticketledger.domain.vocabulary import Kind, Priority

# ----------------------------------------------------------------------- business calendar

# Zones with daylight-saving changes, each with years in which they actually changed clocks.
# Sao Paulo and Buenos Aires changed at local midnight; Santiago changes at 24:00/00:00.
CALENDAR_ZONE_YEARS: dict[str, tuple[int, int]] = {
    "America/Sao_Paulo": (2015, 2018),
    "America/Santiago": (2023, 2027),
    "America/Argentina/Buenos_Aires": (2007, 2009),
    "Europe/London": (2025, 2027),
    "America/New_York": (2025, 2027),
    "UTC": (2025, 2026),
}
CALENDAR_HOLIDAY_SOURCES: list[tuple[str | None, str | None]] = [
    (None, None),
    ("BR", None),
    ("BR", "RS"),
    ("BR", "SP"),
    ("AR", None),
    ("AR", "C"),
    ("CL", None),
    ("CL", "RM"),
]
_INTERESTING_MINUTES = [0, 30, 60, 90, 120, 180, 1320, 1380, 1410, 1439, 1440]


@dataclass(frozen=True)
class CalendarCase:
    """Constructor arguments for a calendar plus the years worth drawing instants from."""

    kwargs: dict[str, Any]
    first_year: int
    last_year: int

    def build(self) -> BusinessCalendar:
        return BusinessCalendar(**self.kwargs)


@cache
def utc_offset_changes(zone: str, first_year: int, last_year: int) -> tuple[datetime, ...]:
    """Hours (UTC) right after which the zone's offset changed, found by hourly scanning."""
    tz = ZoneInfo(zone)
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    stop = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    changes = []
    previous = moment.astimezone(tz).utcoffset()
    while moment < stop:
        moment += timedelta(hours=1)
        offset = moment.astimezone(tz).utcoffset()
        if offset != previous:
            changes.append(moment)
        previous = offset
    return tuple(changes)


def _clock(minutes: int, as_time: bool) -> str | time:
    if as_time and minutes < 1440:
        return time(minutes // 60, minutes % 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_windows(draw: st.DrawFn) -> list[tuple[str | time, str | time]]:
    """Non-overlapping windows on minute boundaries, sometimes adjacent, 00:00..24:00."""
    minute = st.one_of(st.sampled_from(_INTERESTING_MINUTES), st.integers(0, 1440))
    points = sorted(draw(st.sets(minute, min_size=2, max_size=6)))
    if draw(st.booleans()):
        bounds = list(pairwise(points))  # chained: adjacent windows
        bounds = bounds[:: draw(st.sampled_from([1, 2]))]
    else:
        bounds = list(zip(points[::2], points[1::2], strict=False))
    as_time = draw(st.booleans())
    return [(_clock(s, as_time), _clock(e, as_time)) for s, e in bounds]


@st.composite
def calendar_cases(draw: st.DrawFn) -> CalendarCase:
    zone = draw(st.sampled_from(sorted(CALENDAR_ZONE_YEARS)))
    first_year, last_year = CALENDAR_ZONE_YEARS[zone]
    weekdays = draw(st.sets(st.integers(0, 6), min_size=1))
    windows = {weekday: draw(day_windows()) for weekday in sorted(weekdays)}
    country, subdivision = draw(st.sampled_from(CALENDAR_HOLIDAY_SOURCES))
    extra = draw(
        st.lists(st.dates(date(first_year, 1, 1), date(last_year, 12, 31)), max_size=4, unique=True)
    )
    kwargs: dict[str, Any] = {
        "timezone": zone,
        "windows": windows,
        "holidays_country": country,
        "holidays_subdivision": subdivision,
        "extra_holidays": extra,
    }
    return CalendarCase(kwargs, first_year, last_year)


def calendars() -> st.SearchStrategy[BusinessCalendar]:
    return calendar_cases().map(CalendarCase.build)


@st.composite
def calendar_instants(draw: st.DrawFn, case: CalendarCase, *, whole_minutes: bool) -> datetime:
    """An aware instant in the case's years, often within days of a clock change."""
    zone = case.kwargs["timezone"]
    changes = utc_offset_changes(zone, case.first_year, case.last_year)
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        anchor = draw(st.sampled_from(changes))
        minutes = draw(st.integers(-4 * 1440, 2 * 1440))
        moment = anchor + timedelta(minutes=minutes)
    else:
        start = datetime(case.first_year, 1, 1, tzinfo=UTC)
        span = datetime(case.last_year, 12, 20, tzinfo=UTC) - start
        moment = start + timedelta(minutes=draw(st.integers(0, span // timedelta(minutes=1))))
    if not whole_minutes:
        moment += timedelta(microseconds=draw(st.integers(0, 59_999_999)))
    # Arguments may be in any time zone; results must not depend on it.
    shown_in = draw(st.sampled_from([UTC, ZoneInfo(zone), ZoneInfo("Asia/Kolkata")]))
    return moment.astimezone(shown_in)


def calendar_spans(max_days: int = 10) -> st.SearchStrategy[timedelta]:
    """Whole-minute span lengths up to ``max_days`` days."""
    return st.integers(0, max_days * 1440).map(lambda minutes: timedelta(minutes=minutes))


# ----------------------------------------------------------------------- ledger commands

ticket_kinds = st.sampled_from(list(Kind))
priorities = st.sampled_from(list(Priority))


def fresh_uuid() -> UUID:
    """Work entry ids come from the caller; uniqueness, not randomness, matters."""
    return uuid4()


# ----------------------------------------------------------------------- ticket histories

HISTORY_COMMANDS = (
    "assign",
    "reclassify",
    "escalate",
    "agent_reply",
    "requester_reply",
    "comment",
    "wait_on_customer",
    "wait_on_third_party",
    "resume",
    "failed_contact",
    "log_work",
    "correct_work",
    "authorise_off_hours",
    "resolve",
    "accept",
    "reject",
    "reopen",
    "close",
    "cancel",
    "rate",
)


@dataclass(frozen=True)
class HistoryStep:
    """One command of a ticket's history: `minutes_later` pass on the clock
    first; it is recorded then, as having occurred `late` minutes earlier (a
    call logged late); `choice` picks among its variants (priority, duration,
    closure reason, ...). The rules may refuse it: a history keeps going."""

    command: str
    minutes_later: int
    late: int
    choice: int


history_steps = st.builds(
    HistoryStep,
    # Work and acceptance twice as often: histories that post hours matter most.
    command=st.sampled_from((*HISTORY_COMMANDS, "log_work", "accept")),
    # Often nothing passes (events recorded at one instant); sometimes a week,
    # so that a resolution can be deemed accepted.
    minutes_later=st.one_of(st.sampled_from([0, 0, 5, 60, 7 * 1440 + 1]), st.integers(0, 3 * 1440)),
    late=st.sampled_from([0, 0, 0, 10, 90]),
    choice=st.integers(0, 3),
)


@dataclass(frozen=True)
class TicketHistory:
    """A ticket opened at `priority`, then `steps`; if `settles`, a last
    resolution and acceptance are tried, so that many histories post hours."""

    priority: Priority
    steps: list[HistoryStep]
    settles: bool


def ticket_histories(min_steps: int = 8, max_steps: int = 30) -> st.SearchStrategy[TicketHistory]:
    steps = st.lists(history_steps, min_size=min_steps, max_size=max_steps)
    return st.builds(TicketHistory, priorities, steps, st.booleans())


# ----------------------------------------------------------------------- time-driven rules

# Commands a help desk gives while the rules watch. Failed contacts, resolutions,
# waits on the customer and openings come more often, so that three failed
# contacts add up, several tickets run side by side, and closures fall due.
RULE_COMMANDS = (
    "open",
    "assign",
    "agent_reply",
    "requester_reply",
    "wait_on_customer",
    "wait_on_third_party",
    "resume",
    "failed_contact",
    "resolve",
    "accept",
    "reject",
    "reopen",
    "reclassify",
    "escalate",
    "comment",
    "cancel",
)
_RULE_COMMAND_DRAWS = (
    *RULE_COMMANDS,
    *("failed_contact",) * 3,
    *("resolve", "wait_on_customer", "open", "agent_reply"),
)
# Minutes between commands: none, minutes, hours, and the periods the rules
# count (48 h, the 5 days before a silence notice, the 7 days of acceptance and
# silence, and one minute past them), up to ten days.
RULE_GAPS = st.one_of(
    st.sampled_from([0, 1, 10, 90, 2 * 1440, 5 * 1440, 7 * 1440, 7 * 1440 + 1, 10 * 1440]),
    st.integers(0, 600),
    st.integers(0, 10 * 1440),
)


@st.composite
def tick_offsets(draw: st.DrawFn, span_minutes: int) -> tuple[timedelta, ...]:
    """Irregular instants within `span_minutes` after an instant, for a ticker
    that runs when it likes: often never, sometimes in bursts (several ticks
    within two minutes, some at the very same instant), at any microsecond;
    the span's end itself (the next command's instant) can be drawn too."""
    span = span_minutes * 60_000_000
    spots = draw(st.lists(st.one_of(st.integers(0, span), st.sampled_from([0, span])), max_size=3))
    ticks: list[int] = []
    for spot in spots:
        burst = draw(st.lists(st.integers(0, 120_000_000), max_size=3))
        ticks += [min(spot + offset, span) for offset in (0, *burst)]
    return tuple(timedelta(microseconds=tick) for tick in sorted(ticks))


@dataclass(frozen=True)
class RuleStep:
    """`minutes_later` pass (a ticker may run at `ticks` after the previous
    command), then `command` acts on the open ticket `ticket` (modulo how many
    are open); `choice` picks the variant (a priority, an assignee)."""

    command: str
    ticket: int
    choice: int
    minutes_later: int
    ticks: tuple[timedelta, ...]


@st.composite
def rule_steps(draw: st.DrawFn) -> RuleStep:
    minutes_later = draw(RULE_GAPS)
    return RuleStep(
        command=draw(st.sampled_from(_RULE_COMMAND_DRAWS)),
        ticket=draw(st.integers(0, 3)),
        choice=draw(st.integers(0, 3)),
        minutes_later=minutes_later,
        ticks=draw(tick_offsets(minutes_later)),
    )


@dataclass(frozen=True)
class RuleHistory:
    """A ticket opened at `priority` when the history starts, then `steps`; the
    history ends `final_minutes` after the last step (a ticker may run at
    `final_ticks` in between). `escalate_on_breach` is the contract's."""

    priority: Priority
    steps: tuple[RuleStep, ...]
    final_minutes: int
    final_ticks: tuple[timedelta, ...]
    escalate_on_breach: bool


@st.composite
def rule_histories(draw: st.DrawFn, min_steps: int = 3, max_steps: int = 14) -> RuleHistory:
    steps = draw(st.lists(rule_steps(), min_size=min_steps, max_size=max_steps))
    final_minutes = draw(st.integers(0, 12 * 1440))
    return RuleHistory(
        priority=draw(priorities),
        steps=tuple(steps),
        final_minutes=final_minutes,
        final_ticks=draw(tick_offsets(final_minutes)),
        escalate_on_breach=draw(st.booleans()),
    )
