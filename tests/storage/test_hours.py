"""Contract hours and billing through the hours projection, on SQLite and PostgreSQL.

Focco's terms (seed 003, tests.support.focco_terms): BRL, fee 5000.00, 20 h
allowance, 180.00/h, off-hours x1.5 = 270.00/h, rounding up to 15 minutes,
business hours 08:00-12:00 and 13:30-18:00 in America/Sao_Paulo (UTC-3).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from tests.support import ManualClock, at, focco_terms
from ticketledger.domain import errors
from ticketledger.domain.billing import Statement
from ticketledger.domain.vocabulary import Channel, Kind, Priority, WorkCategory
from ticketledger.projections import hours
from ticketledger.projections.runner import Projector
from ticketledger.service.commands import (
    AcceptResolution,
    AuthoriseOffHoursWork,
    AuthoriseRequester,
    CorrectWork,
    IssueStatement,
    LogWork,
    OpenTicket,
    ResolveTicket,
    SignContract,
)
from ticketledger.service.ledger import TicketLedger

MONDAY_9_LOCAL = at("2026-10-05 12:00")


def sign(ledger: TicketLedger, **overrides: Any) -> UUID:
    contract_id = ledger.handle(
        SignContract(terms=focco_terms(**overrides), by="admin", occurred_at=at("2026-01-01 03:00"))
    ).aggregate_id
    ledger.handle(
        AuthoriseRequester(
            contract_id=contract_id,
            requester="@serra.com.br",
            by="admin",
            occurred_at=at("2026-01-01 03:00"),
        )
    )
    return contract_id


def open_ticket(ledger: TicketLedger, contract_id: UUID, kind: Kind = Kind.INCIDENT) -> UUID:
    return ledger.handle(
        OpenTicket(
            contract_id=contract_id,
            requester="ana@serra.com.br",
            channel=Channel.EMAIL,
            kind=kind,
            priority=Priority.HIGH,
            subject="Line 2 PLC does not start",
        )
    ).aggregate_id


def new_ticket(
    ledger: TicketLedger, clock: ManualClock, kind: Kind = Kind.INCIDENT, **terms: Any
) -> tuple[UUID, UUID]:
    """A Focco contract and a ticket opened at 09:00 local on Monday 5 October."""
    contract_id = sign(ledger, **terms)
    clock.set(MONDAY_9_LOCAL)
    return contract_id, open_ticket(ledger, contract_id, kind)


def work(
    ledger: TicketLedger,
    clock: ManualClock,
    ticket: UUID,
    minutes: int,
    *,
    start: Any = MONDAY_9_LOCAL,
    **extra: Any,
) -> None:
    clock.set(max(clock(), start + timedelta(minutes=minutes)))
    ledger.handle(
        LogWork(
            ticket=ticket,
            agent="carla",
            started_at=start,
            duration=timedelta(minutes=minutes),
            **extra,
        )
    )


def accept(ledger: TicketLedger, ticket: UUID) -> None:
    ledger.handle(ResolveTicket(ticket=ticket, resolution="fixed", by="carla"))
    ledger.handle(AcceptResolution(ticket=ticket, by="ana@serra.com.br"))


def statement_of(projector: Projector, contract_id: UUID, month: str) -> Statement:
    projector.catch_up()
    with projector.reading("hours") as rows:
        return hours.statement(rows, contract_id, month)


def issue(ledger: TicketLedger, projector: Projector, contract_id: UUID, month: str) -> Statement:
    """What the CLI does: read through a position, then issue with its total and digest."""
    projector.catch_up()
    through = projector.position("hours")
    with projector.reading("hours") as rows:
        current = hours.statement(rows, contract_id, month, through_position=through)
    ledger.handle(
        IssueStatement(
            contract_id=contract_id,
            month=month,
            through_position=through,
            total=current.total,
            currency=current.currency,
            digest=current.digest(),
            by="billing",
        )
    )
    projector.catch_up()
    return current


def test_hours_stay_pending_until_acceptance_and_post_in_the_acceptance_month(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, ticket = new_ticket(ledger, clock)
    work(ledger, clock, ticket, 80)  # 80 min rounded up to 15 min: 1 h 30 = 1.50 h
    # Resolved late in October, so the acceptance comes inside the 7 days it is deemed after.
    clock.set(at("2026-10-28 12:00"))
    ledger.handle(ResolveTicket(ticket=ticket, resolution="fixed", by="carla"))
    projector.catch_up()
    with projector.reading("hours") as rows:
        pending = hours.pending_hours(rows, ticket)
        assert [p.duration for p in pending] == [timedelta(minutes=80)]
        assert hours.ledger_entries(rows, contract_id, "2026-10") == []
    clock.set(at("2026-11-02 12:00"))  # accepted on 2 November, local time
    ledger.handle(AcceptResolution(ticket=ticket, by="ana@serra.com.br"))
    november = statement_of(projector, contract_id, "2026-11")
    with projector.reading("hours") as rows:
        assert hours.pending_hours(rows, ticket) == []
        (entry,) = hours.ledger_entries(rows, contract_id, "2026-11")
    assert [s["event"] for s in entry.sources] == ["WorkLogged"]
    assert entry.sources[0]["originator_id"] == str(ticket)
    assert (november.consumed_hours, november.total) == (Decimal("1.50"), Decimal("5000.00"))
    assert statement_of(projector, contract_id, "2026-10").consumed_hours == Decimal("0.00")


def test_a_customer_caused_20_minute_job_is_billed_as_one_hour(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, ticket = new_ticket(ledger, clock)
    work(ledger, clock, ticket, 20, customer_caused=True)
    accept(ledger, ticket)
    october = statement_of(projector, contract_id, "2026-10")
    # 20 min -> 0.50 h rounded, topped up to the 1 h minimum: 1.00 h x 180.00 = 180.00,
    # billed on top of the 5000.00 fee and not taken from the allowance.
    assert october.customer_caused_hours == Decimal("1.00")
    assert october.customer_caused_minimum_top_up_hours == Decimal("0.50")
    assert october.customer_caused_amount == Decimal("180.00")
    assert (october.consumed_hours, october.total) == (Decimal("0.00"), Decimal("5180.00"))


def test_non_emergency_off_hours_work_is_billed_at_the_off_hours_rate(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, ticket = new_ticket(ledger, clock)
    clock.set(at("2026-10-05 21:00"))  # 18:00 local: authorised before the work starts
    ledger.handle(
        AuthoriseOffHoursWork(ticket=ticket, authorised_by="boss@serra.com.br", by="carla")
    )
    work(ledger, clock, ticket, 120, start=at("2026-10-05 22:00"))  # 19:00-21:00 local
    accept(ledger, ticket)
    october = statement_of(projector, contract_id, "2026-10")
    # 2 h x (180.00 x 1.5 = 270.00) = 540.00; off-hours time does not use the allowance.
    assert (october.off_hours_hours, october.off_hours_rate) == (Decimal("2.00"), Decimal("270.00"))
    assert october.off_hours_amount == Decimal("540.00")
    assert (october.consumed_hours, october.total) == (Decimal("0.00"), Decimal("5540.00"))


def test_warranty_work_bills_nothing_and_consumes_no_allowance(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, ticket = new_ticket(ledger, clock, Kind.WARRANTY_OF_WORKS)
    work(ledger, clock, ticket, 180)  # works warranty from 2026-03-01 for 12 months
    accept(ledger, ticket)
    october = statement_of(projector, contract_id, "2026-10")
    # 3.00 h of warranty: no charge, so the total is the 5000.00 fee alone.
    assert october.warranty_hours == Decimal("3.00")
    assert (october.consumed_hours, october.total) == (Decimal("0.00"), Decimal("5000.00"))


def test_hours_beyond_the_allowance_are_overage_at_the_hourly_rate(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, ticket = new_ticket(ledger, clock, monthly_hours="2")
    work(ledger, clock, ticket, 100)  # 09:00-10:40 local: 1 h 40 rounds up to 1.75 h
    work(ledger, clock, ticket, 75, start=at("2026-10-05 17:00"), category=WorkCategory.TRAINING)
    accept(ledger, ticket)
    october = statement_of(projector, contract_id, "2026-10")
    # Support 1.75 h + training 1.25 h (seed 002: training uses the allowance) = 3.00 h;
    # 2.00 h covered, 1.00 h overage x 180.00 = 180.00; 5000.00 + 180.00 = 5180.00.
    assert (october.consumed_hours, october.covered_by_allowance_hours) == (
        Decimal("3.00"),
        Decimal("2.00"),
    )
    assert (october.overage_hours, october.overage_amount) == (Decimal("1.00"), Decimal("180.00"))
    assert october.total == Decimal("5180.00")


def corrected_after_issue(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> tuple[UUID, Statement, str]:
    """2 h in October with a 2 h allowance, October issued, then corrected to 3 h."""
    contract_id, ticket = new_ticket(ledger, clock, monthly_hours="2")
    work(ledger, clock, ticket, 120)
    accept(ledger, ticket)
    clock.set(at("2026-11-02 12:00"))
    issued = issue(ledger, projector, contract_id, "2026-10")
    with projector.reading("hours") as rows:
        frozen = hours.issued_statement(rows, contract_id, "2026-10")
        record = hours.issue_record(rows, contract_id, "2026-10")
    assert frozen is not None and record is not None and record["digest_matches"] == 1
    entry_id = next(iter(ledger.ticket(ticket).state.work))
    ledger.handle(
        CorrectWork(
            ticket=ticket,
            entry_id=entry_id,
            duration=timedelta(hours=3),
            reason="timesheet",
            by="billing",
        )
    )
    return contract_id, issued, frozen.canonical_json()


def test_a_correction_after_the_months_statement_was_issued_lands_in_the_next_month(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, issued, frozen_json = corrected_after_issue(ledger, clock, projector)
    october = statement_of(projector, contract_id, "2026-10")
    november = statement_of(projector, contract_id, "2026-11")
    # October as issued: 2.00 h consumed, all inside the 2 h allowance: 5000.00.
    assert october.canonical_json() == frozen_json == issued.canonical_json()
    assert october.total == Decimal("5000.00")
    # October recomputed: 3.00 h, 1.00 h overage x 180.00 = 180.00 more, billed in November.
    (adjustment,) = november.adjustments
    assert (adjustment.origin_month, adjustment.consumed_hours) == ("2026-10", Decimal("1.00"))
    assert adjustment.amount == Decimal("180.00")
    assert (november.consumed_hours, november.total) == (Decimal("0.00"), Decimal("5180.00"))
    with projector.reading("hours") as rows:
        (posted,) = hours.ledger_entries(rows, contract_id, "2026-11")
    assert posted.kind == "adjustment" and posted.reference == adjustment.reference
    assert [s["event"] for s in posted.sources] == ["Posted", "WorkCorrected"]


def test_a_correction_before_the_month_is_issued_changes_that_months_totals(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, ticket = new_ticket(ledger, clock, monthly_hours="2")
    work(ledger, clock, ticket, 120)
    accept(ledger, ticket)
    entry_id = next(iter(ledger.ticket(ticket).state.work))
    clock.set(at("2026-10-06 12:00"))
    ledger.handle(
        CorrectWork(
            ticket=ticket, entry_id=entry_id, duration=timedelta(hours=3), reason="typo", by="b"
        )
    )
    october = statement_of(projector, contract_id, "2026-10")
    # 2.00 h + 1.00 h adjustment = 3.00 h; 1.00 h overage = 180.00; no separate adjustment.
    assert (october.consumed_hours, october.overage_amount) == (Decimal("3.00"), Decimal("180.00"))
    assert october.adjustments == ()


def test_work_posted_after_the_issuer_looked_moves_to_the_next_open_month(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id = sign(ledger)
    clock.set(MONDAY_9_LOCAL)
    first, late = open_ticket(ledger, contract_id), open_ticket(ledger, contract_id)
    work(ledger, clock, first, 60)
    work(ledger, clock, late, 30, start=at("2026-10-05 14:00"))
    accept(ledger, first)
    clock.set(at("2026-10-26 12:00"))  # within 7 days of the late acceptance below
    ledger.handle(ResolveTicket(ticket=late, resolution="fixed", by="carla"))
    projector.catch_up()
    through = projector.position("hours")
    with projector.reading("hours") as rows:
        seen = hours.statement(rows, contract_id, "2026-10", through_position=through)
    # Accepted in October (a call logged late), but after the issuer read October.
    clock.set(at("2026-11-02 12:00"))
    ledger.handle(
        AcceptResolution(ticket=late, by="ana@serra.com.br", occurred_at=at("2026-10-30 12:00"))
    )
    ledger.handle(
        IssueStatement(
            contract_id=contract_id,
            month="2026-10",
            through_position=through,
            total=seen.total,
            currency=seen.currency,
            digest=seen.digest(),
            by="billing",
        )
    )
    october = statement_of(projector, contract_id, "2026-10")
    november = statement_of(projector, contract_id, "2026-11")
    # October keeps the 1.00 h it was issued with; the late 0.50 h goes to November.
    assert october.canonical_json() == seen.canonical_json()
    assert (october.consumed_hours, november.consumed_hours) == (Decimal("1.00"), Decimal("0.50"))


def test_delivering_through_rebuild_gives_identical_rows(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    corrected_after_issue(ledger, clock, projector)
    projector.catch_up()
    before = projector.processor("hours").dump()
    projector.rebuild("hours")
    after = projector.processor("hours").dump()
    assert before == after
    assert len(after["postings"]) == 2 and len(after["issued"]) == 1


def test_issuing_twice_or_before_the_month_ended_is_refused(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id = sign(ledger)
    clock.set(at("2026-11-01 02:59"))  # 23:59 on 31 October in Caxias do Sul
    with pytest.raises(errors.MonthNotEndedError):
        issue(ledger, projector, contract_id, "2026-10")
    with pytest.raises(errors.ContractNotStartedError):
        issue(ledger, projector, contract_id, "2025-12")
    clock.set(at("2026-11-01 03:00"))  # midnight local: October has ended
    issued = issue(ledger, projector, contract_id, "2026-10")
    assert issued.total == Decimal("5000.00")
    with pytest.raises(errors.StatementAlreadyIssuedError):
        issue(ledger, projector, contract_id, "2026-10")
    assert ledger.contract(contract_id).state.issued_months == {"2026-10"}
