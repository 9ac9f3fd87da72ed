"""Contract hours: pending per ticket, posted to the contract's hour ledger at
closure, and monthly statements that are frozen once issued.

Rules (DESIGN "Contract hours and billing", seeds 002 and 003):
- A ticket's work stays PENDING until it is accepted, closed (any reason) or
  cancelled; then each work entry, as it stands after its corrections, is
  POSTED in the contract-local month of that closure, or the first month after
  it that is not issued yet.
- The buckets of an entry come from `domain.billing.split_entry`, with the
  terms in force when the work started and the ticket's kind at posting.
- An issued month is never rewritten. A correction of a posted entry posts an
  ADJUSTMENT: in the entry's own month while it is open (a change of its
  bucket totals), else in the first open month after it, priced as the
  difference it makes to the original month's statement.
- StatementIssued freezes the month: rows posted after the issuer's
  `through_position` move to the next open month, and the statement is stored
  as it then stands with whether its digest equals the issued one.

Every row is a pure function of the events in log order: no clock, no state
outside these tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from ticketledger.domain.billing import (
    Adjustment,
    Buckets,
    PostedHours,
    Statement,
    compute_statement,
    hours_2dp,
    local_month,
    next_month,
)
from ticketledger.domain.contract import Contract
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Kind, WorkCategory
from ticketledger.projections.base import (
    CONTRACT_STATES,
    ContractChange,
    KeepsContracts,
    contract_state,
    handles,
)
from ticketledger.projections.store import Rows, Table, micros, span, stamp, unstamp

TICKETS = Table(
    "tickets",
    (
        ("ticket_id", "TEXT"),
        ("contract_id", "TEXT"),
        ("number", "TEXT"),
        ("kind", "TEXT"),
        ("posted_month", "TEXT"),
    ),
    key=("ticket_id",),
    read_by_aggregate=True,
)
BUCKET_COLUMNS = ("consumed_us", "off_hours_us", "customer_in_us", "customer_off_us", "warranty_us")
WORK = Table(
    "work",
    (
        ("ticket_id", "TEXT"),
        ("entry_id", "TEXT"),
        ("started_at", "TEXT"),
        ("duration_us", "BIGINT"),
        ("category", "TEXT"),
        ("customer_caused", "INTEGER"),
        ("off_hours_us", "BIGINT"),
        ("off_hours_covered_us", "BIGINT"),
        ("sources", "TEXT"),
        ("posting_id", "TEXT"),
        ("posted_kind", "TEXT"),
    ),
    key=("ticket_id", "entry_id"),
)
POSTINGS = Table(
    "postings",
    (
        ("contract_id", "TEXT"),
        ("posting_id", "TEXT"),
        ("month", "TEXT"),
        ("origin_month", "TEXT"),
        ("kind", "TEXT"),
        ("reference", "TEXT"),
        ("ticket_id", "TEXT"),
        ("ticket_number", "TEXT"),
        ("entry_id", "TEXT"),
        ("category", "TEXT"),
        ("started_at", "TEXT"),
        *((c, "BIGINT") for c in BUCKET_COLUMNS),
        ("amount", "TEXT"),
        ("posted_position", "BIGINT"),
        ("sources", "TEXT"),
    ),
    key=("contract_id", "posting_id"),
    indexes=(("contract_id", "month"), ("contract_id", "origin_month")),
)
ISSUED = Table(
    "issued",
    (
        ("contract_id", "TEXT"),
        ("month", "TEXT"),
        ("through_position", "BIGINT"),
        ("total", "TEXT"),
        ("currency", "TEXT"),
        ("digest", "TEXT"),
        ("recomputed_digest", "TEXT"),
        ("digest_matches", "INTEGER"),
        ("statement_json", "TEXT"),
        ("issued_by", "TEXT"),
        ("issued_at", "TEXT"),
        ("position", "BIGINT"),
    ),
    key=("contract_id", "month"),
)
WORK_POSTED = "work"
ADJUSTMENT = "adjustment"


def is_issued(rows: Rows, contract_id: str, month: str) -> bool:
    return rows.get("issued", contract_id=contract_id, month=month) is not None


def open_month(rows: Rows, contract_id: str, month: str) -> str:
    """This month, or the first after it whose statement is not issued."""
    while is_issued(rows, contract_id, month):
        month = next_month(month)
    return month


# Buckets of work rows and posting rows.


def classify(rows: Rows, contract_id: str, work: dict[str, Any], kind: Kind) -> Buckets:
    return contract_state(rows, contract_id).work_buckets(
        started_at=unstamp(work["started_at"]),
        duration=span(work["duration_us"]),
        off_hours=span(work["off_hours_us"]),
        off_hours_covered=span(work["off_hours_covered_us"]),
        customer_caused=bool(work["customer_caused"]),
        kind=kind,
    )


def bucket_columns(buckets: Buckets) -> dict[str, int]:
    return {c: micros(v) for c, v in zip(BUCKET_COLUMNS, buckets.values(), strict=True)}


def row_buckets(row: dict[str, Any]) -> Buckets:
    return Buckets(*(span(int(row[c])) for c in BUCKET_COLUMNS))


def source(name: str, event: Any, position: int) -> dict[str, Any]:
    return {
        "event": name,
        "originator_id": str(event.originator_id),
        "version": event.originator_version,
        "position": position,
    }


# Statements.


def adjustment_of(row: dict[str, Any]) -> Adjustment:
    delta = row_buckets(row)
    correction = json.loads(row["sources"])[-1]
    return Adjustment(
        reference=row["reference"],
        correction=f"{correction['originator_id']}@{correction['version']}",
        correction_position=int(row["posted_position"]),
        origin_month=row["origin_month"],
        ticket_number=row["ticket_number"],
        consumed_hours=hours_2dp(delta.consumed),
        off_hours_hours=hours_2dp(delta.off_hours),
        customer_caused_hours=hours_2dp(delta.customer_caused),
        warranty_hours=hours_2dp(delta.warranty),
        amount=Decimal(row["amount"]),
    )


def compute_month(
    rows: Rows,
    contract_id: str,
    month: str,
    *,
    through: int | None = None,
    corrections_upto: int = -1,
) -> Statement:
    """The month's own rows make its bucket totals; adjustments received from
    earlier issued months are listed with their amounts. `corrections_upto`
    adds corrections of this month posted elsewhere, up to a log position:
    the month recomputed as an adjustment sees it. `through` leaves out rows
    posted after a log position: the statement an issuer read then."""
    params = {"c": contract_id, "m": month, "upto": corrections_upto}
    own = rows.all(
        "SELECT * FROM {postings} WHERE contract_id = :c AND origin_month = :m "
        "AND (month = :m OR posted_position <= :upto) ORDER BY posted_position, posting_id",
        params,
    )
    received = rows.all(
        "SELECT * FROM {postings} WHERE contract_id = :c AND month = :m "
        "AND origin_month <> :m ORDER BY posted_position, posting_id",
        params,
    )
    if through is not None:
        own = [r for r in own if r["posted_position"] <= through]
        received = [r for r in received if r["posted_position"] <= through]
    return compute_statement(
        contract_id=contract_id,
        month=month,
        terms=contract_state(rows, contract_id).terms_for_month(month),
        posted=[PostedHours(r["ticket_id"], row_buckets(r)) for r in own],
        adjustments=[adjustment_of(r) for r in received],
    )


def correction_amount(rows: Rows, contract_id: str, origin: str, position: int) -> Decimal:
    """The difference a correction makes to its issued month's statement: the
    month with all its corrections so far, minus the same before this one."""
    after = compute_month(rows, contract_id, origin, corrections_upto=position)
    before = compute_month(rows, contract_id, origin, corrections_upto=position - 1)
    return after.total - before.total


class HoursProjection(KeepsContracts):
    name: ClassVar[str] = "hours"
    tables: ClassVar[tuple[Table, ...]] = (CONTRACT_STATES, TICKETS, WORK, POSTINGS, ISSUED)

    # Contracts.

    def contract_changed(self, change: ContractChange, rows: Rows) -> None:
        """The state kept is all the hours read of a contract's terms; an
        issued statement freezes its month."""
        if isinstance(change.event, Contract.StatementIssued):
            self.issued(change.event, rows, change.position)

    # Tickets and their pending work.

    @handles(Ticket.Opened)
    def opened(self, event: Ticket.Opened, rows: Rows, position: int) -> None:
        rows.put(
            "tickets",
            {
                "ticket_id": str(event.originator_id),
                "contract_id": str(event.contract_id),
                "number": event.number,
                "kind": event.kind.value,
                "posted_month": None,
            },
        )

    @handles(Ticket.Reclassified)
    def reclassified(self, event: Ticket.Reclassified, rows: Rows, position: int) -> None:
        ticket = rows.get("tickets", ticket_id=str(event.originator_id))
        if ticket is not None:
            rows.put("tickets", {**ticket, "kind": event.kind.value})

    @handles(Ticket.WorkLogged)
    def work_logged(self, event: Ticket.WorkLogged, rows: Rows, position: int) -> None:
        rows.put(
            "work",
            {
                "ticket_id": str(event.originator_id),
                "entry_id": str(event.entry_id),
                "started_at": stamp(event.started_at),
                "duration_us": micros(event.duration),
                "category": event.category.value,
                "customer_caused": int(event.customer_caused),
                "off_hours_us": micros(event.off_hours),
                "off_hours_covered_us": micros(event.off_hours_covered),
                "sources": json.dumps([source("WorkLogged", event, position)]),
                "posting_id": None,
                "posted_kind": None,
            },
        )

    @handles(Ticket.WorkCorrected)
    def work_corrected(self, event: Ticket.WorkCorrected, rows: Rows, position: int) -> None:
        """A pending entry just reads differently; a posted one gets an adjustment."""
        ticket_id = str(event.originator_id)
        work = rows.get("work", ticket_id=ticket_id, entry_id=str(event.corrects))
        if work is None:
            return
        before = dict(work)
        work.update(
            duration_us=micros(event.duration),
            category=event.category.value,
            customer_caused=int(event.customer_caused),
            off_hours_us=micros(event.off_hours),
            off_hours_covered_us=micros(event.off_hours_covered),
        )
        if work["posting_id"] is None:
            work["sources"] = json.dumps(
                [*json.loads(work["sources"]), source("WorkCorrected", event, position)]
            )
        else:
            self._adjust(rows, before, work, source("WorkCorrected", event, position))
        rows.put("work", work)

    # Posting.

    @handles(Ticket.AcceptanceGiven, Ticket.Closed, Ticket.Cancelled)
    def closed(self, event: Any, rows: Rows, position: int) -> None:
        ticket = rows.get("tickets", ticket_id=str(event.originator_id))
        if ticket is None or ticket["posted_month"] is not None:
            return
        contract_id = ticket["contract_id"]
        timezone = contract_state(rows, contract_id).terms.timezone
        # A closure recorded late in an issued month posts to the next open one.
        month = open_month(rows, contract_id, local_month(event.occurred_at, timezone))
        kind = Kind(ticket["kind"])
        for work in rows.all(
            "SELECT * FROM {work} WHERE ticket_id = :t ORDER BY started_at, entry_id",
            {"t": ticket["ticket_id"]},
        ):
            posting_id = f"{work['ticket_id']}/{work['entry_id']}"
            buckets = classify(rows, contract_id, work, kind)
            self._post(rows, ticket, work, posting_id, month, buckets, position)
            work.update(posting_id=posting_id, posted_kind=kind.value)
            rows.put("work", work)
        ticket["posted_month"] = month
        rows.put("tickets", ticket)

    @staticmethod
    def _post(
        rows: Rows,
        ticket: dict[str, Any],
        work: dict[str, Any],
        posting_id: str,
        month: str,
        buckets: Buckets,
        position: int,
        *,
        reference: str | None = None,
        origin_month: str | None = None,
        sources: str | None = None,
    ) -> None:
        rows.put(
            "postings",
            {
                "contract_id": ticket["contract_id"],
                "posting_id": posting_id,
                "month": month,
                "origin_month": origin_month or month,
                "kind": WORK_POSTED if reference is None else ADJUSTMENT,
                "reference": reference,
                "ticket_id": ticket["ticket_id"],
                "ticket_number": ticket["number"],
                "entry_id": work["entry_id"],
                "category": work["category"],
                "started_at": work["started_at"],
                **bucket_columns(buckets),
                "amount": None,
                "posted_position": position,
                "sources": sources or work["sources"],
            },
        )

    def _adjust(
        self, rows: Rows, before: dict[str, Any], after: dict[str, Any], cause: dict[str, Any]
    ) -> None:
        ticket = rows.get("tickets", ticket_id=after["ticket_id"])
        assert ticket is not None
        contract_id, kind = ticket["contract_id"], Kind(after["posted_kind"])
        delta = classify(rows, contract_id, after, kind) - classify(rows, contract_id, before, kind)
        original = rows.get("postings", contract_id=contract_id, posting_id=after["posting_id"])
        assert original is not None
        origin, position = original["origin_month"], int(cause["position"])
        month = open_month(rows, contract_id, origin)
        sources = json.dumps([{"event": "Posted", "posting_id": original["posting_id"]}, cause])
        self._post(
            rows,
            ticket,
            after,
            f"{after['posting_id']}/{position}",
            month,
            delta,
            position,
            reference=original["posting_id"],
            origin_month=origin,
            sources=sources,
        )
        if month != origin:
            self._price(rows, contract_id, f"{after['posting_id']}/{position}", origin, position)

    @staticmethod
    def _price(rows: Rows, contract_id: str, posting_id: str, origin: str, position: int) -> None:
        amount = correction_amount(rows, contract_id, origin, position)
        rows.execute(
            "UPDATE {postings} SET amount = :a WHERE contract_id = :c AND posting_id = :p",
            {"a": str(amount), "c": contract_id, "p": posting_id},
        )

    # Issuing.

    def issued(self, event: Contract.StatementIssued, rows: Rows, position: int) -> None:
        contract_id, month = str(event.originator_id), event.month
        self._move_late_rows(rows, contract_id, month, event.through_position)
        frozen = compute_month(rows, contract_id, month)
        rows.put(
            "issued",
            {
                "contract_id": contract_id,
                "month": month,
                "through_position": event.through_position,
                "total": str(event.total),
                "currency": event.currency,
                "digest": event.digest,
                "recomputed_digest": frozen.digest(),
                "digest_matches": int(frozen.digest() == event.digest),
                "statement_json": frozen.canonical_json(),
                "issued_by": event.by,
                "issued_at": stamp(event.occurred_at),
                "position": position,
            },
        )

    def _move_late_rows(self, rows: Rows, contract_id: str, month: str, through: int) -> None:
        """Rows posted after the issuer looked go to the next open month: work
        (with its own corrections) as that month's work, and corrections of
        this month's entries as adjustments priced against the frozen month."""
        target = open_month(rows, contract_id, next_month(month))
        late = rows.all(
            "SELECT * FROM {postings} WHERE contract_id = :c AND month = :m "
            "AND posted_position > :p ORDER BY posted_position, posting_id",
            {"c": contract_id, "m": month, "p": through},
        )
        moved: set[str] = set()
        for row in late:
            follows = row["kind"] == WORK_POSTED or row["reference"] in moved
            row["month"] = target
            if follows:
                row["origin_month"] = target
                moved.add(row["posting_id"])
            rows.put("postings", row)
        for row in late:
            if row["origin_month"] == month:
                self._price(rows, contract_id, row["posting_id"], month, row["posted_position"])


