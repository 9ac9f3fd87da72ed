"""Human ticket numbers: one numbering aggregate per year issues 2026-000001,
2026-000002, ... Two concurrent opens both try to write the same next version
of this aggregate; the store refuses one, which retries with the next number.
The ledger snapshots it (service.ledger), so an opening reads a snapshot and
the few numbers issued since, not the whole year."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ticketledger.domain.events import LedgerCreated, LedgerEvent

_NAMESPACE = uuid5(NAMESPACE_URL, "https://ticketledger/")


def numbering_id(year: int) -> UUID:
    return uuid5(_NAMESPACE, f"ticket-numbering/{year}")


def ticket_id_for(number: str) -> UUID:
    """Ticket ids derive from their number, so a number finds its ticket
    without an index, and two tickets can never share a number."""
    return uuid5(_NAMESPACE, f"ticket/{number}")


def format_number(year: int, sequence: int) -> str:
    return f"{year}-{sequence:06d}"


class TicketNumbering(Aggregate):
    TOPIC = "ticketledger:TicketNumbering"

    class Created(LedgerCreated):
        TOPIC = "ticketledger:TicketNumbering.Created"

    class Started(Created):
        TOPIC = "ticketledger:TicketNumbering.Started"
        year: int

        def apply(self, aggregate: Any) -> None:
            aggregate.year = self.year

    class NumberIssued(LedgerEvent):
        TOPIC = "ticketledger:TicketNumbering.NumberIssued"
        number: str
        ticket_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.issued += 1

    def __init__(self) -> None:
        # A count, not the list of tickets: the state (and its snapshot) stays
        # the same size however many tickets the year has opened.
        self.year = 0
        self.issued = 0

    @classmethod
    def start(cls, year: int, by: str, occurred_at: datetime) -> TicketNumbering:
        return cls._create(
            cls.Started, id=numbering_id(year), year=year, by=by, occurred_at=occurred_at
        )

    @property
    def next_number(self) -> str:
        return format_number(self.year, self.issued + 1)

    @property
    def ticket_ids(self) -> list[UUID]:
        """The year's tickets in the order their numbers were issued."""
        return [ticket_id_for(format_number(self.year, n)) for n in range(1, self.issued + 1)]

    def issue(self, by: str, occurred_at: datetime) -> tuple[str, UUID]:
        number = self.next_number
        ticket_id = ticket_id_for(number)
        self.trigger_event(
            self.NumberIssued, number=number, ticket_id=ticket_id, by=by, occurred_at=occurred_at
        )
        return number, ticket_id
