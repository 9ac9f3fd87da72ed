"""Time-driven rules: what the desk does on its own when time passes.

A ticket's `Watch` is what the rules need to know of it, folded from its events
(the ledger folds the stored events; the deadlines projection keeps the fold).
`deadlines` says when each rule falls due; `apply_due` enforces every rule due
by an instant on the ticket aggregate, earliest first, each at its own due
instant, re-reading the watch after each, because one consequence can cancel
another (a closure ends every SLA warning still to come).

Enforcing at the due instant, not when a ticker happens to run, is what makes
the result independent of when anyone looked: the ledger applies due rules
before every command on a ticket, and the ticker for tickets nobody touches.

Pure: no database and no wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from ticketledger.domain import sla
from ticketledger.domain.copies import replace, shared_when_copied
from ticketledger.domain.sla import ClockState, SlaClock, TicketClocks
from ticketledger.domain.terms import ClosurePeriods, ContractTerms
from ticketledger.domain.ticket import HIGHEST_LEVEL, Ticket, evolve
from ticketledger.domain.ticket_state import (
    TicketState,
    acceptance_deemed_at,
    contact_attempts_exhausted_at,
    silence_closes_at,
    silence_notice_at,
)
from ticketledger.domain.vocabulary import ClosureReason, SlaClockName, SlaThreshold

RULES_ACTOR = "ticketledger-rules"
# The smallest step of time: a clock is breached once it has spent more than its
# target, so the first breached instant is one microsecond of business time past it.
INSTANT = timedelta(microseconds=1)
MAX_CONSEQUENCES = 64


class Rule(Enum):
    """In the order rules due at the same instant are applied."""

    FIRST_RESPONSE_AT_RISK = "first_response_at_risk"
    FIRST_RESPONSE_BREACHED = "first_response_breached"
    RESOLUTION_AT_RISK = "resolution_at_risk"
    RESOLUTION_BREACHED = "resolution_breached"
    SILENCE_NOTICE = "customer_silence_notice"
    SILENCE_CLOSURE = "customer_silence_closure"
    ACCEPTANCE_DEEMED = "acceptance_deemed"
    CONTACT_ATTEMPTS_EXHAUSTED = "contact_attempts_exhausted"

    @property
    def rank(self) -> int:
        return list(Rule).index(self)


SLA_RULES: dict[tuple[SlaClockName, SlaThreshold], Rule] = {
    (SlaClockName.FIRST_RESPONSE, SlaThreshold.AT_RISK): Rule.FIRST_RESPONSE_AT_RISK,
    (SlaClockName.FIRST_RESPONSE, SlaThreshold.BREACHED): Rule.FIRST_RESPONSE_BREACHED,
    (SlaClockName.RESOLUTION, SlaThreshold.AT_RISK): Rule.RESOLUTION_AT_RISK,
    (SlaClockName.RESOLUTION, SlaThreshold.BREACHED): Rule.RESOLUTION_BREACHED,
}
SLA_RULE_PARTS = {rule: parts for parts, rule in SLA_RULES.items()}


@shared_when_copied
@dataclass(frozen=True)
class Deadline:
    rule: Rule
    due_at: datetime

    @property
    def order(self) -> tuple[datetime, int]:
        return self.due_at, self.rule.rank


@shared_when_copied
@dataclass(frozen=True)
class Watch:
    """What the rules know of one ticket: its state, from the one fold, and its
    SLA clocks under the terms it opened with."""

    ticket_id: UUID
    state: TicketState
    clocks: TicketClocks

    def after(self, event: Any, terms: ContractTerms) -> Watch:
        """The watch once `event`, one of the ticket's later events, happened."""
        return replace(
            self,
            state=evolve(self.state, event),
            clocks=sla.on_event(self.clocks, terms, event),
        )

    def warned(self, clock: SlaClockName, threshold: SlaThreshold, target: timedelta) -> bool:
        return (clock, threshold, target) in self.state.sla_warnings


