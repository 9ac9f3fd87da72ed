"""Work queues: the open tickets in the order the desk should take them up.

Customers under an active help-desk contract come first (pay-per-use customers
are queued after contract customers, and a suspended or ended contract gives
no contract service); then priority; then the SLA due instant; then number.

Resolved tickets stay in the table (marked resolved, out of the queues) because
a rejection or a reply can reopen them; closed and cancelled ones are removed.
The SLA clocks are kept here too, through domain/sla.py, from the projection's
own copy of the contract terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from ticketledger.domain.sla import ClockState, TicketClocks
from ticketledger.domain.terms import stored_terms
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.ticket_state import TicketState
from ticketledger.domain.vocabulary import Agreement, ContractStanding, Coverage, Priority
from ticketledger.projections.base import CONTRACT_STATES, ContractChange, KeepsContracts, handles
from ticketledger.projections.sla import (
    CLOCK_COLUMNS,
    TERMS,
    Clocked,
)
from ticketledger.projections.store import (
    Rows,
    Table,
    Writer,
    stamp,
    stamp_or_none,
    state_from,
    state_text,
)
from ticketledger.projections.ticket_state import state_after

CONTRACTS = Table(
    "contracts",
    (
        ("contract_id", "TEXT"),
        ("customer", "TEXT"),
        ("agreement", "TEXT"),
        ("state", "TEXT"),
        ("coverage", "TEXT"),
        ("terms_json", "TEXT"),
    ),
    key=("contract_id",),
)
OPEN_TICKETS = Table(
    "tickets",
    (
        ("ticket_id", "TEXT"),
        ("number", "TEXT"),
        ("contract_id", "TEXT"),
        ("customer", "TEXT"),
        ("subject", "TEXT"),
        ("status", "TEXT"),
        ("kind", "TEXT"),
        ("priority", "TEXT"),
        ("priority_rank", "INTEGER"),
        ("level", "INTEGER"),
        ("assignee", "TEXT"),
        ("opened_at", "TEXT"),
        ("terms_hash", "TEXT"),
        ("sla_due_at", "TEXT"),
        *CLOCK_COLUMNS,
        ("state_json", "TEXT"),
        ("position", "BIGINT"),
    ),
    key=("ticket_id",),
    indexes=(("status",), ("assignee",), ("customer",), ("priority_rank",)),
    read_by_aggregate=True,
)
LEAVES = (Ticket.AcceptanceGiven, Ticket.Closed, Ticket.Cancelled)
IN_QUEUE = "status <> 'resolved'"
SHOWN = (
    "number",
    "customer",
    "status",
    "kind",
    "priority",
    "level",
    "assignee",
    "sla_due_at",
    "contract_id",
    "subject",
    "opened_at",
)


def due_column(clocks: TicketClocks) -> str | None:
    return stamp_or_none(clocks.due_at)


def described(row: dict[str, Any], state: TicketState) -> None:
    """Who and what, as the ticket's state holds them."""
    row.update(
        status=state.status.value,
        kind=state.kind.value,
        priority_rank=state.priority.rank,
        level=state.level,
        assignee=state.assignee,
    )


class QueueProjection(KeepsContracts):
    name: ClassVar[str] = "queues"
    tables: ClassVar[tuple[Table, ...]] = (TERMS, CONTRACT_STATES, CONTRACTS, OPEN_TICKETS)

    def contract_changed(self, change: ContractChange, rows: Rows) -> None:
        """The queues follow the latest terms signed, like ContractState.terms:
        a projection cannot know today's date, so a change dated ahead counts now."""
        terms = change.after.terms
        rows.put(
            "contracts",
            {
                "contract_id": change.contract_id,
                "customer": terms.customer,
                "agreement": terms.agreement.value,
                "state": change.after.standing.value,
                "coverage": terms.coverage.value,
                "terms_json": terms.model_dump_json(),
            },
        )

    @handles(Ticket.Opened)
    def opened(self, event: Ticket.Opened, rows: Rows, position: int) -> None:
        clocked = Clocked.opened(rows, event, position, subject=event.subject)
        keep(rows, Queued(clocked, state_after(rows, None, event)))

    @handles(Ticket.Event)
    def changed(self, event: Any, rows: Rows, position: int) -> None:
        ticket_id = str(event.originator_id)
        if isinstance(event, LEAVES):
            rows.forget_object(KEPT, ticket_id)
            rows.delete("tickets", ticket_id=ticket_id)
            return
        kept = kept_in_queue(rows, ticket_id)
        if kept is not None:
            clocked = kept.clocked.after(rows, event, position)
            state = state_after(rows, kept.state, event)
            keep(rows, Queued(clocked, state))


KEPT = "queues"
FIXED = ("ticket_id", "number", "contract_id", "customer", "subject", "opened_at", "terms_hash")


@dataclass(frozen=True)
class Queued:
    """A queued ticket's clocks and fixed columns, and its state."""

    clocked: Clocked
    state: TicketState


