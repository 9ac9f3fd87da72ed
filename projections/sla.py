"""SLA compliance: each ticket's first-response and resolution clocks, kept from
the events by domain/sla.py, and a contract's monthly compliance report.

The projection keeps every contract's folded state (projections/base.py's
KeepsContracts), so the clocks use the terms in force when the ticket opened without reading another
projection. The table specs and clock columns here are shared with the queues.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

from ticketledger.domain import sla
from ticketledger.domain.sla import SlaClock, TicketClocks
from ticketledger.domain.terms import ContractTerms, stored_terms
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Priority
from ticketledger.projections.base import (
    CONTRACT_STATES,
    KeepsContracts,
    contract_state,
    handles,
)
from ticketledger.projections.store import (
    Rows,
    Table,
    Writer,
    micros,
    span,
    stamp,
    stamp_or_none,
    unstamp,
    unstamp_or_none,
)

CLOCKS = ("fr", "res")  # column prefixes: first response, resolution
CLOCK_FIELDS = (
    ("target_us", "BIGINT"),
    ("elapsed_us", "BIGINT"),
    ("paused_us", "BIGINT"),
    ("state", "TEXT"),
    ("calendar", "TEXT"),
    ("since", "TEXT"),
    ("due_at", "TEXT"),
    ("at_risk_at", "TEXT"),
    ("stopped_at", "TEXT"),
    ("outcome", "TEXT"),
)
CLOCK_COLUMNS = tuple((f"{p}_{name}", kind) for p in CLOCKS for name, kind in CLOCK_FIELDS)

TERMS = Table("terms", (("terms_hash", "TEXT"), ("terms_json", "TEXT")), key=("terms_hash",))
TICKET_CLOCKS = Table(
    "tickets",
    (
        ("ticket_id", "TEXT"),
        ("number", "TEXT"),
        ("contract_id", "TEXT"),
        ("customer", "TEXT"),
        ("priority", "TEXT"),
        ("opened_at", "TEXT"),
        ("terms_hash", "TEXT"),
        *CLOCK_COLUMNS,
        ("position", "BIGINT"),
    ),
    key=("ticket_id",),
    indexes=(("number",), ("contract_id",)),
    read_by_aggregate=True,
)


# Contract terms: the contract's fold says which are in force; the terms a
# ticket runs under are kept once, by content hash, for its later events.


def opening_terms_hash(rows: Rows, event: Ticket.Opened) -> str:
    """The terms in force when the ticket opened (ContractState.terms_at),
    stored by their hash; found once a page for every projection that asks
    (Rows.folded), since the same contract state gives the same terms."""
    state = contract_state(rows, str(event.contract_id))
    text, digest = rows.folded(
        "sla.terms_at", event, state, lambda: terms_text(state.terms_at(event.occurred_at))
    )
    if rows.get("terms", terms_hash=digest) is None:
        rows.put("terms", {"terms_hash": digest, "terms_json": text})
    return digest


def terms_text(terms: ContractTerms) -> tuple[str, str]:
    text = terms.model_dump_json()
    return text, hashlib.sha256(text.encode()).hexdigest()


def load_terms(rows: Rows, terms_hash: str) -> ContractTerms:
    row = rows.get("terms", terms_hash=terms_hash)
    assert row is not None, f"no terms {terms_hash}"
    return stored_terms(str(row["terms_json"]))


# Clocks as columns.


def clock_columns(prefix: str, clock: SlaClock) -> dict[str, Any]:
    return {
        f"{prefix}_target_us": micros(clock.target),
        f"{prefix}_elapsed_us": micros(clock.elapsed),
        f"{prefix}_paused_us": micros(clock.paused),
        f"{prefix}_state": clock.state.value,
        f"{prefix}_calendar": clock.calendar.value,
        f"{prefix}_since": stamp(clock.since),
        f"{prefix}_due_at": stamp_or_none(clock.due_at),
        f"{prefix}_at_risk_at": stamp_or_none(clock.at_risk_at),
        f"{prefix}_stopped_at": stamp_or_none(clock.stopped_at),
        f"{prefix}_outcome": clock.outcome.value if clock.outcome else None,
    }


def clock_from(row: dict[str, Any], prefix: str) -> SlaClock:
    outcome = row[f"{prefix}_outcome"]
    return SlaClock(
        target=span(row[f"{prefix}_target_us"]),
        calendar=sla.CalendarKind(row[f"{prefix}_calendar"]),
        state=sla.ClockState(row[f"{prefix}_state"]),
        since=unstamp(row[f"{prefix}_since"]),
        elapsed=span(row[f"{prefix}_elapsed_us"]),
        paused=span(row[f"{prefix}_paused_us"]),
        due_at=unstamp_or_none(row[f"{prefix}_due_at"]),
        at_risk_at=unstamp_or_none(row[f"{prefix}_at_risk_at"]),
        stopped_at=unstamp_or_none(row[f"{prefix}_stopped_at"]),
        outcome=sla.Outcome(outcome) if outcome else None,
    )


def clocks_from(row: dict[str, Any]) -> TicketClocks:
    return TicketClocks(Priority(row["priority"]), clock_from(row, "fr"), clock_from(row, "res"))


def clocks_columns(clocks: TicketClocks) -> dict[str, Any]:
    return {
        "priority": clocks.priority.value,
        **clock_columns("fr", clocks.first_response),
        **clock_columns("res", clocks.resolution),
    }


def opening_clocks(rows: Rows, event: Ticket.Opened, terms_hash: str) -> TicketClocks:
    """The clocks as the ticket opens (domain/sla.py's `open_clocks`): a step
    of the page's shared folds, from nothing."""
    terms = load_terms(rows, terms_hash)
    step = ("sla.open_clocks", terms_hash)
    return rows.folded(
        step, event, None, lambda: sla.open_clocks(terms, event.priority, event.occurred_at)
    )


def clocks_after(rows: Rows, clocks: TicketClocks, terms_hash: str, event: Any) -> TicketClocks:
    """The clocks once `event` happened (domain/sla.py's `on_event`), under the
    terms of this hash: one step of the page's shared folds (Rows.folded)."""
    terms = load_terms(rows, terms_hash)
    step = ("sla.on_event", terms_hash)
    return rows.folded(step, event, clocks, lambda: sla.on_event(clocks, terms, event))


# A ticket's clocks kept from event to event of a page (Rows.keep_object):
# its row is written once a page, not once an event.

SLA_KEPT = "sla"
# The columns but the clocks' (and the priority, the clocks' own) and the position.
TICKET_CLOCK_ROW = tuple(
    c
    for c, _ in TICKET_CLOCKS.columns
    if c not in {*(n for n, _ in CLOCK_COLUMNS), "priority", "position"}
)


@dataclass(frozen=True)
class Clocked:
    """A ticket's row but its clocks (`described`), its clocks, and the
    position that last changed them."""

    described: dict[str, Any]
    clocks: TicketClocks
    position: int

    @classmethod
    def opened(cls, rows: Rows, event: Ticket.Opened, position: int, **more: Any) -> Clocked:
        """A ticket's clocks as it opens, under the terms in force then (kept
        by their hash), with its row's other columns: these and `more`."""
        terms_hash = opening_terms_hash(rows, event)
        clocks = opening_clocks(rows, event, terms_hash)
        described = {
            "ticket_id": str(event.originator_id),
            "number": event.number,
            "contract_id": str(event.contract_id),
            "customer": event.customer,
            "opened_at": stamp(event.occurred_at),
            "terms_hash": terms_hash,
            **more,
        }
        return cls(described, clocks, position)

    @classmethod
    def stored(cls, row: dict[str, Any], described: Iterable[str]) -> Clocked:
        return cls({c: row[c] for c in described}, clocks_from(row), int(row["position"]))

    def after(self, rows: Rows, event: Any, position: int) -> Clocked:
        return Clocked(
            self.described, clocks_after(rows, self.clocks, self.terms_hash, event), position
        )

    @property
    def terms_hash(self) -> str:
        return str(self.described["terms_hash"])

    def row(self) -> dict[str, Any]:
        return {**self.described, **clocks_columns(self.clocks), "position": self.position}


def kept_clocks(rows: Rows, ticket_id: str) -> Clocked | None:
    """The ticket's clocks as this page left them, else as its row holds them
    (None when it has no row)."""
    return rows.kept_or_stored(
        SLA_KEPT, ticket_id, "tickets", lambda row: Clocked.stored(row, TICKET_CLOCK_ROW)
    )


def keep_clocks(rows: Rows, clocked: Clocked) -> None:
    ticket_id = str(clocked.described["ticket_id"])
    written = Writer(write_clocks, (("tickets", (ticket_id,)),))
    rows.keep_object(SLA_KEPT, ticket_id, clocked, written)


def write_clocks(rows: Rows, clocked: Clocked) -> None:
    rows.put("tickets", clocked.row())


class SlaProjection(KeepsContracts):
    name: ClassVar[str] = "sla"
    tables: ClassVar[tuple[Table, ...]] = (TERMS, CONTRACT_STATES, TICKET_CLOCKS)

    @handles(Ticket.Opened)
    def opened(self, event: Ticket.Opened, rows: Rows, position: int) -> None:
        keep_clocks(rows, Clocked.opened(rows, event, position))

    @handles(Ticket.Event)
    def changed(self, event: Any, rows: Rows, position: int) -> None:
        kept = kept_clocks(rows, str(event.originator_id))
        if kept is not None:
            keep_clocks(rows, kept.after(rows, event, position))


# Queries.


def seconds(duration: timedelta) -> float:
    return duration.total_seconds()


def iso_or_none(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def clock_view(clock: SlaClock, terms: ContractTerms, now: datetime) -> dict[str, Any]:
    """A clock as it stands at `now`, JSON-ready (durations in seconds)."""
    moved = sla.advance(clock, terms, now)
    return {
        "target_seconds": seconds(clock.target),
        "elapsed_seconds": seconds(moved.elapsed),
        "paused_seconds": seconds(moved.paused),
        "calendar": clock.calendar.value,
        "state": clock.state.value,
        "due_at": iso_or_none(clock.due_at),
        "at_risk_at": iso_or_none(clock.at_risk_at),
        "stopped_at": iso_or_none(clock.stopped_at),
        # The clock advanced to `now` stands as the clock would at `now`.
        "status": sla.status_at(moved, terms, now).value,
    }


def find_clocks(rows: Rows, ticket: str | UUID) -> dict[str, Any] | None:
    return rows.one(
        "SELECT * FROM {tickets} WHERE ticket_id = :t OR number = :t", {"t": str(ticket)}
    )


def ticket_sla(rows: Rows, ticket: str | UUID, now: datetime) -> dict[str, Any]:
    """A ticket's targets, elapsed and paused business time, due instants and
    status (met, breached, at_risk, on_track, paused, cancelled) at `now`."""
    row = find_clocks(rows, ticket)
    if row is None:
        raise KeyError(f"no ticket {ticket}")
    terms, clocks = load_terms(rows, str(row["terms_hash"])), clocks_from(row)
    return {
        "ticket_id": row["ticket_id"],
        "number": row["number"],
        "customer": row["customer"],
        "priority": clocks.priority.value,
        "first_response": clock_view(clocks.first_response, terms, now),
        "resolution": clock_view(clocks.resolution, terms, now),
    }


# The monthly report.


def nearest_rank(values: Sequence[timedelta], percent: int) -> timedelta | None:
    """The nearest-rank percentile: the smallest value with at least `percent`
    per cent of the values at or below it (so the median of four is the 2nd)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def compliance(met: int, completed: int) -> Decimal | None:
    if not completed:
        return None
    share = Decimal(met * 100) / Decimal(completed)
    return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ClockFigures:
    """One kind of clock in one month: those that stopped in it, and those
    still running that had already spent more than their target by its end."""

    completed: int
    met: int
    breached: int
    compliance: Decimal | None
    median: timedelta | None
    p90: timedelta | None
    running_breached: int

    @classmethod
    def of(cls, completed: Sequence[SlaClock], running_breached: int) -> ClockFigures:
        met = sum(1 for c in completed if c.outcome is sla.Outcome.MET)
        times = [c.elapsed for c in completed]
        return cls(
            completed=len(completed),
            met=met,
            breached=len(completed) - met,
            compliance=compliance(met, len(completed)),
            median=nearest_rank(times, 50),
            p90=nearest_rank(times, 90),
            running_breached=running_breached,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "completed": self.completed,
            "met": self.met,
            "breached": self.breached,
            "compliance_percent": None if self.compliance is None else str(self.compliance),
            "median_seconds": None if self.median is None else seconds(self.median),
            "p90_seconds": None if self.p90 is None else seconds(self.p90),
            "running_breached": self.running_breached,
        }


@dataclass(frozen=True)
class PriorityFigures:
    priority: str  # a Priority value, or "total"
    first_response: ClockFigures
    resolution: ClockFigures

    def to_json(self) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "first_response": self.first_response.to_json(),
            "resolution": self.resolution.to_json(),
        }


@dataclass(frozen=True)
class MonthWindow:
    """A month in the contract's local time, and how far into it we can see."""

    start: datetime
    end: datetime
    cutoff: datetime

    def completed(self, clock: SlaClock) -> bool:
        return (
            clock.outcome is not None
            and clock.stopped_at is not None
            and self.start <= clock.stopped_at < self.end
        )

    def running_breached(self, clock: SlaClock) -> bool:
        still_running = clock.stopped_at is None or clock.stopped_at >= self.end
        return still_running and sla.breached_by(clock, self.cutoff)


def month_window(month: str, timezone: str, now: datetime) -> MonthWindow:
    year, number = (int(part) for part in month.split("-"))
    zone = ZoneInfo(timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return MonthWindow(start, end, min(end, now))


def figures(priority: str, clocks: Iterable[TicketClocks], window: MonthWindow) -> PriorityFigures:
    chosen = list(clocks)
    kinds = [[c.first_response for c in chosen], [c.resolution for c in chosen]]
    first, resolution = (
        ClockFigures.of(
            [c for c in kind if window.completed(c)],
            sum(1 for c in kind if window.running_breached(c)),
        )
        for kind in kinds
    )
    return PriorityFigures(priority, first, resolution)


@dataclass(frozen=True)
class MonthReport:
    contract_id: str
    customer: str
    month: str
    timezone: str
    rows: list[PriorityFigures]

    def to_json(self) -> dict[str, Any]:
        return {
            "contract_id": self.contract_id,
            "customer": self.customer,
            "month": self.month,
            "timezone": self.timezone,
            "percentiles": "nearest rank",
            "priorities": [r.to_json() for r in self.rows],
        }

    def render_table(self) -> str:
        header = (
            f"{'priority':<9} {'clock':<15} {'done':>4} {'met':>4} {'brch':>4} "
            f"{'comp %':>6} {'median':>9} {'p90':>9} {'late now':>8}"
        )
        lines = [f"SLA {self.customer} {self.month} ({self.timezone})", header]
        for row in self.rows:
            for label, f in (
                ("first response", row.first_response),
                ("resolution", row.resolution),
            ):
                lines.append(
                    f"{row.priority:<9} {label:<15} {f.completed:>4} {f.met:>4} "
                    f"{f.breached:>4} {_text(f.compliance):>6} {_hours(f.median):>9} "
                    f"{_hours(f.p90):>9} {f.running_breached:>8}"
                )
        lines.append("percentiles by nearest rank; times are business hours:minutes")
        return "\n".join(lines)


def _text(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


def _hours(duration: timedelta | None) -> str:
    if duration is None:
        return "-"
    minutes = round(duration.total_seconds() / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def contract_month_report(
    rows: Rows, contract_id: str | UUID, month: str, now: datetime
) -> MonthReport:
    """Per priority and in total: the clocks that stopped in `month` (the
    contract's local time), met, breached, compliance, median and p90 business
    times, and the clocks still running that were breached by the month's end
    (or by `now`, for the current month)."""
    contract = str(contract_id)
    terms = contract_state(rows, contract).terms
    window = month_window(month, terms.timezone, now)
    found = rows.all(
        "SELECT * FROM {tickets} WHERE contract_id = :c ORDER BY number", {"c": contract}
    )
    clocks = [clocks_from(r) for r in found]
    table = [figures(p.value, [c for c in clocks if c.priority is p], window) for p in Priority]
    table.append(figures("total", clocks, window))
    return MonthReport(contract, terms.customer, month, terms.timezone, table)
