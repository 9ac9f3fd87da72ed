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

from eventsourcing.utils import get_topic

from ticketledger.domain.events import recording_clock
from ticketledger.domain.terms import ClosurePeriods
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Channel, Kind, Notice, Priority

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