def opened_watch(event: Ticket.Opened, terms: ContractTerms) -> Watch:
    return Watch(
        ticket_id=event.originator_id,
        state=evolve(None, event),
        clocks=sla.open_clocks(terms, event.priority, event.occurred_at),
    )


def watch_of(events: list[Any], terms: ContractTerms) -> Watch:
    """The watch folded from a ticket's whole history, Opened first."""
    opened, *later = events
    watch = opened_watch(opened, terms)
    for event in later:
        watch = watch.after(event, terms)
    return watch


# When each rule falls due.


def deadlines(watch: Watch, terms: ContractTerms) -> list[Deadline]:
    """Every rule still to fall due, earliest first."""
    return _in_order(watch, [*_sla_deadlines(watch, terms), *_closure_deadlines(watch, terms)])


def _in_order(watch: Watch, found: list[Deadline]) -> list[Deadline]:
    """An instant the ticket's own history has already passed (a backdated
    event) counts as its last event's, because nothing may be recorded before it."""
    if watch.state.is_final:
        return []
    kept = [replace(d, due_at=max(d.due_at, watch.state.last_occurred_at)) for d in found]
    return sorted(kept, key=lambda d: d.order)


def _sla_deadlines(
    watch: Watch, terms: ContractTerms, by: datetime | None = None
) -> Iterator[Deadline]:
    """The SLA warnings still to come; with `by`, only those due by then, found
    without walking the calendar past it."""
    clocks = (
        (SlaClockName.FIRST_RESPONSE, watch.clocks.first_response),
        (SlaClockName.RESOLUTION, watch.clocks.resolution),
    )
    for name, clock in clocks:
        if clock.state is ClockState.STOPPED:
            continue
        spent = None if by is None else sla.advance(clock, terms, by).elapsed
        limits = (
            (SlaThreshold.AT_RISK, clock.at_risk_after(terms)),
            (SlaThreshold.BREACHED, clock.target + INSTANT),
        )
        for threshold, limit in limits:
            # Once per clock, threshold and target: a priority change that sets
            # a new target can put the clock at risk again, under the new target.
            if watch.warned(name, threshold, clock.target):
                continue
            if spent is not None and spent < limit:
                continue
            reached = reached_at(clock, terms, limit)
            if reached is not None:
                yield Deadline(SLA_RULES[name, threshold], reached)


def reached_at(clock: SlaClock, terms: ContractTerms, limit: timedelta) -> datetime | None:
    """The earliest instant the clock has spent `limit`: now if it already has,
    predicted while it runs, unknown while it is paused short of it."""
    if clock.elapsed >= limit:
        return clock.since
    if clock.state is not ClockState.RUNNING:
        return None
    return sla.reached(sla.calendar_of(terms, clock.calendar), clock.since, limit - clock.elapsed)


CLOSURE_RULES: tuple[tuple[Rule, Callable[[TicketState, ClosurePeriods], datetime | None]], ...] = (
    (Rule.SILENCE_NOTICE, silence_notice_at),
    (Rule.SILENCE_CLOSURE, silence_closes_at),
    (Rule.ACCEPTANCE_DEEMED, acceptance_deemed_at),
    (Rule.CONTACT_ATTEMPTS_EXHAUSTED, contact_attempts_exhausted_at),
)


def _closure_deadlines(watch: Watch, terms: ContractTerms) -> Iterator[Deadline]:
    """The silence closure is listed before its notice is given: the notice
    falls due first, and the closure then waits on it (`silence_closure_at`)."""
    for rule, due_at in CLOSURE_RULES:
        due = due_at(watch.state, terms.closure)
        if due is not None:
            yield Deadline(rule, due)


def next_due(watch: Watch, terms: ContractTerms, now: datetime) -> Deadline | None:
    """The earliest rule due by `now`, if any."""
    found = [*_sla_deadlines(watch, terms, by=now), *_closure_deadlines(watch, terms)]
    due = [d for d in _in_order(watch, found) if d.due_at <= now]
    return due[0] if due else None


