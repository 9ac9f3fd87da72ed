"""Work logged on tickets, its corrections, and what it bills.

- DESIGN: work is logged per ticket (who, when, how long); whether it was off
  hours is computed from the calendar, never typed in (domain/coverage.py).
- Seed 002: off-hours work that is no emergency needs the customer's
  authorisation before it starts, and is billed; emergency (critical) work
  under extended or 24x7 coverage costs nothing extra.
- Mistakes are corrected by compensating events, closed tickets too; a
  correction to zero voids the entry.
- Seed 003: every entry is rounded up to the contract's increment (15 min);
  work on a problem the customer caused is billed at the hourly rate, 1 h
  minimum; warranty work in scope consumes nothing and bills nothing.

Focco's terms (focco_terms): BRL, fee 5000.00, 20 h allowance, 180.00/h,
off hours x1.5 = 270.00/h, 08:00-12:00 and 13:30-18:00 Mon-Fri in Caxias do
Sul (UTC-3). The ticket opens on Monday 2026-10-05 09:00 local, 12:00 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from tests.domain.support import (
    AGENT,
    OPENED_AT,
    accepted,
    given,
    hours,
    off_hours_authorised,
    opened,
    refused,
    resolved,
    when,
    work_logged,
)
from tests.support import at, focco_terms, neotel_extended_terms
from ticketledger.domain.billing import (
    Buckets,
    PostedHours,
    compute_statement,
    split_entry,
    warranty_covers,
)
from ticketledger.domain.coverage import split_work
from ticketledger.domain.errors import (
    DuplicateWorkEntryError,
    InvalidCommandError,
    NaiveDatetimeError,
    NothingChangedError,
    OffHoursNotAuthorisedError,
    WorkEntryNotFoundError,
)
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket, WorkSplit
from ticketledger.domain.vocabulary import Kind, Priority, Status, WorkCategory

TERMS = ContractTerms.model_validate(focco_terms())
EXTENDED = ContractTerms.model_validate(neotel_extended_terms())
ENTRY = UUID("00000000-0000-4000-8000-0000000000e1")
OTHER_ENTRY = UUID("00000000-0000-4000-8000-0000000000e2")
AUTHORISATION = UUID("00000000-0000-4000-8000-0000000000f1")
MIN = timedelta(minutes=1)
H = timedelta(hours=1)
ZERO = timedelta(0)
MICROSECOND = timedelta(microseconds=1)
IN_HOURS = WorkSplit(off_hours=ZERO, off_hours_covered=ZERO)


def local(text: str) -> datetime:
    """A local wall-clock time in UTC-3 (both seed zones in 2026), as UTC."""
    return at(text) + timedelta(hours=3)


def log(
    started_at: datetime,
    duration: timedelta,
    logged_at: datetime,
    *,
    entry_id: UUID = ENTRY,
    split: WorkSplit = IN_HOURS,
) -> Callable[[Ticket], None]:
    return lambda t: t.log_work(
        entry_id=entry_id,
        agent=AGENT,
        started_at=started_at,
        duration=duration,
        category=WorkCategory.SUPPORT,
        customer_caused=False,
        split=split,
        note="PLC firmware",
        by=AGENT,
        occurred_at=logged_at,
    )


def correct(
    duration: timedelta,
    corrected_at: datetime,
    *,
    entry_id: UUID = ENTRY,
    category: WorkCategory = WorkCategory.SUPPORT,
    customer_caused: bool = False,
    split: WorkSplit = IN_HOURS,
    reason: str = "the call ended later",
) -> Callable[[Ticket], None]:
    return lambda t: t.correct_work(
        entry_id=entry_id,
        duration=duration,
        category=category,
        customer_caused=customer_caused,
        split=split,
        reason=reason,
        by=AGENT,
        occurred_at=corrected_at,
    )


# Logging work.


def test_work_is_logged_with_who_when_how_long_and_the_priority_it_was_done_under() -> None:
    ticket = given(opened(Priority.HIGH))
    recorded = when(ticket, hours(2), log(hours(1), 30 * MIN, hours(2)))
    assert [
        (type(e), e.entry_id, e.agent, e.started_at, e.duration, e.priority, e.authorisation_id)
        for e in recorded
    ] == [(Ticket.WorkLogged, ENTRY, AGENT, hours(1), 30 * MIN, Priority.HIGH, None)]
    assert ticket.state.work_time == 30 * MIN
    assert [w.entry_id for w in ticket.state.worked] == [ENTRY]


@pytest.mark.parametrize("duration", [ZERO, -MIN], ids=["zero", "negative"])
def test_work_of_no_duration_is_refused(duration: timedelta) -> None:
    refused(
        given(opened()),
        hours(2),
        log(hours(1), duration, hours(2)),
        InvalidCommandError,
        match="more than zero",
    )


def test_an_entry_of_24_hours_is_accepted_and_one_a_microsecond_longer_refused() -> None:
    day = timedelta(hours=24)
    recorded = when(given(opened()), hours(25), log(OPENED_AT, day, hours(25)))
    assert [e.duration for e in recorded] == [day]
    refused(
        given(opened()),
        hours(25),
        log(OPENED_AT, day + MICROSECOND, hours(25)),
        InvalidCommandError,
        match="at most 24 hours",
    )


def test_work_that_has_not_ended_when_it_is_logged_is_refused() -> None:
    ticket = given(opened())
    ends = hours(1) + 30 * MIN
    refused(
        ticket,
        ends,
        log(hours(1), 30 * MIN, ends - MIN),
        InvalidCommandError,
        match="before it has ended",
    )
    assert [e.occurred_at for e in when(ticket, ends, log(hours(1), 30 * MIN, ends))] == [ends]


def test_work_started_before_the_ticket_was_opened_is_refused() -> None:
    refused(
        given(opened()),
        hours(1),
        log(OPENED_AT - MIN, 30 * MIN, hours(1)),
        InvalidCommandError,
        match="before the ticket was opened",
    )


def test_a_naive_work_start_is_refused() -> None:
    refused(
        given(opened()),
        hours(2),
        log(hours(1).replace(tzinfo=None), 30 * MIN, hours(2)),
        NaiveDatetimeError,
    )


def test_the_same_work_entry_cannot_be_logged_twice() -> None:
    ticket = given(opened(), work_logged(ENTRY, hours(1), 30 * MIN, hours(2)))
    refused(
        ticket,
        hours(4),
        log(hours(3), 15 * MIN, hours(4)),
        DuplicateWorkEntryError,
        match="correct it instead",
    )


def test_work_after_the_resolution_is_logged_and_leaves_the_ticket_resolved() -> None:
    ticket = given(opened(), resolved(hours(1)))
    when(ticket, hours(3), log(hours(2), 30 * MIN, hours(3)))
    assert (ticket.state.status, ticket.state.work_time) == (Status.RESOLVED, 30 * MIN)


# Off-hours work needs the customer's go-ahead first (seed 002).

MONDAY_8_PM = local("2026-10-05 20:00")  # hours(11)
OFF_HOURS = WorkSplit(off_hours=H, off_hours_covered=ZERO)


def test_billable_off_hours_work_without_an_authorisation_is_refused() -> None:
    refused(
        given(opened()),
        MONDAY_8_PM + 2 * H,
        log(MONDAY_8_PM, H, MONDAY_8_PM + 2 * H, split=OFF_HOURS),
        OffHoursNotAuthorisedError,
        match="before it starts",
    )


@pytest.mark.parametrize(
    "authorised_at",
    [MONDAY_8_PM - H, MONDAY_8_PM],
    ids=["an hour before it starts", "as it starts"],
)
def test_billable_off_hours_work_authorised_before_it_starts_is_logged_naming_the_go_ahead(
    authorised_at: datetime,
) -> None:
    ticket = given(opened(), off_hours_authorised(authorised_at, AUTHORISATION))
    recorded = when(
        ticket, MONDAY_8_PM + 2 * H, log(MONDAY_8_PM, H, MONDAY_8_PM + 2 * H, split=OFF_HOURS)
    )
    assert [(e.off_hours, e.off_hours_covered, e.authorisation_id) for e in recorded] == [
        (H, ZERO, AUTHORISATION)
    ]
    assert ticket.state.work[ENTRY].off_hours_billable == H


def test_an_authorisation_given_after_the_work_started_does_not_cover_it() -> None:
    ticket = given(opened(), off_hours_authorised(MONDAY_8_PM + MIN, AUTHORISATION))
    refused(
        ticket,
        MONDAY_8_PM + 2 * H,
        log(MONDAY_8_PM, H, MONDAY_8_PM + 2 * H, split=OFF_HOURS),
        OffHoursNotAuthorisedError,
    )


def test_covered_emergency_off_hours_work_needs_no_authorisation() -> None:
    covered = WorkSplit(off_hours=2 * H, off_hours_covered=2 * H)
    ticket = given(opened(Priority.CRITICAL))
    recorded = when(
        ticket, MONDAY_8_PM + 2 * H, log(MONDAY_8_PM, 2 * H, MONDAY_8_PM + 2 * H, split=covered)
    )
    assert [(e.off_hours, e.off_hours_covered, e.authorisation_id) for e in recorded] == [
        (2 * H, 2 * H, None)
    ]


def test_the_desk_records_the_customers_go_ahead_for_off_hours_work() -> None:
    ticket = given(opened())
    recorded = when(
        ticket,
        hours(1),
        lambda t: t.authorise_off_hours_work(
            authorisation_id=AUTHORISATION,
            authorised_by="boss@serra.com.br",
            note="the line must run tonight",
            as_exception=True,
            by=AGENT,
            occurred_at=hours(1),
        ),
    )
    assert [(type(e), e.authorisation_id, e.authorised_by, e.as_exception) for e in recorded] == [
        (Ticket.OffHoursWorkAuthorised, AUTHORISATION, "boss@serra.com.br", True)
    ]
    assert dict(ticket.state.off_hours_authorisations) == {AUTHORISATION: hours(1)}


# Off hours, from the calendar (domain/coverage.py).


@pytest.mark.parametrize(
    ("terms", "priority", "start", "duration", "off_hours", "covered"),
    [
        # Focco: 11:30-12:30 reaches 30 min into the lunch gap.
        (TERMS, Priority.HIGH, "2026-10-05 11:30", H, 30 * MIN, ZERO),
        (TERMS, Priority.HIGH, "2026-10-05 20:00", H, H, ZERO),
        # Standard coverage: even critical work off hours is billable.
        (TERMS, Priority.CRITICAL, "2026-10-05 20:00", H, H, ZERO),
        # Neotel extended (Mon-Sat 05-21): a critical Saturday morning is covered.
        (EXTENDED, Priority.CRITICAL, "2026-10-10 09:00", 2 * H, 2 * H, 2 * H),
        # Business ends 19:00, coverage 21:00: of 20:00-22:00 one hour is covered.
        (EXTENDED, Priority.CRITICAL, "2026-10-05 20:00", 2 * H, 2 * H, H),
        # Off hours, extended coverage serves critical tickets only.
        (EXTENDED, Priority.HIGH, "2026-10-10 09:00", 2 * H, 2 * H, ZERO),
        # Seed 004: extended coverage does not include holidays (12 October).
        (EXTENDED, Priority.CRITICAL, "2026-10-12 10:00", H, H, ZERO),
        # Business hours are no off hours, whatever the priority.
        (EXTENDED, Priority.CRITICAL, "2026-10-05 10:00", H, ZERO, ZERO),
    ],
    ids=[
        "into the lunch gap",
        "evening",
        "critical on standard coverage",
        "critical saturday on extended",
        "critical evening past the coverage",
        "high saturday on extended",
        "critical on a holiday on extended",
        "business hours",
    ],
)
def test_off_hours_and_covered_time_come_from_the_calendars(
    terms: ContractTerms,
    priority: Priority,
    start: str,
    duration: timedelta,
    off_hours: timedelta,
    covered: timedelta,
) -> None:
    assert split_work(terms, priority, local(start), duration) == WorkSplit(off_hours, covered)


def test_critical_work_on_24x7_coverage_is_covered_around_the_clock() -> None:
    terms = ContractTerms.model_validate(focco_terms(coverage="24x7", addon_24x7_share="0.30"))
    assert split_work(terms, Priority.CRITICAL, local("2026-10-10 03:00"), H) == WorkSplit(H, H)
    assert split_work(terms, Priority.LOW, local("2026-10-10 03:00"), H) == WorkSplit(H, ZERO)


# Corrections: compensating events, closed tickets too.


def closed_with_work() -> Ticket:
    return given(
        opened(),
        work_logged(ENTRY, hours(1), 30 * MIN, hours(2)),
        work_logged(OTHER_ENTRY, hours(2), 45 * MIN, hours(3)),
        resolved(hours(4)),
        accepted(hours(5)),
    )


def test_work_on_a_closed_ticket_is_corrected_by_an_event_naming_the_entry() -> None:
    ticket = closed_with_work()
    recorded = when(ticket, hours(30), correct(40 * MIN, hours(30)))
    assert [(type(e), e.corrects, e.duration, e.previous_duration) for e in recorded] == [
        (Ticket.WorkCorrected, ENTRY, 40 * MIN, 30 * MIN)
    ]
    entry = ticket.state.work[ENTRY]
    assert (entry.duration, entry.corrections) == (40 * MIN, 1)
    assert (ticket.state.status, ticket.state.work_time) == (Status.CLOSED, 85 * MIN)


def test_a_correction_to_zero_voids_the_entry() -> None:
    ticket = closed_with_work()
    when(ticket, hours(30), correct(ZERO, hours(30), reason="logged on the wrong ticket"))
    assert [w.entry_id for w in ticket.state.worked] == [OTHER_ENTRY]
    assert ticket.state.work_time == 45 * MIN
    assert ticket.state.work[ENTRY].duration == ZERO  # the entry stays, voided


def test_a_voided_entry_corrected_again_counts_again() -> None:
    ticket = closed_with_work()
    when(ticket, hours(30), correct(ZERO, hours(30)))
    when(ticket, hours(31), correct(15 * MIN, hours(31), reason="it did happen"))
    assert ticket.state.work_time == 60 * MIN
    assert ticket.state.work[ENTRY].corrections == 2


def test_a_correction_that_changes_nothing_is_refused() -> None:
    refused(closed_with_work(), hours(30), correct(30 * MIN, hours(30)), NothingChangedError)


@pytest.mark.parametrize(
    ("category", "customer_caused"),
    [(WorkCategory.TRAINING, False), (WorkCategory.SUPPORT, True)],
    ids=["category", "customer caused"],
)
def test_a_correction_of_the_category_or_the_cause_alone_is_a_change(
    category: WorkCategory, customer_caused: bool
) -> None:
    ticket = closed_with_work()
    command = correct(30 * MIN, hours(30), category=category, customer_caused=customer_caused)
    recorded = when(ticket, hours(30), command)
    assert [(type(e), e.category, e.customer_caused) for e in recorded] == [
        (Ticket.WorkCorrected, category, customer_caused)
    ]
    assert ticket.state.work[ENTRY].customer_caused is customer_caused


def test_a_correction_needs_a_reason() -> None:
    refused(
        closed_with_work(),
        hours(30),
        correct(40 * MIN, hours(30), reason="  "),
        InvalidCommandError,
        match="reason",
    )


def test_a_correction_of_an_entry_the_ticket_does_not_have_is_refused() -> None:
    refused(
        closed_with_work(),
        hours(30),
        correct(40 * MIN, hours(30), entry_id=AUTHORISATION),
        WorkEntryNotFoundError,
    )


@pytest.mark.parametrize(
    "duration", [-MIN, timedelta(hours=24) + MICROSECOND], ids=["negative", "over 24 hours"]
)
def test_a_corrected_duration_lies_between_zero_and_24_hours(duration: timedelta) -> None:
    refused(
        closed_with_work(),
        hours(30),
        correct(duration, hours(30)),
        InvalidCommandError,
        match="between zero and 24 hours",
    )


def test_a_correction_cannot_make_the_work_end_after_it_was_corrected() -> None:
    ticket = given(opened(), work_logged(ENTRY, hours(1), 30 * MIN, hours(2)))
    # Started at hours(1): 90 min would end at hours(2.5).
    refused(
        ticket,
        hours(2),
        correct(90 * MIN, hours(2)),
        InvalidCommandError,
        match="before it has ended",
    )


def test_a_correction_reaching_into_off_hours_needs_an_authorisation_from_before_the_work() -> None:
    """Monday 17:30-18:00 local, in hours; corrected to 17:30-19:00, one hour off."""
    start = local("2026-10-05 17:30")
    reaches_off = WorkSplit(off_hours=H, off_hours_covered=ZERO)
    logged = work_logged(ENTRY, start, 30 * MIN, start + H)
    refused(
        given(opened(), logged),
        hours(30),
        correct(90 * MIN, hours(30), split=reaches_off),
        OffHoursNotAuthorisedError,
    )
    authorised = given(opened(), off_hours_authorised(start - H, AUTHORISATION), logged)
    recorded = when(authorised, hours(30), correct(90 * MIN, hours(30), split=reaches_off))
    assert [(e.duration, e.off_hours) for e in recorded] == [(90 * MIN, H)]
    assert authorised.state.work[ENTRY].off_hours_billable == H


# What an entry bills (domain/billing.py split_entry), Focco's 15 minutes.


def buckets(
    duration: timedelta,
    *,
    off_hours: timedelta = ZERO,
    covered: timedelta = ZERO,
    customer_caused: bool = False,
    under_warranty: bool = False,
) -> Buckets:
    return split_entry(
        duration=duration,
        off_hours=off_hours,
        off_hours_covered=covered,
        customer_caused=customer_caused,
        under_warranty=under_warranty,
        rounding_minutes=TERMS.rounding_minutes,
    )


@pytest.mark.parametrize(
    ("duration", "billed"),
    [
        (20 * MIN, 30 * MIN),
        (15 * MIN, 15 * MIN),
        (61 * MIN, 75 * MIN),
        (MICROSECOND, 15 * MIN),
        (H, H),
    ],
    ids=["20 min", "15 min", "61 min", "1 microsecond", "1 h"],
)
def test_every_entry_is_rounded_up_to_the_contracts_increment(
    duration: timedelta, billed: timedelta
) -> None:
    assert buckets(duration) == Buckets(consumed=billed)


def test_billable_off_hours_time_is_rounded_and_kept_apart_from_the_allowance() -> None:
    assert buckets(50 * MIN, off_hours=50 * MIN) == Buckets(off_hours=H)
    # 70 min (11:20-12:30), 30 of them off hours: 75 min billed, 30 off hours.
    assert buckets(70 * MIN, off_hours=30 * MIN) == Buckets(consumed=45 * MIN, off_hours=30 * MIN)
    # 50 min with 10 off hours: 60 min billed, the 10 rounded to 15.
    assert buckets(50 * MIN, off_hours=10 * MIN) == Buckets(consumed=45 * MIN, off_hours=15 * MIN)


def test_covered_emergency_off_hours_time_costs_nothing_extra() -> None:
    assert buckets(2 * H, off_hours=2 * H, covered=2 * H) == Buckets(consumed=2 * H)
    assert buckets(2 * H, off_hours=2 * H, covered=H) == Buckets(consumed=H, off_hours=H)


def test_customer_caused_work_is_billed_apart_in_hours_and_off_hours() -> None:
    in_hours = buckets(20 * MIN, customer_caused=True)
    assert in_hours == Buckets(customer_in=30 * MIN)
    assert (in_hours.consumed, in_hours.customer_caused) == (ZERO, 30 * MIN)
    assert buckets(50 * MIN, off_hours=50 * MIN, customer_caused=True) == Buckets(customer_off=H)


def test_warranty_work_in_scope_consumes_nothing_and_bills_nothing_even_off_hours() -> None:
    assert buckets(130 * MIN, under_warranty=True) == Buckets(warranty=135 * MIN)
    assert buckets(H, off_hours=H, under_warranty=True) == Buckets(warranty=H)


def test_customer_caused_work_on_a_warranty_ticket_is_billed_all_the_same() -> None:
    assert buckets(20 * MIN, customer_caused=True, under_warranty=True) == Buckets(
        customer_in=30 * MIN
    )


def test_a_warranty_ticket_is_in_scope_only_while_its_warranty_is_in_force() -> None:
    monday = date(2026, 10, 5)
    assert warranty_covers(TERMS, Kind.WARRANTY_OF_WORKS, monday)  # 2026-03-01 + 12 months
    assert not warranty_covers(TERMS, Kind.WARRANTY_OF_WORKS, date(2027, 3, 1))
    assert not warranty_covers(TERMS, Kind.WARRANTY_OF_MATERIAL, monday)  # ended 2026-01-10
    assert not warranty_covers(TERMS, Kind.INCIDENT, monday)


# A month's statement from posted buckets (compute_statement), by hand.


def test_a_months_statement_bills_overage_off_hours_and_customer_caused_work_on_the_fee() -> None:
    found = compute_statement(
        contract_id="c",
        month="2026-10",
        terms=TERMS,
        posted=[
            PostedHours("A", Buckets(consumed=21 * H)),
            PostedHours("B", Buckets(off_hours=90 * MIN)),
            PostedHours("C", Buckets(customer_in=30 * MIN)),
            PostedHours("D", Buckets(warranty=2 * H)),
        ],
    )
    # 21 h of a 20 h allowance: 1 h overage at 180.00. 1.5 h off hours at
    # 270.00 = 405.00. Ticket C's 30 min are billed as the 1 h minimum: 180.00.
    # Warranty: 2 h, no charge. 5000.00 + 180.00 + 405.00 + 180.00 = 5765.00.
    assert (found.currency, found.monthly_fee, found.addon_24x7, found.fees) == (
        "BRL",
        Decimal("5000.00"),
        Decimal("0.00"),
        Decimal("5000.00"),
    )
    assert (found.consumed_hours, found.covered_by_allowance_hours, found.overage_hours) == (
        Decimal("21.00"),
        Decimal("20.00"),
        Decimal("1.00"),
    )
    assert (found.overage_amount, found.off_hours_rate, found.off_hours_amount) == (
        Decimal("180.00"),
        Decimal("270.00"),
        Decimal("405.00"),
    )
    assert (
        found.customer_caused_hours,
        found.customer_caused_minimum_top_up_hours,
        found.customer_caused_amount,
    ) == (Decimal("1.00"), Decimal("0.50"), Decimal("180.00"))
    assert (found.warranty_hours, found.total) == (Decimal("2.00"), Decimal("5765.00"))


def test_the_customer_caused_minimum_of_one_hour_applies_per_ticket() -> None:
    two_tickets = compute_statement(
        contract_id="c",
        month="2026-10",
        terms=TERMS,
        posted=[
            PostedHours("A", Buckets(customer_in=30 * MIN)),
            PostedHours("B", Buckets(customer_in=30 * MIN)),
        ],
    )
    one_ticket = compute_statement(
        contract_id="c",
        month="2026-10",
        terms=TERMS,
        posted=[
            PostedHours("A", Buckets(customer_in=30 * MIN)),
            PostedHours("A", Buckets(customer_in=30 * MIN)),
        ],
    )
    assert (two_tickets.customer_caused_hours, two_tickets.customer_caused_amount) == (
        Decimal("2.00"),
        Decimal("360.00"),
    )
    assert (one_ticket.customer_caused_minimum_top_up_hours, one_ticket.customer_caused_amount) == (
        Decimal("0.00"),
        Decimal("180.00"),
    )


def test_customer_caused_off_hours_work_is_billed_at_the_off_hours_rate() -> None:
    found = compute_statement(
        contract_id="c",
        month="2026-10",
        terms=TERMS,
        posted=[PostedHours("A", Buckets(customer_off=H))],
    )
    assert (found.customer_caused_amount, found.total) == (Decimal("270.00"), Decimal("5270.00"))


def test_hours_within_the_allowance_bill_only_the_fee() -> None:
    found = compute_statement(
        contract_id="c",
        month="2026-10",
        terms=TERMS,
        posted=[
            PostedHours("A", Buckets(consumed=12 * H)),
            PostedHours("B", Buckets(consumed=8 * H)),
        ],
    )
    assert (found.overage_hours, found.overage_amount, found.total) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("5000.00"),
    )


def test_the_24x7_addon_costs_its_share_of_the_fee() -> None:
    terms = ContractTerms.model_validate(focco_terms(coverage="24x7", addon_24x7_share="0.30"))
    found = compute_statement(contract_id="c", month="2026-10", terms=terms, posted=[])
    # Seed 003: 30 % of a 5000.00 GLT contract is 1500.00 a month.
    assert (found.addon_24x7, found.fees, found.total) == (
        Decimal("1500.00"),
        Decimal("6500.00"),
        Decimal("6500.00"),
    )


def test_a_pay_per_use_customer_pays_every_hour_and_no_fee() -> None:
    terms = ContractTerms.model_validate(
        focco_terms(agreement="pay_per_use", monthly_fee="0", monthly_hours="0")
    )
    found = compute_statement(
        contract_id="c",
        month="2026-10",
        terms=terms,
        posted=[PostedHours("A", Buckets(consumed=2 * H))],
    )
    assert (found.fees, found.allowance_hours, found.overage_hours, found.total) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("2.00"),
        Decimal("360.00"),
    )
