"""The rules of time that close a ticket (seeds 000, 001, 004), asked of the
manual close and of the rule engine alike, so they agree on every history.

- Seed 000/001: a resolved ticket the requester does not answer is closed 7
  calendar days ("dias corridos") after its resolution, acceptance deemed.
- Seed 001/004: a ticket waiting on the customer with no answer for 7 days is
  closed, after a prior notice ("serán cerrados previo aviso"): the notice is
  due 2 days before the closure (ClosurePeriods), at wait + 5 days.
- Seed 001: a third party's system is out of the desk's hands: the ticket may
  be closed while it waits on that third party.

Local times are Caxias do Sul (America/Sao_Paulo, UTC-3 all of 2026, no DST):
Monday 2026-10-05 09:00 local is 12:00 UTC. Monday 2026-10-12 is a national
holiday in Brazil (Nossa Senhora Aparecida).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.domain.support import (
    AGENT,
    PERIODS,
    REQUESTER,
    Fact,
    agent_replied,
    events_of,
    failed_contact,
    given,
    hours,
    notice_sent,
    opened,
    refused,
    rejected,
    requester_replied,
    resolved,
    resumed,
    waiting_on_customer,
    waiting_on_third_party,
    when,
)
from tests.support import at, focco_terms
from ticketledger.domain.deadlines import (
    RULES_ACTOR,
    Rule,
    Watch,
    apply_due,
    deadlines,
    watch_of,
)
from ticketledger.domain.errors import (
    ClosureNotDueError,
    NothingChangedError,
    TicketNotWaitingError,
)
from ticketledger.domain.terms import ClosurePeriods, ContractTerms
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import (
    ClosureReason,
    Notice,
    Priority,
    SlaClockName,
    SlaThreshold,
    Status,
)

TERMS = ContractTerms.model_validate(focco_terms())
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)
DAY = timedelta(days=1)

DEEMED = ClosureReason.ACCEPTANCE_DEEMED
SILENT = ClosureReason.CUSTOMER_UNRESPONSIVE
THIRD_PARTY = ClosureReason.THIRD_PARTY
SILENCE_RULES = (Rule.SILENCE_NOTICE, Rule.SILENCE_CLOSURE)


def due(facts: list[Fact], terms: ContractTerms = TERMS) -> list[tuple[Rule, datetime]]:
    """What the rule engine would do next, and when."""
    return [(d.rule, d.due_at) for d in deadlines(watch_of(events_of(*facts), terms), terms)]


def silence_due(facts: list[Fact]) -> list[tuple[Rule, datetime]]:
    return [(rule, instant) for rule, instant in due(facts) if rule in SILENCE_RULES]


def close_as(reason: ClosureReason, instant: datetime, periods: ClosurePeriods = PERIODS) -> Any:
    return lambda t: t.close(reason, periods, "", AGENT, instant)


def apply_rules(instant: datetime, facts: list[Fact], terms: ContractTerms = TERMS) -> Any:
    """The rule engine run at `instant` on the ticket the facts leave."""
    watch = watch_of(events_of(*facts), terms)
    return lambda t: apply_due(t, watch, terms, instant)


# Acceptance deemed, 7 calendar days after the resolution.

# Friday 2026-10-09 12:00 local: the 7 days run over a weekend and a holiday,
# which calendar days count like any other.
RESOLVED_AT = at("2026-10-09 15:00")
DEEMED_AT = at("2026-10-16 15:00")


def resolved_on_friday() -> list[Fact]:
    return [opened(), agent_replied(hours(1)), resolved(RESOLVED_AT)]


def test_acceptance_is_deemed_seven_calendar_days_after_the_resolution() -> None:
    assert due(resolved_on_friday()) == [(Rule.ACCEPTANCE_DEEMED, DEEMED_AT)]


def test_closing_as_acceptance_deemed_a_second_early_is_refused_naming_the_instant() -> None:
    early = DEEMED_AT - SECOND
    refused(
        given(*resolved_on_friday()),
        early,
        close_as(DEEMED, early),
        ClosureNotDueError,
        match="from 2026-10-16T15:00:00",
    )


def test_closing_as_acceptance_deemed_at_the_instant_closes_the_ticket() -> None:
    ticket = given(*resolved_on_friday())
    recorded = when(ticket, DEEMED_AT, close_as(DEEMED, DEEMED_AT))
    assert [(type(e), e.reason, e.occurred_at) for e in recorded] == [
        (Ticket.Closed, DEEMED, DEEMED_AT)
    ]
    state = ticket.state
    assert (state.status, state.closure_reason, state.closed_at) == (
        Status.CLOSED,
        DEEMED,
        DEEMED_AT,
    )


def test_a_rejected_resolution_is_never_deemed_accepted() -> None:
    facts = [*resolved_on_friday(), rejected(RESOLVED_AT + DAY)]
    assert Rule.ACCEPTANCE_DEEMED not in [rule for rule, _ in due(facts)]
    refused(
        given(*facts),
        DEEMED_AT,
        close_as(DEEMED, DEEMED_AT),
        ClosureNotDueError,
        match="while open",
    )


def test_a_second_resolution_starts_the_seven_days_again() -> None:
    again = RESOLVED_AT + 2 * DAY
    facts = [*resolved_on_friday(), rejected(RESOLVED_AT + DAY), resolved(again)]
    assert due(facts) == [(Rule.ACCEPTANCE_DEEMED, at("2026-10-18 15:00"))]
    refused(given(*facts), DEEMED_AT, close_as(DEEMED, DEEMED_AT), ClosureNotDueError)


def test_the_contract_may_set_its_own_acceptance_period() -> None:
    terms = ContractTerms.model_validate(focco_terms(closure={"acceptance": "P3D"}))
    assert due(resolved_on_friday(), terms) == [(Rule.ACCEPTANCE_DEEMED, at("2026-10-12 15:00"))]
    ticket = given(*resolved_on_friday())
    three_days = at("2026-10-12 15:00")
    recorded = when(ticket, three_days, close_as(DEEMED, three_days, terms.closure))
    assert [e.reason for e in recorded] == [DEEMED]


def test_the_rule_engine_deems_acceptance_at_the_instant_and_not_a_microsecond_before() -> None:
    just_before = DEEMED_AT - MICROSECOND
    early = given(*resolved_on_friday())
    assert when(early, just_before, apply_rules(just_before, resolved_on_friday())) == []
    ticket = given(*resolved_on_friday())
    late = DEEMED_AT + 2 * DAY
    recorded = when(ticket, late, apply_rules(late, resolved_on_friday()))
    assert [(type(e), e.reason, e.occurred_at, e.timestamp, e.by) for e in recorded] == [
        (Ticket.Closed, DEEMED, DEEMED_AT, late, RULES_ACTOR)
    ]
    assert recorded[0].note == "no answer 7 calendar days after resolution: acceptance deemed"


# A silent customer: notice at wait + 5 days, closure at wait + 7 days.

WAITING_AT = hours(2)  # Monday 2026-10-05 11:00 local, 14:00 UTC
NOTICE_AT = at("2026-10-10 14:00")
SILENCE_CLOSES_AT = at("2026-10-12 14:00")


def waiting() -> list[Fact]:
    return [opened(), agent_replied(hours(1)), waiting_on_customer(WAITING_AT)]


def told() -> list[Fact]:
    return [*waiting(), notice_sent(NOTICE_AT, SILENCE_CLOSES_AT)]


def test_a_silent_customer_is_told_at_five_days_and_closed_on_at_seven() -> None:
    # The SLA clocks ask nothing: the first response was given, the resolution
    # clock is paused at 2 h of its 16 h.
    assert due(waiting()) == [
        (Rule.SILENCE_NOTICE, NOTICE_AT),
        (Rule.SILENCE_CLOSURE, SILENCE_CLOSES_AT),
    ]


def test_the_silence_closure_is_refused_while_the_requester_was_not_told() -> None:
    refused(
        given(*waiting()),
        SILENCE_CLOSES_AT + DAY,
        close_as(SILENT, SILENCE_CLOSES_AT + DAY),
        ClosureNotDueError,
        match="while waiting_on_customer",
    )


def test_once_told_the_silent_customer_is_closed_on_at_seven_days_and_not_a_second_before() -> None:
    early = SILENCE_CLOSES_AT - SECOND
    refused(
        given(*told()),
        early,
        close_as(SILENT, early),
        ClosureNotDueError,
        match="from 2026-10-12T14:00:00",
    )
    ticket = given(*told())
    recorded = when(ticket, SILENCE_CLOSES_AT, close_as(SILENT, SILENCE_CLOSES_AT))
    assert [(type(e), e.reason) for e in recorded] == [(Ticket.Closed, SILENT)]
    state = ticket.state
    assert (state.status, state.closed_at, state.waiting_since) == (
        Status.CLOSED,
        SILENCE_CLOSES_AT,
        None,
    )


def test_the_notice_tells_the_requester_when_the_ticket_closes_and_is_given_once() -> None:
    ticket = given(*waiting())
    recorded = when(
        ticket,
        NOTICE_AT,
        lambda t: t.send_closure_notice(
            closes_at=SILENCE_CLOSES_AT, reason="no answer", by=RULES_ACTOR, occurred_at=NOTICE_AT
        ),
    )
    assert [(type(e), e.requester, e.notice, e.closes_at) for e in recorded] == [
        (Ticket.RequesterNoticeSent, REQUESTER, Notice.CLOSURE_PENDING, SILENCE_CLOSES_AT)
    ]
    assert ticket.state.closure_notice_at == NOTICE_AT
    refused(
        ticket,
        NOTICE_AT + DAY,
        lambda t: t.send_closure_notice(
            closes_at=SILENCE_CLOSES_AT, reason="again", by=RULES_ACTOR, occurred_at=NOTICE_AT + DAY
        ),
        NothingChangedError,
    )
    assert due(told()) == [(Rule.SILENCE_CLOSURE, SILENCE_CLOSES_AT)]


def test_no_closure_notice_is_given_on_a_ticket_that_does_not_wait_on_the_customer() -> None:
    refused(
        given(opened(), agent_replied(hours(1))),
        NOTICE_AT,
        lambda t: t.send_closure_notice(
            closes_at=SILENCE_CLOSES_AT, reason="?", by=RULES_ACTOR, occurred_at=NOTICE_AT
        ),
        TicketNotWaitingError,
    )


def test_a_requester_answer_before_the_notice_cancels_notice_and_closure() -> None:
    facts = [*waiting(), requester_replied(NOTICE_AT - SECOND, resumes=True)]
    assert silence_due(facts) == []
    refused(
        given(*facts),
        SILENCE_CLOSES_AT,
        close_as(SILENT, SILENCE_CLOSES_AT),
        ClosureNotDueError,
        match="while open",
    )


def test_a_requester_answer_after_the_notice_cancels_the_closure() -> None:
    facts = [*told(), requester_replied(SILENCE_CLOSES_AT - SECOND, resumes=True)]
    assert silence_due(facts) == []
    refused(
        given(*facts),
        SILENCE_CLOSES_AT,
        close_as(SILENT, SILENCE_CLOSES_AT),
        ClosureNotDueError,
        match="while open",
    )


def test_the_desk_resuming_the_ticket_cancels_the_silence_rules_too() -> None:
    assert silence_due([*told(), resumed(NOTICE_AT + DAY)]) == []


def test_a_new_wait_restarts_the_notice_and_the_closure_and_the_old_notice_does_not_count() -> None:
    answered = NOTICE_AT + DAY  # 2026-10-11 14:00
    waits_again = answered + timedelta(hours=1)  # 2026-10-11 15:00
    facts = [
        *told(),
        requester_replied(answered, resumes=True),
        waiting_on_customer(waits_again),
    ]
    assert silence_due(facts) == [
        (Rule.SILENCE_NOTICE, at("2026-10-16 15:00")),
        (Rule.SILENCE_CLOSURE, at("2026-10-18 15:00")),
    ]
    assert given(*facts).state.closure_notice_at is None
    for instant in (SILENCE_CLOSES_AT, at("2026-10-18 15:00")):
        refused(given(*facts), instant, close_as(SILENT, instant), ClosureNotDueError)


def test_the_contract_may_set_its_own_silence_and_notice_periods() -> None:
    terms = ContractTerms.model_validate(
        focco_terms(closure={"customer_silence": "P10D", "customer_silence_notice": "P3D"})
    )
    assert due(waiting(), terms) == [
        (Rule.SILENCE_NOTICE, at("2026-10-12 14:00")),
        (Rule.SILENCE_CLOSURE, at("2026-10-15 14:00")),
    ]


# A third party's system: closable while the ticket waits on it.

THIRD_PARTY_AT = hours(2)


def test_a_ticket_waiting_on_a_third_party_may_be_closed_from_the_start_of_the_wait() -> None:
    ticket = given(opened(), agent_replied(hours(1)), waiting_on_third_party(THIRD_PARTY_AT))
    recorded = when(ticket, hours(3), close_as(THIRD_PARTY, THIRD_PARTY_AT))
    assert [(type(e), e.reason, e.occurred_at) for e in recorded] == [
        (Ticket.Closed, THIRD_PARTY, THIRD_PARTY_AT)
    ]
    assert (ticket.state.status, ticket.state.closure_reason) == (Status.CLOSED, THIRD_PARTY)


@pytest.mark.parametrize(
    ("facts", "status"),
    [
        ([opened(), agent_replied(hours(1))], "open"),
        ([opened(), agent_replied(hours(1)), waiting_on_customer(hours(2))], "waiting_on_customer"),
        ([opened(), resolved(hours(2))], "resolved"),
        (
            [opened(), waiting_on_third_party(hours(1)), resumed(hours(2))],
            "open",
        ),
    ],
    ids=["open", "waiting on the customer", "resolved", "resumed after the third party"],
)
def test_a_ticket_not_waiting_on_a_third_party_is_not_closed_for_one(
    facts: list[Fact], status: str
) -> None:
    refused(
        given(*facts),
        hours(3),
        close_as(THIRD_PARTY, hours(3)),
        ClosureNotDueError,
        match=f"as third_party while {status}",
    )


def test_the_rule_engine_never_closes_for_a_third_party_on_its_own() -> None:
    facts = [opened(), agent_replied(hours(1)), waiting_on_third_party(THIRD_PARTY_AT)]
    assert due(facts) == []
    ticket = given(*facts)
    assert when(ticket, at("2026-12-01 12:00"), apply_rules(at("2026-12-01 12:00"), facts)) == []


# The rule engine: each consequence at its own instant, by the rules.


def test_the_rules_record_the_notice_and_the_closure_each_at_its_own_instant() -> None:
    ticket = given(*waiting())
    late = at("2026-10-20 09:00")
    recorded = when(ticket, late, apply_rules(late, waiting()))
    assert [(type(e), e.occurred_at, e.timestamp, e.by) for e in recorded] == [
        (Ticket.RequesterNoticeSent, NOTICE_AT, late, RULES_ACTOR),
        (Ticket.Closed, SILENCE_CLOSES_AT, late, RULES_ACTOR),
    ]
    notice, closure = recorded
    assert (notice.requester, notice.closes_at) == (REQUESTER, SILENCE_CLOSES_AT)
    assert closure.reason is SILENT
    assert (ticket.state.status, ticket.state.closed_at) == (Status.CLOSED, SILENCE_CLOSES_AT)


def test_rules_run_between_the_notice_and_the_closure_record_each_when_it_falls_due() -> None:
    ticket = given(*waiting())
    watches = [watch_of(events_of(*waiting()), TERMS)]

    def run(instant: datetime) -> list[Any]:
        """The rule engine at `instant`, on the watch the previous run left."""
        return when(
            ticket, instant, lambda t: watches.append(apply_due(t, watches[-1], TERMS, instant))
        )

    assert run(NOTICE_AT - MICROSECOND) == []
    notice = run(NOTICE_AT + DAY)
    assert [(type(e), e.occurred_at) for e in notice] == [(Ticket.RequesterNoticeSent, NOTICE_AT)]
    assert run(SILENCE_CLOSES_AT - MICROSECOND) == []
    closure = run(SILENCE_CLOSES_AT)
    assert [(type(e), e.occurred_at) for e in closure] == [(Ticket.Closed, SILENCE_CLOSES_AT)]
    assert run(SILENCE_CLOSES_AT + DAY) == []
    assert watches[-1].state == ticket.state


# Friday 2026-10-09 09:00 local (12:00 UTC), high (first response 4 h,
# resolution 16 h), three failed contacts that morning and no reply.
# First response: 80 % (3:12) at 09:00 + 3:00 + 0:12 from 13:30 = 13:42 local;
# breached one microsecond past 4 h, 14:30 local. The 48 h since opening end on
# Sunday 2026-10-11 09:00 local. The resolution clock would be at risk (12:48)
# after Friday's 7:30, Monday the 12th a holiday, Tuesday 08-12 (4:00) and 1:18
# from 13:30: Tuesday 14:48 local; its 16 h are spent at Tuesday 18:00, the end
# of a window, so the first instant past them is Wednesday 08:00 plus 1 µs.
FRIDAY = at("2026-10-09 12:00")


def silent_after_three_failed_contacts() -> list[Fact]:
    return [
        opened(Priority.HIGH, at=FRIDAY),
        *(failed_contact(FRIDAY + timedelta(hours=n), n) for n in (1, 2, 3)),
    ]


def test_without_a_closure_the_rules_would_warn_on_both_clocks() -> None:
    assert due(silent_after_three_failed_contacts()) == [
        (Rule.FIRST_RESPONSE_AT_RISK, at("2026-10-09 16:42")),
        (Rule.FIRST_RESPONSE_BREACHED, at("2026-10-09 17:30") + MICROSECOND),
        (Rule.CONTACT_ATTEMPTS_EXHAUSTED, at("2026-10-11 12:00")),
        (Rule.RESOLUTION_AT_RISK, at("2026-10-13 17:48")),
        (Rule.RESOLUTION_BREACHED, at("2026-10-14 11:00") + MICROSECOND),
    ]


def test_a_closure_cancels_the_sla_warnings_that_would_have_come_after_it() -> None:
    facts = silent_after_three_failed_contacts()
    ticket = given(*facts)
    late = at("2026-10-14 12:00")
    recorded = when(ticket, late, apply_rules(late, facts))
    warnings = [
        (e.clock, e.threshold, e.target, e.recipient, e.occurred_at, e.by)
        for e in recorded
        if isinstance(e, Ticket.SlaWarningSent)
    ]
    four_hours = timedelta(hours=4)
    assert warnings == [
        (
            SlaClockName.FIRST_RESPONSE,
            SlaThreshold.AT_RISK,
            four_hours,
            None,
            at("2026-10-09 16:42"),
            RULES_ACTOR,
        ),
        (
            SlaClockName.FIRST_RESPONSE,
            SlaThreshold.BREACHED,
            four_hours,
            None,
            at("2026-10-09 17:30") + MICROSECOND,
            RULES_ACTOR,
        ),
    ]
    assert [type(e) for e in recorded] == [
        Ticket.SlaWarningSent,
        Ticket.SlaWarningSent,
        Ticket.Closed,
    ]
    closure = recorded[-1]
    assert (closure.reason, closure.occurred_at, closure.by) == (
        ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED,
        at("2026-10-11 12:00"),
        RULES_ACTOR,
    )
    assert closure.note == "3 failed contact attempts and 2 calendar days since opening"


def test_a_contract_that_escalates_on_a_breach_escalates_at_the_breach_instant() -> None:
    terms = ContractTerms.model_validate(focco_terms(sla_alerts={"escalate_on_breach": True}))
    facts = silent_after_three_failed_contacts()
    ticket = given(*facts)
    evening = at("2026-10-09 21:00")
    recorded = when(ticket, evening, apply_rules(evening, facts, terms))
    breach = at("2026-10-09 17:30") + MICROSECOND
    assert [(type(e), e.occurred_at, e.by) for e in recorded] == [
        (Ticket.SlaWarningSent, at("2026-10-09 16:42"), RULES_ACTOR),
        (Ticket.SlaWarningSent, breach, RULES_ACTOR),
        (Ticket.Escalated, breach, RULES_ACTOR),
    ]
    assert (recorded[-1].from_level, recorded[-1].to_level) == (1, 2)


def test_the_rules_run_twice_at_one_instant_record_nothing_the_second_time() -> None:
    facts = silent_after_three_failed_contacts()
    ticket = given(*facts)
    late = at("2026-10-14 12:00")
    watch = watch_of(events_of(*facts), TERMS)
    after: list[Watch] = []
    first = when(ticket, late, lambda t: after.append(apply_due(t, watch, TERMS, late)))
    again = when(ticket, late, lambda t: after.append(apply_due(t, after[0], TERMS, late)))
    assert (len(first), again) == (3, [])
    assert after[1] == after[0]
    assert deadlines(after[0], TERMS) == []
    assert after[0].state.status is Status.CLOSED
