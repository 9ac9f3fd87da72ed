"""One fold, read everywhere: after every command of a random history, the
ticket_state and queues projections, the aggregate and the as-of replay at that
version say the same of the ticket, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings

from tests import strategies as ts
from tests.storage.test_as_of import open_ticket, play
from tests.support import ManualClock
from ticketledger.domain.ticket_state import TicketState
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import micros, stamp_or_none
from ticketledger.projections.ticket_state import find_ticket
from ticketledger.replay.as_of import at_version
from ticketledger.service.ledger import TicketLedger

COUNTERS = (
    "agent_replies",
    "requester_replies",
    "comments",
    "failed_contact_attempts",
    "reopen_count",
)


def described(state: TicketState) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "kind": state.kind.value,
        "priority": state.priority.value,
        "level": state.level,
        "assignee": state.assignee,
    }


def counted(state: TicketState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in COUNTERS} | {"work_entries": len(state.worked)}


def assert_all_agree(ledger: TicketLedger, projector: Projector, number: str) -> None:
    ticket = ledger.ticket(number)
    state = ticket.state
    events = list(ledger.events_of(ticket.id))
    as_of = at_version(events, ledger.contract(state.contract_id), ticket.version).state
    projector.catch_up(["ticket_state", "queues"])
    with projector.reading("ticket_state") as rows:
        row = find_ticket(rows, number)
    assert row is not None
    expected = described(state) | counted(state)
    assert {name: row[name] for name in expected} == expected
    assert {name: as_of[name] for name in expected} == expected
    assert (row["version"], row["work_microseconds"]) == (ticket.version, micros(state.work_time))
    assert (row["closure_reason"], row["waiting_since"], row["resolved_at"]) == (
        state.closure_reason.value if state.closure_reason else None,
        stamp_or_none(state.waiting_since),
        stamp_or_none(state.resolved_at),
    )
    with projector.reading("queues") as rows:
        queued = rows.get("tickets", ticket_id=str(ticket.id))
    if state.is_final:
        assert queued is None
    else:
        assert queued is not None
        assert queued["status"] == state.status.value
        assert (queued["kind"], queued["priority"], queued["level"], queued["assignee"]) == (
            state.kind.value,
            state.priority.value,
            state.level,
            state.assignee,
        )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=ts.ticket_histories(min_steps=6, max_steps=20))
def test_the_projections_the_aggregate_and_as_of_agree_after_every_command(
    ledger: TicketLedger, clock: ManualClock, projector: Projector, history: ts.TicketHistory
) -> None:
    clock.advance(timedelta(days=1))
    number, _ = open_ticket(ledger, history.priority)
    assert_all_agree(ledger, projector, number)
    for step in history.steps:
        play(ledger, number, step, clock.advance(timedelta(minutes=step.minutes_later)))
        assert_all_agree(ledger, projector, number)
