"""Every ticket event means something in exactly one place: the fold. Each is
also told in the chronology and has its place in the SLA clocks (or is
declared to leave them alone). A new event class without all three fails here,
and fails loudly at run time instead of passing by unnoticed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domain.support import (
    AGENT,
    agent_replied,
    event_classes,
    events_of,
    failed_contact,
    given,
    hours,
    opened,
    rejected,
    requester_replied,
    resolved,
    waiting_on_customer,
)
from tests.support import focco_terms
from ticketledger.domain import sla
from ticketledger.domain.errors import TicketNotFoundError, UnknownEventError
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket, changed, evolve, fold
from ticketledger.replay.chronology import SENTENCES
from ticketledger.service import commands
from ticketledger.service.handlers import COMMAND_HANDLERS

EVENT_CLASSES = event_classes(Ticket.Created, Ticket.Event)


def test_the_events_found_are_those_the_ticket_names() -> None:
    named = {v for v in vars(Ticket).values() if isinstance(v, type) and v in EVENT_CLASSES}
    assert named == set(EVENT_CLASSES)
    assert {Ticket.Opened, Ticket.Closed, Ticket.SlaWarningSent} <= named


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__qualname__)
def test_every_event_class_has_its_own_meaning_in_the_fold(event_class: type[Any]) -> None:
    if event_class is Ticket.Opened:
        return  # the opening starts the state: `opened`, through evolve(None, ...)
    assert changed.dispatch(event_class) is not changed.dispatch(object)


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__qualname__)
def test_every_event_class_is_told_in_the_chronology(event_class: type[Any]) -> None:
    assert event_class in SENTENCES


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__qualname__)
def test_every_event_class_has_a_place_in_the_sla_clocks_or_is_declared_to_have_none(
    event_class: type[Any],
) -> None:
    if event_class is Ticket.Opened:
        return  # the opening starts the clocks: sla.open_clocks
    in_map = event_class in sla._CHANGES
    leaves = event_class in sla.LEAVES_CLOCKS
    assert in_map != leaves, "an event either moves the clocks or is declared not to"


class Forgotten(Ticket.Event):
    """An event someone added without giving it a meaning anywhere."""

    TOPIC = "ticketledger:tests.Forgotten"
    note: str


def forgotten_event(version: int) -> Forgotten:
    at = hours(1)
    # The library's metaclass makes events dataclasses; mypy sees only the bases.
    event_class: Any = Forgotten
    event: Forgotten = event_class(
        originator_id=given(opened()).id,
        originator_version=version,
        timestamp=at,
        occurred_at=at,
        by=AGENT,
        note="?",
    )
    return event


def test_an_event_without_a_meaning_is_refused_by_the_fold_not_ignored() -> None:
    state = given(opened()).state
    with pytest.raises(UnknownEventError, match="Forgotten"):
        evolve(state, forgotten_event(2))


def test_an_event_without_a_place_in_the_clocks_is_refused_by_them() -> None:
    terms = ContractTerms.model_validate(focco_terms())
    clocks = sla.open_clocks(terms, given(opened()).state.priority, hours(0))
    with pytest.raises(UnknownEventError, match="Forgotten"):
        sla.on_event(clocks, terms, forgotten_event(2))


def test_the_aggregate_holds_exactly_the_state_the_fold_gives() -> None:
    facts = [
        opened(),
        agent_replied(hours(1)),
        waiting_on_customer(hours(2)),
        requester_replied(hours(3), resumes=True),
        failed_contact(hours(4), 1),
        resolved(hours(5)),
        rejected(hours(6)),
    ]
    assert given(*facts).state == fold(events_of(*facts))


def test_a_history_that_does_not_begin_with_its_opening_is_refused() -> None:
    later = events_of(opened(), agent_replied(hours(1)))[1]
    with pytest.raises(TicketNotFoundError, match="begin with its opening"):
        fold([later])


def test_every_command_has_its_one_handler() -> None:
    bases = {commands.Command, commands.ContractCommand, commands.TicketCommand}
    bases.add(commands.HeldRequestCommand)
    concrete = {
        value
        for value in vars(commands).values()
        if isinstance(value, type) and issubclass(value, commands.Command) and value not in bases
    }
    assert {commands.SignContract, commands.OpenTicket, commands.Assign} <= concrete
    assert set(COMMAND_HANDLERS) == concrete
