"""A ticket's state, SLA figures and hours as of a moment, three ways:

- at a version: the first N events; SLA figures evaluated at event N's
  occurred time;
- as recorded by an instant T ("what the ledger knew at T"): the events whose
  recorded `timestamp` is at or before T; SLA figures evaluated at T;
- as occurred by an instant T ("what was true at T, by all we know now"): the
  events whose `occurred_at` is at or before T; SLA figures evaluated at T.

Each is a prefix of the ticket's events, read as the chronology reads them:
under the contract as the log held it at each event (replay/chronology.py's
LoggedContract), so an answer is the chronology's step and billing's figures,
and no contract change recorded later moves it. For occurred times the domain
guarantees it: check_occurred_at refuses an event that happened before the
ticket's previous one, so occurred_at never goes backwards along the versions.
Recorded times come from the recording clock and follow the versions as long
as that clock does; should a clock step back, a later version stamped at or
before T was still written after an earlier one stamped after T, so the
ledger knew neither at T: the prefix stops at the first event stamped after
T. The core is pure (events, their positions and the contract's log in, figures
out); the `ticket_*` wrappers load them from a ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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
    LoggedContract,
    Plain,
    SlaFigures,
    instant_text,
    logged_contract,
    public_positioned,
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


Contracts = Contract | LoggedContract
Positions = Mapping[int, int] | None


def standing(
    events: Sequence[Any],
    contract: Contracts,
    positions: Positions,
    question: str,
    asked: str,
    evaluated_at: Callable[[Any], datetime],
) -> TicketAsOf:
    """The ticket after `events`, with SLA figures evaluated at the instant
    `evaluated_at` gives for the last of them."""
    *_, (last, replay) = replayed(events, contract, positions)
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
        contract_version=replay.contract_version,
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


def at_version(
    events: Iterable[Any], contract: Contracts, version: int, positions: Positions = None
) -> TicketAsOf:
    """The first `version` events; SLA figures at that event's occurred time."""
    found = list(events)
    if not 1 <= version <= len(found):
        raise TicketNotFoundError(
            f"ticket {found[0].number if found else '?'} has versions 1 to {len(found)}, "
            f"not {version}"
        )
    return standing(
        found[:version], contract, positions, VERSION, str(version), lambda e: e.occurred_at
    )


def as_recorded_by(
    events: Iterable[Any], contract: Contracts, instant: datetime, positions: Positions = None
) -> TicketAsOf:
    """What the ledger knew at `instant`: its contract then is the one logged
    before each of those events, so the contract's log as known now serves."""
    check_aware(instant, RECORDED_BY)
    asked = utc(instant)
    known = prefix(events, lambda e: e.timestamp <= instant, f"was not recorded yet at {asked}")
    return standing(known, contract, positions, RECORDED_BY, asked, lambda _: instant)


def as_occurred_by(
    events: Iterable[Any], contract: Contracts, instant: datetime, positions: Positions = None
) -> TicketAsOf:
    """What had happened by `instant`, by all the ledger knows now."""
    check_aware(instant, OCCURRED_BY)
    asked = utc(instant)
    happened = prefix(events, lambda e: e.occurred_at <= instant, f"was not open yet at {asked}")
    return standing(happened, contract, positions, OCCURRED_BY, asked, lambda _: instant)


def utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


# Loading from the ledger.


def answer(
    ledger: TicketLedger,
    events: Sequence[Any],
    *,
    public: bool = False,
    version: int | None = None,
    recorded_by: datetime | None = None,
    occurred_by: datetime | None = None,
) -> TicketAsOf:
    """One ticket's events, already loaded, as of exactly one of the three;
    `public`: of its public history, numbered as its requester sees it."""
    if [version, recorded_by, occurred_by].count(None) != 2:
        raise InvalidCommandError("ask as of exactly one of version, recorded_by, occurred_by")
    contracts = logged_contract(ledger, events[0].contract_id)
    positions = ledger.log_positions(events[0].originator_id)
    if public:
        events, positions = public_positioned(list(events), positions)
    if recorded_by is not None:
        return as_recorded_by(events, contracts, recorded_by, positions)
    if occurred_by is not None:
        return as_occurred_by(events, contracts, occurred_by, positions)
    assert version is not None
    return at_version(events, contracts, version, positions)


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
