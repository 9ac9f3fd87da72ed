"""A contract's monthly statement recomputed from the events alone.

The hours projection is a pure function of the events in log order, so running
it over the log in a scratch database, away from the live tables, reproduces
any statement: an issued month as it stood when it was issued (byte for byte,
with the digest the issuer recorded), or an open month as it stands. Nothing
here trusts the live projection.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from ticketledger.domain.billing import Statement
from ticketledger.domain.contract import Contract
from ticketledger.projections import hours
from ticketledger.projections.base import Projection
from ticketledger.projections.store import ProjectionStore, Rows
from ticketledger.replay.integrity import LogStore
from ticketledger.service.ledger import TicketLedger

Positioned = tuple[int, Any]  # a log position and the decoded event stored there


@contextmanager
def scratch_rows(projection: Projection) -> Iterator[Rows]:
    """The projection's tables in a throwaway SQLite file, in one transaction."""
    with tempfile.TemporaryDirectory(prefix="ticketledger-replay-") as folder:
        datastore = SQLiteDatastore(str(Path(folder) / "scratch.db"))
        try:
            store = ProjectionStore(datastore)
            prefix = f"{projection.name}_scratch"
            with store.transaction(commit=True) as cursor:
                for table in projection.tables:
                    name = f"{prefix}_{table.name}"
                    for statement in table.ddl(store.qualify(name), name):
                        cursor.execute(statement)
                yield Rows(cursor, store, prefix, projection.tables)
        finally:
            datastore.close()


@dataclass(frozen=True)
class StatementReplay:
    """A month's statement recomputed from events, and what its issue recorded."""

    contract_id: str
    month: str
    statement: Statement
    issued: Contract.StatementIssued | None
    issued_position: int | None
    tickets: tuple[str, ...]  # the tickets with entries posted in the month

    @property
    def canonical_json(self) -> str:
        return self.statement.canonical_json()

    @property
    def matches_issue(self) -> bool | None:
        """Whether the recomputed statement has the digest the issuer recorded."""
        return None if self.issued is None else self.statement.digest() == self.issued.digest

    def to_json(self) -> dict[str, Any]:
        issue = self.issued
        return {
            "contract_id": self.contract_id,
            "month": self.month,
            "statement_json": self.canonical_json,
            "sha256": self.statement.digest(),
            "issued": None
            if issue is None
            else {
                "position": self.issued_position,
                "digest": issue.digest,
                "total": str(issue.total),
                "through_position": issue.through_position,
                "by": issue.by,
                "occurred_at": issue.occurred_at.isoformat(),
            },
        }


def issue_of(events: Iterable[Positioned], contract_id: str, month: str) -> Positioned | None:
    for position, event in events:
        if (
            isinstance(event, Contract.StatementIssued)
            and str(event.originator_id) == contract_id
            and event.month == month
        ):
            return position, event
    return None


def replay_statement(
    events: list[Positioned], contract_id: UUID | str, month: str
) -> StatementReplay:
    """Runs the hours projection over `events` (in log order) up to the month's
    issue if there is one, else over all of them."""
    contract = str(contract_id)
    issue = issue_of(events, contract, month)
    until = issue[0] if issue else None
    projection = hours.HoursProjection()
    with scratch_rows(projection) as rows:
        for position, event in events:
            if until is not None and position > until:
                break
            projection.apply(event, rows, position)
        statement = hours.statement(rows, contract, month)
        entries = hours.ledger_entries(rows, contract, month)
    return StatementReplay(
        contract,
        month,
        statement,
        issue[1] if issue else None,
        issue[0] if issue else None,
        tuple(sorted({e.ticket_id for e in entries})),
    )


def decoded_log(ledger: TicketLedger) -> Iterator[Positioned]:
    for notification in LogStore(ledger).events():
        yield notification.id, ledger.mapper.to_domain_event(notification)


def reproduce_statement(
    ledger: TicketLedger, contract_id: UUID | str, month: str
) -> StatementReplay:
    """The month recomputed from the whole log, never from the live projection."""
    return replay_statement(list(decoded_log(ledger)), contract_id, month)


def decode(mapper: Mapper[Any], rows: Iterable[Mapping[str, Any]]) -> list[Positioned]:
    """Stored rows (position, originator_id, version, topic, state text) as events."""
    return [
        (
            int(row["position"]),
            mapper.to_domain_event(
                StoredEvent(
                    originator_id=UUID(row["originator_id"]),
                    originator_version=int(row["version"]),
                    topic=str(row["topic"]),
                    state=str(row["state"]).encode("utf-8"),
                )
            ),
        )
        for row in rows
    ]
