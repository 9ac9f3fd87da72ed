"""A ticket's state, SLA figures and hours as of a moment, three ways:

- at a version: the first N events; SLA figures evaluated at event N's
  occurred time;
- as recorded by an instant T ("what the ledger knew at T"): the events whose
  recorded `timestamp` is at or before T, under the contract as recorded by T;
  SLA figures evaluated at T;
- as occurred by an instant T ("what was true at T, by all we know now"): the
  events whose `occurred_at` is at or before T, under the contract as it
  stands now; SLA figures evaluated at T.

Each is a prefix of the ticket's events. For occurred times the domain
guarantees it: check_occurred_at refuses an event that happened before the
ticket's previous one, so occurred_at never goes backwards along the versions.
Recorded times come from the recording clock and follow the versions as long
as that clock does; should a clock step back, a later version stamped at or
before T was still written after an earlier one stamped after T, so the
ledger knew neither at T: the prefix stops at the first event stamped after
T. The core is pure (events and a contract in, figures out); the `ticket_*`
wrappers load them from a ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import takewhile
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ticketledger.domain.contract import Contract
from ticketledger.domain.errors import InvalidCommandError, TicketNotFoundError
from ticketledger.domain.events import check_aware

from .chronology import (
    HIDDEN,
    Hours,
    Plain,
    SlaFigures,
    instant_text,
    replayed,
    ticket_events,
    ticket_fields,
)

if TYPE_CHECKING:
    from ticketledger.service.ledger import TicketLedger

VERSION, RECORDED_BY, OCCURRED_BY = "version", "recorded_by", "occurred_by"


@dataclass(frozen=True)
class TicketAsOf:
    """What a ticket stood at: `question` names the way asked and `asked` the
    version or instant; `version` is the last event included."""

    question: str
    asked: str
    ticket_id: UUID
    number: str
    customer: str
    version: int
    last_recorded_at: datetime
    last_occurred_at: datetime
    contract_version: int
    state: dict[str, Plain]
    sla: SlaFigures
    hours: Hours

    def as_seen_by_requester(self) -> TicketAsOf:
        """Without the count of comments, which betrays internal notes."""
        return replace(self, state={k: v for k, v in self.state.items() if k not in HIDDEN})

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "asked": self.asked,
            "ticket_id": str(self.ticket_id),
            "number": self.number,
            "customer": self.customer,
            "version": self.version,
            "last_recorded_at": instant_text(self.last_recorded_at),
            "last_occurred_at": instant_text(self.last_occurred_at),
            "contract_version": self.contract_version,
            "state": dict(self.state),
            "sla": self.sla.to_json(),
            "hours": self.hours.to_json(),
        }


def standing(
    events: Sequence[Any],
    contract: Contract,
    question: str,
    asked: str,
    evaluated_at: Callable[[Any], datetime],
) -> TicketAsOf:
    """The ticket after `events`, with SLA figures evaluated at the instant
    `evaluated_at` gives for the last of them."""
    *_, (last, replay) = replayed(events, contract)
    ticket = replay.state
    return TicketAsOf(
        question=question,
        asked=asked,
        ticket_id=replay.ticket.id,
        number=ticket.number,
        customer=ticket.customer,
        version=replay.ticket.version,
        last_recorded_at=last.timestamp,
        last_occurred_at=last.occurred_at,
        contract_version=contract.version,
        state=ticket_fields(ticket),
        sla=replay.sla_at(evaluated_at(last)),
        hours=replay.hours(),
    )


def prefix(events: Iterable[Any], known: Callable[[Any], bool], missing: str) -> list[Any]:
    """The events up to the first that `known` refuses; none is an error
    that names the ticket."""
    found = list(events)
    chosen = list(takewhile(known, found))
    if not chosen:
        number = found[0].number if found else "?"
        raise TicketNotFoundError(f"ticket {number} {missing}")
    return chosen


def at_version(events: Iterable[Any], contract: Contract, version: int) -> TicketAsOf:
    """The first `version` events; SLA figures at that event's occurred time."""
    found = list(events)
    if not 1 <= version <= len(found):
        raise TicketNotFoundError(
            f"ticket {found[0].number if found else '?'} has versions 1 to {len(found)}, "
            f"not {version}"
        )
    return standing(found[:version], contract, VERSION, str(version), lambda last: last.occurred_at)


def as_recorded_by(events: Iterable[Any], contract: Contract, instant: datetime) -> TicketAsOf:
    """What the ledger knew at `instant`; `contract` should be the contract
    as recorded by then too (contract_as_recorded_by)."""
    check_aware(instant, RECORDED_BY)
    asked = utc(instant)
    known = prefix(events, lambda e: e.timestamp <= instant, f"was not recorded yet at {asked}")
    return standing(known, contract, RECORDED_BY, asked, lambda _: instant)


def as_occurred_by(events: Iterable[Any], contract: Contract, instant: datetime) -> TicketAsOf:
    """What had happened by `instant`, by all the ledger knows now."""
    check_aware(instant, OCCURRED_BY)
    asked = utc(instant)
    happened = prefix(events, lambda e: e.occurred_at <= instant, f"was not open yet at {asked}")
    return standing(happened, contract, OCCURRED_BY, asked, lambda _: instant)


def utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


# Loading from the ledger.


def contract_as_recorded_by(ledger: TicketLedger, contract_id: UUID, instant: datetime) -> Contract:
    """The contract at its last version recorded by `instant` (its first, if
    none was: a ticket cannot open before its contract is signed)."""
    recorded = takewhile(lambda e: e.timestamp <= instant, ledger.events_of(contract_id))
    versions = [event.originator_version for event in recorded]
    return ledger.contract(contract_id, version=versions[-1] if versions else 1)


def answer(
    ledger: TicketLedger,
    events: Sequence[Any],
    *,
    version: int | None = None,
    recorded_by: datetime | None = None,
    occurred_by: datetime | None = None,
) -> TicketAsOf:
    """One ticket's events, already loaded, as of exactly one of the three."""
    if [version, recorded_by, occurred_by].count(None) != 2:
        raise InvalidCommandError("ask as of exactly one of version, recorded_by, occurred_by")
    contract_id = events[0].contract_id
    if recorded_by is not None:
        contract = contract_as_recorded_by(ledger, contract_id, recorded_by)
        return as_recorded_by(events, contract, recorded_by)
    if occurred_by is not None:
        return as_occurred_by(events, ledger.contract(contract_id), occurred_by)
    assert version is not None
    # An answer about a version must not move as the contract changes later:
    # its contract is the one recorded when that version was.
    known = events[version - 1].timestamp if 1 <= version <= len(events) else None
    if known is None:
        return at_version(events, ledger.contract(contract_id), version)  # refused there
    return at_version(events, contract_as_recorded_by(ledger, contract_id, known), version)


def ticket_as_of(
    ledger: TicketLedger,
    number: str,
    *,
    version: int | None = None,
    recorded_by: datetime | None = None,
    occurred_by: datetime | None = None,
) -> TicketAsOf:
    return answer(
        ledger,
        ticket_events(ledger, number),
        version=version,
        recorded_by=recorded_by,
        occurred_by=occurred_by,
    )
