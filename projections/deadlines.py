"""Deadlines: when each time-driven rule falls due on each open ticket.

The projection keeps every ticket's `Watch` (domain/deadlines.py), folded from
its events under the terms in force at its opening, and lists the instants the
rules give. The ticker reads it to find tickets with something due; the
ledger then decides from the ticket's own events, so a stale row can only
delay a consequence, never invent one. Agents and customers read what is
coming: SLA warnings, notices and automatic closures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic import TypeAdapter

from ticketledger.domain.deadlines import Deadline, Rule, Watch, deadlines
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket
from ticketledger.projections.base import CONTRACT_STATES, KeepsContracts, handles
from ticketledger.projections.sla import (
    TERMS,
    clocks_after,
    load_terms,
    opening_clocks,
    opening_terms_hash,
)
from ticketledger.projections.store import Rows, Table, Writer, stamp, unstamp
from ticketledger.projections.ticket_state import state_after

WATCH_JSON = TypeAdapter(Watch)

WATCHES = Table(
    "watches",
    (
        ("ticket_id", "TEXT"),
        ("terms_hash", "TEXT"),
        ("watch_json", "TEXT"),
        ("position", "BIGINT"),
    ),
    key=("ticket_id",),
    read_by_aggregate=True,
)
DEADLINES = Table(
    "deadlines",
    (
        ("ticket_id", "TEXT"),
        ("rule", "TEXT"),
        ("rank", "INTEGER"),
        ("due_at", "TEXT"),
        ("number", "TEXT"),
        ("contract_id", "TEXT"),
        ("customer", "TEXT"),
        ("assignee", "TEXT"),
    ),
    key=("ticket_id", "rule"),
    indexes=(("due_at",), ("assignee", "due_at"), ("customer", "due_at")),
)


def watch_text(watch: Watch) -> str:
    return WATCH_JSON.dump_json(watch).decode()


def watch_from(text: str) -> Watch:
    return WATCH_JSON.validate_json(text)


class DeadlinesProjection(KeepsContracts):
    name: ClassVar[str] = "deadlines"
    tables: ClassVar[tuple[Table, ...]] = (TERMS, CONTRACT_STATES, WATCHES, DEADLINES)

    @handles(Ticket.Opened)
    def opened(self, event: Ticket.Opened, rows: Rows, position: int) -> None:
        terms_hash = opening_terms_hash(rows, event)
        terms = load_terms(rows, terms_hash)
        # `opened_watch`, its two parts taken as steps of the page's shared folds.
        state = state_after(rows, None, event)
        clocks = opening_clocks(rows, event, terms_hash)
        watch = Watch(ticket_id=event.originator_id, state=state, clocks=clocks)
        self._keep(rows, Watched(watch, terms_hash, terms, position))

    @handles(Ticket.Event)
    def changed(self, event: Any, rows: Rows, position: int) -> None:
        kept = rows.kept_or_stored(
            KEPT, str(event.originator_id), "watches", lambda row: stored_watch(rows, row)
        )
        if kept is not None:
            watch = watch_after(rows, kept, event)
            self._keep(rows, Watched(watch, kept.terms_hash, kept.terms, position))

    @staticmethod
    def _keep(rows: Rows, watched: Watched) -> None:
        ticket_id = str(watched.watch.ticket_id)
        written = Writer(write_watch, (("watches", (ticket_id,)),))
        rows.keep_object(KEPT, ticket_id, watched, written)


KEPT = "deadlines"


@dataclass(frozen=True)
class Watched:
    """A ticket's watch, the terms it runs under, and the position that last changed it."""

    watch: Watch
    terms_hash: str
    terms: ContractTerms
    position: int


def stored_watch(rows: Rows, row: dict[str, Any]) -> Watched:
    terms_hash = str(row["terms_hash"])
    watch = watch_from(str(row["watch_json"]))
    return Watched(watch, terms_hash, load_terms(rows, terms_hash), int(row["position"]))


def watch_after(rows: Rows, kept: Watched, event: Any) -> Watch:
    """`Watch.after`, its two parts taken as steps of the page's shared folds
    (Rows.folded): the state by the one fold, the clocks by the SLA rules."""
    before = kept.watch
    state = state_after(rows, before.state, event)
    clocks = clocks_after(rows, before.clocks, kept.terms_hash, event)
    return Watch(ticket_id=before.ticket_id, state=state, clocks=clocks)


def write_watch(rows: Rows, watched: Watched) -> None:
    """The watch, and the deadlines it gives in place of those it gave before."""
    watch, ticket_id = watched.watch, str(watched.watch.ticket_id)
    rows.put(
        "watches",
        {
            "ticket_id": ticket_id,
            "terms_hash": watched.terms_hash,
            "watch_json": watch_text(watch),
            "position": watched.position,
        },
    )
    rows.delete("deadlines", ticket_id=ticket_id)
    for deadline in deadlines(watch, watched.terms):
        rows.put("deadlines", deadline_row(watch, deadline))


def deadline_row(watch: Watch, deadline: Deadline) -> dict[str, Any]:
    return {
        "ticket_id": str(watch.ticket_id),
        "rule": deadline.rule.value,
        "rank": deadline.rule.rank,
        "due_at": stamp(deadline.due_at),
        "number": watch.state.number,
        "contract_id": str(watch.state.contract_id),
        "customer": watch.state.customer,
        "assignee": watch.state.assignee,
    }


# Queries.


def tickets_due(rows: Rows, now: datetime) -> list[str]:
    """The tickets with at least one rule due by `now`, earliest first."""
    found = rows.all(
        "SELECT ticket_id, MIN(due_at) AS first_due FROM {deadlines} WHERE due_at <= :now "
        "GROUP BY ticket_id ORDER BY first_due, ticket_id",
        {"now": stamp(now)},
    )
    return [str(r["ticket_id"]) for r in found]


def upcoming(
    rows: Rows,
    *,
    agent: str | None = None,
    customer: str | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Deadlines in order, for one agent's tickets or one customer's, or all;
    those already past are still listed until the ticker applies them."""
    clauses, params = [], {}
    if agent is not None:
        clauses.append("assignee = :agent")
        params["agent"] = agent
    if customer is not None:
        clauses.append("customer = :customer")
        params["customer"] = customer
    if until is not None:
        clauses.append("due_at <= :until")
        params["until"] = stamp(until)
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    found = rows.all(
        f"SELECT * FROM {{deadlines}} {where}ORDER BY due_at, rank, number LIMIT {int(limit)}",
        params,
    )
    return [shown(r) for r in found]


def shown(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": row["number"],
        "ticket_id": row["ticket_id"],
        "customer": row["customer"],
        "assignee": row["assignee"],
        "rule": Rule(row["rule"]).value,
        "due_at": unstamp(str(row["due_at"])).isoformat(),
    }


def render_upcoming(entries: list[dict[str, Any]], now: datetime) -> str:
    if not entries:
        return "no deadlines"
    lines = [f"{'due at (UTC)':<26} {'':<7} {'ticket':<12} {'rule':<28} {'assignee':<16} customer"]
    for e in entries:
        due = datetime.fromisoformat(e["due_at"])
        late = "overdue" if due <= now else ""
        lines.append(
            f"{due.strftime('%Y-%m-%d %H:%M:%S'):<26} {late:<7} {e['number']:<12} "
            f"{e['rule']:<28} {e['assignee'] or '-':<16} {e['customer']}"
        )
    return "\n".join(lines)