# Enforcing what is due.


def apply_due(ticket: Ticket, watch: Watch, terms: ContractTerms, now: datetime) -> Watch:
    """Records on `ticket` every consequence due by `now`, each at its due
    instant, and returns the watch after them."""
    for _ in range(MAX_CONSEQUENCES):
        due = next_due(watch, terms, now)
        if due is None:
            return watch
        already = len(ticket.pending_events)
        enforce(due, ticket, watch, terms)
        for event in ticket.pending_events[already:]:
            watch = watch.after(event, terms)
    raise RuntimeError(
        f"ticket {watch.state.number}: rules kept falling due; a rule does not settle"
    )


def enforce(due: Deadline, ticket: Ticket, watch: Watch, terms: ContractTerms) -> None:
    at, periods = due.due_at, terms.closure
    if due.rule in SLA_RULE_PARTS:
        _warn(due, ticket, watch, terms)
    elif due.rule is Rule.SILENCE_NOTICE:
        closes_at = silence_closes_at(watch.state, periods)
        assert closes_at is not None
        ticket.send_closure_notice(
            closes_at=closes_at,
            reason=f"no answer while the desk waits on the customer; the ticket closes at "
            f"{closes_at.isoformat()} unless the requester answers",
            by=RULES_ACTOR,
            occurred_at=at,
        )
    else:
        reason, note = CLOSURES[due.rule]
        ticket.close(reason, periods, note(periods), RULES_ACTOR, at)


CLOSURES: dict[Rule, tuple[ClosureReason, Callable[[Any], str]]] = {
    Rule.SILENCE_CLOSURE: (
        ClosureReason.CUSTOMER_UNRESPONSIVE,
        lambda p: f"no answer {_days(p.customer_silence)} after the desk asked, notice given",
    ),
    Rule.ACCEPTANCE_DEEMED: (
        ClosureReason.ACCEPTANCE_DEEMED,
        lambda p: f"no answer {_days(p.acceptance)} after resolution: acceptance deemed",
    ),
    Rule.CONTACT_ATTEMPTS_EXHAUSTED: (
        ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED,
        lambda p: (
            f"{p.failed_contact_attempts} failed contact attempts and "
            f"{_days(p.contact_attempts_minimum_age)} since opening"
        ),
    ),
}


def _days(period: timedelta) -> str:
    if period % timedelta(days=1) == timedelta(0):
        return f"{period.days} calendar days"
    return f"{period.total_seconds() / 3600:g} hours"


def _warn(due: Deadline, ticket: Ticket, watch: Watch, terms: ContractTerms) -> None:
    name, threshold = SLA_RULE_PARTS[due.rule]
    clocks = watch.clocks
    target = (
        clocks.first_response if name is SlaClockName.FIRST_RESPONSE else clocks.resolution
    ).target
    reason = (
        f"{name.value.replace('_', ' ')} SLA {threshold.value.replace('_', ' ')}: "
        f"{_spent(threshold, terms)} its {_span(target)} target spent (business time)"
    )
    ticket.send_sla_warning(
        clock=name,
        threshold=threshold,
        target=target,
        reason=reason,
        by=RULES_ACTOR,
        occurred_at=due.due_at,
    )
    escalates = terms.sla_alerts.escalate_on_breach and threshold is SlaThreshold.BREACHED
    if escalates and ticket.state.level < HIGHEST_LEVEL and ticket.state.status.is_active:
        ticket.escalate(f"{reason}; the contract escalates on a breach", RULES_ACTOR, due.due_at)


def _spent(threshold: SlaThreshold, terms: ContractTerms) -> str:
    if threshold is SlaThreshold.AT_RISK:
        return f"{terms.sla_alerts.at_risk_percent} % of"
    return "more than"


def _span(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return (
        " ".join(part for part in (f"{hours} h" * bool(hours), f"{rest} min" * bool(rest)) if part)
        or "0 min"
    )
