"""The Ticket aggregate: a customer's request from opening to closure.

Each command method checks its invariants in small `check_*` methods and then
triggers exactly one event; a refused command raises a specific DomainError
and leaves the ticket untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import singledispatch
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ticketledger.domain.attachments import NONE as NO_ATTACHMENTS
from ticketledger.domain.attachments import Attachment
from ticketledger.domain.copies import copied_by_attributes, replace
from ticketledger.domain.errors import (
    AlreadyRatedError,
    AlreadyWaitingError,
    ClosureNotDueError,
    DuplicateWorkEntryError,
    HighestLevelError,
    InvalidCommandError,
    InvalidLinkError,
    InvalidTransitionError,
    NothingChangedError,
    NotRateableError,
    OffHoursNotAuthorisedError,
    TicketCancelledError,
    TicketClosedError,
    TicketNotFoundError,
    TicketNotResolvedError,
    TicketNotWaitingError,
    UnknownEventError,
    WorkEntryNotFoundError,
)
from ticketledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    RecordsInOrder,
    check_aware,
    check_occurred_at,
    fold_from_nothing,
)
from ticketledger.domain.terms import ClosurePeriods
from ticketledger.domain.ticket_state import Rating, TicketState, WorkEntry, closure_due_at
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
    MailNotice,
    Notice,
    Priority,
    SlaClockName,
    SlaThreshold,
    Status,
    Visibility,
    WorkCategory,
)

HIGHEST_LEVEL = 3
MAX_WORK_ENTRY = timedelta(hours=24)
RATING_SCALE = 5  # the seeds' satisfaction scale: 1 (worst) to 5 (best)


@dataclass(frozen=True)
class WorkSplit:
    """How a stretch of work falls against the contract's calendars, computed by
    the application from the calendar, never typed in by the agent."""

    off_hours: timedelta
    off_hours_covered: timedelta


@copied_by_attributes
class Ticket(RecordsInOrder, Aggregate):
    TOPIC = "ticketledger:Ticket"

    class Created(LedgerCreated):
        TOPIC = "ticketledger:Ticket.Created"

    class Opened(Created):
        TOPIC = "ticketledger:Ticket.Opened"
        number: str
        contract_id: UUID
        customer: str
        requester: str
        channel: Channel
        kind: Kind
        priority: Priority
        subject: str
        description: str
        # Since schema 4. Events stored before hold none: they read this class
        # default, and encode byte for byte as they were stored.
        attachments: tuple[Attachment, ...] = NO_ATTACHMENTS

        def apply(self, aggregate: Any) -> None:
            aggregate.state = evolve(None, self)

    class Event(LedgerEvent):
        def apply(self, aggregate: Any) -> None:
            aggregate.state = evolve(aggregate.state, self)

    class Reclassified(Event):
        """Priority changes move the SLA targets from now on; time already
        elapsed and paused is kept (keeps_sla_clock says so)."""

        TOPIC = "ticketledger:Ticket.Reclassified"
        kind: Kind
        priority: Priority
        level: int
        previous_kind: Kind
        previous_priority: Priority
        previous_level: int
        reason: str
        keeps_sla_clock: bool

    class Assigned(Event):
        TOPIC = "ticketledger:Ticket.Assigned"
        assignee: str
        previous_assignee: str | None

    class Escalated(Event):
        TOPIC = "ticketledger:Ticket.Escalated"
        from_level: int
        to_level: int
        reason: str

    class AgentReplied(Event):
        TOPIC = "ticketledger:Ticket.AgentReplied"
        message: str
        first_response: bool

    class RequesterReplied(Event):
        """A requester's answer ends a wait on the customer (resumes says so) and
        contests a resolution (reopens says so: seed 001 lets a reply reopen a
        resolved ticket until it is closed). Failed contacts start counting again."""

        TOPIC = "ticketledger:Ticket.RequesterReplied"
        message: str
        resumes: bool
        reopens: bool
        # Since schema 4, as Opened's.
        attachments: tuple[Attachment, ...] = NO_ATTACHMENTS

    class Commented(Event):
        TOPIC = "ticketledger:Ticket.Commented"
        text: str
        visibility: Visibility

    class WaitingOnCustomer(Event):
        TOPIC = "ticketledger:Ticket.WaitingOnCustomer"
        reason: str

    class WaitingOnThirdParty(Event):
        TOPIC = "ticketledger:Ticket.WaitingOnThirdParty"
        third_party: str
        reason: str

    class Resumed(Event):
        TOPIC = "ticketledger:Ticket.Resumed"
        reason: str

    class ContactAttemptFailed(Event):
        TOPIC = "ticketledger:Ticket.ContactAttemptFailed"
        channel: Channel
        note: str
        attempt: int

    class WorkLogged(Event):
        TOPIC = "ticketledger:Ticket.WorkLogged"
        entry_id: UUID
        agent: str
        started_at: datetime
        duration: timedelta
        category: WorkCategory
        customer_caused: bool
        off_hours: timedelta
        off_hours_covered: timedelta
        priority: Priority
        authorisation_id: UUID | None
        note: str

    class WorkCorrected(Event):
        """A compensating event: the entry it names now reads with these values.
        A zero duration voids the entry. The original event stays as it was."""

        TOPIC = "ticketledger:Ticket.WorkCorrected"
        corrects: UUID
        duration: timedelta
        category: WorkCategory
        customer_caused: bool
        off_hours: timedelta
        off_hours_covered: timedelta
        previous_duration: timedelta
        reason: str

    class OffHoursWorkAuthorised(Event):
        """The customer's prior authorisation for billable off-hours work (seed 002)."""

        TOPIC = "ticketledger:Ticket.OffHoursWorkAuthorised"
        authorisation_id: UUID
        authorised_by: str
        note: str
        as_exception: bool

    class Resolved(Event):
        """Resolving asks the requester for technical acceptance."""

        TOPIC = "ticketledger:Ticket.Resolved"
        resolution: str
        acceptance_requested_from: str

    class AcceptanceGiven(Event):
        TOPIC = "ticketledger:Ticket.AcceptanceGiven"
        comment: str

    class AcceptanceRejected(Event):
        TOPIC = "ticketledger:Ticket.AcceptanceRejected"
        reason: str

    class Reopened(Event):
        TOPIC = "ticketledger:Ticket.Reopened"
        reason: str

    class Closed(Event):
        TOPIC = "ticketledger:Ticket.Closed"
        reason: ClosureReason
        note: str

    class Cancelled(Event):
        TOPIC = "ticketledger:Ticket.Cancelled"
        reason: CancellationReason
        duplicate_of: UUID | None
        note: str

    class Rated(Event):
        """Version 2 records the scale the score was given on (`out_of`), so a
        later change of scale cannot make an old 5 read as a poor mark. Stored
        version 1 rows are never rewritten: they read as version 2 on the way
        in, through `upcast_v1_v2`."""

        TOPIC = "ticketledger:Ticket.Rated"
        class_version = 2
        score: int
        out_of: int
        comment: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # A literal, not RATING_SCALE: version 1 offered only the seeds' 1 to 5
            # scale, whatever scale the ledger offers later.
            state["out_of"] = 5

    class RequesterNoticeSent(Event):
        """The desk told the requester it will act on its own: while it waits on
        the customer, that the ticket closes at `closes_at` without an answer."""

        TOPIC = "ticketledger:Ticket.RequesterNoticeSent"
        requester: str
        notice: Notice
        reason: str
        closes_at: datetime

    class SlaWarningSent(Event):
        """The assignee (`recipient`; None while unassigned: the ticket's queue)
        was warned that an SLA clock reached a threshold of `target`."""

        TOPIC = "ticketledger:Ticket.SlaWarningSent"
        clock: SlaClockName
        threshold: SlaThreshold
        target: timedelta
        recipient: str | None
        reason: str

    class NoticeMailed(Event):
        """The relay took an e-mail notice to `recipient` of what the ticket's
        event at `about_version` did, sent as `message_id`. A record of what
        the requester was told, not a change: no rule reads it."""

        TOPIC = "ticketledger:Ticket.NoticeMailed"
        notice: MailNotice
        about_version: int
        recipient: str
        message_id: str

    class Linked(Event):
        TOPIC = "ticketledger:Ticket.Linked"
        other_ticket_id: UUID
        other_number: str
        link_kind: LinkKind

    def __init__(self) -> None:
        # Set by the opening: every event's apply folds the ticket's state.
        self.state: TicketState

    def occurred_last(self) -> datetime:
        return self.state.last_occurred_at

    # Opening.

    @classmethod
    def open(
        cls,
        *,
        ticket_id: UUID,
        number: str,
        contract_id: UUID,
        customer: str,
        requester: str,
        channel: Channel,
        kind: Kind,
        priority: Priority,
        subject: str,
        description: str,
        by: str,
        occurred_at: datetime,
        attachments: tuple[Attachment, ...] = NO_ATTACHMENTS,
    ) -> Ticket:
        if not subject.strip():
            raise InvalidCommandError("a ticket needs a subject")
        occurred_at = check_occurred_at(occurred_at, None)
        return cls._create(
            cls.Opened,
            id=ticket_id,
            number=number,
            contract_id=contract_id,
            customer=customer,
            requester=requester,
            channel=channel,
            kind=kind,
            priority=priority,
            subject=subject.strip(),
            description=description,
            attachments=attachments,
            by=by,
            occurred_at=occurred_at,
        )

    # Invariants.

    def check_not_final(self) -> None:
        if self.state.status is Status.CLOSED:
            raise TicketClosedError(
                f"ticket {self.state.number} is closed: a new problem is a new ticket"
            )
        if self.state.status is Status.CANCELLED:
            raise TicketCancelledError(f"ticket {self.state.number} was cancelled")

    def check_active(self) -> None:
        self.check_not_final()
        if self.state.status is Status.RESOLVED:
            raise InvalidTransitionError(
                f"ticket {self.state.number} is resolved and awaits acceptance; reopen it first"
            )

    def check_resolved(self) -> None:
        self.check_not_final()
        if self.state.status is not Status.RESOLVED:
            raise TicketNotResolvedError(f"ticket {self.state.number} is not resolved")

    def check_level(self, level: int) -> None:
        if not 1 <= level <= HIGHEST_LEVEL:
            raise InvalidCommandError(f"level must be 1 to {HIGHEST_LEVEL}, not {level}")

    def check_closure_due(
        self, reason: ClosureReason, periods: ClosurePeriods, at: datetime
    ) -> None:
        due = closure_due_at(self.state, reason, periods)
        if due is None:
            raise ClosureNotDueError(
                f"ticket {self.state.number} cannot be closed as {reason.value} "
                f"while {self.state.status.value}"
            )
        if at < due:
            raise ClosureNotDueError(
                f"ticket {self.state.number} can be closed as {reason.value} from {due.isoformat()}"
            )

    def check_authorised_off_hours(self, started_at: datetime) -> UUID:
        prior = [a for a, at in self.state.off_hours_authorisations.items() if at <= started_at]
        if not prior:
            raise OffHoursNotAuthorisedError(
                f"off-hours work on {self.state.number} needs the customer's authorisation "
                "before it starts"
            )
        return prior[-1]

    def check_new_entry(self, entry_id: UUID) -> None:
        if entry_id in self.state.work:
            raise DuplicateWorkEntryError(
                f"work entry {entry_id} is already logged on {self.state.number}; "
                "correct it instead"
            )

    def check_work(self, started_at: datetime, duration: timedelta, logged_at: datetime) -> None:
        check_aware(started_at, "started_at")
        if not timedelta(0) < duration <= MAX_WORK_ENTRY:
            raise InvalidCommandError("a work entry lasts more than zero and at most 24 hours")
        self.check_ended(started_at, duration, logged_at)
        if started_at < self.state.opened_at:
            raise InvalidCommandError("work cannot start before the ticket was opened")

    @staticmethod
    def check_ended(started_at: datetime, duration: timedelta, logged_at: datetime) -> None:
        if started_at + duration > logged_at:
            raise InvalidCommandError("work cannot be logged before it has ended")

    def entry(self, entry_id: UUID) -> WorkEntry:
        try:
            return self.state.work[entry_id]
        except KeyError:
            raise WorkEntryNotFoundError(
                f"ticket {self.state.number} has no work entry {entry_id}"
            ) from None

    # Commands.

    def reclassify(
        self,
        *,
        kind: Kind | None,
        priority: Priority | None,
        level: int | None,
        reason: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        self.check_not_final()
        if not reason.strip():
            raise InvalidCommandError("a reclassification needs a reason")
        new_kind, new_priority = kind or self.state.kind, priority or self.state.priority
        new_level = self.state.level if level is None else level
        self.check_level(new_level)
        if (new_kind, new_priority, new_level) == (
            self.state.kind,
            self.state.priority,
            self.state.level,
        ):
            raise NothingChangedError("the reclassification changes nothing")
        self._record(
            self.Reclassified,
            occurred_at,
            kind=new_kind,
            priority=new_priority,
            level=new_level,
            previous_kind=self.state.kind,
            previous_priority=self.state.priority,
            previous_level=self.state.level,
            reason=reason,
            keeps_sla_clock=True,
            by=by,
        )

    def assign(self, assignee: str, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        if not assignee.strip():
            raise InvalidCommandError("an assignee is needed")
        if assignee == self.state.assignee:
            raise NothingChangedError(
                f"ticket {self.state.number} is already assigned to {assignee}"
            )
        self._record(
            self.Assigned,
            occurred_at,
            assignee=assignee,
            previous_assignee=self.state.assignee,
            by=by,
        )

    def escalate(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_active()
        if self.state.level >= HIGHEST_LEVEL:
            raise HighestLevelError(
                f"ticket {self.state.number} is already at level {HIGHEST_LEVEL}"
            )
        self._record(
            self.Escalated,
            occurred_at,
            from_level=self.state.level,
            to_level=self.state.level + 1,
            reason=reason,
            by=by,
        )

    def reply_as_agent(self, message: str, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        self._record(
            self.AgentReplied,
            occurred_at,
            message=message,
            first_response=self.state.first_response_at is None,
            by=by,
        )

    def reply_as_requester(
        self,
        message: str,
        by: str,
        occurred_at: datetime,
        attachments: tuple[Attachment, ...] = NO_ATTACHMENTS,
    ) -> None:
        self.check_not_final()
        self._record(
            self.RequesterReplied,
            occurred_at,
            message=message,
            resumes=self.state.status is Status.WAITING_ON_CUSTOMER,
            reopens=self.state.status is Status.RESOLVED,
            attachments=attachments,
            by=by,
        )

    def comment(self, text: str, visibility: Visibility, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        if not text.strip():
            raise InvalidCommandError("a comment needs text")
        self._record(self.Commented, occurred_at, text=text, visibility=visibility, by=by)

    def wait_on_customer(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_active()
        if self.state.status is Status.WAITING_ON_CUSTOMER:
            raise AlreadyWaitingError(f"ticket {self.state.number} already waits on the customer")
        self._record(self.WaitingOnCustomer, occurred_at, reason=reason, by=by)

    def wait_on_third_party(
        self, third_party: str, reason: str, by: str, occurred_at: datetime
    ) -> None:
        self.check_active()
        if self.state.status is Status.WAITING_ON_THIRD_PARTY:
            raise AlreadyWaitingError(f"ticket {self.state.number} already waits on a third party")
        self._record(
            self.WaitingOnThirdParty, occurred_at, third_party=third_party, reason=reason, by=by
        )

    def resume(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_active()
        if not self.state.status.is_waiting:
            raise TicketNotWaitingError(f"ticket {self.state.number} is not waiting")
        self._record(self.Resumed, occurred_at, reason=reason, by=by)

    def record_failed_contact(
        self, channel: Channel, note: str, by: str, occurred_at: datetime
    ) -> None:
        self.check_active()
        self._record(
            self.ContactAttemptFailed,
            occurred_at,
            channel=channel,
            note=note,
            attempt=self.state.failed_contact_attempts + 1,
            by=by,
        )

    def log_work(
        self,
        *,
        entry_id: UUID,
        agent: str,
        started_at: datetime,
        duration: timedelta,
        category: WorkCategory,
        customer_caused: bool,
        split: WorkSplit,
        note: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        self.check_not_final()
        self.check_new_entry(entry_id)
        self.check_work(started_at, duration, occurred_at)
        authorisation = None
        if split.off_hours > split.off_hours_covered:
            authorisation = self.check_authorised_off_hours(started_at)
        self._record(
            self.WorkLogged,
            occurred_at,
            entry_id=entry_id,
            agent=agent,
            started_at=started_at.astimezone(UTC),
            duration=duration,
            category=category,
            customer_caused=customer_caused,
            off_hours=split.off_hours,
            off_hours_covered=split.off_hours_covered,
            priority=self.state.priority,
            authorisation_id=authorisation,
            note=note,
            by=by,
        )

    def correct_work(
        self,
        *,
        entry_id: UUID,
        duration: timedelta,
        category: WorkCategory,
        customer_caused: bool,
        split: WorkSplit,
        reason: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        """Allowed on closed tickets too: billing mistakes surface after posting.
        A correction that adds billable off-hours time needs an authorisation
        like the original work did."""
        entry = self.entry(entry_id)
        if not timedelta(0) <= duration <= MAX_WORK_ENTRY:
            raise InvalidCommandError("a corrected duration lies between zero and 24 hours")
        self.check_ended(entry.started_at, duration, occurred_at)
        if split.off_hours - split.off_hours_covered > entry.off_hours_billable:
            self.check_authorised_off_hours(entry.started_at)
        if not reason.strip():
            raise InvalidCommandError("a correction needs a reason")
        if (duration, category, customer_caused) == (
            entry.duration,
            entry.category,
            entry.customer_caused,
        ):
            raise NothingChangedError("the correction changes nothing")
        self._record(
            self.WorkCorrected,
            occurred_at,
            corrects=entry_id,
            duration=duration,
            category=category,
            customer_caused=customer_caused,
            off_hours=split.off_hours,
            off_hours_covered=split.off_hours_covered,
            previous_duration=entry.duration,
            reason=reason,
            by=by,
        )

    def authorise_off_hours_work(
        self,
        *,
        authorisation_id: UUID,
        authorised_by: str,
        note: str,
        as_exception: bool,
        by: str,
        occurred_at: datetime,
    ) -> None:
        self.check_not_final()
        self._record(
            self.OffHoursWorkAuthorised,
            occurred_at,
            authorisation_id=authorisation_id,
            authorised_by=authorised_by,
            note=note,
            as_exception=as_exception,
            by=by,
        )

    def resolve(self, resolution: str, by: str, occurred_at: datetime) -> None:
        self.check_active()
        if not resolution.strip():
            raise InvalidCommandError("a resolution needs a description")
        self._record(
            self.Resolved,
            occurred_at,
            resolution=resolution,
            acceptance_requested_from=self.state.requester,
            by=by,
        )

    def accept(self, comment: str, by: str, occurred_at: datetime) -> None:
        self.check_resolved()
        self._record(self.AcceptanceGiven, occurred_at, comment=comment, by=by)

    def reject(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_resolved()
        if not reason.strip():
            raise InvalidCommandError("a rejection needs a reason")
        self._record(self.AcceptanceRejected, occurred_at, reason=reason, by=by)

    def reopen_ticket(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_resolved()
        self._record(self.Reopened, occurred_at, reason=reason, by=by)

    def close(
        self,
        reason: ClosureReason,
        periods: ClosurePeriods,
        note: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        self.check_not_final()
        if reason is ClosureReason.ACCEPTED:
            raise InvalidCommandError("acceptance closes a ticket through accept, not close")
        self.check_closure_due(reason, periods, occurred_at)
        self._record(self.Closed, occurred_at, reason=reason, note=note, by=by)

    def cancel(
        self,
        reason: CancellationReason,
        duplicate_of: Ticket | None,
        note: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        self.check_active()
        if (reason is CancellationReason.DUPLICATE) != (duplicate_of is not None):
            raise InvalidCommandError("a duplicate names the ticket it duplicates, and only then")
        if duplicate_of is not None and duplicate_of.id == self.id:
            raise InvalidLinkError("a ticket cannot duplicate itself")
        self._record(
            self.Cancelled,
            occurred_at,
            reason=reason,
            duplicate_of=duplicate_of.id if duplicate_of else None,
            note=note,
            by=by,
        )

    def rate(self, score: int, comment: str, by: str, occurred_at: datetime) -> None:
        if self.state.rating is not None:
            raise AlreadyRatedError(f"ticket {self.state.number} was already rated")
        if self.state.resolved_at is None:
            raise NotRateableError(f"ticket {self.state.number} can be rated once it is resolved")
        if not 1 <= score <= RATING_SCALE:
            raise InvalidCommandError(f"a rating is from 1 to {RATING_SCALE}")
        self._record(
            self.Rated, occurred_at, score=score, out_of=RATING_SCALE, comment=comment, by=by
        )

    def send_closure_notice(
        self, *, closes_at: datetime, reason: str, by: str, occurred_at: datetime
    ) -> None:
        self.check_not_final()
        if self.state.status is not Status.WAITING_ON_CUSTOMER:
            raise TicketNotWaitingError(f"ticket {self.state.number} does not wait on the customer")
        if self.state.closure_notice_at is not None:
            raise NothingChangedError(f"the requester of {self.state.number} was already told")
        self._record(
            self.RequesterNoticeSent,
            occurred_at,
            requester=self.state.requester,
            notice=Notice.CLOSURE_PENDING,
            reason=reason,
            closes_at=closes_at,
            by=by,
        )

    def send_sla_warning(
        self,
        *,
        clock: SlaClockName,
        threshold: SlaThreshold,
        target: timedelta,
        reason: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        self.check_not_final()
        if (clock, threshold, target) in self.state.sla_warnings:
            raise NothingChangedError(
                f"{self.state.number}: {clock.value} {threshold.value} was already warned"
            )
        self._record(
            self.SlaWarningSent,
            occurred_at,
            clock=clock,
            threshold=threshold,
            target=target,
            recipient=self.state.assignee,
            reason=reason,
            by=by,
        )

    def record_notice_mailed(
        self,
        *,
        notice: MailNotice,
        about_version: int,
        recipient: str,
        message_id: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        """Closed tickets too: the notice of their closure leaves after it."""
        self.check_recorded_version(about_version)
        self._record(
            self.NoticeMailed,
            occurred_at,
            notice=notice,
            about_version=about_version,
            recipient=recipient,
            message_id=message_id,
            by=by,
        )

    def check_recorded_version(self, version: int) -> None:
        if not 1 <= version <= self.version:
            raise InvalidCommandError(
                f"{self.state.number} has no version {version} (it is at {self.version})"
            )

    def link(self, other: Ticket, link_kind: LinkKind, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        if other.id == self.id:
            raise InvalidLinkError("a ticket cannot link to itself")
        if other.id in self.state.links:
            raise NothingChangedError(f"{self.state.number} already links to {other.state.number}")
        self._record(
            self.Linked,
            occurred_at,
            other_ticket_id=other.id,
            other_number=other.state.number,
            link_kind=link_kind,
            by=by,
        )


UNOPENED = "a ticket's events begin with its opening"

# The fold: what each event means. Every reader of a ticket's events asks it.


def evolve(state: TicketState | None, event: Any) -> TicketState:
    """The ticket's state once `event`, the next of its events, happened."""
    if isinstance(event, Ticket.Opened):
        return opened(event)
    if state is None:
        raise TicketNotFoundError(UNOPENED)
    return changed(event, replace(state, last_occurred_at=event.occurred_at))


def fold(events: Iterable[Any]) -> TicketState:
    """The state a ticket's events, Opened first, leave it in."""
    return fold_from_nothing(evolve, events, TicketNotFoundError(UNOPENED))


# What a requester sees: the desk's internal notes never leave it.


def is_internal(event: Any) -> bool:
    """An event only the desk sees: an internal comment, or the record of a
    notice mailed (what it told the requester, the requester has)."""
    if isinstance(event, Ticket.NoticeMailed):
        return True
    return isinstance(event, Ticket.Commented) and event.visibility is Visibility.INTERNAL


def public_events(events: Iterable[Any]) -> list[Any]:
    """The events a requester sees, as stored (with their own versions)."""
    return [event for event in events if not is_internal(event)]


def public_history(events: Iterable[Any]) -> list[Any]:
    """The ticket's history as its requester sees it: without internal events,
    numbered 1, 2, 3... so that neither gaps nor counts betray them. Internal
    comments change no rule, so this history folds into the same public state."""
    return [
        replace(event, originator_version=n)
        for n, event in enumerate(public_events(events), start=1)
    ]


def public_version(events: Iterable[Any]) -> int:
    """The version a requester sees after these events."""
    return len(public_events(events))


def opened(e: Ticket.Opened) -> TicketState:
    return TicketState(
        number=e.number,
        contract_id=e.contract_id,
        customer=e.customer,
        requester=e.requester,
        subject=e.subject,
        description=e.description,
        channel=e.channel,
        kind=e.kind,
        priority=e.priority,
        opened_at=e.occurred_at,
        last_occurred_at=e.occurred_at,
    )


@singledispatch
def changed(event: object, state: TicketState) -> TicketState:
    """Every event class registers its meaning below; one that does not is a
    defect, and says so instead of passing by unnoticed."""
    raise UnknownEventError(f"the ticket fold has no meaning for {type(event).__qualname__}")


# State changes shared by several events.


def taken_up(state: TicketState) -> TicketState:
    return replace(state, status=Status.OPEN) if state.status is Status.NEW else state


def reopened(state: TicketState) -> TicketState:
    return replace(state, status=Status.OPEN, resolved_at=None, reopen_count=state.reopen_count + 1)


def closed_as(state: TicketState, reason: ClosureReason, at: datetime) -> TicketState:
    return replace(
        state, status=Status.CLOSED, closure_reason=reason, closed_at=at, waiting_since=None
    )


def heard_from_requester(state: TicketState) -> TicketState:
    """The requester answered: failed contacts start counting again."""
    return replace(state, failed_contact_attempts=0)


@changed.register
def _reclassified(e: Ticket.Reclassified, s: TicketState) -> TicketState:
    return replace(s, kind=e.kind, priority=e.priority, level=e.level)


@changed.register
def _assigned(e: Ticket.Assigned, s: TicketState) -> TicketState:
    return taken_up(replace(s, assignee=e.assignee))


@changed.register
def _escalated(e: Ticket.Escalated, s: TicketState) -> TicketState:
    return replace(s, level=e.to_level)


@changed.register
def _agent_replied(e: Ticket.AgentReplied, s: TicketState) -> TicketState:
    first = e.occurred_at if e.first_response else s.first_response_at
    return taken_up(replace(s, first_response_at=first, agent_replies=s.agent_replies + 1))


@changed.register
def _requester_replied(e: Ticket.RequesterReplied, s: TicketState) -> TicketState:
    s = heard_from_requester(replace(s, requester_replies=s.requester_replies + 1))
    if e.resumes:
        s = replace(s, status=Status.OPEN, waiting_since=None)
    return reopened(s) if e.reopens else s


@changed.register
def _commented(e: Ticket.Commented, s: TicketState) -> TicketState:
    return replace(s, comments=s.comments + 1)


@changed.register
def _waiting_on_customer(e: Ticket.WaitingOnCustomer, s: TicketState) -> TicketState:
    return replace(
        s, status=Status.WAITING_ON_CUSTOMER, waiting_since=e.occurred_at, closure_notice_at=None
    )


@changed.register
def _waiting_on_third_party(e: Ticket.WaitingOnThirdParty, s: TicketState) -> TicketState:
    return replace(s, status=Status.WAITING_ON_THIRD_PARTY, waiting_since=e.occurred_at)


@changed.register
def _resumed(e: Ticket.Resumed, s: TicketState) -> TicketState:
    return replace(s, status=Status.OPEN, waiting_since=None)


@changed.register
def _contact_attempt_failed(e: Ticket.ContactAttemptFailed, s: TicketState) -> TicketState:
    # Counted, not read from `attempt`: a history recorded before the count
    # restarted at rejections numbers its attempts on from the old count.
    return replace(s, failed_contact_attempts=s.failed_contact_attempts + 1)


@changed.register
def _work_logged(e: Ticket.WorkLogged, s: TicketState) -> TicketState:
    entry = WorkEntry(
        entry_id=e.entry_id,
        agent=e.agent,
        started_at=e.started_at,
        duration=e.duration,
        category=e.category,
        customer_caused=e.customer_caused,
        off_hours=e.off_hours,
        off_hours_covered=e.off_hours_covered,
        priority=e.priority,
        note=e.note,
    )
    return taken_up(replace(s, work={**s.work, e.entry_id: entry}))


@changed.register
def _work_corrected(e: Ticket.WorkCorrected, s: TicketState) -> TicketState:
    entry = replace(
        s.work[e.corrects],
        duration=e.duration,
        category=e.category,
        customer_caused=e.customer_caused,
        off_hours=e.off_hours,
        off_hours_covered=e.off_hours_covered,
        corrections=s.work[e.corrects].corrections + 1,
    )
    return replace(s, work={**s.work, e.corrects: entry})


@changed.register
def _off_hours_authorised(e: Ticket.OffHoursWorkAuthorised, s: TicketState) -> TicketState:
    given = {**s.off_hours_authorisations, e.authorisation_id: e.occurred_at}
    return replace(s, off_hours_authorisations=given)


@changed.register
def _resolved(e: Ticket.Resolved, s: TicketState) -> TicketState:
    # A resolution ends the stretch in which failed contacts count towards a closure.
    return replace(
        s,
        status=Status.RESOLVED,
        resolved_at=e.occurred_at,
        waiting_since=None,
        failed_contact_attempts=0,
    )


@changed.register
def _acceptance_given(e: Ticket.AcceptanceGiven, s: TicketState) -> TicketState:
    return closed_as(s, ClosureReason.ACCEPTED, e.occurred_at)


@changed.register
def _acceptance_rejected(e: Ticket.AcceptanceRejected, s: TicketState) -> TicketState:
    # Rejecting is the requester answering, as a reply is.
    return reopened(heard_from_requester(s))


@changed.register
def _reopened(e: Ticket.Reopened, s: TicketState) -> TicketState:
    return reopened(s)


@changed.register
def _closed(e: Ticket.Closed, s: TicketState) -> TicketState:
    return closed_as(s, e.reason, e.occurred_at)


@changed.register
def _cancelled(e: Ticket.Cancelled, s: TicketState) -> TicketState:
    return replace(s, status=Status.CANCELLED, closed_at=e.occurred_at, waiting_since=None)


@changed.register
def _rated(e: Ticket.Rated, s: TicketState) -> TicketState:
    return replace(s, rating=Rating(e.score, e.out_of, e.comment))


@changed.register
def _requester_notice_sent(e: Ticket.RequesterNoticeSent, s: TicketState) -> TicketState:
    return replace(s, closure_notice_at=e.occurred_at)


@changed.register
def _sla_warning_sent(e: Ticket.SlaWarningSent, s: TicketState) -> TicketState:
    return replace(s, sla_warnings=s.sla_warnings | {(e.clock, e.threshold, e.target)})


@changed.register
def _notice_mailed(e: Ticket.NoticeMailed, s: TicketState) -> TicketState:
    return s


@changed.register
def _linked(e: Ticket.Linked, s: TicketState) -> TicketState:
    return replace(s, links={**s.links, e.other_ticket_id: (e.other_number, e.link_kind)})