# Queries.


@dataclass(frozen=True)
class PendingEntry:
    entry_id: str
    started_at: datetime
    duration: timedelta
    category: WorkCategory
    customer_caused: bool
    off_hours: timedelta
    off_hours_covered: timedelta
    sources: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class LedgerEntry:
    """One posted row: a work entry, or an adjustment referencing one."""

    posting_id: str
    kind: str
    month: str
    origin_month: str
    reference: str | None
    ticket_id: str
    ticket_number: str
    entry_id: str
    category: str
    started_at: datetime
    buckets: Buckets
    amount: Decimal | None
    posted_position: int
    sources: tuple[dict[str, Any], ...]


def pending_hours(rows: Rows, ticket_id: UUID | str) -> list[PendingEntry]:
    found = rows.all(
        "SELECT * FROM {work} WHERE ticket_id = :t AND posting_id IS NULL "
        "ORDER BY started_at, entry_id",
        {"t": str(ticket_id)},
    )
    return [
        PendingEntry(
            entry_id=r["entry_id"],
            started_at=unstamp(r["started_at"]),
            duration=span(r["duration_us"]),
            category=WorkCategory(r["category"]),
            customer_caused=bool(r["customer_caused"]),
            off_hours=span(r["off_hours_us"]),
            off_hours_covered=span(r["off_hours_covered_us"]),
            sources=tuple(json.loads(r["sources"])),
        )
        for r in found
    ]


