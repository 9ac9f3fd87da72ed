"""The lifecycle (DESIGN: new -> open -> waiting -> open -> resolved -> closed,
reopen from resolved, cancel), given events, when a command, then events or
an error. Seeds 000 and 001: resolving asks the requester for technical
acceptance ("Aceite Técnico"); until the ticket is closed the requester may
reopen it by answering; closed is final, a new problem is a new ticket; one
rating per ticket after resolution ("poderão avaliar o atendimento"); support
reclassifies kind, priority and level at any time, up to level 3.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from tests.domain.support import (
    AGENT,
    OPENED_AT,
    PERIODS,
    REQUESTER,
    accepted,
    agent_replied,
    another_ticket,
    assigned,
    cancelled,
    escalated,
    given,
    hours,
    opened,
    reclassified,
    refused,
    rejected,
    resolved,
    waiting_on_customer,
    waiting_on_third_party,
    when,
)
from ticketledger.domain.errors import (
    AlreadyRatedError,
    AlreadyWaitingError,
    HighestLevelError,
    InvalidCommandError,
    InvalidLinkError,
    InvalidTransitionError,
    NaiveDatetimeError,
    NothingChangedError,
    NotRateableError,
    OccurredInFutureError,
    OccurredOutOfOrderError,
    TicketCancelledError,
    TicketClosedError,
    TicketNotResolvedError,
    TicketNotWaitingError,
)
from ticketledger.domain.events import recording_clock
from ticketledger.domain.ticket import Ticket, WorkSplit
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
    Priority,
    Status,
    Visibility,
    WorkCategory,
)

OTHER = UUID("00000000-0000-4000-8000-000000000014")
ENTRY = UUID("00000000-0000-4000-8000-0000000000e1")
IN_HOURS = WorkSplit(off_hours=timedelta(0), off_hours_covered=timedelta(0))
SECOND = timedelta(seconds=1)


def log_half_an_hour(at: datetime) -> Callable[[Ticket], None]:
    return lambda t: t.log_work(
        entry_id=ENTRY,
        agent=AGENT,
        started_at=at - timedelta(minutes=30),
        duration=timedelta(minutes=30),
        category=WorkCategory.SUPPORT,
        customer_caused=False,
        split=IN_HOURS,
        note="",
        by=AGENT,
        occurred_at=at,
    )


# New -> open: the desk takes the ticket up.


def test_a_ticket_just_opened_is_new_unassigned_and_unanswered() -> None:
    state = given(opened()).state
    assert (state.status, state.assignee, state.first_response_at, state.level) == (
        Status.NEW,
        None,
        None,
        1,
    )
    assert (state.opened_at, state.last_occurred_at) == (OPENED_AT, OPENED_AT)


def test_assigning_a_new_ticket_takes_it_up_and_names_no_previous_assignee() -> None:
    ticket = given(opened())
    recorded = when(ticket, hours(1), lambda t: t.assign("carla", AGENT, hours(1)))
    assert [(type(e), e.assignee, e.previous_assignee) for e in recorded] == [
        (Ticket.Assigned, "carla", None)
    ]
    assert (ticket.state.status, ticket.state.assignee) == (Status.OPEN, "carla")


def test_reassigning_names_the_previous_assignee_and_the_same_assignee_again_is_refused() -> None:
    ticket = given(opened(), assigned(hours(1), "carla"))
    recorded = when(ticket, hours(2), lambda t: t.assign("diego", AGENT, hours(2)))
    assert (recorded[0].assignee, recorded[0].previous_assignee) == ("diego", "carla")
    refused(ticket, hours(3), lambda t: t.assign("diego", AGENT, hours(3)), NothingChangedError)
    refused(ticket, hours(3), lambda t: t.assign("  ", AGENT, hours(3)), InvalidCommandError)


def test_the_first_agent_reply_takes_the_ticket_up_and_is_its_first_response() -> None:
    ticket = given(opened())
    first = when(ticket, hours(1), lambda t: t.reply_as_agent("looking", AGENT, hours(1)))
    second = when(ticket, hours(2), lambda t: t.reply_as_agent("still", AGENT, hours(2)))
    assert [(type(e), e.first_response) for e in [*first, *second]] == [
        (Ticket.AgentReplied, True),
        (Ticket.AgentReplied, False),
    ]
    state = ticket.state
    assert (state.status, state.first_response_at, state.agent_replies) == (
        Status.OPEN,
        hours(1),
        2,
    )


def test_logging_work_on_a_new_ticket_takes_it_up() -> None:
    ticket = given(opened())
    recorded = when(ticket, hours(1), log_half_an_hour(hours(1)))
    assert [type(e) for e in recorded] == [Ticket.WorkLogged]
    assert ticket.state.status is Status.OPEN


def test_a_requester_reply_or_a_comment_on_a_new_ticket_does_not_take_it_up() -> None:
    ticket = given(opened())
    when(ticket, hours(1), lambda t: t.reply_as_requester("any news?", REQUESTER, hours(1)))
    when(ticket, hours(2), lambda t: t.comment("seen", Visibility.INTERNAL, AGENT, hours(2)))
    assert (ticket.state.status, ticket.state.requester_replies, ticket.state.comments) == (
        Status.NEW,
        1,
        1,
    )


# Waiting on the customer or a third party, and resuming.


def test_waiting_on_the_customer_records_since_when_and_a_second_wait_is_refused() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    recorded = when(ticket, hours(2), lambda t: t.wait_on_customer("the form", AGENT, hours(2)))
    assert [(type(e), e.reason) for e in recorded] == [(Ticket.WaitingOnCustomer, "the form")]
    assert (ticket.state.status, ticket.state.waiting_since) == (
        Status.WAITING_ON_CUSTOMER,
        hours(2),
    )
    refused(
        ticket,
        hours(3),
        lambda t: t.wait_on_customer("again", AGENT, hours(3)),
        AlreadyWaitingError,
    )


def test_waiting_on_a_third_party_and_resuming_returns_the_ticket_to_open() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    when(ticket, hours(2), lambda t: t.wait_on_third_party("PLC maker", "fw", AGENT, hours(2)))
    assert (ticket.state.status, ticket.state.waiting_since) == (
        Status.WAITING_ON_THIRD_PARTY,
        hours(2),
    )
    refused(
        ticket,
        hours(3),
        lambda t: t.wait_on_third_party("PLC maker", "fw", AGENT, hours(3)),
        AlreadyWaitingError,
    )
    recorded = when(ticket, hours(4), lambda t: t.resume("firmware arrived", AGENT, hours(4)))
    assert [type(e) for e in recorded] == [Ticket.Resumed]
    assert (ticket.state.status, ticket.state.waiting_since) == (Status.OPEN, None)


def test_resuming_a_ticket_that_waits_on_nobody_is_refused() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    refused(ticket, hours(2), lambda t: t.resume("?", AGENT, hours(2)), TicketNotWaitingError)


def test_a_requester_reply_ends_a_wait_on_the_customer() -> None:
    ticket = given(opened(), agent_replied(hours(1)), waiting_on_customer(hours(2)))
    recorded = when(ticket, hours(3), lambda t: t.reply_as_requester("form", REQUESTER, hours(3)))
    assert [(type(e), e.resumes, e.reopens) for e in recorded] == [
        (Ticket.RequesterReplied, True, False)
    ]
    assert (ticket.state.status, ticket.state.waiting_since) == (Status.OPEN, None)


def test_a_requester_reply_does_not_end_a_wait_on_a_third_party() -> None:
    ticket = given(opened(), agent_replied(hours(1)), waiting_on_third_party(hours(2)))
    recorded = when(ticket, hours(3), lambda t: t.reply_as_requester("news?", REQUESTER, hours(3)))
    assert (recorded[0].resumes, recorded[0].reopens) == (False, False)
    assert (ticket.state.status, ticket.state.waiting_since) == (
        Status.WAITING_ON_THIRD_PARTY,
        hours(2),
    )


# Resolving asks for acceptance; accepting closes, rejecting reopens.


def test_resolving_asks_the_requester_for_technical_acceptance() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    recorded = when(ticket, hours(2), lambda t: t.resolve("PLC replaced", AGENT, hours(2)))
    assert [(type(e), e.resolution, e.acceptance_requested_from) for e in recorded] == [
        (Ticket.Resolved, "PLC replaced", REQUESTER)
    ]
    assert (ticket.state.status, ticket.state.resolved_at) == (Status.RESOLVED, hours(2))


def test_resolving_a_ticket_that_waits_on_the_customer_ends_the_wait() -> None:
    ticket = given(opened(), agent_replied(hours(1)), waiting_on_customer(hours(2)))
    when(ticket, hours(3), lambda t: t.resolve("done", AGENT, hours(3)))
    assert (ticket.state.status, ticket.state.waiting_since) == (Status.RESOLVED, None)


def test_a_resolution_needs_a_description_and_a_resolved_ticket_is_not_resolved_again() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    refused(ticket, hours(2), lambda t: t.resolve("  ", AGENT, hours(2)), InvalidCommandError)
    resolved_ticket = given(opened(), resolved(hours(1)))
    refused(
        resolved_ticket,
        hours(2),
        lambda t: t.resolve("again", AGENT, hours(2)),
        InvalidTransitionError,
        match="awaits acceptance",
    )


def test_accepting_the_resolution_closes_the_ticket_as_accepted() -> None:
    ticket = given(opened(), resolved(hours(1)))
    recorded = when(ticket, hours(2), lambda t: t.accept("works", REQUESTER, hours(2)))
    assert [(type(e), e.by) for e in recorded] == [(Ticket.AcceptanceGiven, REQUESTER)]
    state = ticket.state
    assert (state.status, state.closure_reason, state.closed_at) == (
        Status.CLOSED,
        ClosureReason.ACCEPTED,
        hours(2),
    )


def test_only_a_resolved_ticket_can_be_accepted_rejected_or_reopened() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    at = hours(2)
    for command in (
        lambda t: t.accept("ok", REQUESTER, at),
        lambda t: t.reject("no", REQUESTER, at),
        lambda t: t.reopen_ticket("again", AGENT, at),
    ):
        refused(ticket, at, command, TicketNotResolvedError)


def test_acceptance_closes_through_accept_never_through_close() -> None:
    ticket = given(opened(), resolved(hours(1)))
    refused(
        ticket,
        hours(2),
        lambda t: t.close(ClosureReason.ACCEPTED, PERIODS, "", AGENT, hours(2)),
        InvalidCommandError,
    )


def test_rejecting_the_resolution_reopens_the_ticket_and_counts_the_reopening() -> None:
    ticket = given(opened(), resolved(hours(1)))
    recorded = when(ticket, hours(2), lambda t: t.reject("still down", REQUESTER, hours(2)))
    assert [(type(e), e.reason) for e in recorded] == [(Ticket.AcceptanceRejected, "still down")]
    state = ticket.state
    assert (state.status, state.resolved_at, state.reopen_count) == (Status.OPEN, None, 1)


def test_a_second_rejection_counts_a_second_reopening() -> None:
    ticket = given(opened(), resolved(hours(1)), rejected(hours(2)), resolved(hours(3)))
    when(ticket, hours(4), lambda t: t.reject("down again", REQUESTER, hours(4)))
    assert (ticket.state.status, ticket.state.reopen_count) == (Status.OPEN, 2)


def test_a_rejection_needs_a_reason() -> None:
    ticket = given(opened(), resolved(hours(1)))
    refused(ticket, hours(2), lambda t: t.reject(" ", REQUESTER, hours(2)), InvalidCommandError)


def test_the_desk_may_reopen_a_resolved_ticket_itself() -> None:
    ticket = given(opened(), resolved(hours(1)))
    recorded = when(ticket, hours(2), lambda t: t.reopen_ticket("recurs", AGENT, hours(2)))
    assert [type(e) for e in recorded] == [Ticket.Reopened]
    assert (ticket.state.status, ticket.state.reopen_count) == (Status.OPEN, 1)


def test_a_requester_reply_to_a_resolved_ticket_contests_it_and_reopens_it() -> None:
    ticket = given(opened(), resolved(hours(1)))
    recorded = when(ticket, hours(2), lambda t: t.reply_as_requester("no!", REQUESTER, hours(2)))
    assert [(type(e), e.resumes, e.reopens) for e in recorded] == [
        (Ticket.RequesterReplied, False, True)
    ]
    state = ticket.state
    assert (state.status, state.resolved_at, state.reopen_count) == (Status.OPEN, None, 1)


# Closed and cancelled are final.


def later_commands(at: datetime) -> dict[str, Callable[[Ticket], None]]:
    """Every command a final ticket must refuse, all dated `at`."""
    return {
        "assign": lambda t: t.assign("diego", AGENT, at),
        "reclassify": lambda t: t.reclassify(
            kind=None, priority=Priority.LOW, level=None, reason="r", by=AGENT, occurred_at=at
        ),
        "escalate": lambda t: t.escalate("hard", AGENT, at),
        "agent reply": lambda t: t.reply_as_agent("hello", AGENT, at),
        "requester reply": lambda t: t.reply_as_requester("it broke again", REQUESTER, at),
        "comment": lambda t: t.comment("note", Visibility.PUBLIC, AGENT, at),
        "wait on customer": lambda t: t.wait_on_customer("form", AGENT, at),
        "wait on third party": lambda t: t.wait_on_third_party("bank", "cert", AGENT, at),
        "failed contact": lambda t: t.record_failed_contact(Channel.PHONE, "", AGENT, at),
        "log work": log_half_an_hour(at),
        "authorise off hours": lambda t: t.authorise_off_hours_work(
            authorisation_id=ENTRY,
            authorised_by="boss",
            note="",
            as_exception=False,
            by=AGENT,
            occurred_at=at,
        ),
        "resolve": lambda t: t.resolve("done", AGENT, at),
        "accept": lambda t: t.accept("ok", REQUESTER, at),
        "reject": lambda t: t.reject("no", REQUESTER, at),
        "reopen": lambda t: t.reopen_ticket("again", AGENT, at),
        "close": lambda t: t.close(ClosureReason.THIRD_PARTY, PERIODS, "", AGENT, at),
        "cancel": lambda t: t.cancel(CancellationReason.OPENED_BY_MISTAKE, None, "", AGENT, at),
        "link": lambda t: t.link(another_ticket(OTHER), LinkKind.RELATES_TO, AGENT, at),
    }


LATER = hours(30)


@pytest.mark.parametrize("name", sorted(later_commands(LATER)))
def test_a_closed_ticket_refuses_every_later_command(name: str) -> None:
    ticket = given(opened(), resolved(hours(1)), accepted(hours(2)))
    refused(ticket, LATER, later_commands(LATER)[name], TicketClosedError, match="new ticket")


@pytest.mark.parametrize("name", sorted(later_commands(LATER)))
def test_a_cancelled_ticket_refuses_every_later_command(name: str) -> None:
    ticket = given(opened(), cancelled(hours(1)))
    refused(ticket, LATER, later_commands(LATER)[name], TicketCancelledError)


def test_a_new_problem_is_a_new_ticket_that_may_link_to_the_closed_one() -> None:
    old = given(opened(), resolved(hours(1)), accepted(hours(2)))
    new = another_ticket(OTHER, hours(3))
    recorded = when(new, hours(4), lambda t: t.link(old, LinkKind.FOLLOWS_UP, AGENT, hours(4)))
    assert [(type(e), e.other_ticket_id, e.other_number) for e in recorded] == [
        (Ticket.Linked, old.id, "2026-000013")
    ]


# Cancelling.


def test_a_duplicate_is_cancelled_naming_the_ticket_it_duplicates() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    original = another_ticket(OTHER)
    recorded = when(
        ticket,
        hours(2),
        lambda t: t.cancel(CancellationReason.DUPLICATE, original, "", AGENT, hours(2)),
    )
    assert [(type(e), e.reason, e.duplicate_of) for e in recorded] == [
        (Ticket.Cancelled, CancellationReason.DUPLICATE, OTHER)
    ]
    assert (ticket.state.status, ticket.state.closed_at) == (Status.CANCELLED, hours(2))


def test_a_duplicate_without_the_other_ticket_is_refused_and_so_is_naming_one_otherwise() -> None:
    ticket = given(opened())
    at = hours(1)
    refused(
        ticket,
        at,
        lambda t: t.cancel(CancellationReason.DUPLICATE, None, "", AGENT, at),
        InvalidCommandError,
    )
    refused(
        ticket,
        at,
        lambda t: t.cancel(
            CancellationReason.OPENED_BY_MISTAKE, another_ticket(OTHER), "", AGENT, at
        ),
        InvalidCommandError,
    )


def test_a_ticket_cannot_be_cancelled_as_a_duplicate_of_itself() -> None:
    ticket = given(opened())
    refused(
        ticket,
        hours(1),
        lambda t: t.cancel(CancellationReason.DUPLICATE, t, "", AGENT, hours(1)),
        InvalidLinkError,
    )


def test_a_ticket_opened_by_mistake_is_cancelled_without_naming_another() -> None:
    ticket = given(opened())
    reason = CancellationReason.OPENED_BY_MISTAKE
    recorded = when(ticket, hours(1), lambda t: t.cancel(reason, None, "typo", AGENT, hours(1)))
    assert [(e.reason, e.duplicate_of) for e in recorded] == [(reason, None)]
    assert ticket.state.status is Status.CANCELLED


def test_a_resolved_ticket_is_not_cancelled_but_accepted_or_rejected() -> None:
    ticket = given(opened(), resolved(hours(1)))
    refused(
        ticket,
        hours(2),
        lambda t: t.cancel(CancellationReason.OPENED_BY_MISTAKE, None, "", AGENT, hours(2)),
        InvalidTransitionError,
    )


# One rating, after resolution, from 1 to 5.


def rate(score: int, at: datetime) -> Callable[[Ticket], None]:
    return lambda t: t.rate(score, "thanks", REQUESTER, at)


def test_an_unresolved_ticket_cannot_be_rated() -> None:
    refused(given(opened(), agent_replied(hours(1))), hours(2), rate(5, hours(2)), NotRateableError)


@pytest.mark.parametrize("score", [1, 5])
def test_a_resolved_ticket_is_rated_from_one_to_five(score: int) -> None:
    ticket = given(opened(), resolved(hours(1)))
    recorded = when(ticket, hours(2), rate(score, hours(2)))
    assert [(type(e), e.score, e.out_of) for e in recorded] == [(Ticket.Rated, score, 5)]
    assert ticket.state.rating is not None
    assert (ticket.state.rating.score, ticket.state.rating.comment) == (score, "thanks")


@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_outside_one_to_five_is_refused(score: int) -> None:
    refused(
        given(opened(), resolved(hours(1))), hours(2), rate(score, hours(2)), InvalidCommandError
    )


def test_a_ticket_is_rated_once_only() -> None:
    ticket = given(opened(), resolved(hours(1)))
    when(ticket, hours(2), rate(4, hours(2)))
    refused(ticket, hours(3), rate(5, hours(3)), AlreadyRatedError)


def test_a_ticket_closed_by_acceptance_can_still_be_rated_once() -> None:
    """Seed 001 sends the rating link with the closing e-mail."""
    ticket = given(opened(), resolved(hours(1)), accepted(hours(2)))
    assert [type(e) for e in when(ticket, hours(3), rate(3, hours(3)))] == [Ticket.Rated]


def test_a_reopened_ticket_is_rated_only_once_resolved_again() -> None:
    ticket = given(opened(), resolved(hours(1)), rejected(hours(2)))
    refused(ticket, hours(3), rate(2, hours(3)), NotRateableError)


def test_a_cancelled_ticket_never_resolved_cannot_be_rated() -> None:
    refused(given(opened(), cancelled(hours(1))), hours(2), rate(1, hours(2)), NotRateableError)


# Reclassifying and escalating.


def reclassify(
    at: datetime,
    *,
    kind: Kind | None = None,
    priority: Priority | None = None,
    level: int | None = None,
    reason: str = "whole line down",
) -> Callable[[Ticket], None]:
    return lambda t: t.reclassify(
        kind=kind, priority=priority, level=level, reason=reason, by=AGENT, occurred_at=at
    )


def test_a_priority_change_says_it_keeps_the_sla_clock_and_names_what_it_was() -> None:
    ticket = given(opened(Priority.MEDIUM), agent_replied(hours(1)))
    recorded = when(ticket, hours(2), reclassify(hours(2), priority=Priority.CRITICAL))
    assert len(recorded) == 1
    event = recorded[0]
    assert (type(event), event.keeps_sla_clock) == (Ticket.Reclassified, True)
    assert (event.previous_priority, event.priority) == (Priority.MEDIUM, Priority.CRITICAL)
    assert (event.previous_kind, event.kind, event.previous_level, event.level) == (
        Kind.INCIDENT,
        Kind.INCIDENT,
        1,
        1,
    )
    assert ticket.state.priority is Priority.CRITICAL


def test_a_reclassification_changes_only_what_it_names() -> None:
    ticket = given(opened(Priority.HIGH))
    when(ticket, hours(1), reclassify(hours(1), kind=Kind.SERVICE_REQUEST))
    state = ticket.state
    assert (state.kind, state.priority, state.level) == (Kind.SERVICE_REQUEST, Priority.HIGH, 1)


def test_a_reclassification_that_changes_nothing_is_refused() -> None:
    ticket = given(opened(Priority.HIGH))
    command = reclassify(hours(1), kind=Kind.INCIDENT, priority=Priority.HIGH, level=1)
    refused(ticket, hours(1), command, NothingChangedError)


def test_a_reclassification_needs_a_reason() -> None:
    """DESIGN: support may reclassify kind, priority, level and assignee at any
    time, with a reason."""
    ticket = given(opened(Priority.HIGH))
    refused(
        ticket,
        hours(1),
        reclassify(hours(1), priority=Priority.LOW, reason="  "),
        InvalidCommandError,
    )


def test_a_resolved_ticket_may_still_be_reclassified() -> None:
    ticket = given(opened(Priority.MEDIUM), resolved(hours(1)))
    when(ticket, hours(2), reclassify(hours(2), priority=Priority.HIGH))
    assert (ticket.state.status, ticket.state.priority) == (Status.RESOLVED, Priority.HIGH)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_a_level_from_one_to_three_is_accepted(level: int) -> None:
    ticket = given(opened(Priority.HIGH))
    when(ticket, hours(1), reclassify(hours(1), priority=Priority.LOW, level=level))
    assert (ticket.state.priority, ticket.state.level) == (Priority.LOW, level)


@pytest.mark.parametrize("level", [0, 4, -1])
def test_a_level_outside_one_to_three_is_refused(level: int) -> None:
    refused(
        given(opened()), hours(1), reclassify(hours(1), level=level), InvalidCommandError, "1 to 3"
    )


def test_escalation_goes_one_level_up_at_a_time() -> None:
    ticket = given(opened(), agent_replied(hours(1)))
    first = when(ticket, hours(2), lambda t: t.escalate("needs a specialist", AGENT, hours(2)))
    second = when(ticket, hours(3), lambda t: t.escalate("needs development", AGENT, hours(3)))
    assert [(type(e), e.from_level, e.to_level) for e in [*first, *second]] == [
        (Ticket.Escalated, 1, 2),
        (Ticket.Escalated, 2, 3),
    ]
    assert ticket.state.level == 3


def test_escalation_stops_at_level_three() -> None:
    escalated_twice = given(opened(), escalated(hours(1), 1), escalated(hours(2), 2))
    refused(
        escalated_twice,
        hours(3),
        lambda t: t.escalate("more", AGENT, hours(3)),
        HighestLevelError,
    )
    set_to_three = given(opened(), reclassified(hours(1), Priority.HIGH, Priority.HIGH, level=3))
    refused(
        set_to_three, hours(2), lambda t: t.escalate("more", AGENT, hours(2)), HighestLevelError
    )


def test_a_resolved_ticket_is_reopened_before_it_is_escalated() -> None:
    ticket = given(opened(), resolved(hours(1)))
    refused(ticket, hours(2), lambda t: t.escalate("?", AGENT, hours(2)), InvalidTransitionError)


# Time: never before the previous event, never in the future, never naive.


def assign_at(at: datetime) -> Callable[[Ticket], None]:
    return lambda t: t.assign("carla", AGENT, at)


def test_a_command_dated_before_the_previous_event_is_refused() -> None:
    ticket = given(opened(), agent_replied(hours(2)))
    refused(ticket, hours(3), assign_at(hours(2) - SECOND), OccurredOutOfOrderError)


def test_a_command_dated_at_the_previous_events_instant_is_recorded() -> None:
    ticket = given(opened(), agent_replied(hours(2)))
    recorded = when(ticket, hours(3), assign_at(hours(2)))
    assert [(type(e), e.occurred_at, e.timestamp) for e in recorded] == [
        (Ticket.Assigned, hours(2), hours(3))
    ]


def test_a_command_dated_after_the_recording_clock_is_refused() -> None:
    ticket = given(opened())
    refused(ticket, hours(1), assign_at(hours(1) + SECOND), OccurredInFutureError)


def test_a_phone_call_logged_late_keeps_the_instant_it_happened() -> None:
    ticket = given(opened())
    recorded = when(ticket, hours(5), assign_at(hours(1)))
    assert (recorded[0].occurred_at, recorded[0].timestamp) == (hours(1), hours(5))
    assert ticket.state.last_occurred_at == hours(1)


def test_a_naive_occurred_at_is_refused() -> None:
    ticket = given(opened())
    naive = hours(1).replace(tzinfo=None)
    refused(ticket, hours(2), assign_at(naive), NaiveDatetimeError, match="naive")


def test_a_naive_work_start_is_refused() -> None:
    ticket = given(opened())
    naive_start = hours(1).replace(tzinfo=None)
    refused(
        ticket,
        hours(2),
        lambda t: t.log_work(
            entry_id=ENTRY,
            agent=AGENT,
            started_at=naive_start,
            duration=timedelta(minutes=30),
            category=WorkCategory.SUPPORT,
            customer_caused=False,
            split=IN_HOURS,
            note="",
            by=AGENT,
            occurred_at=hours(2),
        ),
        NaiveDatetimeError,
        match="started_at",
    )


def test_a_naive_recording_clock_is_refused() -> None:
    ticket = given(opened())
    refused(ticket, hours(1).replace(tzinfo=None), assign_at(hours(1)), NaiveDatetimeError)


def open_ticket(occurred_at: datetime, subject: str = "PLC down") -> Callable[[], Ticket]:
    return lambda: Ticket.open(
        ticket_id=OTHER,
        number="2026-000014",
        contract_id=UUID(int=1),
        customer="Metalúrgica Serra",
        requester=REQUESTER,
        channel=Channel.PHONE,
        kind=Kind.INCIDENT,
        priority=Priority.HIGH,
        subject=subject,
        description="",
        by=AGENT,
        occurred_at=occurred_at,
    )


def test_an_opening_in_the_future_naive_or_without_a_subject_is_refused() -> None:
    with recording_clock(lambda: OPENED_AT):
        with pytest.raises(OccurredInFutureError):
            open_ticket(OPENED_AT + SECOND)()
        with pytest.raises(NaiveDatetimeError):
            open_ticket(OPENED_AT.replace(tzinfo=None))()
        with pytest.raises(InvalidCommandError, match="subject"):
            open_ticket(OPENED_AT, subject="   ")()
        late = open_ticket(OPENED_AT - timedelta(minutes=10))()
    assert (late.state.opened_at, late.state.status) == (
        OPENED_AT - timedelta(minutes=10),
        Status.NEW,
    )
