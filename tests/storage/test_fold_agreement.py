"""One fold, read everywhere: after every command of a random history, the
ticket_state and queues projections, the aggregate and the as-of replay at that
version say the same of the ticket; and every projection that keeps contracts
keeps the state the contract aggregate holds; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests import strategies as ts
from tests.storage.test_as_of import open_ticket, play
from tests.support import ManualClock, focco_terms
from ticketledger.api.statements import issue_month
from ticketledger.domain.errors import DomainError
from ticketledger.domain.ticket_state import TicketState
from ticketledger.projections.base import contract_state
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import micros, stamp_or_none
from ticketledger.projections.ticket_state import find_ticket
from ticketledger.replay.as_of import at_version
from ticketledger.service.commands import (
    AuthoriseOffHoursWork,
    AuthoriseRequester,
    ChangePlan,
    EndContract,
    ReinstateContract,
    RevokeRequester,
    SuspendContract,
)
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


# Contracts: every projection that keeps contracts keeps the state their fold gives.

CONTRACT_PROJECTIONS = ("ticket_state", "queues", "sla", "deadlines", "hours")
REQUESTERS = ("@serra.com.br", "ana@serra.com.br", "bia@serra.com.br", "@other.com")
ContractStep = tuple[str, Any, int]
contract_steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["authorise", "revoke", "plan", "suspend", "reinstate", "end", "off_hours", "issue"]
        ),
        st.integers(min_value=0, max_value=3),
        st.sampled_from([1, 90, 60 * 24 * 20]),
    ),
    min_size=4,
    max_size=12,
)


def contract_command(
    ledger: TicketLedger, projector: Projector, ids: tuple[UUID, UUID], step: ContractStep
) -> None:
    """One contract command as `step` names it; the ticket's for the exception."""
    contract_id, ticket_id = ids
    name, choice, _ = step
    plain: dict[str, Any] = {"contract_id": contract_id, "by": "admin"}
    if name == "authorise":
        ledger.handle(AuthoriseRequester(requester=REQUESTERS[choice], **plain))
    elif name == "revoke":
        ledger.handle(RevokeRequester(requester=REQUESTERS[choice], reason="left", **plain))
    elif name == "plan":
        today = ledger.contract(contract_id).state.local_date(ledger.now(None))
        terms = focco_terms(monthly_hours=str(10 * (choice + 1)))
        effective_on = today + timedelta(days=15 * (choice % 3))
        ledger.handle(ChangePlan(terms=terms, effective_on=effective_on, reason="x", **plain))
    elif name in ("suspend", "reinstate", "end"):
        command = {"suspend": SuspendContract, "reinstate": ReinstateContract, "end": EndContract}
        ledger.handle(command[name](reason="x", **plain))
    elif name == "off_hours":
        ledger.handle(AuthoriseOffHoursWork(ticket=ticket_id, authorised_by="ana", by="carla"))
    else:
        issue_month(projector, str(contract_id), f"2026-{7 + choice:02d}", "billing")


def assert_contract_kept(ledger: TicketLedger, projector: Projector, contract_id: UUID) -> None:
    state = ledger.contract(contract_id).state
    projector.catch_up(list(CONTRACT_PROJECTIONS))
    for name in CONTRACT_PROJECTIONS:
        with projector.reading(name) as rows:
            assert contract_state(rows, str(contract_id)) == state, name
    with projector.reading("queues") as rows:
        queued = rows.get("contracts", contract_id=str(contract_id))
    assert queued is not None
    assert (queued["state"], queued["terms_json"]) == (
        state.standing.value,
        state.terms.model_dump_json(),
    )
    with projector.reading("ticket_state") as rows:
        listed = rows.get("contracts", contract_id=str(contract_id))
    assert listed == {
        "contract_id": str(contract_id),
        "customer": state.customer,
        "state": state.standing.value,
    }


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=contract_steps)
def test_every_projection_keeping_contracts_keeps_the_state_the_aggregate_holds(
    ledger: TicketLedger, clock: ManualClock, projector: Projector, steps: list[ContractStep]
) -> None:
    clock.advance(timedelta(days=1))
    number, contract_id = open_ticket(ledger)
    ids = (contract_id, ledger.ticket(number).id)
    assert_contract_kept(ledger, projector, contract_id)
    for step in steps:
        clock.advance(timedelta(minutes=step[2]))
        try:
            contract_command(ledger, projector, ids, step)
        except DomainError:
            event(f"refused {step[0]}")
            continue  # refused: nothing recorded, nothing to compare anew
        event(f"applied {step[0]}")
        assert_contract_kept(ledger, projector, contract_id)
