"""The SLA clocks (domain/sla.py) on their own, fed a ticket's events.

Seed 003's calendar (focco_terms): Mon-Fri 08:00-12:00 and 13:30-18:00 in
Caxias do Sul, America/Sao_Paulo, Brazilian holidays of RS: 8:30 of business
time a day. Seed 004's targets: critical 2 h / 8 h, high 4 h / 16 h, medium
24 h / 72 h. The clock pauses while the ticket waits on the customer or a
third party; a priority change keeps the time spent; outside business hours
extended coverage serves critical tickets only (seed 004: Mon-Sat 05-21).

Both zones are UTC-3 all of 2026 (no DST): `local` turns a local wall-clock
time into UTC. Monday 2026-10-05 09:00 local is the support's OPENED_AT, 12:00
UTC; Monday 2026-10-12 is a holiday in Brazil and in Argentina. Every instant
below is worked out by hand from those calendars.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.domain.support import (
    Fact,
    agent_replied,
    cancelled,
    closed,
    events_of,
    opened,
    reclassified,
    rejected,
    reopened,
    requester_replied,
    resolved,
    resumed,
    waiting_on_customer,
    waiting_on_third_party,
)
from tests.support import at, focco_terms, neotel_extended_terms
from ticketledger.domain import sla
from ticketledger.domain.deadlines import Rule, deadlines, watch_of
from ticketledger.domain.sla import CalendarKind, ClockState, Outcome, SlaStatus, TicketClocks
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import ClosureReason, Kind, Priority

TERMS = ContractTerms.model_validate(focco_terms())
EXTENDED = ContractTerms.model_validate(neotel_extended_terms())
H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)


def local(text: str) -> datetime:
    """A local wall-clock time in UTC-3 (both seed zones in 2026), as UTC."""
    return at(text) + timedelta(hours=3)


MONDAY_9 = local("2026-10-05 09:00")


def clocks_after(*facts: Fact, terms: ContractTerms = TERMS) -> TicketClocks:
    """The clocks once the facts happened: opened by the first, moved by the rest."""
    first, *later = events_of(*facts)
    clocks = sla.open_clocks(terms, first.priority, first.occurred_at)
    for event in later:
        clocks = sla.on_event(clocks, terms, event)
    return clocks


# Opening.


def test_a_high_ticket_opens_both_clocks_running_with_their_due_and_at_risk_instants() -> None:
    clocks = clocks_after(opened(Priority.HIGH))
    first, resolution = clocks.first_response, clocks.resolution
    assert (first.state, first.calendar, first.target, first.since) == (
        ClockState.RUNNING,
        CalendarKind.BUSINESS,
        4 * H,
        MONDAY_9,
    )
    # 4 h: 09:00-12:00 and 13:30-14:30. 80 % is 3:12: 13:42.
    assert (first.due_at, first.at_risk_at) == (
        local("2026-10-05 14:30"),
        local("2026-10-05 13:42"),
    )
    # 16 h: Monday 7:30 and Tuesday 8:30, due Tuesday 18:00. 80 % is 12:48:
    # Monday 7:30, Tuesday 08-12 (4:00) and 1:18 from 13:30: 14:48.
    assert (resolution.target, resolution.due_at, resolution.at_risk_at) == (
        16 * H,
        local("2026-10-06 18:00"),
        local("2026-10-06 14:48"),
    )
    assert clocks.due_at == local("2026-10-05 14:30")


def test_the_status_turns_at_risk_at_80_percent_and_breached_only_past_the_target() -> None:
    first = clocks_after(opened(Priority.HIGH)).first_response
    assert sla.status_at(first, TERMS, local("2026-10-05 12:45")) is SlaStatus.ON_TRACK  # 3:00
    assert sla.status_at(first, TERMS, local("2026-10-05 13:41")) is SlaStatus.ON_TRACK
    assert sla.status_at(first, TERMS, local("2026-10-05 13:42")) is SlaStatus.AT_RISK
    assert sla.status_at(first, TERMS, local("2026-10-05 14:30")) is SlaStatus.AT_RISK
    breach = local("2026-10-05 14:30") + MICROSECOND
    assert sla.status_at(first, TERMS, breach) is SlaStatus.BREACHED


# First response.


def test_the_first_agent_reply_stops_the_first_response_clock_and_only_that_one() -> None:
    reply = local("2026-10-05 10:30")
    clocks = clocks_after(opened(Priority.HIGH), agent_replied(reply))
    first = clocks.first_response
    assert (first.state, first.elapsed, first.stopped_at, first.outcome) == (
        ClockState.STOPPED,
        1.5 * H,
        reply,
        Outcome.MET,
    )
    assert sla.status_at(first, TERMS, local("2026-10-09 12:00")) is SlaStatus.MET
    assert clocks.resolution.state is ClockState.RUNNING
    assert clocks.due_at == local("2026-10-06 18:00")  # the resolution's, now


def test_a_later_agent_reply_leaves_the_clocks_as_they_were() -> None:
    answered = clocks_after(opened(), agent_replied(local("2026-10-05 10:30")))
    again = clocks_after(
        opened(),
        agent_replied(local("2026-10-05 10:30")),
        agent_replied(local("2026-10-05 16:00"), first=False),
    )
    assert again == answered


@pytest.mark.parametrize(
    ("reply", "elapsed", "outcome"),
    [
        ("2026-10-05 14:30", 4 * H, Outcome.MET),
        # The lunch gap 12:00-13:30 counts nothing: 3:00 + 1:01.
        ("2026-10-05 14:31", 4 * H + MINUTE, Outcome.BREACHED),
    ],
    ids=["at the target: met", "a minute past it: breached"],
)
def test_a_first_response_at_the_target_is_met_and_a_minute_later_breached(
    reply: str, elapsed: timedelta, outcome: Outcome
) -> None:
    first = clocks_after(opened(Priority.HIGH), agent_replied(local(reply))).first_response
    assert (first.elapsed, first.outcome) == (elapsed, outcome)


# Pauses.


def test_waiting_on_the_customer_pauses_both_running_clocks_and_counts_the_paused_time() -> None:
    facts = [
        opened(Priority.HIGH),
        agent_replied(local("2026-10-05 09:30")),
        waiting_on_customer(local("2026-10-05 10:00")),
    ]
    during = clocks_after(*facts).resolution
    assert (during.state, during.elapsed, during.due_at) == (ClockState.PAUSED, H, None)
    assert sla.status_at(during, TERMS, local("2026-10-05 11:00")) is SlaStatus.PAUSED
    assert sla.advance(during, TERMS, local("2026-10-05 11:00")).paused == H

    after = clocks_after(*facts, resumed(local("2026-10-05 14:30")))
    resolution = after.resolution
    # Paused 10:00-12:00 and 13:30-14:30: 3 h of business time, the lunch gap
    # not. 15 h left from Monday 14:30: 3:30 + Tuesday 8:30 + 3:00 -> Wednesday
    # 11:00. 80 % (12:48) less the 1 h spent: 11:48 -> Tuesday 17:48.
    assert (resolution.state, resolution.elapsed, resolution.paused) == (
        ClockState.RUNNING,
        H,
        3 * H,
    )
    assert (resolution.due_at, resolution.at_risk_at) == (
        local("2026-10-07 11:00"),
        local("2026-10-06 17:48"),
    )
    # The first response had stopped at 09:30: the wait left it alone.
    assert (after.first_response.elapsed, after.first_response.paused) == (0.5 * H, timedelta(0))


def test_a_wait_on_a_third_party_before_any_reply_pauses_the_first_response_clock_too() -> None:
    first = clocks_after(
        opened(Priority.HIGH),
        waiting_on_third_party(local("2026-10-05 10:00")),
        resumed(local("2026-10-05 14:30")),
    ).first_response
    # 1 h spent, 3 h paused, 3 h left from 14:30: due 17:30.
    assert (first.elapsed, first.paused, first.due_at) == (H, 3 * H, local("2026-10-05 17:30"))


def test_the_requesters_answer_to_a_wait_resumes_the_clocks_as_the_desk_resuming_does() -> None:
    waited = [
        opened(Priority.HIGH),
        agent_replied(local("2026-10-05 09:30")),
        waiting_on_customer(local("2026-10-05 10:00")),
    ]
    by_desk = clocks_after(*waited, resumed(local("2026-10-05 14:30")))
    by_answer = clocks_after(*waited, requester_replied(local("2026-10-05 14:30"), resumes=True))
    assert by_answer == by_desk
    assert by_answer.resolution.due_at == local("2026-10-07 11:00")


def test_a_ticket_closed_while_waiting_on_a_third_party_stops_with_its_wait_counted_as_paused() -> (
    None
):
    resolution = clocks_after(
        opened(Priority.HIGH),
        agent_replied(local("2026-10-05 09:30")),
        waiting_on_third_party(local("2026-10-05 10:00")),
        closed(local("2026-10-06 10:00"), ClosureReason.THIRD_PARTY),
    ).resolution
    # Paused: Monday 10-12 and 13:30-18 (6:30), Tuesday 08-10 (2:00).
    assert (resolution.state, resolution.elapsed, resolution.paused, resolution.outcome) == (
        ClockState.STOPPED,
        H,
        8.5 * H,
        Outcome.MET,
    )
    assert resolution.stopped_at == local("2026-10-06 10:00")


# Resolution and reopening.


def test_resolving_stops_both_clocks_and_a_ticket_resolved_without_a_reply_is_answered_by_it() -> (
    None
):
    clocks = clocks_after(opened(Priority.HIGH), resolved(local("2026-10-05 10:00")))
    for clock in (clocks.first_response, clocks.resolution):
        assert (clock.state, clock.elapsed, clock.outcome, clock.stopped_at) == (
            ClockState.STOPPED,
            H,
            Outcome.MET,
            local("2026-10-05 10:00"),
        )
    assert clocks.due_at is None


def test_a_resolution_past_its_target_is_breached() -> None:
    resolution = clocks_after(
        opened(Priority.HIGH),
        agent_replied(local("2026-10-05 09:30")),
        resolved(local("2026-10-07 10:00")),
    ).resolution
    # Monday 7:30 + Tuesday 8:30 + Wednesday 2:00 = 18 h of a 16 h target.
    assert (resolution.elapsed, resolution.outcome) == (18 * H, Outcome.BREACHED)
    assert sla.status_at(resolution, TERMS, local("2026-10-08 09:00")) is SlaStatus.BREACHED


@pytest.mark.parametrize(
    "reopening",
    [
        rejected(local("2026-10-05 15:00")),
        reopened(local("2026-10-05 15:00")),
        requester_replied(local("2026-10-05 15:00"), reopens=True),
    ],
    ids=["rejected", "reopened by the desk", "contested by a reply"],
)
def test_a_reopened_ticket_runs_its_resolution_clock_on_from_the_time_it_had_spent(
    reopening: Fact,
) -> None:
    clocks = clocks_after(opened(Priority.HIGH), resolved(local("2026-10-05 10:00")), reopening)
    resolution = clocks.resolution
    assert (resolution.state, resolution.elapsed, resolution.since, resolution.outcome) == (
        ClockState.RUNNING,
        H,
        local("2026-10-05 15:00"),
        None,
    )
    # 1 h before the resolution; 10:00-15:00 does not count. 15 h left from
    # Monday 15:00: 3:00 + Tuesday 8:30 + 3:30 -> Wednesday 11:30.
    assert resolution.due_at == local("2026-10-07 11:30")
    half_an_hour_on = sla.advance(resolution, TERMS, local("2026-10-05 15:30"))
    assert half_an_hour_on.elapsed == 1.5 * H
    assert sla.status_at(resolution, TERMS, local("2026-10-05 15:30")) is SlaStatus.ON_TRACK
    # The first response was answered by the resolution and stays met.
    assert (clocks.first_response.state, clocks.first_response.outcome) == (
        ClockState.STOPPED,
        Outcome.MET,
    )


# Priority changes.


def test_a_priority_change_keeps_the_time_spent_and_paused_and_applies_the_new_targets() -> None:
    clocks = clocks_after(
        opened(Priority.MEDIUM),
        waiting_on_customer(local("2026-10-05 10:00")),
        resumed(local("2026-10-05 11:00")),
        reclassified(local("2026-10-05 13:30"), Priority.HIGH, Priority.MEDIUM),
    )
    first, resolution = clocks.first_response, clocks.resolution
    assert clocks.priority is Priority.HIGH
    # Spent 09-10 and 11-12: 2 h; paused 10-11: 1 h; both kept.
    assert (first.target, first.elapsed, first.paused) == (4 * H, 2 * H, H)
    assert (resolution.target, resolution.elapsed, resolution.paused) == (16 * H, 2 * H, H)
    # 2 h left from 13:30: 15:30; at risk after 3:12, 1:12 from 13:30: 14:42.
    assert (first.due_at, first.at_risk_at) == (
        local("2026-10-05 15:30"),
        local("2026-10-05 14:42"),
    )
    # 14 h left from Monday 13:30: 4:30 + Tuesday 8:30 + 1:00 -> Wednesday 09:00
    # (it was 72 h away as a medium ticket).
    assert resolution.due_at == local("2026-10-07 09:00")


def test_a_reclassification_that_keeps_the_priority_leaves_the_clocks_alone() -> None:
    before = clocks_after(opened(Priority.MEDIUM), agent_replied(local("2026-10-05 10:00")))
    after = clocks_after(
        opened(Priority.MEDIUM),
        agent_replied(local("2026-10-05 10:00")),
        reclassified(
            local("2026-10-05 11:00"), Priority.MEDIUM, Priority.MEDIUM, kind=Kind.SERVICE_REQUEST
        ),
    )
    assert after == before


def test_a_clock_already_past_the_new_target_is_breached_as_of_the_reclassification() -> None:
    change = local("2026-10-05 13:30")
    facts = [opened(Priority.MEDIUM), reclassified(change, Priority.CRITICAL, Priority.MEDIUM)]
    clocks = clocks_after(*facts)
    first, resolution = clocks.first_response, clocks.resolution
    # 3 h spent (09-12) against critical's 2 h: breached at the change, 13:30,
    # not at 11:00 when 2 h were spent and no such target applied.
    assert (first.target, first.elapsed) == (2 * H, 3 * H)
    assert (first.due_at, first.at_risk_at) == (change, change)
    assert sla.status_at(first, TERMS, change) is SlaStatus.BREACHED
    # 8 h: 5 h left from Monday 13:30: 4:30 + Tuesday 0:30 -> 08:30. At risk
    # after 6:24: 3:24 from 13:30 -> 16:54.
    assert (resolution.due_at, resolution.at_risk_at) == (
        local("2026-10-06 08:30"),
        local("2026-10-05 16:54"),
    )
    assert sla.status_at(resolution, TERMS, change) is SlaStatus.ON_TRACK
    watch = watch_of(events_of(*facts), TERMS)
    assert [(d.rule, d.due_at) for d in deadlines(watch, TERMS)] == [
        (Rule.FIRST_RESPONSE_AT_RISK, change),
        (Rule.FIRST_RESPONSE_BREACHED, change),
        (Rule.RESOLUTION_AT_RISK, local("2026-10-05 16:54")),
        (Rule.RESOLUTION_BREACHED, local("2026-10-06 08:30") + MICROSECOND),
    ]


# Coverage calendars.

SATURDAY_8_PM = local("2026-10-10 20:00")


def test_a_critical_ticket_on_extended_coverage_runs_on_the_coverage_calendar() -> None:
    clocks = clocks_after(opened(Priority.CRITICAL, at=SATURDAY_8_PM), terms=EXTENDED)
    first, resolution = clocks.first_response, clocks.resolution
    # Coverage Mon-Sat 05:00-21:00 without Argentina's holidays: Saturday
    # 20-21 gives 1 h, Sunday none, Monday the 12th is a holiday; Tuesday from
    # 05:00: first response (2 h) at 06:00, at risk (1:36) at 05:36,
    # resolution (8 h) at 12:00.
    assert (first.calendar, resolution.calendar) == (CalendarKind.COVERAGE, CalendarKind.COVERAGE)
    assert (first.due_at, first.at_risk_at, resolution.due_at) == (
        local("2026-10-13 06:00"),
        local("2026-10-13 05:36"),
        local("2026-10-13 12:00"),
    )
    assert sla.status_at(first, EXTENDED, local("2026-10-13 05:30")) is SlaStatus.ON_TRACK
    assert sla.status_at(first, EXTENDED, local("2026-10-13 05:36")) is SlaStatus.AT_RISK


def test_a_high_ticket_on_extended_coverage_waits_for_business_hours() -> None:
    clocks = clocks_after(opened(Priority.HIGH, at=SATURDAY_8_PM), terms=EXTENDED)
    first, resolution = clocks.first_response, clocks.resolution
    # Business Mon-Fri 08:00-19:00, Monday the 12th a holiday: 4 h from Tuesday
    # 08:00 -> 12:00; 16 h: Tuesday 11 h + Wednesday 5 h -> 13:00.
    assert first.calendar is CalendarKind.BUSINESS
    assert (first.due_at, resolution.due_at) == (
        local("2026-10-13 12:00"),
        local("2026-10-14 13:00"),
    )
    assert sla.advance(first, EXTENDED, local("2026-10-12 23:00")).elapsed == timedelta(0)


def test_a_critical_ticket_lowered_to_high_keeps_its_coverage_time_and_waits_for_business() -> None:
    first = clocks_after(
        opened(Priority.CRITICAL, at=local("2026-10-10 10:00")),
        reclassified(local("2026-10-10 11:00"), Priority.HIGH, Priority.CRITICAL),
        terms=EXTENDED,
    ).first_response
    # 1 h of coverage time on Saturday kept; 3 h left in business hours from
    # Tuesday 08:00 (Monday the 12th a holiday): 11:00.
    assert (first.calendar, first.elapsed, first.target) == (CalendarKind.BUSINESS, H, 4 * H)
    assert first.due_at == local("2026-10-13 11:00")


def test_a_critical_ticket_on_standard_coverage_waits_for_business_hours() -> None:
    first = clocks_after(opened(Priority.CRITICAL, at=local("2026-10-10 10:00"))).first_response
    # Saturday, Sunday and Monday the 12th closed in Caxias do Sul: 2 h from
    # Tuesday 08:00.
    assert first.calendar is CalendarKind.BUSINESS
    assert first.due_at == local("2026-10-13 10:00")


def test_a_critical_ticket_on_24x7_coverage_runs_around_the_clock() -> None:
    terms = ContractTerms.model_validate(focco_terms(coverage="24x7", addon_24x7_share="0.30"))
    clocks = clocks_after(opened(Priority.CRITICAL, at=local("2026-10-10 22:00")), terms=terms)
    assert (clocks.first_response.due_at, clocks.resolution.due_at) == (
        local("2026-10-11 00:00"),
        local("2026-10-11 06:00"),
    )


# Cancellation.


def test_a_cancelled_tickets_clocks_stop_with_no_outcome_even_past_their_target() -> None:
    cancelled_at = local("2026-10-05 16:00")
    clocks = clocks_after(opened(Priority.HIGH), cancelled(cancelled_at))
    first, resolution = clocks.first_response, clocks.resolution
    # 3:00 + 2:30 = 5:30 spent of the 4 h first response: it would be breached.
    assert (first.state, first.elapsed, first.outcome, first.stopped_at) == (
        ClockState.STOPPED,
        5.5 * H,
        None,
        cancelled_at,
    )
    assert (resolution.state, resolution.outcome) == (ClockState.STOPPED, None)
    later = local("2026-10-09 12:00")
    assert sla.status_at(first, TERMS, later) is SlaStatus.CANCELLED
    assert sla.status_at(resolution, TERMS, later) is SlaStatus.CANCELLED


def test_a_ticket_cancelled_while_waiting_stops_its_paused_clocks_with_no_outcome() -> None:
    resolution = clocks_after(
        opened(Priority.HIGH),
        agent_replied(local("2026-10-05 09:30")),
        waiting_on_customer(local("2026-10-05 10:00")),
        cancelled(local("2026-10-05 11:00")),
    ).resolution
    assert (resolution.state, resolution.elapsed, resolution.paused, resolution.outcome) == (
        ClockState.STOPPED,
        H,
        H,
        None,
    )


def test_a_cancelled_ticket_keeps_the_first_response_it_was_given_but_no_resolution_outcome() -> (
    None
):
    """Cancelling stops the clocks still running with no outcome, so the
    resolution of a duplicate counts neither way; a first response already
    given before the cancellation was decided then and keeps its outcome."""
    # Answered at 14:31, a minute past the 4 h first response, then cancelled
    # as opened by mistake at 15:00.
    clocks = clocks_after(
        opened(Priority.HIGH),
        agent_replied(local("2026-10-05 14:31")),
        cancelled(local("2026-10-05 15:00")),
    )
    assert (clocks.resolution.state, clocks.resolution.outcome) == (ClockState.STOPPED, None)
    later = local("2026-10-09 12:00")
    assert sla.status_at(clocks.resolution, TERMS, later) is SlaStatus.CANCELLED
    assert clocks.first_response.outcome is Outcome.BREACHED
