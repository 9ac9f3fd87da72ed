"""The Ticket aggregate: a customer's request from opening to closure.

Each command method checks its invariants in small `check_*` methods and then
triggers exactly one event; a refused command raises a specific DomainError
and leaves the ticket untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate

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
    TicketNotResolvedError,
    TicketNotWaitingError,
    WorkEntryNotFoundError,
)
from ticketledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    RecordsInOrder,
    check_aware,
    check_occurred_at,
)
from ticketledger.domain.terms import ClosurePeriods
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
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


@dataclass(frozen=True)
class WorkSplit:
    """How a stretch of work falls against the contract's calendars, computed by
    the application from the calendar, never typed in by the agent."""

    off_hours: timedelta
    off_hours_covered: timedelta


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

        def apply(self, aggregate: Any) -> None:
            t: Ticket = aggregate
            t.number, t.contract_id, t.customer = self.number, self.contract_id, self.customer
            t.requester, t.channel, t.kind = self.requester, self.channel, self.kind
            t.priority, t.subject, t.description = self.priority, self.subject, self.description
            t.opened_at = t.last_occurred_at = self.occurred_at

    class Event(LedgerEvent):
        def apply(self, aggregate: Any) -> None:
            aggregate.last_occurred_at = self.occurred_at
            self.change(aggregate)

        def change(self, ticket: Ticket) -> None:
            """Each event's own effect on the ticket."""

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

        def change(self, ticket: Ticket) -> None:
            ticket.kind, ticket.priority, ticket.level = self.kind, self.priority, self.level

    class Assigned(Event):
        TOPIC = "ticketledger:Ticket.Assigned"
        assignee: str
        previous_assignee: str | None

        def change(self, ticket: Ticket) -> None:
            ticket.assignee = self.assignee
            ticket.take_up()

    class Escalated(Event):
        TOPIC = "ticketledger:Ticket.Escalated"
        from_level: int
        to_level: int
        reason: str

        def change(self, ticket: Ticket) -> None:
            ticket.level = self.to_level

    class AgentReplied(Event):
        TOPIC = "ticketledger:Ticket.AgentReplied"
        message: str
        first_response: bool

        def change(self, ticket: Ticket) -> None:
            if self.first_response:
                ticket.first_response_at = self.occurred_at
            ticket.agent_replies += 1
            ticket.take_up()

    class RequesterReplied(Event):
        """A requester's answer ends a wait on the customer (resumes says so) and
        contests a resolution (reopens says so: seed 001 lets a reply reopen a
        resolved ticket until it is closed). Failed contacts start counting again."""

        TOPIC = "ticketledger:Ticket.RequesterReplied"
        message: str
        resumes: bool
        reopens: bool

        def change(self, ticket: Ticket) -> None:
            ticket.requester_replies += 1
            ticket.failed_contact_attempts = 0
            if self.resumes:
                ticket.status, ticket.waiting_since = Status.OPEN, None
            if self.reopens:
                ticket.reopen()

    class Commented(Event):
        TOPIC = "ticketledger:Ticket.Commented"
        text: str
        visibility: Visibility

        def change(self, ticket: Ticket) -> None:
            ticket.comments += 1

    class WaitingOnCustomer(Event):
        TOPIC = "ticketledger:Ticket.WaitingOnCustomer"
        reason: str

        def change(self, ticket: Ticket) -> None:
            ticket.status, ticket.waiting_since = Status.WAITING_ON_CUSTOMER, self.occurred_at
            ticket.closure_notice_at = None

    class WaitingOnThirdParty(Event):
        TOPIC = "ticketledger:Ticket.WaitingOnThirdParty"
        third_party: str
        reason: str

        def change(self, ticket: Ticket) -> None:
            ticket.status, ticket.waiting_since = Status.WAITING_ON_THIRD_PARTY, self.occurred_at

    class Resumed(Event):
        TOPIC = "ticketledger:Ticket.Resumed"
        reason: str

        def change(self, ticket: Ticket) -> None:
            ticket.status, ticket.waiting_since = Status.OPEN, None

    class ContactAttemptFailed(Event):
        TOPIC = "ticketledger:Ticket.ContactAttemptFailed"
        channel: Channel
        note: str
        attempt: int

        def change(self, ticket: Ticket) -> None:
            ticket.failed_contact_attempts = self.attempt

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

        def change(self, ticket: Ticket) -> None:
            ticket.work[self.entry_id] = WorkEntry(
                entry_id=self.entry_id,
                agent=self.agent,
                started_at=self.started_at,
                duration=self.duration,
                category=self.category,
                customer_caused=self.customer_caused,
                off_hours=self.off_hours,
                off_hours_covered=self.off_hours_covered,
                priority=self.priority,
                note=self.note,
            )
            ticket.take_up()

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

        def change(self, ticket: Ticket) -> None:
            entry = ticket.work[self.corrects]
            ticket.work[self.corrects] = replace(
                entry,
                duration=self.duration,
                category=self.category,
                customer_caused=self.customer_caused,
                off_hours=self.off_hours,
                off_hours_covered=self.off_hours_covered,
                corrections=entry.corrections + 1,
            )

    class OffHoursWorkAuthorised(Event):
        """The customer's prior authorisation for billable off-hours work (seed 002)."""

        TOPIC = "ticketledger:Ticket.OffHoursWorkAuthorised"
        authorisation_id: UUID
        authorised_by: str
        note: str
        as_exception: bool

        def change(self, ticket: Ticket) -> None:
            ticket.off_hours_authorisations[self.authorisation_id] = self.occurred_at

    class Resolved(Event):
        """Resolving asks the requester for technical acceptance."""

        TOPIC = "ticketledger:Ticket.Resolved"
        resolution: str
        acceptance_requested_from: str

        def change(self, ticket: Ticket) -> None:
            ticket.status, ticket.resolved_at, ticket.waiting_since = (
                Status.RESOLVED,
                self.occurred_at,
                None,
            )

    class AcceptanceGiven(Event):
        TOPIC = "ticketledger:Ticket.AcceptanceGiven"
        comment: str

        def change(self, ticket: Ticket) -> None:
            ticket.close_as(ClosureReason.ACCEPTED, self.occurred_at)

    class AcceptanceRejected(Event):
        TOPIC = "ticketledger:Ticket.AcceptanceRejected"
        reason: str

        def change(self, ticket: Ticket) -> None:
            ticket.reopen()

    class Reopened(Event):
        TOPIC = "ticketledger:Ticket.Reopened"
        reason: str

        def change(self, ticket: Ticket) -> None:
            ticket.reopen()

    class Closed(Event):
        TOPIC = "ticketledger:Ticket.Closed"
        reason: ClosureReason
        note: str

        def change(self, ticket: Ticket) -> None:
            ticket.close_as(self.reason, self.occurred_at)

    class Cancelled(Event):
        TOPIC = "ticketledger:Ticket.Cancelled"
        reason: CancellationReason
        duplicate_of: UUID | None
        note: str

        def change(self, ticket: Ticket) -> None:
            ticket.status, ticket.closed_at, ticket.waiting_since = (
                Status.CANCELLED,
                self.occurred_at,
                None,
            )

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

        def change(self, ticket: Ticket) -> None:
            ticket.rating = Rating(self.score, self.out_of, self.comment)

    class RequesterNoticeSent(Event):
        """The desk told the requester it will act on its own: while it waits on
        the customer, that the ticket closes at `closes_at` without an answer."""

        TOPIC = "ticketledger:Ticket.RequesterNoticeSent"
        requester: str
        notice: Notice
        reason: str
        closes_at: datetime

        def change(self, ticket: Ticket) -> None:
            ticket.closure_notice_at = self.occurred_at

    class SlaWarningSent(Event):
        """The assignee (`recipient`; None while unassigned: the ticket's queue)
        was warned that an SLA clock reached a threshold of `target`."""

        TOPIC = "ticketledger:Ticket.SlaWarningSent"
        clock: SlaClockName
        threshold: SlaThreshold
        target: timedelta
        recipient: str | None
        reason: str

        def change(self, ticket: Ticket) -> None:
            ticket.sla_warnings.add((self.clock, self.threshold, self.target))

    class Linked(Event):
        TOPIC = "ticketledger:Ticket.Linked"
        other_ticket_id: UUID
        other_number: str
        link_kind: LinkKind

        def change(self, ticket: Ticket) -> None:
            ticket.links[self.other_ticket_id] = (self.other_number, self.link_kind)

    def __init__(self) -> None:
        self.number = ""
        self.contract_id: UUID | None = None
        self.customer = self.requester = self.subject = self.description = ""
        self.channel = Channel.EMAIL
        self.kind = Kind.QUESTION
        self.priority = Priority.MEDIUM
        self.level = 1
        self.assignee: str | None = None
        self.status = Status.NEW
        self.opened_at: datetime | None = None
        self.last_occurred_at: datetime | None = None
        self.first_response_at: datetime | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.closure_reason: ClosureReason | None = None
        self.waiting_since: datetime | None = None
        self.failed_contact_attempts = 0
        self.agent_replies = self.requester_replies = self.comments = self.reopen_count = 0
        self.work: dict[UUID, WorkEntry] = {}
        self.off_hours_authorisations: dict[UUID, datetime] = {}
        self.rating: Rating | None = None
        self.links: dict[UUID, tuple[str, LinkKind]] = {}
        self.closure_notice_at: datetime | None = None
        self.sla_warnings: set[tuple[SlaClockName, SlaThreshold, timedelta]] = set()

    # State changes shared by several events.

    def take_up(self) -> None:
        if self.status is Status.NEW:
            self.status = Status.OPEN

    def reopen(self) -> None:
        self.status, self.resolved_at = Status.OPEN, None
        self.reopen_count += 1

    def close_as(self, reason: ClosureReason, at: datetime) -> None:
        self.status, self.closure_reason, self.closed_at, self.waiting_since = (
            Status.CLOSED,
            reason,
            at,
            None,
        )

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
            by=by,
            occurred_at=occurred_at,
        )

    # Invariants.

    def check_not_final(self) -> None:
        if self.status is Status.CLOSED:
            raise TicketClosedError(
                f"ticket {self.number} is closed: a new problem is a new ticket"
            )
        if self.status is Status.CANCELLED:
            raise TicketCancelledError(f"ticket {self.number} was cancelled")

    def check_active(self) -> None:
        self.check_not_final()
        if self.status is Status.RESOLVED:
            raise InvalidTransitionError(
                f"ticket {self.number} is resolved and awaits acceptance; reopen it first"
            )

    def check_resolved(self) -> None:
        self.check_not_final()
        if self.status is not Status.RESOLVED:
            raise TicketNotResolvedError(f"ticket {self.number} is not resolved")

    def check_level(self, level: int) -> None:
        if not 1 <= level <= HIGHEST_LEVEL:
            raise InvalidCommandError(f"level must be 1 to {HIGHEST_LEVEL}, not {level}")

    def check_closure_due(
        self, reason: ClosureReason, periods: ClosurePeriods, at: datetime
    ) -> None:
        due = self.closure_due_at(reason, periods)
        if due is None:
            raise ClosureNotDueError(
                f"ticket {self.number} cannot be closed as {reason.value} while {self.status.value}"
            )
        if at < due:
            raise ClosureNotDueError(
                f"ticket {self.number} can be closed as {reason.value} from {due.isoformat()}"
            )

    def closure_due_at(self, reason: ClosureReason, periods: ClosurePeriods) -> datetime | None:
        """When a closure for this reason becomes allowed, or None if it never can now.
        A silent customer's ticket closes only after the requester was told so; a
        resolved ticket closes by acceptance, not for failed contacts."""
        if reason is ClosureReason.ACCEPTANCE_DEEMED and self.resolved_at is not None:
            return self.resolved_at + periods.acceptance
        if (
            reason is ClosureReason.CUSTOMER_UNRESPONSIVE
            and self.status is Status.WAITING_ON_CUSTOMER
            and self.closure_notice_at is not None
        ):
            assert self.waiting_since is not None
            return self.waiting_since + periods.customer_silence
        if reason is ClosureReason.THIRD_PARTY and self.status is Status.WAITING_ON_THIRD_PARTY:
            return self.waiting_since
        if (
            reason is ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED
            and self.status is not Status.RESOLVED
            and self.failed_contact_attempts >= periods.failed_contact_attempts
            and self.opened_at is not None
        ):
            return self.opened_at + periods.contact_attempts_minimum_age
        return None

    def check_authorised_off_hours(self, started_at: datetime) -> UUID:
        prior = [a for a, at in self.off_hours_authorisations.items() if at <= started_at]
        if not prior:
            raise OffHoursNotAuthorisedError(
                f"off-hours work on {self.number} needs the customer's authorisation "
                "before it starts"
            )
        return prior[-1]

    def check_new_entry(self, entry_id: UUID) -> None:
        if entry_id in self.work:
            raise DuplicateWorkEntryError(
                f"work entry {entry_id} is already logged on {self.number}; correct it instead"
            )

    def check_work(self, started_at: datetime, duration: timedelta, logged_at: datetime) -> None:
        check_aware(started_at, "started_at")
        if not timedelta(0) < duration <= MAX_WORK_ENTRY:
            raise InvalidCommandError("a work entry lasts more than zero and at most 24 hours")
        self.check_ended(started_at, duration, logged_at)
        assert self.opened_at is not None
        if started_at < self.opened_at:
            raise InvalidCommandError("work cannot start before the ticket was opened")

    @staticmethod
    def check_ended(started_at: datetime, duration: timedelta, logged_at: datetime) -> None:
        if started_at + duration > logged_at:
            raise InvalidCommandError("work cannot be logged before it has ended")

    def entry(self, entry_id: UUID) -> WorkEntry:
        try:
            return self.work[entry_id]
        except KeyError:
            raise WorkEntryNotFoundError(
                f"ticket {self.number} has no work entry {entry_id}"
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
        new_kind, new_priority = kind or self.kind, priority or self.priority
        new_level = self.level if level is None else level
        self.check_level(new_level)
        if (new_kind, new_priority, new_level) == (self.kind, self.priority, self.level):
            raise NothingChangedError("the reclassification changes nothing")
        self._record(
            self.Reclassified,
            occurred_at,
            kind=new_kind,
            priority=new_priority,
            level=new_level,
            previous_kind=self.kind,
            previous_priority=self.priority,
            previous_level=self.level,
            reason=reason,
            keeps_sla_clock=True,
            by=by,
        )

    def assign(self, assignee: str, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        if not assignee.strip():
            raise InvalidCommandError("an assignee is needed")
        if assignee == self.assignee:
            raise NothingChangedError(f"ticket {self.number} is already assigned to {assignee}")
        self._record(
            self.Assigned,
            occurred_at,
            assignee=assignee,
            previous_assignee=self.assignee,
            by=by,
        )

    def escalate(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_active()
        if self.level >= HIGHEST_LEVEL:
            raise HighestLevelError(f"ticket {self.number} is already at level {HIGHEST_LEVEL}")
        self._record(
            self.Escalated,
            occurred_at,
            from_level=self.level,
            to_level=self.level + 1,
            reason=reason,
            by=by,
        )

    def reply_as_agent(self, message: str, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        self._record(
            self.AgentReplied,
            occurred_at,
            message=message,
            first_response=self.first_response_at is None,
            by=by,
        )

    def reply_as_requester(self, message: str, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        self._record(
            self.RequesterReplied,
            occurred_at,
            message=message,
            resumes=self.status is Status.WAITING_ON_CUSTOMER,
            reopens=self.status is Status.RESOLVED,
            by=by,
        )

    def comment(self, text: str, visibility: Visibility, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        if not text.strip():
            raise InvalidCommandError("a comment needs text")
        self._record(self.Commented, occurred_at, text=text, visibility=visibility, by=by)

    def wait_on_customer(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_active()
        if self.status is Status.WAITING_ON_CUSTOMER:
            raise AlreadyWaitingError(f"ticket {self.number} already waits on the customer")
        self._record(self.WaitingOnCustomer, occurred_at, reason=reason, by=by)

    def wait_on_third_party(
        self, third_party: str, reason: str, by: str, occurred_at: datetime
    ) -> None:
        self.check_active()
        if self.status is Status.WAITING_ON_THIRD_PARTY:
            raise AlreadyWaitingError(f"ticket {self.number} already waits on a third party")
        self._record(
            self.WaitingOnThirdParty, occurred_at, third_party=third_party, reason=reason, by=by
        )

    def resume(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_active()
        if not self.status.is_waiting:
            raise TicketNotWaitingError(f"ticket {self.number} is not waiting")
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
            attempt=self.failed_contact_attempts + 1,
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
            priority=self.priority,
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
            acceptance_requested_from=self.requester,
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
        if self.rating is not None:
            raise AlreadyRatedError(f"ticket {self.number} was already rated")
        if self.resolved_at is None:
            raise NotRateableError(f"ticket {self.number} can be rated once it is resolved")
        if not 1 <= score <= RATING_SCALE:
            raise InvalidCommandError(f"a rating is from 1 to {RATING_SCALE}")
        self._record(
            self.Rated, occurred_at, score=score, out_of=RATING_SCALE, comment=comment, by=by
        )

    def send_closure_notice(
        self, *, closes_at: datetime, reason: str, by: str, occurred_at: datetime
    ) -> None:
        self.check_not_final()
        if self.status is not Status.WAITING_ON_CUSTOMER:
            raise TicketNotWaitingError(f"ticket {self.number} does not wait on the customer")
        if self.closure_notice_at is not None:
            raise NothingChangedError(f"the requester of {self.number} was already told")
        self._record(
            self.RequesterNoticeSent,
            occurred_at,
            requester=self.requester,
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
        if (clock, threshold, target) in self.sla_warnings:
            raise NothingChangedError(
                f"{self.number}: {clock.value} {threshold.value} was already warned"
            )
        self._record(
            self.SlaWarningSent,
            occurred_at,
            clock=clock,
            threshold=threshold,
            target=target,
            recipient=self.assignee,
            reason=reason,
            by=by,
        )

    def link(self, other: Ticket, link_kind: LinkKind, by: str, occurred_at: datetime) -> None:
        self.check_not_final()
        if other.id == self.id:
            raise InvalidLinkError("a ticket cannot link to itself")
        if other.id in self.links:
            raise NothingChangedError(f"{self.number} already links to {other.number}")
        self._record(
            self.Linked,
            occurred_at,
            other_ticket_id=other.id,
            other_number=other.number,
            link_kind=link_kind,
            by=by,
        )
