"""Requests held for triage: the sender was not authorised, so no ticket was
opened. The desk lists them, releases one as a ticket once its sender is
authorised, or discards it with the reason; each stays listed with what
became of it."""

from __future__ import annotations

from typing import Any, ClassVar

from ticketledger.domain.triage import HeldRequest
from ticketledger.projections.base import (
    CONTRACT_STATES,
    ContractChange,
    KeepsContracts,
    handles,
)
from ticketledger.projections.store import Rows, Table, stamp

CUSTOMERS = Table(
    "customers", (("contract_id", "TEXT"), ("customer", "TEXT")), key=("contract_id",)
)
HELD = Table(
    "held_requests",
    (
        ("held_id", "TEXT"),
        ("contract_id", "TEXT"),
        ("customer", "TEXT"),
        ("requester", "TEXT"),
        ("channel", "TEXT"),
        ("kind", "TEXT"),
        ("priority", "TEXT"),
        ("subject", "TEXT"),
        ("description", "TEXT"),
        ("reason", "TEXT"),
        ("held_at", "TEXT"),
        ("state", "TEXT"),
        ("ticket_number", "TEXT"),
        ("discard_reason", "TEXT"),
        ("decided_at", "TEXT"),
        ("decided_by", "TEXT"),
        ("version", "INTEGER"),
        ("position", "BIGINT"),
    ),
    key=("held_id",),
    indexes=(("state", "held_at"),),
)
STATES = ("held", "released", "discarded")


class TriageProjection(KeepsContracts):
    name: ClassVar[str] = "triage"
    tables: ClassVar[tuple[Table, ...]] = (CONTRACT_STATES, CUSTOMERS, HELD)

    def contract_changed(self, change: ContractChange, rows: Rows) -> None:
        rows.put(
            "customers",
            {"contract_id": change.contract_id, "customer": change.after.terms.customer},
        )

    @handles(HeldRequest.Held)
    def held(self, event: HeldRequest.Held, rows: Rows, position: int) -> None:
        contract_id = None if event.contract_id is None else str(event.contract_id)
        known = None if contract_id is None else rows.get("customers", contract_id=contract_id)
        rows.put(
            "held_requests",
            {
                "held_id": str(event.originator_id),
                "contract_id": contract_id,
                "customer": None if known is None else known["customer"],
                "requester": event.requester,
                "channel": event.channel.value,
                "kind": event.kind.value,
                "priority": event.priority.value,
                "subject": event.subject,
                "description": event.description,
                "reason": event.reason,
                "held_at": stamp(event.occurred_at),
                "state": "held",
                "ticket_number": None,
                "discard_reason": None,
                "decided_at": None,
                "decided_by": None,
                "version": event.originator_version,
                "position": position,
            },
        )

    @handles(HeldRequest.Released, HeldRequest.Discarded)
    def decided(self, event: Any, rows: Rows, position: int) -> None:
        row = rows.get("held_requests", held_id=str(event.originator_id))
        if row is None:
            return
        released = isinstance(event, HeldRequest.Released)
        row.update(
            state="released" if released else "discarded",
            ticket_number=event.ticket_number if released else None,
            discard_reason=None if released else event.reason,
            decided_at=stamp(event.occurred_at),
            decided_by=event.by,
            version=event.originator_version,
            position=position,
        )
        rows.put("held_requests", row)


def held_requests(rows: Rows, state: str | None = "held", limit: int = 200) -> list[dict[str, Any]]:
    """Held requests, oldest first (those still held wait longest at the top)."""
    if state is None:
        return rows.all(
            "SELECT * FROM {held_requests} ORDER BY held_at, held_id LIMIT :limit",
            {"limit": limit},
        )
    return rows.all(
        "SELECT * FROM {held_requests} WHERE state = :state ORDER BY held_at, held_id LIMIT :limit",
        {"state": state, "limit": limit},
    )
