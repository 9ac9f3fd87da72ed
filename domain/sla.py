"""SLA clocks: how much of a ticket's first-response and resolution targets the
desk has spent, as business time in the calendar that applies to the ticket.

Pure: no database, no wall clock. Every function takes the instant it acts at
and the contract terms in force when the ticket was opened, and returns a new
frozen clock, so a projection replaying the same events gets the same clocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from ticketledger.domain.calendar import BusinessCalendar
from ticketledger.domain.copies import replace, shared_when_copied
from ticketledger.domain.errors import SlaTargetUnreachableError, UnknownEventError
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Coverage, Priority


class ClockState(Enum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Outcome(Enum):
    MET = "met"
    BREACHED = "breached"


class CalendarKind(Enum):
    BUSINESS = "business"
    COVERAGE = "coverage"


class SlaStatus(Enum):
    MET = "met"
    BREACHED = "breached"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"
    PAUSED = "paused"
    CANCELLED = "cancelled"


@shared_when_copied
@dataclass(frozen=True)
class SlaClock:
    """One target's clock. `since` is the instant of the last change: elapsed and
    paused count business time up to it. `due_at` and `at_risk_at` are the
    instants elapsed reaches the target and 80 % of it: predicted while running,
    kept once reached, unknown (None) while paused or stopped short of them.
    The share that counts as at risk is the contract's (80 % unless it says)."""

    target: timedelta
    calendar: CalendarKind
    state: ClockState
    since: datetime
    elapsed: timedelta = timedelta(0)
    paused: timedelta = timedelta(0)
    due_at: datetime | None = None
    at_risk_at: datetime | None = None
    stopped_at: datetime | None = None
    outcome: Outcome | None = None

    def at_risk_after(self, terms: ContractTerms) -> timedelta:
        return self.target * terms.sla_alerts.at_risk_percent // 100

    @property
    def remaining(self) -> timedelta:
        return self.target - self.elapsed


def calendar_kind(terms: ContractTerms, priority: Priority) -> CalendarKind:
    """Outside business hours, extended and 24x7 coverage serve critical tickets
    only; every other ticket waits for business hours (DESIGN, coverage calendars)."""
    if priority is Priority.CRITICAL and terms.coverage is not Coverage.STANDARD:
        return CalendarKind.COVERAGE
    return CalendarKind.BUSINESS


def calendar_of(terms: ContractTerms, kind: CalendarKind) -> BusinessCalendar:
    if kind is CalendarKind.COVERAGE:
        return terms.coverage_calendar
    return terms.business_calendar


def start_clock(
    target: timedelta, kind: CalendarKind, terms: ContractTerms, at: datetime
) -> SlaClock:
    return _marked(SlaClock(target, kind, ClockState.RUNNING, at), terms, keep=False)


def advance(clock: SlaClock, terms: ContractTerms, at: datetime) -> SlaClock:
    """Counts the business time since the last change as elapsed (running) or
    paused (paused); a stopped clock and an instant in the past change nothing."""
    if clock.state is ClockState.STOPPED or at <= clock.since:
        return clock
    spent = calendar_of(terms, clock.calendar).business_time_between(clock.since, at)
    if clock.state is ClockState.RUNNING:
        return replace(clock, elapsed=clock.elapsed + spent, since=at)
    return replace(clock, paused=clock.paused + spent, since=at)


def pause(clock: SlaClock, terms: ContractTerms, at: datetime) -> SlaClock:
    if clock.state is not ClockState.RUNNING:
        return clock
    return _marked(replace(advance(clock, terms, at), state=ClockState.PAUSED), terms)


def resume(clock: SlaClock, terms: ContractTerms, at: datetime) -> SlaClock:
    if clock.state is not ClockState.PAUSED:
        return clock
    return _marked(replace(advance(clock, terms, at), state=ClockState.RUNNING), terms)


def stop(
    clock: SlaClock, terms: ContractTerms, at: datetime, *, cancelled: bool = False
) -> SlaClock:
    """Met means elapsed <= target at the stop. A cancelled ticket's clock stops
    with no outcome, so it counts neither way in compliance."""
    if clock.state is ClockState.STOPPED:
        return clock
    moved = advance(clock, terms, at)
    outcome = None
    if not cancelled:
        outcome = Outcome.MET if moved.elapsed <= moved.target else Outcome.BREACHED
    stopped = replace(moved, state=ClockState.STOPPED, stopped_at=moved.since, outcome=outcome)
    return _marked(stopped, terms)


