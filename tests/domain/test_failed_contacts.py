"""Seed 001: "O ticket será automaticamente encerrado após três tentativas de
contato sem sucesso e depois de transcorridas 48hs de sua criação."

Failed contacts count while the desk works on the ticket and the requester
stays silent. A reply, a rejection of the resolution (the requester answering)
and the resolution itself start the count again. The rule engine and the
manual close ask the same rule, so they agree on every history below.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.domain.support import (
    AGENT,
    PERIODS,
    Fact,
    agent_replied,
    failed_contact,
    given,
    hours,
    opened,
    rejected,
    reopened,
    requester_replied,
    resolved,
    when,
)
from tests.support import focco_terms
from ticketledger.domain.deadlines import Rule, deadlines, watch_of
from ticketledger.domain.errors import ClosureNotDueError
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket, fold
from ticketledger.domain.vocabulary import Channel, ClosureReason, Status

TERMS = ContractTerms.model_validate(focco_terms())
EXHAUSTED = ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED
LATE = hours(96)  # well past the 48 h minimum age


def three_failed_then_rejected() -> list[Fact]:
    return [
        opened(),
        agent_replied(hours(1)),
        failed_contact(hours(2), 1),
        failed_contact(hours(3), 2),
        failed_contact(hours(4), 3),
        resolved(hours(5)),
        rejected(hours(6)),
    ]


def close_for_failed_contacts(ticket: Ticket, at: datetime = LATE) -> None:
    ticket.close(EXHAUSTED, PERIODS, "", AGENT, at)


def fail_to_contact(ticket: Ticket) -> None:
    ticket.record_failed_contact(Channel.PHONE, "no answer", AGENT, ticket.state.last_occurred_at)


def exhausted_due(facts: list[Fact]) -> list[datetime]:
    """When the rule engine would close the ticket for failed contacts."""
    watch = watch_of([f.numbered(v) for v, f in enumerate(facts, 1)], TERMS)
    return [d.due_at for d in deadlines(watch, TERMS) if d.rule is Rule.CONTACT_ATTEMPTS_EXHAUSTED]


def test_one_failed_contact_after_a_rejection_counts_as_the_first_again() -> None:
    facts = [*three_failed_then_rejected(), failed_contact(hours(7), 4)]
    ticket = given(*facts)
    assert ticket.state.failed_contact_attempts == 1
    assert exhausted_due(facts) == []
    with pytest.raises(ClosureNotDueError):
        when(ticket, LATE, close_for_failed_contacts)


def test_a_failed_contact_after_a_rejection_is_recorded_as_attempt_one() -> None:
    ticket = given(*three_failed_then_rejected())
    recorded = when(ticket, hours(7), fail_to_contact)
    assert [type(e) for e in recorded] == [Ticket.ContactAttemptFailed]
    assert recorded[0].attempt == 1


def test_only_the_third_failed_contact_after_a_rejection_lets_the_ticket_close() -> None:
    before = [*three_failed_then_rejected(), failed_contact(hours(7), 1)]
    two_after = [*before, failed_contact(hours(8), 2)]
    three_after = [*two_after, failed_contact(hours(9), 3)]
    assert exhausted_due(two_after) == []
    with pytest.raises(ClosureNotDueError):
        when(given(*two_after), LATE, close_for_failed_contacts)
    assert exhausted_due(three_after) == [hours(48)]
    recorded = when(given(*three_after), LATE, close_for_failed_contacts)
    assert [(type(e), e.reason) for e in recorded] == [(Ticket.Closed, EXHAUSTED)]


def test_the_third_attempt_after_a_rejection_waits_for_the_48_hours_since_opening() -> None:
    facts = [
        *three_failed_then_rejected(),
        *(failed_contact(hours(7 + n), n + 1) for n in range(3)),
    ]
    a_second_early = hours(48) - timedelta(seconds=1)
    with pytest.raises(ClosureNotDueError, match="from 2026-10-07T12:00"):
        when(given(*facts), a_second_early, lambda t: close_for_failed_contacts(t, a_second_early))
    assert exhausted_due(facts) == [hours(48)]


def test_a_second_rejection_starts_the_count_again() -> None:
    facts = [
        *three_failed_then_rejected(),
        failed_contact(hours(7), 1),
        failed_contact(hours(8), 2),
        resolved(hours(9)),
        rejected(hours(10)),
        failed_contact(hours(11), 1),
    ]
    ticket = given(*facts)
    assert ticket.state.failed_contact_attempts == 1
    assert exhausted_due(facts) == []
    with pytest.raises(ClosureNotDueError):
        when(ticket, LATE, close_for_failed_contacts)


def test_a_requester_reply_between_attempts_starts_the_count_again() -> None:
    facts = [
        opened(),
        failed_contact(hours(1), 1),
        failed_contact(hours(2), 2),
        requester_replied(hours(3)),
        failed_contact(hours(4), 1),
        failed_contact(hours(5), 2),
    ]
    ticket = given(*facts)
    assert ticket.state.failed_contact_attempts == 2
    assert exhausted_due(facts) == []
    with pytest.raises(ClosureNotDueError):
        when(ticket, LATE, close_for_failed_contacts)
    third = [*facts, failed_contact(hours(6), 3)]
    assert exhausted_due(third) == [hours(48)]
    assert when(given(*third), LATE, close_for_failed_contacts)[0].reason is EXHAUSTED


def test_attempts_counted_by_an_old_ledger_after_a_rejection_count_from_the_rejection() -> None:
    """Rows written before the fix number the attempt after a rejection 4: the
    fold counts the attempts it sees, never trusts the stored number."""
    facts = [*three_failed_then_rejected(), failed_contact(hours(7), 4)]
    assert fold(f.numbered(v) for v, f in enumerate(facts, 1)).failed_contact_attempts == 1


def test_an_agent_reopening_after_a_resolution_counts_from_the_resolution() -> None:
    facts = [
        opened(),
        failed_contact(hours(1), 1),
        failed_contact(hours(2), 2),
        resolved(hours(3)),
        reopened(hours(4)),
        failed_contact(hours(5), 1),
    ]
    ticket = given(*facts)
    assert (ticket.state.status, ticket.state.failed_contact_attempts) == (Status.OPEN, 1)
    assert exhausted_due(facts) == []


def test_failed_contacts_never_close_a_resolved_ticket() -> None:
    facts = [
        opened(),
        failed_contact(hours(1), 1),
        failed_contact(hours(2), 2),
        failed_contact(hours(3), 3),
        resolved(hours(4)),
    ]
    with pytest.raises(ClosureNotDueError, match="while resolved"):
        when(given(*facts), LATE, close_for_failed_contacts)
    assert exhausted_due(facts) == []


def test_three_failed_contacts_close_a_ticket_48_hours_after_its_opening() -> None:
    facts = [opened(), *(failed_contact(hours(n), n) for n in (1, 2, 3))]
    assert exhausted_due(facts) == [hours(48)]
    with pytest.raises(ClosureNotDueError):
        when(given(*facts), hours(47), lambda t: close_for_failed_contacts(t, hours(47)))
    recorded = when(given(*facts), hours(48), lambda t: close_for_failed_contacts(t, hours(48)))
    assert [(type(e), e.occurred_at) for e in recorded] == [(Ticket.Closed, hours(48))]