def kept_in_queue(rows: Rows, ticket_id: str) -> Queued | None:
    return rows.kept_or_stored(
        KEPT,
        ticket_id,
        "tickets",
        lambda row: Queued(Clocked.stored(row, FIXED), state_from(row["state_json"])),
    )


def keep(rows: Rows, queued: Queued) -> None:
    ticket_id = str(queued.clocked.described["ticket_id"])
    rows.keep_object(KEPT, ticket_id, queued, Writer(write_queued, (("tickets", (ticket_id,)),)))


def write_queued(rows: Rows, queued: Queued) -> None:
    row = queued.clocked.row()
    described(row, queued.state)
    row.update(sla_due_at=due_column(queued.clocked.clocks), state_json=state_text(queued.state))
    rows.put("tickets", row)


# Queries.


def contract_tiers(rows: Rows) -> dict[str, int]:
    """0 for an active help-desk contract, 1 for anything else."""
    tiers = {}
    for row in rows.all("SELECT contract_id, agreement, state FROM {contracts}"):
        served = row["agreement"] == Agreement.HELP_DESK.value
        served = served and row["state"] == ContractStanding.ACTIVE.value
        tiers[str(row["contract_id"])] = 0 if served else 1
    return tiers


def ordered(
    rows: Rows, found: list[dict[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    tiers = contract_tiers(rows)

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        due = row["sla_due_at"]
        return (
            tiers.get(str(row["contract_id"]), 1),
            row["priority_rank"],
            due is None,
            due or "",
            row["number"],
        )

    return [shown(r, tiers, now) for r in sorted(found, key=key)]


def shown(row: dict[str, Any], tiers: dict[str, int], now: datetime | None) -> dict[str, Any]:
    """A queue entry, JSON-ready; with its SLA standing at `now` when given."""
    entry = {name: row[name] for name in SHOWN}
    entry["contract_service"] = tiers.get(str(row["contract_id"]), 1) == 0
    if now is not None:
        entry["sla"] = sla_standing(row, now)
    return entry


def sla_standing(row: dict[str, Any], now: datetime) -> str | None:
    """Whether the clock the desk must act on next (`TicketClocks.due_at`'s)
    is breached or at risk at `now`, by the instants the projection predicted
    for it; None while on track, paused or stopped."""
    prefix = "fr" if row["fr_state"] != ClockState.STOPPED.value else "res"
    if row[f"{prefix}_state"] != ClockState.RUNNING.value:
        return None
    stamped = stamp(now)
    due, at_risk = row[f"{prefix}_due_at"], row[f"{prefix}_at_risk_at"]
    if due is not None and due <= stamped:
        return "breached"
    if at_risk is not None and at_risk <= stamped:
        return "at_risk"
    return None


def work_queue(
    rows: Rows,
    *,
    assignee: str | None = None,
    level: int | None = None,
    customer: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Open and waiting tickets, filtered on any of the given values, in the
    order the desk takes them up (each with its SLA standing at `now`, if given)."""
    given = dict(assignee=assignee, level=level, customer=customer, status=status, kind=kind)
    params = {name: value for name, value in given.items() if value is not None}
    clauses = [IN_QUEUE, *(f"{name} = :{name}" for name in params)]
    found = rows.all(f"SELECT * FROM {{tickets}} WHERE {' AND '.join(clauses)}", params)
    return ordered(rows, found, now)


def off_hours_queue(rows: Rows, now: datetime) -> list[dict[str, Any]]:
    """Open critical tickets whose contract's extended or 24x7 coverage is on at
    `now`: outside business hours only critical tickets are served. A suspended
    or ended contract gives no service, so its tickets are left out."""
    covered = set()
    contracts = rows.all(
        "SELECT contract_id, terms_json FROM {contracts} "
        "WHERE coverage <> :standard AND state = :active",
        {"standard": Coverage.STANDARD.value, "active": ContractStanding.ACTIVE.value},
    )
    for row in contracts:
        if stored_terms(str(row["terms_json"])).coverage_calendar.is_business_time(now):
            covered.add(str(row["contract_id"]))
    found = rows.all(
        f"SELECT * FROM {{tickets}} WHERE {IN_QUEUE} AND priority_rank = :rank",
        {"rank": Priority.CRITICAL.rank},
    )
    return ordered(rows, [r for r in found if str(r["contract_id"]) in covered], now)


def render_queue(entries: list[dict[str, Any]]) -> str:
    """The queue as a text table for the command line."""
    if not entries:
        return "no tickets in the queue"
    header = (
        f"{'number':<12} {'priority':<8} {'status':<22} {'lvl':>3} {'assignee':<16} "
        f"{'SLA due (UTC)':<17} customer"
    )
    lines = [header]
    for e in entries:
        due = (e["sla_due_at"] or "-")[:16].replace("T", " ")
        lines.append(
            f"{e['number']:<12} {e['priority']:<8} {e['status']:<22} {e['level']:>3} "
            f"{e['assignee'] or '-':<16} {due:<17} {e['customer']}"
        )
    return "\n".join(lines)