def restart(clock: SlaClock, terms: ContractTerms, at: datetime) -> SlaClock:
    """A reopened ticket's resolution clock runs on from where it stopped: the
    time already spent still counts against the same target."""
    if clock.state is not ClockState.STOPPED or clock.outcome is None:
        return clock
    running = replace(clock, state=ClockState.RUNNING, since=at, stopped_at=None, outcome=None)
    return _marked(running, terms)


def retarget(
    clock: SlaClock,
    terms: ContractTerms,
    target: timedelta,
    kind: CalendarKind,
    at: datetime,
) -> SlaClock:
    """A priority change: the new target (and calendar) apply from `at` on; the
    elapsed and paused time already counted are kept, never reset. Time before
    `at` was counted in the old calendar, later time in the new one."""
    if clock.state is ClockState.STOPPED:
        return clock
    moved = replace(advance(clock, terms, at), target=target, calendar=kind)
    # keep=False: when the time already elapsed exceeds the new, shorter target,
    # the clock is breached as of the reclassification instant, not at some
    # earlier instant when no such target applied.
    return _marked(moved, terms, keep=False)


def _marked(clock: SlaClock, terms: ContractTerms, *, keep: bool = True) -> SlaClock:
    return replace(
        clock,
        due_at=_mark(clock, clock.target, clock.due_at if keep else None, terms),
        at_risk_at=_mark(
            clock, clock.at_risk_after(terms), clock.at_risk_at if keep else None, terms
        ),
    )


def _mark(
    clock: SlaClock, limit: timedelta, previous: datetime | None, terms: ContractTerms
) -> datetime | None:
    """The instant elapsed reaches `limit`."""
    if clock.elapsed >= limit:
        # Already reached: the instant predicted while the clock ran is when it
        # happened; failing that, it is the instant of this change.
        if previous is not None and previous <= clock.since:
            return previous
        return clock.since
    if clock.state is ClockState.RUNNING:
        return reached(calendar_of(terms, clock.calendar), clock.since, limit - clock.elapsed)
    return None


def reached(calendar: BusinessCalendar, since: datetime, remaining: timedelta) -> datetime:
    """The instant a running clock spends `remaining` more business time."""
    try:
        return calendar.add_business_time(since, remaining)
    except ValueError as error:
        raise SlaTargetUnreachableError(
            f"the contract's hours cannot bring an SLA clock to its target: {error}; "
            "its terms must be changed"
        ) from None


def check_clocks_can_run(terms: ContractTerms, priority: Priority, at: datetime) -> None:
    """A ticket opens only if its SLA clocks can fall due in the contract's hours."""
    open_clocks(terms, priority, at)


def status_at(clock: SlaClock, terms: ContractTerms, now: datetime) -> SlaStatus:
    """Breached means more than the target spent; at risk, the contract's share
    of it (80 %) or more."""
    if clock.state is ClockState.STOPPED:
        return SlaStatus(clock.outcome.value) if clock.outcome else SlaStatus.CANCELLED
    moved = advance(clock, terms, now)
    if moved.elapsed > moved.target:
        return SlaStatus.BREACHED
    if moved.state is ClockState.PAUSED:
        return SlaStatus.PAUSED
    if moved.elapsed >= moved.at_risk_after(terms):
        return SlaStatus.AT_RISK
    return SlaStatus.ON_TRACK


def breached_by(clock: SlaClock, cutoff: datetime) -> bool:
    """Whether the clock had spent more than its target before `cutoff`, as far
    as its marks tell: a running clock's predicted due instant counts only once
    `cutoff` has passed it."""
    return clock.due_at is not None and clock.due_at < cutoff


@shared_when_copied
@dataclass(frozen=True)
class TicketClocks:
    """Both clocks of one ticket, and the priority that sets their targets."""

    priority: Priority
    first_response: SlaClock
    resolution: SlaClock

    def both(self, change: Callable[[SlaClock], SlaClock]) -> TicketClocks:
        return replace(
            self, first_response=change(self.first_response), resolution=change(self.resolution)
        )

    @property
    def due_at(self) -> datetime | None:
        """What the desk must do next by: the first response while none was
        given, then the resolution; unknown while the clock is paused."""
        clock = self.first_response
        if clock.state is ClockState.STOPPED:
            clock = self.resolution
        if clock.state is not ClockState.RUNNING:
            return None
        return clock.due_at


def open_clocks(terms: ContractTerms, priority: Priority, at: datetime) -> TicketClocks:
    target, kind = terms.sla[priority], calendar_kind(terms, priority)
    return TicketClocks(
        priority,
        start_clock(target.first_response, kind, terms, at),
        start_clock(target.resolution, kind, terms, at),
    )


