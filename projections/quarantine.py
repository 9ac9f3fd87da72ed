"""Quarantine: an event a projection cannot apply stops that one aggregate in
that projection, never the projection.

When applying an event raises (a contract stored before its terms were
bounded, a bug met by one ticket's history), the event's changes are rolled
back to a savepoint and its aggregate is recorded here with the position,
the event's topic, the error and the time. Later events of that aggregate
pass this projection by (counted), and so do events of a ticket whose
contract is quarantined, as its rows would be computed from a contract state
the projection no longer follows; every other event keeps flowing. Reads of
a quarantined aggregate refuse to answer from rows that may be stale. The
table belongs to the generation, so a rebuild after a code fix starts with
none, and quarantines again only what still fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    InterfaceError,
    Notification,
    OperationalError,
)

from ticketledger.projections.store import Rows, Table, stamp, unstamp

QUARANTINE = Table(
    "quarantine",
    (
        ("aggregate_id", "TEXT"),
        ("contract_id", "TEXT"),
        ("position", "BIGINT"),
        ("last_position", "BIGINT"),
        ("skipped", "INTEGER"),
        ("topic", "TEXT"),
        ("error", "TEXT"),
        ("quarantined_at", "TEXT"),
    ),
    key=("aggregate_id",),
)
TRANSIENT = (
    OperationalError,
    InterfaceError,
    ConnectionPoolClosedError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)
MOST_ERROR_CHARACTERS = 2000


def is_transient(error: BaseException) -> bool:
    """A database that is down, locked or gone: retried, never quarantined."""
    return isinstance(error, TRANSIENT)


@dataclass(frozen=True)
class Quarantined:
    """One aggregate a projection stopped following, and why."""

    projection: str
    aggregate_id: str
    contract_id: str | None
    position: int
    last_position: int
    skipped: int
    topic: str
    error: str
    quarantined_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "projection": self.projection,
            "aggregate_id": self.aggregate_id,
            "contract_id": self.contract_id,
            "position": self.position,
            "last_position": self.last_position,
            "skipped_events": self.skipped,
            "topic": self.topic,
            "error": self.error,
            "quarantined_at": self.quarantined_at.isoformat(),
        }


class ContractQuarantinedError(Exception):
    """A ticket's event met a contract this projection no longer follows."""

    def __init__(self, contract_id: str) -> None:
        super().__init__(f"its contract {contract_id} is quarantined in this projection")
        self.contract_id = contract_id


class ProjectionQuarantinedError(Exception):
    """A read asked for an aggregate whose rows in this projection may be stale."""

    def __init__(self, projection: str, entry: Quarantined) -> None:
        super().__init__(
            f"the {projection} projection stopped following {entry.aggregate_id} at position "
            f"{entry.position}; an operator must fix and rebuild it"
        )
        self.projection, self.entry = projection, entry


def entries(rows: Rows, projection: str) -> list[Quarantined]:
    found = rows.all("SELECT * FROM {quarantine} ORDER BY position, aggregate_id")
    return [
        Quarantined(
            projection=projection,
            aggregate_id=str(row["aggregate_id"]),
            contract_id=None if row["contract_id"] is None else str(row["contract_id"]),
            position=int(row["position"]),
            last_position=int(row["last_position"]),
            skipped=int(row["skipped"]),
            topic=str(row["topic"]),
            error=str(row["error"]),
            quarantined_at=unstamp(str(row["quarantined_at"])),
        )
        for row in found
    ]


def held_ids(rows: Rows) -> set[str]:
    return {str(r["aggregate_id"]) for r in rows.all("SELECT aggregate_id FROM {quarantine}")}


def put(
    rows: Rows,
    notification: Notification,
    error: BaseException,
    contract_id: str | None,
) -> None:
    text = f"{type(error).__name__}: {error}"[:MOST_ERROR_CHARACTERS]
    row = {
        "aggregate_id": str(notification.originator_id),
        "contract_id": contract_id,
        "position": notification.id,
        "last_position": notification.id,
        "skipped": 0,
        "topic": notification.topic,
        "error": text,
        "quarantined_at": stamp(datetime.now(UTC)),
    }
    rows.put("quarantine", row)


def skip(rows: Rows, notification: Notification) -> None:
    rows.execute(
        "UPDATE {quarantine} SET skipped = skipped + 1, last_position = :position "
        "WHERE aggregate_id = :aggregate_id",
        {"position": notification.id, "aggregate_id": str(notification.originator_id)},
    )


def check_ticket(
    rows: Rows, projection: str, ticket_id: object, contract_of: Callable[[], object]
) -> None:
    """Refuses to read a ticket's rows when this projection holds the ticket
    or its contract; `contract_of` is asked only when something is held."""
    if rows.holds_none:
        return
    entries_held = entries(rows, projection)
    if not entries_held:
        return
    wanted = {str(ticket_id), str(contract_of())}
    _refuse(projection, [e for e in entries_held if e.aggregate_id in wanted])


def check_contract(rows: Rows, projection: str, contract_id: object) -> None:
    """Refuses to read a contract's rows (a statement, a report) when this
    projection holds the contract or any of its tickets."""
    if rows.holds_none:
        return
    wanted = str(contract_id)
    held = entries(rows, projection)
    _refuse(projection, [e for e in held if wanted in (e.aggregate_id, e.contract_id)])


def _refuse(projection: str, held: list[Quarantined]) -> None:
    if held:
        raise ProjectionQuarantinedError(projection, held[0])


def visible(found: Iterable[dict[str, Any]], rows: Rows) -> list[dict[str, Any]]:
    """Rows of a list read without those of held tickets and contracts: a
    queue across customers keeps answering while one of them is held."""
    if rows.holds_none:
        return list(found)
    held = held_ids(rows)
    if not held:
        return list(found)
    return [
        row
        for row in found
        if str(row.get("ticket_id")) not in held and str(row.get("contract_id")) not in held
    ]
