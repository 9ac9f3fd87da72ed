"""Stored rows written by an earlier version keep decoding into today's events."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import StoredEvent

from ticketledger.domain.contract import Contract
from ticketledger.domain.numbering import TicketNumbering
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.triage import HeldRequest
from ticketledger.service.ledger import TicketLedger

GOLDEN = json.loads(Path(__file__).with_name("golden").joinpath("events_v1.json").read_text())
AGGREGATES = (Contract, Ticket, TicketNumbering, HeldRequest)


def stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=row["state"].encode("utf-8"),
    )


def recorded_event_topics() -> set[str]:
    """Every event class the aggregates can record (the abstract Created bases aside)."""
    return {
        value.TOPIC  # type: ignore[attr-defined]
        for aggregate in AGGREGATES
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in ("Created", "Event")
    }


@pytest.fixture
def decoded(ledger: TicketLedger) -> list[Any]:
    return [ledger.mapper.to_domain_event(stored(row)) for row in GOLDEN["rows"]]


def test_the_golden_rows_cover_every_event_class() -> None:
    assert recorded_event_topics() <= {row["topic"] for row in GOLDEN["rows"]}


def test_every_golden_row_decodes_into_the_event_class_its_topic_names(decoded: list[Any]) -> None:
    for row, event in zip(GOLDEN["rows"], decoded, strict=True):
        assert row["topic"] == type(event).TOPIC
        assert event.originator_version == row["originator_version"]
        assert event.occurred_at.tzinfo is not None and isinstance(event.by, str)


def test_decoded_golden_events_encode_back_to_the_same_bytes(
    ledger: TicketLedger, decoded: list[Any]
) -> None:
    for row, event in zip(GOLDEN["rows"], decoded, strict=True):
        assert ledger.mapper.to_stored_event(event).state.decode("utf-8") == row["state"]


def test_golden_events_replay_into_the_aggregates_they_built(decoded: list[Any]) -> None:
    by_aggregate: dict[UUID, list[Any]] = defaultdict(list)
    for event in decoded:
        by_aggregate[event.originator_id].append(event)
    built: dict[UUID, Any] = {}
    for aggregate_id, events in by_aggregate.items():
        aggregate = None
        for event in events:
            aggregate = event.mutate(aggregate)
        built[aggregate_id] = aggregate
    facts = GOLDEN["facts"]
    contract = built[UUID(facts["contract_id"])]
    assert contract.state.value == "ended" and contract.customer == "Metalúrgica Serra"
    main = next(a for a in built.values() if getattr(a, "number", None) == facts["main_number"])
    assert main.status.value == facts["main_status"]
    assert [w.duration.seconds // 60 for w in main.work.values()] == facts["main_work_minutes"]
