"""How a stretch of work falls against a contract's calendars (DESIGN: off-hours
is computed from the calendar, never typed in)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ticketledger.domain.calendar import BusinessCalendar
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import WorkSplit
from ticketledger.domain.vocabulary import Coverage, Priority

Interval = tuple[datetime, datetime]


def overlap(first: list[Interval], second: list[Interval]) -> timedelta:
    total = timedelta(0)
    for a_start, a_end in first:
        for b_start, b_end in second:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end > start:
                total += end - start
    return total


def emergency_covered(
    business: BusinessCalendar, coverage: BusinessCalendar, start: datetime, end: datetime
) -> timedelta:
    """Time outside business hours but inside the coverage calendar."""
    covered = coverage.business_intervals(start, end)
    inside_business = overlap(covered, business.business_intervals(start, end))
    return sum((e - s for s, e in covered), timedelta(0)) - inside_business


def split_work(
    terms: ContractTerms, priority: Priority, started_at: datetime, duration: timedelta
) -> WorkSplit:
    """Critical work off hours under extended or 24x7 coverage is an emergency the
    contract covers (seed 002: no extra cost); any other off-hours time is billable."""
    end = started_at + duration
    business = terms.business_calendar
    off_hours = duration - business.business_time_between(started_at, end)
    covered = timedelta(0)
    if priority is Priority.CRITICAL and terms.coverage is not Coverage.STANDARD and off_hours:
        covered = emergency_covered(business, terms.coverage_calendar, started_at, end)
    return WorkSplit(off_hours=off_hours, off_hours_covered=min(covered, off_hours))