def on_event(clocks: TicketClocks, terms: ContractTerms, event: Any) -> TicketClocks:
    """The clocks after one of the ticket's later events (the opening starts
    them: `open_clocks`). Every event class is either in the clock map or
    declared to leave the clocks alone; any other is a defect, said loudly."""
    change = _CHANGES.get(type(event))
    if change is not None:
        return change(clocks, terms, event)
    if type(event) in LEAVES_CLOCKS:
        return clocks
    raise UnknownEventError(f"the SLA clocks have no rule for {type(event).__qualname__}")


ClockChange = Callable[[TicketClocks, ContractTerms, Any], TicketClocks]


def _reclassified(
    clocks: TicketClocks, terms: ContractTerms, event: Ticket.Reclassified
) -> TicketClocks:
    if event.priority is clocks.priority:
        return clocks
    target, kind, at = (
        terms.sla[event.priority],
        calendar_kind(terms, event.priority),
        event.occurred_at,
    )
    return TicketClocks(
        event.priority,
        retarget(clocks.first_response, terms, target.first_response, kind, at),
        retarget(clocks.resolution, terms, target.resolution, kind, at),
    )


def _first_response(clocks: TicketClocks, terms: ContractTerms, event: Any) -> TicketClocks:
    if not event.first_response:
        return clocks
    return replace(clocks, first_response=stop(clocks.first_response, terms, event.occurred_at))


def _paused(clocks: TicketClocks, terms: ContractTerms, event: Any) -> TicketClocks:
    return clocks.both(lambda c: pause(c, terms, event.occurred_at))


def _resumed(clocks: TicketClocks, terms: ContractTerms, event: Any) -> TicketClocks:
    return clocks.both(lambda c: resume(c, terms, event.occurred_at))


def _requester_replied(
    clocks: TicketClocks, terms: ContractTerms, event: Ticket.RequesterReplied
) -> TicketClocks:
    if event.resumes:
        clocks = _resumed(clocks, terms, event)
    if event.reopens:
        clocks = _reopened(clocks, terms, event)
    return clocks


def _resolved(clocks: TicketClocks, terms: ContractTerms, event: Any) -> TicketClocks:
    """Resolving stops both: a ticket resolved with no reply before has been
    answered by its resolution. Closing a ticket that was never resolved (a
    customer who went silent) stops them the same way."""
    return clocks.both(lambda c: stop(c, terms, event.occurred_at))


def _reopened(clocks: TicketClocks, terms: ContractTerms, event: Any) -> TicketClocks:
    """A priority changed while the ticket was resolved left the stopped clock
    alone (its outcome was decided); it takes the new target when it runs again."""
    at = event.occurred_at
    running = restart(clocks.resolution, terms, at)
    target, kind = terms.sla[clocks.priority].resolution, calendar_kind(terms, clocks.priority)
    if (running.target, running.calendar) != (target, kind):
        running = retarget(running, terms, target, kind, at)
    return replace(clocks, resolution=running)


def _cancelled(clocks: TicketClocks, terms: ContractTerms, event: Any) -> TicketClocks:
    return clocks.both(lambda c: stop(c, terms, event.occurred_at, cancelled=True))


# The events that never move a clock: acceptance comes after the resolution
# stopped both; the rules' own notices and warnings report on the clocks, and
# a notice mailed reports what happened.
LEAVES_CLOCKS: frozenset[type] = frozenset(
    {
        Ticket.Assigned,
        Ticket.Escalated,
        Ticket.Commented,
        Ticket.ContactAttemptFailed,
        Ticket.WorkLogged,
        Ticket.WorkCorrected,
        Ticket.OffHoursWorkAuthorised,
        Ticket.AcceptanceGiven,
        Ticket.Rated,
        Ticket.RequesterNoticeSent,
        Ticket.SlaWarningSent,
        Ticket.NoticeMailed,
        Ticket.Linked,
    }
)
_CHANGES: dict[type, ClockChange] = {
    Ticket.Reclassified: _reclassified,
    Ticket.AgentReplied: _first_response,
    Ticket.WaitingOnCustomer: _paused,
    Ticket.WaitingOnThirdParty: _paused,
    Ticket.Resumed: _resumed,
    Ticket.RequesterReplied: _requester_replied,
    Ticket.Resolved: _resolved,
    Ticket.AcceptanceRejected: _reopened,
    Ticket.Reopened: _reopened,
    Ticket.Closed: _resolved,
    Ticket.Cancelled: _cancelled,
}
