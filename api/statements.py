"""Billing's actions shared by the command line and the HTTP API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ticketledger.domain.billing import hours_2dp
from ticketledger.projections import hours, quarantine
from ticketledger.projections.runner import Projector
from ticketledger.service.commands import IssueStatement
from ticketledger.service.outcomes import CommandResult


def issue_month(
    projector: Projector,
    contract_id: str,
    month: str,
    by: str,
    expected_version: int | None = None,
) -> CommandResult:
    """Issues a month from the hours projection as it stands. The caller reads
    the frozen statement back with the result's position."""
    projector.catch_up(["hours"])
    through = projector.position("hours")
    with projector.reading("hours") as rows:
        # A month is frozen only from hours the projection follows in full.
        quarantine.check_contract(rows, "hours", contract_id)
        # Exactly what the projection will freeze when it meets the event, even if
        # entries are posted between reading the position and issuing.
        current = hours.statement(rows, contract_id, month, through_position=through)
    return projector.ledger.handle(
        IssueStatement(
            contract_id=UUID(contract_id),
            month=month,
            through_position=through,
            total=current.total,
            currency=current.currency,
            digest=current.digest(),
            by=by,
            expected_version=expected_version,
        )
    )


def entry_line(entry: hours.LedgerEntry) -> dict[str, Any]:
    """A posted entry as billing reads it: hours per bucket, and what it came from."""
    buckets = entry.buckets
    return {
        "ticket": entry.ticket_number,
        "kind": entry.kind,
        "origin_month": entry.origin_month,
        "started_at": entry.started_at.isoformat(timespec="minutes"),
        "category": entry.category,
        "consumed_hours": str(hours_2dp(buckets.consumed)),
        "off_hours_hours": str(hours_2dp(buckets.off_hours)),
        "customer_caused_hours": str(hours_2dp(buckets.customer_caused)),
        "warranty_hours": str(hours_2dp(buckets.warranty)),
        "amount": None if entry.amount is None else str(entry.amount),
        "reference": entry.reference,
        "entry_id": entry.entry_id,
        "sources": len(entry.sources),
    }
