"""Shared commits on PostgreSQL: the saves of one batch succeed or fail alone,
and a save that commits late is never passed by one committed after it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from tests.storage.test_storage import open_some_ticket
from ticketledger.domain.triage import HeldRequest
from ticketledger.domain.vocabulary import Channel, Kind, Priority, Visibility
from ticketledger.replay.integrity import verify
from ticketledger.service.commands import Comment
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.storage import ImmutablePostgresRecorder, Save

# The conftest's database, on its PostgreSQL side only: batches are PostgreSQL's.
pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def recorder_of(ledger: TicketLedger) -> ImmutablePostgresRecorder:
    recorder = ledger.recorder
    assert isinstance(recorder, ImmutablePostgresRecorder)
    return recorder


def held(ledger: TicketLedger, subject: str) -> HeldRequest:
    return HeldRequest.hold(
        contract_id=None,
        requester="someone@example.com",
        channel=Channel.EMAIL,
        kind=Kind.QUESTION,
        priority=Priority.LOW,
        subject=subject,
        description="",
        reason="unknown sender",
        by="mail",
        occurred_at=ledger.clock(),
    )


def save_of(ledger: TicketLedger, aggregate: Aggregate) -> Save:
    events = aggregate.collect_events()
    return Save(tuple(ledger.mapper.to_stored_event(e) for e in events), None)


def log(ledger: TicketLedger) -> list[tuple[int, Any, int]]:
    notifications = ledger.recorder.select_notifications(start=1, limit=10_000)
    return [(n.id, n.originator_id, n.originator_version) for n in notifications]


def test_a_conflicting_save_in_a_batch_is_refused_alone_and_the_others_commit(
    ledger: TicketLedger,
) -> None:
    number = open_some_ticket(ledger)
    stale = ledger.ticket(number)
    ledger.handle(Comment(ticket=number, text="first", by="carla"))
    last = stale.state.last_occurred_at
    stale.comment("second", Visibility.INTERNAL, by="bruno", occurred_at=last)
    before = log(ledger)
    first, second = held(ledger, "one"), held(ledger, "two")

    outcomes = recorder_of(ledger).commit_batch(
        [save_of(ledger, first), save_of(ledger, stale), save_of(ledger, second)]
    )

    assert isinstance(outcomes[1], RecordConflictError)
    stored = log(ledger)[len(before) :]
    assert [(aggregate, version) for _, aggregate, version in stored] == [
        (first.id, 1),
        (second.id, 1),
    ]
    assert outcomes[0] == [stored[0][0]] and outcomes[2] == [stored[1][0]]
    assert ledger.ticket(number).state.comments == 1
    assert verify(ledger).ok


def test_a_save_committed_late_is_read_before_any_save_committed_after_it(
    ledger: TicketLedger,
) -> None:
    """The save holds the log's table lock from its first insert to its
    commit: a later writer waits, so no follower can read a later position
    while an earlier one is still uncommitted (and skip it for ever)."""
    number = open_some_ticket(ledger)
    head = ledger.recorder.max_notification_id() or 0
    recorder = recorder_of(ledger)
    late = save_of(ledger, held(ledger, "committed late"))
    inserted, may_commit = threading.Event(), threading.Event()

    def commit_late() -> None:
        with recorder.datastore.get_connection() as conn, conn.transaction():
            conn.execute(recorder.call_save, recorder.batch_parameters([late]))
            inserted.set()
            assert may_commit.wait(30)

    slow = threading.Thread(target=commit_late)
    slow.start()
    assert inserted.wait(30)
    answered: list[int] = []
    writer = threading.Thread(
        target=lambda: answered.append(
            ledger.handle(Comment(ticket=number, text="after", by="carla")).position
        )
    )
    writer.start()
    writer.join(1.0)
    waited = writer.is_alive()
    seen_meanwhile = ledger.recorder.select_notifications(start=head + 1, limit=10)
    may_commit.set()
    slow.join(30)
    writer.join(30)

    assert waited and seen_meanwhile == [] and not writer.is_alive()
    (late_position, _, _), (comment_position, _, _) = log(ledger)[-2:]
    assert late_position < comment_position == answered[0]
    assert verify(ledger).ok
