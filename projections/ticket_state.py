"""Every ticket's current state, one row each, listable and filterable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ticketledger.domain.ticket import Ticket, evolve
from ticketledger.domain.ticket_state import TicketState
from ticketledger.projections.base import CONTRACT_STATES, ContractChange, KeepsContracts, handles
from ticketledger.projections.store import (
    Rows,
    Table,
    Writer,
    micros,
    stamp,
    stamp_or_none,
    state_from,
    state_text,
)

TICKETS = Table(
    "tickets",
    (
        ("ticket_id", "TEXT"),
        ("number", "TEXT"),
        ("contract_id", "TEXT"),
        ("customer", "TEXT"),
        ("requester", "TEXT"),
        ("channel", "TEXT"),
        ("subject", "TEXT"),
        ("status", "TEXT"),
        ("kind", "TEXT"),
        ("priority", "TEXT"),
        ("priority_rank", "INTEGER"),
        ("level", "INTEGER"),
        ("assignee", "TEXT"),
        ("opened_at", "TEXT"),
        ("first_response_at", "TEXT"),
        ("resolved_at", "TEXT"),
        ("closed_at", "TEXT"),
        ("closure_reason", "TEXT"),
        ("waiting_since", "TEXT"),
        ("agent_replies", "INTEGER"),
        ("requester_replies", "INTEGER"),
        ("comments", "INTEGER"),
        ("failed_contact_attempts", "INTEGER"),
        ("reopen_count", "INTEGER"),
        ("work_entries", "INTEGER"),
        ("work_microseconds", "BIGINT"),
        ("rating", "INTEGER"),
        ("rating_out_of", "INTEGER"),
        ("links", "INTEGER"),
        ("last_activity_at", "TEXT"),
        ("last_activity_by", "TEXT"),
        ("version", "INTEGER"),
        ("position", "BIGINT"),
    ),
    key=("ticket_id",),
    indexes=(("number",), ("customer", "status"), ("assignee", "status"), ("status",)),
)
STATES = Table(
    "states",
    (("ticket_id", "TEXT"), ("state_json", "TEXT")),
    key=("ticket_id",),
    read_by_aggregate=True,
)
CONTRACTS = Table(
    "contracts",
    (("contract_id", "TEXT"), ("customer", "TEXT"), ("state", "TEXT")),
    key=("contract_id",),
)

FILTERS = (
    "status",
    "kind",
    "priority",
    "level",
    "assignee",
    "customer",
    "requester",
    "contract_id",
)


class TicketStateProjection(KeepsContracts):
    """Each ticket's row is read off the state the ticket's events fold into
    (domain/ticket.py's `evolve`), kept beside it as JSON."""

    name: ClassVar[str] = "ticket_state"
    tables: ClassVar[tuple[Table, ...]] = (TICKETS, STATES, CONTRACT_STATES, CONTRACTS)

    @handles(Ticket.Opened)
    def opened(self, event: Ticket.Opened, rows: Rows, position: int) -> None:
        self._keep(rows, state_after(rows, None, event), event, position)

    @handles(Ticket.Event)
    def changed(self, event: Any, rows: Rows, position: int) -> None:
        # Only the state before this event is read of what was kept or stored.
        kept = rows.kept_or_stored(
            KEPT, str(event.originator_id), "states", lambda row: stored_fold(row, event, position)
        )
        if kept is not None:
            self._keep(rows, state_after(rows, kept.state, event), event, position)

    @staticmethod
    def _keep(rows: Rows, state: TicketState, event: Any, position: int) -> None:
        ticket_id = str(event.originator_id)
        written = Writer(write_ticket, (("states", (ticket_id,)), ("tickets", (ticket_id,))))
        rows.keep_object(KEPT, ticket_id, Folded(state, event, position), written)

    def contract_changed(self, change: ContractChange, rows: Rows) -> None:
        rows.put(
            "contracts",
            {
                "contract_id": change.contract_id,
                "customer": change.after.customer,
                "state": change.after.standing.value,
            },
        )


KEPT = "ticket_state"


def state_after(rows: Rows, state: TicketState | None, event: Any) -> TicketState:
    """The one fold's step (domain/ticket.py's `evolve`), taken once a page for
    every projection that keeps the ticket's state (Rows.folded)."""
    return rows.folded("ticket.evolve", event, state, lambda: evolve(state, event))


@dataclass(frozen=True)
class Folded:
    """A ticket's state, and the event and position that last changed it."""

    state: TicketState
    event: Any
    position: int


def stored_fold(row: dict[str, Any], event: Any, position: int) -> Folded:
    return Folded(state_from(row["state_json"]), event, position)


def write_ticket(rows: Rows, folded: Folded) -> None:
    ticket_id = str(folded.event.originator_id)
    rows.put("states", {"ticket_id": ticket_id, "state_json": state_text(folded.state)})
    rows.put("tickets", ticket_row(ticket_id, folded.state, folded.event, folded.position))


def ticket_row(ticket_id: str, s: TicketState, event: Any, position: int) -> dict[str, Any]:
    """The row of a ticket in `s`, last changed by `event` at `position`."""
    return {
        "ticket_id": ticket_id,
        "number": s.number,
        "contract_id": str(s.contract_id),
        "customer": s.customer,
        "requester": s.requester,
        "channel": s.channel.value,
        "subject": s.subject,
        "status": s.status.value,
        "kind": s.kind.value,
        "priority": s.priority.value,
        "priority_rank": s.priority.rank,
        "level": s.level,
        "assignee": s.assignee,
        "opened_at": stamp(s.opened_at),
        "first_response_at": stamp_or_none(s.first_response_at),
        "resolved_at": stamp_or_none(s.resolved_at),
        "closed_at": stamp_or_none(s.closed_at),
        "closure_reason": s.closure_reason.value if s.closure_reason else None,
        "waiting_since": stamp_or_none(s.waiting_since),
        "agent_replies": s.agent_replies,
        "requester_replies": s.requester_replies,
        "comments": s.comments,
        "failed_contact_attempts": s.failed_contact_attempts,
        "reopen_count": s.reopen_count,
        "work_entries": len(s.worked),
        "work_microseconds": micros(s.work_time),
        "rating": s.rating.score if s.rating else None,
        "rating_out_of": s.rating.out_of if s.rating else None,
        "links": len(s.links),
        "last_activity_at": stamp(event.occurred_at),
        "last_activity_by": event.by,
        "version": event.originator_version,
        "position": position,
    }


@dataclass(frozen=True)
class TicketPage:
    tickets: list[dict[str, Any]]
    next_cursor: str | None


FIND_TICKET = "SELECT * FROM {tickets} WHERE number = :number"


def find_ticket(rows: Rows, number: str) -> dict[str, Any] | None:
    return rows.one(FIND_TICKET, {"number": number})


def list_tickets(
    rows: Rows,
    filters: Mapping[str, Any] | None = None,
    *,
    after: str | None = None,
    limit: int = 50,
) -> TicketPage:
    """Tickets by number, filtered on any of FILTERS; `after` is the last
    number of the previous page (a cursor that stays valid as tickets open)."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    for name, value in (filters or {}).items():
        if name not in FILTERS:
            raise ValueError(f"cannot filter tickets on {name}")
        if value is not None:
            clauses.append(f"{name} = :{name}")
            params[name] = value.value if hasattr(value, "value") else value
    if after is not None:
        clauses.append("number > :after")
        params["after"] = after
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    found = rows.all(f"SELECT * FROM {{tickets}} {where} ORDER BY number LIMIT :limit", params)
    more = len(found) > limit
    page = found[:limit]
    return TicketPage(page, page[-1]["number"] if more and page else None)
