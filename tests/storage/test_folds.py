"""A command continues a ticket's fold from where the ledger last read it: it
reads only the events stored since, by this ledger or another, and what it
decides on is always what the whole log folds into."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from eventsourcing import application

from tests.poison import HEALTHY_REQUESTER, open_healthy_ticket
from tests.support import ManualClock, rows_read
from ticketledger.domain import errors
from ticketledger.domain.deadlines import watch_of
from ticketledger.domain.numbering import ticket_id_for
from ticketledger.domain.vocabulary import Status
from ticketledger.service.commands import (
    AcceptResolution,
    AuthoriseRequester,
    Comment,
    ReplyAsAgent,
    ReplyAsRequester,
    ResolveTicket,
)
from ticketledger.service.ledger import TicketLedger

LedgerFactory = Callable[..., TicketLedger]


def comment(ledger: TicketLedger, number: str, text: str = "PLC firmware suspected") -> int:
    return ledger.handle(Comment(ticket=number, text=text, by="carla")).version


def fresh_fold(ledger: TicketLedger, number: str) -> Any:
    """The ticket's watch folded from its whole stored history, by nobody's cache."""
    history = list(ledger.events_of(ticket_id_for(number)))
    return watch_of(history, ledger.governing_terms(ledger.ticket(number)))


def test_a_command_on_a_long_ticket_reads_only_the_events_stored_since_the_last(
    ledger: TicketLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, number = open_healthy_ticket(ledger)
    for _ in range(40):
        comment(ledger, number)
    read = rows_read(ledger, monkeypatch, ticket_id_for(number))
    version = ledger.handle(ReplyAsAgent(ticket=number, message="On it.", by="carla")).version
    assert version == 42 and read["events"] <= 1


def test_a_command_continues_from_what_another_ledger_stored_meanwhile(
    make_ledger: LedgerFactory,
) -> None:
    ours, theirs = make_ledger(), make_ledger()
    _, number = open_healthy_ticket(ours)
    comment(ours, number)
    for _ in range(3):
        seen = comment(theirs, number)
    answer = ReplyAsAgent(ticket=number, message="On it.", by="carla", expected_version=seen)
    assert ours.handle(answer).version == seen + 1
    watch, _ = ours.watch(number)
    assert watch.state.comments == 4 and watch == fresh_fold(ours, number)


def test_a_refused_command_leaves_nothing_of_itself_in_the_next_commands_fold(
    ledger: TicketLedger,
) -> None:
    _, number = open_healthy_ticket(ledger)
    with pytest.raises(errors.DomainError):
        ledger.handle(AcceptResolution(ticket=number, by=HEALTHY_REQUESTER))
    comment(ledger, number)
    watch, _ = ledger.watch(number)
    assert watch == fresh_fold(ledger, number) and watch.state.status is not Status.CLOSED


def test_the_fold_a_command_decides_on_is_the_logs_after_a_day_of_commands(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    _, number = open_healthy_ticket(ledger)
    steps = [
        ReplyAsAgent(ticket=number, message="On it.", by="carla"),
        Comment(ticket=number, text="firmware", by="carla"),
        ReplyAsRequester(ticket=number, message="Still down.", by=HEALTHY_REQUESTER),
        ResolveTicket(ticket=number, resolution="Rolled back.", by="carla"),
    ]
    for step in steps:
        clock.advance(timedelta(minutes=17))
        ledger.handle(step)
        watch, _ = ledger.watch(number)
        assert watch == fresh_fold(ledger, number)
    clock.advance(timedelta(days=30))  # long past the acceptance period: it is deemed
    ledger.apply_due_rules(number)
    watch, _ = ledger.watch(number)
    assert watch == fresh_fold(ledger, number) and watch.state.status is Status.CLOSED


# Contracts and numberings come from the library's aggregate cache, brought
# forward at each read and deep-copied for the reader; their states and terms
# are shared by the copies, as nothing changes them in place.


def test_a_contract_read_again_is_brought_forward_by_what_another_ledger_stored(
    make_ledger: LedgerFactory,
) -> None:
    ours, theirs = make_ledger(), make_ledger()
    contract_id, _ = open_healthy_ticket(ours)
    before = ours.contract(contract_id)
    theirs.handle(AuthoriseRequester(contract_id=contract_id, requester="@plant.com", by="admin"))
    after = ours.contract(contract_id)
    assert after.version == before.version + 1
    assert after.state.is_authorised("new.operator@plant.com")


def test_a_change_refused_on_a_cached_contract_leaves_the_next_reader_what_is_stored(
    ledger: TicketLedger,
) -> None:
    contract_id, _ = open_healthy_ticket(ledger)
    first = ledger.contract(contract_id)
    stored_state = first.state
    first.authorise_requester("@plant.com", by="admin", occurred_at=first.state.last_occurred_at)
    second = ledger.contract(contract_id)
    assert second is not first and not second.pending_events
    assert second.version == first.version - 1 and second.state is stored_state
    assert second.state.terms is stored_state.terms, "the terms and their calendars are shared"


def test_two_readers_of_one_cached_contract_take_turns(
    ledger: TicketLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library copies a cached aggregate after it releases the lock it
    brought it forward under; the ledger's readers of one aggregate take turns,
    so no reader brings a contract forward while another is copying it."""
    contract_id, _ = open_healthy_ticket(ledger)
    ledger.contract(contract_id)  # now in the cache
    copy = application.deepcopy  # type: ignore[attr-defined]  # the library's own import
    first_copying, let_go = threading.Event(), threading.Event()

    def slow_for_the_first(value: Any, *args: Any) -> Any:
        if threading.current_thread().name == "first":
            first_copying.set()
            let_go.wait(10)
        return copy(value, *args)

    monkeypatch.setattr(application, "deepcopy", slow_for_the_first)
    first = threading.Thread(target=ledger.contract, args=(contract_id,), name="first")
    second = threading.Thread(target=ledger.contract, args=(contract_id,), name="second")
    try:
        first.start()
        assert first_copying.wait(10)
        second.start()
        second.join(0.3)
        assert second.is_alive(), "the second reader waits until the first has its copy"
    finally:
        let_go.set()
        first.join(10)
        second.join(10)
    assert not first.is_alive() and not second.is_alive()
