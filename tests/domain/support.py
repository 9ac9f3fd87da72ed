"""Given events, when a command, then events or an error: the pure tier.

A test names the facts a ticket already has (`given`), gives it one command
at an instant (`when`), and reads what the command recorded, or the error it
raised. No database, no application service, no wall clock: the ticket is
rebuilt from the facts as the repository would, through the one fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from ticketledger.domain.contract import Contract
from ticketledger.domain.events import recording_clock
from ticketledger.domain.terms import ClosurePeriods, ContractTerms
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    Notice,
    Priority,
    WorkCategory,
)

TICKET = UUID("00000000-0000-4000-8000-000000000013")
CONTRACT = UUID("00000000-0000-4000-8000-0000000000c0")
# A Monday, 09:00 in Caxias do Sul: inside the seed contracts' business hours.
OPENED_AT = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
REQUESTER = "ana@serra.com.br"
AGENT = "carla"
PERIODS = ClosurePeriods()


@dataclass(frozen=True)
class Fact:
    """An event still to be numbered: its class, when it happened, its fields."""

    event_class: type[Any]
    occurred_at: datetime
    fields: dict[str, Any]

    def numbered(self, version: int) -> Any:
        extra: dict[str, Any] = {}
        if version == 1:
            extra["originator_topic"] = get_topic(Ticket)
        return self.event_class(
            originator_id=TICKET,
            originator_version=version,
            timestamp=self.occurred_at,
            occurred_at=self.occurred_at,
            **extra,
            **self.fields,
        )


def hours(n: float) -> datetime:
    """The instant `n` hours after the opening."""
    return OPENED_AT + timedelta(hours=n)


def given(*facts: Fact) -> Ticket:
    """The ticket these facts, in order, leave: built as the repository builds it."""
    ticket: Ticket | None = None
    for version, fact in enumerate(facts, start=1):
        ticket = fact.numbered(version).mutate(ticket)
    assert ticket is not None, "a ticket's facts begin with its opening"
    return ticket


def events_of(*facts: Fact) -> list[Any]:
    return [fact.numbered(version) for version, fact in enumerate(facts, start=1)]


def when(ticket: Ticket, at: datetime, command: Callable[[Ticket], None]) -> list[Any]:
    """Runs the command with the recording clock at `at`; the events it recorded."""
    already = len(ticket.pending_events)
    with recording_clock(lambda: at):
        command(ticket)
    return ticket.pending_events[already:]


# The facts, in the desk's words.


def opened(priority: Priority = Priority.HIGH, at: datetime = OPENED_AT) -> Fact:
    return Fact(
        Ticket.Opened,
        at,
        {
            "number": "2026-000013",
            "contract_id": CONTRACT,
            "customer": "Metalúrgica Serra",
            "requester": REQUESTER,
            "channel": Channel.EMAIL,
            "kind": Kind.INCIDENT,
            "priority": priority,
            "subject": "PLC down",
            "description": "line 2 stopped",
            "by": REQUESTER,
        },
    )


def failed_contact(at: datetime, attempt: int) -> Fact:
    """`attempt` as the ledger that recorded it numbered it, right or wrong."""
    fields = {"channel": Channel.PHONE, "note": "no answer", "attempt": attempt, "by": AGENT}
    return Fact(Ticket.ContactAttemptFailed, at, fields)


def agent_replied(at: datetime, first: bool = True) -> Fact:
    return Fact(
        Ticket.AgentReplied, at, {"message": "looking", "first_response": first, "by": AGENT}
    )


def requester_replied(at: datetime, *, resumes: bool = False, reopens: bool = False) -> Fact:
    fields = {"message": "here", "resumes": resumes, "reopens": reopens, "by": REQUESTER}
    return Fact(Ticket.RequesterReplied, at, fields)


def resolved(at: datetime) -> Fact:
    fields = {"resolution": "fixed", "acceptance_requested_from": REQUESTER, "by": AGENT}
    return Fact(Ticket.Resolved, at, fields)


def rejected(at: datetime) -> Fact:
    return Fact(Ticket.AcceptanceRejected, at, {"reason": "still down", "by": REQUESTER})


def reopened(at: datetime) -> Fact:
    return Fact(Ticket.Reopened, at, {"reason": "again", "by": AGENT})


def waiting_on_customer(at: datetime) -> Fact:
    return Fact(Ticket.WaitingOnCustomer, at, {"reason": "need the form", "by": AGENT})


def notice_sent(at: datetime, closes_at: datetime) -> Fact:
    fields = {
        "requester": REQUESTER,
        "notice": Notice.CLOSURE_PENDING,
        "reason": "no answer",
        "closes_at": closes_at,
        "by": "ticketledger-rules",
    }
    return Fact(Ticket.RequesterNoticeSent, at, fields)


# More facts, for the rule families beyond failed contacts.


def assigned(at: datetime, assignee: str = AGENT, previous: str | None = None) -> Fact:
    return Fact(
        Ticket.Assigned, at, {"assignee": assignee, "previous_assignee": previous, "by": AGENT}
    )


def waiting_on_third_party(at: datetime) -> Fact:
    fields = {"third_party": "PLC maker", "reason": "firmware", "by": AGENT}
    return Fact(Ticket.WaitingOnThirdParty, at, fields)


def resumed(at: datetime) -> Fact:
    return Fact(Ticket.Resumed, at, {"reason": "answer received", "by": AGENT})


def accepted(at: datetime) -> Fact:
    return Fact(Ticket.AcceptanceGiven, at, {"comment": "works", "by": REQUESTER})


def closed(at: datetime, reason: ClosureReason) -> Fact:
    return Fact(Ticket.Closed, at, {"reason": reason, "note": "", "by": AGENT})


def cancelled(
    at: datetime, reason: CancellationReason = CancellationReason.OPENED_BY_MISTAKE
) -> Fact:
    fields = {"reason": reason, "duplicate_of": None, "note": "", "by": AGENT}
    return Fact(Ticket.Cancelled, at, fields)


def reclassified(
    at: datetime,
    priority: Priority,
    previous: Priority,
    *,
    kind: Kind = Kind.INCIDENT,
    level: int = 1,
) -> Fact:
    fields = {
        "kind": kind,
        "priority": priority,
        "level": level,
        "previous_kind": Kind.INCIDENT,
        "previous_priority": previous,
        "previous_level": 1,
        "reason": "reassessed",
        "keeps_sla_clock": True,
        "by": AGENT,
    }
    return Fact(Ticket.Reclassified, at, fields)


def escalated(at: datetime, from_level: int) -> Fact:
    fields = {"from_level": from_level, "to_level": from_level + 1, "reason": "hard", "by": AGENT}
    return Fact(Ticket.Escalated, at, fields)


def work_logged(
    entry_id: UUID,
    started_at: datetime,
    duration: timedelta,
    at: datetime,
    *,
    off_hours: timedelta = timedelta(0),
    off_hours_covered: timedelta = timedelta(0),
    customer_caused: bool = False,
    authorisation_id: UUID | None = None,
) -> Fact:
    fields = {
        "entry_id": entry_id,
        "agent": AGENT,
        "started_at": started_at,
        "duration": duration,
        "category": WorkCategory.SUPPORT,
        "customer_caused": customer_caused,
        "off_hours": off_hours,
        "off_hours_covered": off_hours_covered,
        "priority": Priority.HIGH,
        "authorisation_id": authorisation_id,
        "note": "",
        "by": AGENT,
    }
    return Fact(Ticket.WorkLogged, at, fields)


def off_hours_authorised(at: datetime, authorisation_id: UUID, as_exception: bool = True) -> Fact:
    fields = {
        "authorisation_id": authorisation_id,
        "authorised_by": "boss@serra.com.br",
        "note": "",
        "as_exception": as_exception,
        "by": AGENT,
    }
    return Fact(Ticket.OffHoursWorkAuthorised, at, fields)


def another_ticket(ticket_id: UUID, at: datetime = OPENED_AT) -> Ticket:
    """A second ticket of the same customer, opened as the application opens one."""
    with recording_clock(lambda: at):
        return Ticket.open(
            ticket_id=ticket_id,
            number="2026-000014",
            contract_id=CONTRACT,
            customer="Metalúrgica Serra",
            requester=REQUESTER,
            channel=Channel.EMAIL,
            kind=Kind.INCIDENT,
            priority=Priority.HIGH,
            subject="PLC down again",
            description="line 2 stopped",
            by=REQUESTER,
            occurred_at=at,
        )


def refused(
    ticket: Ticket,
    at: datetime,
    command: Callable[[Ticket], None],
    error: type[Exception],
    match: str | None = None,
) -> Exception:
    """Then the error: the command raises it and the ticket is left as it was."""
    state, version, pending = ticket.state, ticket.version, len(ticket.pending_events)
    with pytest.raises(error, match=match) as raised:
        when(ticket, at, command)
    assert (ticket.state, ticket.version, len(ticket.pending_events)) == (state, version, pending)
    return raised.value


# Contracts: signed and commanded under the recording clock, as the application does.

SIGNED_AT = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)  # midnight in Caxias do Sul


def signed(terms: dict[str, Any], at: datetime = SIGNED_AT) -> Contract:
    with recording_clock(lambda: at):
        return Contract.sign(ContractTerms.model_validate(terms), "admin", at)


def on_contract(contract: Contract, at: datetime, command: Callable[[Contract], Any]) -> list[Any]:
    """Runs the command with the recording clock at `at`; the events it recorded."""
    already = len(contract.pending_events)
    with recording_clock(lambda: at):
        command(contract)
    return contract.pending_events[already:]


def subclasses(base: type[Any]) -> set[type[Any]]:
    direct = set(base.__subclasses__())
    return direct.union(*(subclasses(c) for c in direct))


def event_classes(created: type[Any], changed: type[Any]) -> list[type[Any]]:
    """Every event class the package defines under an aggregate's creation and
    change bases, wherever it is written, the bases aside (a test's stray
    event too, unless a test module wrote it)."""
    found = (subclasses(created) | subclasses(changed)) - {created, changed}
    ours = [c for c in found if c.__module__.startswith("ticketledger.")]
    return sorted(ours, key=lambda c: c.__qualname__)