def ledger_entries(rows: Rows, contract_id: UUID | str, month: str) -> list[LedgerEntry]:
    found = rows.all(
        "SELECT * FROM {postings} WHERE contract_id = :c AND month = :m "
        "ORDER BY posted_position, posting_id",
        {"c": str(contract_id), "m": month},
    )
    return [
        LedgerEntry(
            posting_id=r["posting_id"],
            kind=r["kind"],
            month=r["month"],
            origin_month=r["origin_month"],
            reference=r["reference"],
            ticket_id=r["ticket_id"],
            ticket_number=r["ticket_number"],
            entry_id=r["entry_id"],
            category=r["category"],
            started_at=unstamp(r["started_at"]),
            buckets=row_buckets(r),
            amount=None if r["amount"] is None else Decimal(r["amount"]),
            posted_position=int(r["posted_position"]),
            sources=tuple(json.loads(r["sources"])),
        )
        for r in found
    ]


def issued_statement(rows: Rows, contract_id: UUID | str, month: str) -> Statement | None:
    """The statement exactly as frozen when the month was issued."""
    row = rows.get("issued", contract_id=str(contract_id), month=month)
    return None if row is None else Statement.from_json(json.loads(row["statement_json"]))


def issue_record(rows: Rows, contract_id: UUID | str, month: str) -> dict[str, Any] | None:
    """How the month was issued: by whom, through which position, and whether
    the projection's frozen statement has the digest the issuer named."""
    return rows.get("issued", contract_id=str(contract_id), month=month)


def statement(
    rows: Rows, contract_id: UUID | str, month: str, *, through_position: int | None = None
) -> Statement:
    """An issued month's frozen statement; else the month as it stands, or as
    it stood at a log position (what issuing through that position freezes)."""
    frozen = issued_statement(rows, contract_id, month)
    if frozen is not None:
        return frozen
    return compute_month(rows, str(contract_id), month, through=through_position)
