"""What a ticket's events mean: the immutable state they fold into, and the
rules of time read from that state.

`TicketState` is the one answer to "what is this ticket now". `evolve` in
domain/ticket.py builds it, one event at a time, for the aggregate, the
deadline watch, the projections, the chronology and as-of alike; nothing else
interprets a ticket's events. The closure rules below are asked by both the
manual-close guard and the rule engine, so they cannot disagree.

Pure: no database and no wall clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from ticketledger.domain.canonical import CanonicalSet
from ticketledger.domain.copies import shared_when_copied
from ticketledger.domain.terms import ClosurePeriods
from ticketledger.domain.vocabulary import (
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
    Priority,
    SlaClockName,
    SlaThreshold,
    Status,
    WorkCategory,
)

ZERO = timedelta(0)
SlaWarning = tuple[SlaClockName, SlaThreshold, timedelta]


@shared_when_copied
@dataclass(frozen=True)
class WorkEntry:
    """One stretch of work as it stands after any corrections."""

    entry_id: UUID
    agent: str
    started_at: datetime
    duration: timedelta
    category: WorkCategory
    customer_caused: bool
    off_hours: timedelta
    off_hours_covered: timedelta
    priority: Priority
    note: str
    corrections: int = 0

    @property
    def off_hours_billable(self) -> timedelta:
        return self.off_hours - self.off_hours_covered


class Rating(NamedTuple):
    """The requester's one rating of the service: `score` from 1 to `out_of`."""

    score: int
    out_of: int
    comment: str


@shared_when_copied
@dataclass(frozen=True)
class TicketState:
    """A ticket as its events left it. Collections are read-only mappings and
    sets: `evolve` builds new ones, never changes the old."""

    number: str
    contract_id: UUID
    customer: str
    requester: str
    subject: str
    description: str
    channel: Channel
    kind: Kind
    priority: Priority
    opened_at: datetime
    last_occurred_at: datetime
    level: int = 1
    assignee: str | None = None
    status: Status = Status.NEW
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    closure_reason: ClosureReason | None = None
    waiting_since: datetime | None = None
    # Failed contacts since the desk last heard from the requester: a reply, a
    # rejection of the resolution, or the resolution itself starts them again.
    failed_contact_attempts: int = 0
    agent_replies: int = 0
    requester_replies: int = 0
    comments: int = 0
    reopen_count: int = 0
    work: Mapping[UUID, WorkEntry] = field(default_factory=dict)
    off_hours_authorisations: Mapping[UUID, datetime] = field(default_factory=dict)
    rating: Rating | None = None
    links: Mapping[UUID, tuple[str, LinkKind]] = field(default_factory=dict)
    closure_notice_at: datetime | None = None
    sla_warnings: CanonicalSet[SlaWarning] = frozenset()

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def waiting_on_customer_since(self) -> datetime | None:
        return self.waiting_since if self.status is Status.WAITING_ON_CUSTOMER else None

    @property
    def worked(self) -> list[WorkEntry]:
        """The entries that still count: a correction to zero voids one."""
        return [w for w in self.work.values() if w.duration > ZERO]

    @property
    def work_time(self) -> timedelta:
        return sum((w.duration for w in self.worked), ZERO)


# The rules of time, read from the state. Each answers when a closure for its
# reason becomes allowed, or None while it cannot come.


def closure_due_at(
    state: TicketState, reason: ClosureReason, periods: ClosurePeriods
) -> datetime | None:
    """A silent customer's ticket closes only after the requester was told so;
    a resolved ticket closes by acceptance, not for failed contacts."""
    if state.is_final:
        return None
    rule = CLOSURE_RULES.get(reason)
    return None if rule is None else rule(state, periods)


def acceptance_deemed_at(state: TicketState, periods: ClosurePeriods) -> datetime | None:
    if state.status is not Status.RESOLVED or state.resolved_at is None:
        return None
    return state.resolved_at + periods.acceptance


def silence_closes_at(state: TicketState, periods: ClosurePeriods) -> datetime | None:
    """When a customer who stays silent is closed on, notice given or not."""
    since = state.waiting_on_customer_since
    return None if since is None else since + periods.customer_silence


def silence_closure_at(state: TicketState, periods: ClosurePeriods) -> datetime | None:
    if state.closure_notice_at is None:
        return None
    return silence_closes_at(state, periods)


def silence_notice_at(state: TicketState, periods: ClosurePeriods) -> datetime | None:
    """When the requester is told the ticket will close (seed 004 "previo aviso")."""
    closes_at = silence_closes_at(state, periods)
    if closes_at is None or state.closure_notice_at is not None:
        return None
    return closes_at - periods.customer_silence_notice


def contact_attempts_exhausted_at(state: TicketState, periods: ClosurePeriods) -> datetime | None:
    if state.status is Status.RESOLVED:
        return None
    if state.failed_contact_attempts < periods.failed_contact_attempts:
        return None
    return state.opened_at + periods.contact_attempts_minimum_age


def third_party_closure_at(state: TicketState, periods: ClosurePeriods) -> datetime | None:
    """A third party's system is out of the desk's hands (seed 001): closable at once."""
    return state.waiting_since if state.status is Status.WAITING_ON_THIRD_PARTY else None


CLOSURE_RULES = {
    ClosureReason.ACCEPTANCE_DEEMED: acceptance_deemed_at,
    ClosureReason.CUSTOMER_UNRESPONSIVE: silence_closure_at,
    ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED: contact_attempts_exhausted_at,
    ClosureReason.THIRD_PARTY: third_party_closure_at,
}
