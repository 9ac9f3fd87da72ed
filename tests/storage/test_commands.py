"""The rules decided at command time, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from tests.support import ManualClock, at, focco_terms, neotel_extended_terms
from ticketledger.domain import errors
from ticketledger.domain.deadlines import RULES_ACTOR
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    Priority,
    Status,
    WorkCategory,
)
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseOffHoursWork,
    AuthoriseRequester,
    CancelTicket,
    ChangePlan,
    CloseTicket,
    Comment,
    CorrectWork,
    EndContract,
    HoldForTriage,
    LogWork,
    OpenTicket,
    RateTicket,
    Reclassify,
    RecordFailedContact,
    ReinstateContract,
    RejectResolution,
    ReleaseHeldRequest,
    ReopenTicket,
    ReplyAsRequester,
    ResolveTicket,
    RevokeRequester,
    SignContract,
    SuspendContract,
    WaitOnCustomer,
)
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.outcomes import CommandResult


def sign(ledger: TicketLedger, terms: dict[str, object], *requesters: str) -> UUID:
    contract_id = ledger.handle(
        SignContract(terms=terms, by="admin", occurred_at=at("2026-01-01 03:00"))
    ).aggregate_id
    for requester in requesters:
        ledger.handle(
            AuthoriseRequester(
                contract_id=contract_id,
                requester=requester,
                by="admin",
                occurred_at=at("2026-01-01 03:00"),
            )
        )
    return contract_id


def open_incident(
    ledger: TicketLedger,
    contract_id: UUID,
    *,
    priority: Priority = Priority.HIGH,
    kind: Kind = Kind.INCIDENT,
    requester: str = "ana@serra.com.br",
) -> CommandResult:
    return ledger.handle(
        OpenTicket(
            contract_id=contract_id,
            requester=requester,
            channel=Channel.EMAIL,
            kind=kind,
            priority=priority,
            subject="Line 2 PLC does not start",
        )
    )


@pytest.fixture
def contract_id(ledger: TicketLedger) -> UUID:
    return sign(ledger, focco_terms(), "@serra.com.br", "boss@other.com")


def test_an_authorised_domain_opens_a_numbered_ticket(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    result = open_incident(ledger, contract_id)
    ticket = ledger.ticket(result.number or "")
    assert (result.number, result.held, ticket.state.status) == ("2026-000001", False, Status.NEW)
    assert ticket.state.customer == "Metalúrgica Serra"


def test_a_ticket_for_a_contract_that_has_not_started_is_refused_and_nothing_is_written(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    """Signed today, starting on 2027-01-01: until then there are no terms to
    run a ticket's clocks under, so nothing opens (it used to open, and every
    later command that asked for its terms failed)."""
    contract_id = sign(ledger, focco_terms(starts_on="2027-01-01"), "@serra.com.br")
    head = ledger.recorder.max_notification_id()
    with pytest.raises(errors.ContractNotStartedError, match="starts on 2027-01-01"):
        open_incident(ledger, contract_id)
    assert ledger.recorder.max_notification_id() == head
    clock.set(at("2027-01-01 03:00"))  # midnight in Caxias do Sul
    opened = open_incident(ledger, contract_id)
    assert ledger.governing_terms(ledger.ticket(opened.number or "")).monthly_hours == 20


def test_an_unauthorised_sender_is_held_for_triage_and_not_opened(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    result = open_incident(ledger, contract_id, requester="stranger@gmail.com")
    assert result.held and result.number is None
    assert ledger.ticket_ids(2026) == []
    held = ledger.held_request(result.aggregate_id)
    assert held.requester == "stranger@gmail.com" and "not authorised" in held.reason


# A process that loaded no aggregate module: it decodes every event of the log
# and says which aggregate modules that took.
DECODE_EVERYTHING = """
import sys
from ticketledger.service.ledger import TicketLedger
ledger = TicketLedger(database_url=sys.argv[1])
log = ledger.recorder.select_notifications(start=1, limit=1000)
names = sorted({type(ledger.mapper.to_domain_event(n)).__qualname__.split(".")[0] for n in log})
print(" ".join(names))
"""


def test_a_process_that_loaded_no_aggregate_decodes_every_event_of_the_log(
    ledger: TicketLedger, contract_id: UUID, database_url: str
) -> None:
    """Topics such as `ticketledger:HeldRequest.Held` resolve by importing the
    aggregate's module when first asked, whatever the process loaded before."""
    open_incident(ledger, contract_id)
    open_incident(ledger, contract_id, requester="stranger@gmail.com")
    decoded = subprocess.run(
        [sys.executable, "-c", DECODE_EVERYTHING, database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.split() == ["Contract", "HeldRequest", "Ticket", "TicketNumbering"]


def test_a_held_request_opens_only_after_its_sender_is_authorised(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    held = open_incident(ledger, contract_id, requester="new.operator@plant.com")
    with pytest.raises(errors.RequesterNotAuthorisedError):
        ledger.handle(ReleaseHeldRequest(held_id=held.aggregate_id, by="agent"))
    ledger.handle(
        AuthoriseRequester(contract_id=contract_id, requester="new.operator@plant.com", by="admin")
    )
    opened = ledger.handle(ReleaseHeldRequest(held_id=held.aggregate_id, by="agent"))
    assert ledger.ticket(opened.aggregate_id).state.requester == "new.operator@plant.com"
    with pytest.raises(errors.HeldRequestDecidedError):
        ledger.handle(ReleaseHeldRequest(held_id=held.aggregate_id, by="agent"))


def test_a_request_held_with_no_contract_opens_on_the_contract_its_releaser_names(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    held = ledger.handle(
        HoldForTriage(
            requester="new.operator@plant.com",
            channel=Channel.EMAIL,
            subject="Line 3 stopped",
            description="the press does not start",
            reason="its sender is not authorised on any contract",
        )
    )
    request = ledger.held_request(held.aggregate_id)
    assert (held.held, held.number, request.contract_id) == (True, None, None)
    assert request.reason == "its sender is not authorised on any contract"
    release = ReleaseHeldRequest(held_id=held.aggregate_id, by="agent")
    with pytest.raises(errors.InvalidCommandError, match="name the contract to open it on"):
        ledger.handle(release)
    named = ReleaseHeldRequest(held_id=held.aggregate_id, contract_id=contract_id, by="agent")
    with pytest.raises(errors.RequesterNotAuthorisedError):
        ledger.handle(named)
    ledger.handle(
        AuthoriseRequester(contract_id=contract_id, requester="new.operator@plant.com", by="admin")
    )
    opened = ledger.handle(named)
    ticket = ledger.ticket(opened.aggregate_id).state
    assert (ticket.contract_id, ticket.subject, ticket.channel) == (
        contract_id,
        "Line 3 stopped",
        Channel.EMAIL,
    )
    assert ledger.held_request(held.aggregate_id).ticket_id == opened.aggregate_id


def test_a_request_held_for_one_contract_is_never_opened_on_another(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    held = open_incident(ledger, contract_id, requester="new.operator@plant.com")
    other = ledger.handle(SignContract(terms=focco_terms(customer="Other plant"), by="admin"))
    with pytest.raises(errors.InvalidCommandError, match="was held for contract"):
        ledger.handle(
            ReleaseHeldRequest(
                held_id=held.aggregate_id, contract_id=other.aggregate_id, by="agent"
            )
        )
    assert ledger.held_request(held.aggregate_id).ticket_id is None


def test_a_revoked_address_no_longer_opens_tickets(ledger: TicketLedger, contract_id: UUID) -> None:
    ledger.handle(
        RevokeRequester(
            contract_id=contract_id, requester="boss@other.com", reason="left", by="admin"
        )
    )
    assert open_incident(ledger, contract_id, requester="boss@other.com").held


def test_a_suspended_contract_gives_no_service_until_reinstated(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id)
    ledger.handle(
        SuspendContract(contract_id=contract_id, reason="invoice 123 unpaid", by="billing")
    )
    clock.advance(timedelta(hours=1))
    with pytest.raises(errors.ContractSuspendedError):
        open_incident(ledger, contract_id)
    with pytest.raises(errors.ContractSuspendedError):
        ledger.handle(
            LogWork(
                ticket=ticket.aggregate_id,
                agent="carla",
                started_at=at("2026-10-05 12:10"),
                duration=timedelta(minutes=30),
            )
        )
    ledger.handle(ReinstateContract(contract_id=contract_id, reason="paid", by="billing"))
    assert open_incident(ledger, contract_id).number == "2026-000002"


def test_an_ended_contract_refuses_new_tickets(ledger: TicketLedger, contract_id: UUID) -> None:
    ledger.handle(EndContract(contract_id=contract_id, reason="not renewed", by="admin"))
    with pytest.raises(errors.ContractEndedError):
        open_incident(ledger, contract_id)
    with pytest.raises(errors.ContractEndedError):
        ledger.handle(ReinstateContract(contract_id=contract_id, reason="oops", by="admin"))


def test_a_bad_contract_is_refused_with_a_clear_message(ledger: TicketLedger) -> None:
    bad = focco_terms(
        currency="reais", sla={"critical": {"first_response": "PT2H", "resolution": "PT4H"}}
    )
    with pytest.raises(errors.InvalidContractTermsError) as refused:
        ledger.handle(SignContract(terms=bad, by="admin"))
    assert "currency" in refused.value.message and "high" in refused.value.message


def test_overlapping_business_windows_are_refused(ledger: TicketLedger) -> None:
    hours = {"windows": {0: [("08:00", "12:00"), ("11:00", "13:00")]}}
    with pytest.raises(errors.InvalidContractTermsError) as refused:
        ledger.handle(SignContract(terms=focco_terms(business_hours=hours), by="admin"))
    assert "overlap" in refused.value.message


def test_a_warranty_of_works_ticket_opens_only_inside_the_warranty(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    assert not open_incident(ledger, contract_id, kind=Kind.WARRANTY_OF_WORKS).held
    clock.set(at("2027-03-02 12:00"))
    with pytest.raises(errors.WarrantyNotCoveredError):
        open_incident(ledger, contract_id, kind=Kind.WARRANTY_OF_WORKS)


def test_an_expired_material_warranty_refuses_a_reclassification(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    ticket = open_incident(ledger, contract_id)
    with pytest.raises(errors.WarrantyNotCoveredError):
        ledger.handle(
            Reclassify(
                ticket=ticket.aggregate_id, kind=Kind.WARRANTY_OF_MATERIAL, reason="hw", by="a"
            )
        )
    assert ledger.ticket(ticket.aggregate_id).version == ticket.version


def test_off_hours_work_needs_the_customers_prior_authorisation(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id)
    clock.set(at("2026-10-06 02:00"))  # 23:00 local on Monday
    saturday_night = dict(
        agent="carla", started_at=at("2026-10-06 00:00"), duration=timedelta(hours=1)
    )
    with pytest.raises(errors.OffHoursNotAuthorisedError):
        ledger.handle(LogWork(ticket=ticket.aggregate_id, **saturday_night))  # type: ignore[arg-type]
    clock.set(at("2026-10-05 23:00"))
    ledger.handle(
        AuthoriseOffHoursWork(
            ticket=ticket.aggregate_id, authorised_by="boss@serra.com.br", by="carla"
        )
    )
    clock.set(at("2026-10-06 02:00"))
    ledger.handle(LogWork(ticket=ticket.aggregate_id, **saturday_night))  # type: ignore[arg-type]
    entry = next(iter(ledger.ticket(ticket.aggregate_id).state.work.values()))
    assert (entry.off_hours, entry.off_hours_covered) == (timedelta(hours=1), timedelta(0))


def test_without_the_24x7_addon_the_second_off_hours_service_is_refused(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    first, second = open_incident(ledger, contract_id), open_incident(ledger, contract_id)
    ledger.handle(
        AuthoriseOffHoursWork(ticket=first.aggregate_id, authorised_by="boss", by="carla")
    )
    ledger.handle(
        AuthoriseOffHoursWork(ticket=first.aggregate_id, authorised_by="boss", by="carla")
    )
    with pytest.raises(errors.OffHoursExceptionUsedError):
        ledger.handle(
            AuthoriseOffHoursWork(ticket=second.aggregate_id, authorised_by="boss", by="carla")
        )
    assert ledger.contract(contract_id).state.off_hours_exception_tickets == (first.aggregate_id,)


def test_with_the_24x7_addon_off_hours_services_are_not_exceptions(ledger: TicketLedger) -> None:
    terms = focco_terms(coverage="24x7", addon_24x7_share="0.30")
    contract_id = sign(ledger, terms, "@serra.com.br")
    for _ in range(2):
        ticket = open_incident(ledger, contract_id)
        ledger.handle(
            AuthoriseOffHoursWork(ticket=ticket.aggregate_id, authorised_by="boss", by="carla")
        )
    assert ledger.contract(contract_id).state.off_hours_exception_tickets == ()


def test_critical_off_hours_work_inside_extended_coverage_needs_no_authorisation(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    contract_id = sign(ledger, neotel_extended_terms(), "@andino.com.ar")
    ticket = open_incident(
        ledger, contract_id, priority=Priority.CRITICAL, requester="ops@andino.com.ar"
    )
    clock.set(at("2026-10-10 12:00"))  # Saturday 09:00 in Buenos Aires
    ledger.handle(
        LogWork(
            ticket=ticket.aggregate_id,
            agent="focal",
            started_at=at("2026-10-10 09:00"),
            duration=timedelta(hours=2),
        )
    )
    entry = next(iter(ledger.ticket(ticket.aggregate_id).state.work.values()))
    assert entry.off_hours == entry.off_hours_covered == timedelta(hours=2)


def test_a_phone_call_logged_late_keeps_its_real_time(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    result = ledger.handle(
        OpenTicket(
            contract_id=contract_id,
            requester="ana@serra.com.br",
            channel=Channel.PHONE,
            kind=Kind.INCIDENT,
            priority=Priority.CRITICAL,
            subject="Factory stopped",
            by="agent",
            occurred_at=at("2026-10-05 11:50"),
        )
    )
    ticket = ledger.ticket(result.aggregate_id)
    assert ticket.state.opened_at == at("2026-10-05 11:50")
    assert ticket.modified_on == at("2026-10-05 12:00")


def test_occurred_at_in_the_future_or_out_of_order_is_refused(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    ticket = open_incident(ledger, contract_id)
    with pytest.raises(errors.OccurredInFutureError):
        ledger.handle(
            Assign(
                ticket=ticket.aggregate_id,
                assignee="carla",
                by="carla",
                occurred_at=at("2026-10-05 12:01"),
            )
        )
    with pytest.raises(errors.OccurredOutOfOrderError):
        ledger.handle(
            Assign(
                ticket=ticket.aggregate_id,
                assignee="carla",
                by="carla",
                occurred_at=at("2026-10-05 11:00"),
            )
        )


def test_a_naive_datetime_is_rejected(ledger: TicketLedger, contract_id: UUID) -> None:
    ticket = open_incident(ledger, contract_id)
    with pytest.raises(errors.NaiveDatetimeError):
        ledger.handle(
            Assign(
                ticket=ticket.aggregate_id,
                assignee="carla",
                by="carla",
                occurred_at=at("2026-10-05 11:00").replace(tzinfo=None),
            )
        )


def test_a_stale_expected_version_writes_nothing(ledger: TicketLedger, contract_id: UUID) -> None:
    ticket = open_incident(ledger, contract_id)
    ledger.handle(
        Assign(ticket=ticket.aggregate_id, assignee="carla", by="carla", expected_version=1)
    )
    with pytest.raises(errors.VersionMismatchError):
        ledger.handle(
            Assign(ticket=ticket.aggregate_id, assignee="dave", by="dave", expected_version=1)
        )
    assert ledger.ticket(ticket.aggregate_id).state.assignee == "carla"


def test_resolution_rejected_reopens_and_acceptance_closes(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    ledger.handle(ResolveTicket(ticket=ticket, resolution="replaced relay", by="carla"))
    ledger.handle(RejectResolution(ticket=ticket, reason="still stops", by="ana@serra.com.br"))
    assert ledger.ticket(ticket).state.status is Status.OPEN
    ledger.handle(ResolveTicket(ticket=ticket, resolution="replaced PSU", by="carla"))
    ledger.handle(AcceptResolution(ticket=ticket, by="ana@serra.com.br"))
    closed = ledger.ticket(ticket)
    assert (closed.state.status, closed.state.closure_reason, closed.state.reopen_count) == (
        Status.CLOSED,
        ClosureReason.ACCEPTED,
        1,
    )
    with pytest.raises(errors.TicketClosedError):
        ledger.handle(ReopenTicket(ticket=ticket, reason="again", by="ana@serra.com.br"))


def closed_by_the_rules(ledger: TicketLedger, ticket: UUID) -> tuple[Any, ...]:
    last = list(ledger.events_of(ticket))[-1]
    assert isinstance(last, Ticket.Closed)
    return last.reason, last.by, last.occurred_at


def test_acceptance_is_deemed_only_seven_days_after_resolution(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    """A desk closing by hand is refused before the deadline; at it, the rules
    have closed the ticket first, at the deadline itself."""
    ticket = open_incident(ledger, contract_id).aggregate_id
    resolved_at = clock()
    ledger.handle(ResolveTicket(ticket=ticket, resolution="done", by="carla"))
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    with pytest.raises(errors.ClosureNotDueError):
        ledger.handle(CloseTicket(ticket=ticket, reason=ClosureReason.ACCEPTANCE_DEEMED, by="desk"))
    clock.advance(timedelta(seconds=1))
    with pytest.raises(errors.TicketClosedError):
        ledger.handle(CloseTicket(ticket=ticket, reason=ClosureReason.ACCEPTANCE_DEEMED, by="desk"))
    assert closed_by_the_rules(ledger, ticket) == (
        ClosureReason.ACCEPTANCE_DEEMED,
        RULES_ACTOR,
        resolved_at + timedelta(days=7),
    )


def test_three_failed_contacts_close_only_after_48_hours(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    for _ in range(3):
        clock.advance(timedelta(hours=4))
        ledger.handle(RecordFailedContact(ticket=ticket, channel=Channel.PHONE, by="carla"))
    with pytest.raises(errors.ClosureNotDueError):
        ledger.handle(
            CloseTicket(ticket=ticket, reason=ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED, by="desk")
        )
    clock.advance(timedelta(hours=36))
    with pytest.raises(errors.TicketClosedError):
        ledger.handle(
            CloseTicket(ticket=ticket, reason=ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED, by="desk")
        )
    assert closed_by_the_rules(ledger, ticket) == (
        ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED,
        RULES_ACTOR,
        ledger.ticket(ticket).state.opened_at + timedelta(hours=48),  # type: ignore[operator]
    )


def test_a_customer_reply_ends_the_wait_and_the_silence_closure(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    ledger.handle(WaitOnCustomer(ticket=ticket, reason="need the specification form", by="carla"))
    clock.advance(timedelta(days=6))
    ledger.handle(ReplyAsRequester(ticket=ticket, message="form attached", by="ana@serra.com.br"))
    clock.advance(timedelta(days=2))
    with pytest.raises(errors.ClosureNotDueError):
        ledger.handle(
            CloseTicket(ticket=ticket, reason=ClosureReason.CUSTOMER_UNRESPONSIVE, by="desk")
        )
    assert ledger.ticket(ticket).state.status is Status.OPEN


def test_a_duplicate_is_cancelled_naming_the_original(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    original, duplicate = open_incident(ledger, contract_id), open_incident(ledger, contract_id)
    ledger.handle(
        CancelTicket(
            ticket=duplicate.aggregate_id,
            reason=CancellationReason.DUPLICATE,
            duplicate_of=original.number,
            by="carla",
        )
    )
    assert ledger.ticket(duplicate.aggregate_id).state.status is Status.CANCELLED
    with pytest.raises(errors.TicketCancelledError):
        ledger.handle(Comment(ticket=duplicate.aggregate_id, text="late note", by="carla"))


def test_one_rating_per_ticket_after_resolution(ledger: TicketLedger, contract_id: UUID) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    with pytest.raises(errors.NotRateableError):
        ledger.handle(RateTicket(ticket=ticket, score=5, by="ana@serra.com.br"))
    ledger.handle(ResolveTicket(ticket=ticket, resolution="done", by="carla"))
    ledger.handle(RateTicket(ticket=ticket, score=4, comment="quick", by="ana@serra.com.br"))
    with pytest.raises(errors.AlreadyRatedError):
        ledger.handle(RateTicket(ticket=ticket, score=5, by="ana@serra.com.br"))


def test_a_work_correction_references_the_entry_even_after_closure(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    clock.advance(timedelta(hours=2))
    result = ledger.handle(
        LogWork(
            ticket=ticket,
            agent="carla",
            started_at=at("2026-10-05 12:30"),
            duration=timedelta(hours=1),
            category=WorkCategory.TRAINING,
        )
    )
    entry_id = next(iter(ledger.ticket(ticket).state.work))
    ledger.handle(ResolveTicket(ticket=ticket, resolution="trained", by="carla"))
    ledger.handle(AcceptResolution(ticket=ticket, by="ana@serra.com.br"))
    ledger.handle(
        CorrectWork(
            ticket=ticket,
            entry_id=entry_id,
            duration=timedelta(minutes=40),
            reason="typo",
            by="billing",
        )
    )
    corrected = ledger.ticket(ticket).state.work[entry_id]
    assert (corrected.duration, corrected.corrections, corrected.category) == (
        timedelta(minutes=40),
        1,
        WorkCategory.TRAINING,
    )
    assert result.version == 2


def test_a_ticket_number_finds_the_ticket_from_another_process(
    make_ledger: object, ledger: TicketLedger, contract_id: UUID
) -> None:
    number = open_incident(ledger, contract_id).number or ""
    reader = make_ledger()  # type: ignore[operator]
    assert reader.ticket(number).state.number == number
    with pytest.raises(errors.TicketNotFoundError):
        reader.ticket("2026-999999")


def test_the_same_work_entry_cannot_be_logged_twice(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    clock.advance(timedelta(hours=1))
    entry = UUID(int=42)
    work = dict(agent="carla", started_at=at("2026-10-05 12:10"), duration=timedelta(minutes=30))
    ledger.handle(LogWork(ticket=ticket, entry_id=entry, **work))  # type: ignore[arg-type]
    with pytest.raises(errors.DuplicateWorkEntryError):
        ledger.handle(LogWork(ticket=ticket, entry_id=entry, **work))  # type: ignore[arg-type]
    assert ledger.ticket(ticket).version == 2


def test_a_correction_reaching_into_off_hours_needs_an_authorisation(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    clock.set(at("2026-10-05 22:00"))  # 19:00 local
    ledger.handle(
        LogWork(
            ticket=ticket,
            agent="carla",
            started_at=at("2026-10-05 20:30"),
            duration=timedelta(minutes=30),
        )
    )  # 17:30-18:00 local: inside business hours
    entry = next(iter(ledger.ticket(ticket).state.work))
    with pytest.raises(errors.OffHoursNotAuthorisedError):
        ledger.handle(
            CorrectWork(
                ticket=ticket, entry_id=entry, duration=timedelta(minutes=90), reason="typo", by="b"
            )
        )
    with pytest.raises(errors.InvalidCommandError):
        ledger.handle(
            CorrectWork(
                ticket=ticket, entry_id=entry, duration=timedelta(hours=3), reason="typo", by="b"
            )
        )
    assert ledger.ticket(ticket).state.work[entry].duration == timedelta(minutes=30)


def test_a_correction_keeps_the_priority_the_work_was_done_under(ledger: TicketLedger) -> None:
    contract_id = sign(ledger, neotel_extended_terms(), "@andino.com.ar")
    ticket = open_incident(
        ledger, contract_id, priority=Priority.CRITICAL, requester="ops@andino.com.ar"
    ).aggregate_id
    ledger.clock.set(at("2026-10-10 12:00"))  # type: ignore[attr-defined]
    ledger.handle(
        LogWork(
            ticket=ticket,
            agent="focal",
            started_at=at("2026-10-10 09:00"),
            duration=timedelta(hours=2),
        )
    )
    ledger.handle(
        Reclassify(ticket=ticket, priority=Priority.MEDIUM, reason="workaround found", by="focal")
    )
    entry = next(iter(ledger.ticket(ticket).state.work))
    ledger.handle(
        CorrectWork(
            ticket=ticket,
            entry_id=entry,
            duration=timedelta(hours=1),
            reason="overlapped a meeting",
            by="billing",
        )
    )
    corrected = ledger.ticket(ticket).state.work[entry]
    assert corrected.off_hours == corrected.off_hours_covered == timedelta(hours=1)


def test_a_requester_reply_contests_a_resolution_and_reopens_it(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    ledger.handle(ResolveTicket(ticket=ticket, resolution="done", by="carla"))
    ledger.handle(ReplyAsRequester(ticket=ticket, message="It still fails.", by="ana@serra.com.br"))
    reopened = ledger.ticket(ticket)
    assert (reopened.state.status, reopened.state.resolved_at, reopened.state.reopen_count) == (
        Status.OPEN,
        None,
        1,
    )


def test_a_requester_reply_restarts_the_count_of_failed_contacts(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    for _ in range(2):
        ledger.handle(RecordFailedContact(ticket=ticket, channel=Channel.PHONE, by="carla"))
    ledger.handle(
        ReplyAsRequester(ticket=ticket, message="call me after 3pm", by="ana@serra.com.br")
    )
    ledger.handle(RecordFailedContact(ticket=ticket, channel=Channel.PHONE, by="carla"))
    clock.advance(timedelta(days=3))
    with pytest.raises(errors.ClosureNotDueError):
        ledger.handle(
            CloseTicket(ticket=ticket, reason=ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED, by="desk")
        )


def test_revoking_one_address_inside_an_authorised_domain_denies_only_that_person(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    ledger.handle(
        RevokeRequester(
            contract_id=contract_id,
            requester="ana@serra.com.br",
            reason="left the plant",
            by="admin",
        )
    )
    assert open_incident(ledger, contract_id, requester="ana@serra.com.br").held
    assert not open_incident(ledger, contract_id, requester="joao@serra.com.br").held
    ledger.handle(
        AuthoriseRequester(contract_id=contract_id, requester="ana@serra.com.br", by="admin")
    )
    assert not open_incident(ledger, contract_id, requester="ana@serra.com.br").held


def test_a_plan_change_cannot_take_effect_in_the_past(
    ledger: TicketLedger, contract_id: UUID
) -> None:
    with pytest.raises(errors.InvalidCommandError):
        ledger.handle(
            ChangePlan(
                contract_id=contract_id,
                terms=focco_terms(monthly_hours="99"),
                effective_on=at("2026-03-01").date(),
                reason="retroactive",
                by="admin",
            )
        )
    ledger.handle(
        ChangePlan(
            contract_id=contract_id,
            terms=focco_terms(monthly_hours="30"),
            effective_on=at("2026-11-01").date(),
            reason="more hours",
            by="admin",
        )
    )
    contract = ledger.contract(contract_id)
    assert contract.state.terms_at(at("2026-10-31 12:00")).monthly_hours == 20
    assert contract.state.terms_at(at("2026-11-01 12:00")).monthly_hours == 30


def test_work_done_before_a_suspension_can_still_be_logged_after_it(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    clock.advance(timedelta(hours=2))
    ledger.handle(SuspendContract(contract_id=contract_id, reason="invoice unpaid", by="billing"))
    ledger.handle(
        LogWork(
            ticket=ticket,
            agent="carla",
            started_at=at("2026-10-05 12:15"),
            duration=timedelta(minutes=45),
        )
    )
    clock.advance(timedelta(minutes=30))
    with pytest.raises(errors.ContractSuspendedError):
        ledger.handle(
            LogWork(
                ticket=ticket,
                agent="carla",
                started_at=at("2026-10-05 14:05"),
                duration=timedelta(minutes=20),
            )
        )


def test_pay_per_use_customers_are_never_refused_off_hours_service(ledger: TicketLedger) -> None:
    terms = focco_terms(agreement="pay_per_use", monthly_fee="0", monthly_hours="0", warranties=[])
    contract_id = sign(ledger, terms, "@serra.com.br")
    for _ in range(3):
        ticket = open_incident(ledger, contract_id).aggregate_id
        ledger.handle(
            AuthoriseOffHoursWork(ticket=ticket, authorised_by="plant manager", by="carla")
        )
    assert ledger.contract(contract_id).state.off_hours_exception_tickets == ()


def test_a_pay_per_use_agreement_has_no_fee_and_no_allowance(ledger: TicketLedger) -> None:
    terms = focco_terms(agreement="pay_per_use", monthly_hours="10")
    with pytest.raises(errors.InvalidContractTermsError, match="pay-per-use"):
        ledger.handle(SignContract(terms=terms, by="admin"))


def test_24x7_coverage_without_the_addon_is_not_limited_to_one_exception(
    ledger: TicketLedger,
) -> None:
    contract_id = sign(ledger, focco_terms(coverage="24x7"), "@serra.com.br")
    for _ in range(2):
        ticket = open_incident(ledger, contract_id).aggregate_id
        ledger.handle(AuthoriseOffHoursWork(ticket=ticket, authorised_by="boss", by="carla"))
    assert ledger.contract(contract_id).state.off_hours_exception_tickets == ()


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"timezone": "localtime"}, "depends on the machine"),
        ({"business_hours": {"windows": {}}}, "at least one window"),
        ({"coverage": "extended"}, "coverage_hours"),
        ({"addon_24x7_share": "0.30"}, "24x7 coverage"),
        ({"rounding_minutes": 7}, "divide an hour"),
    ],
)
def test_contract_terms_that_cannot_work_are_refused(
    ledger: TicketLedger, override: dict[str, object], problem: str
) -> None:
    with pytest.raises(errors.InvalidContractTermsError, match=problem):
        ledger.handle(SignContract(terms=focco_terms(**override), by="admin"))


def test_work_times_are_stored_in_utc_whatever_zone_they_were_given_in(
    ledger: TicketLedger, contract_id: UUID, clock: ManualClock
) -> None:
    ticket = open_incident(ledger, contract_id).aggregate_id
    clock.advance(timedelta(hours=1))
    local = at("2026-10-05 12:05").astimezone(ZoneInfo("America/Sao_Paulo"))
    ledger.handle(
        LogWork(ticket=ticket, agent="carla", started_at=local, duration=timedelta(minutes=30))
    )
    entry = next(iter(ledger.ticket(ticket).state.work.values()))
    assert entry.started_at == local and entry.started_at.tzinfo is UTC
