"""A plain model of the ticket rules, written apart from the domain code, that
predicts which error (if any) each command must raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from ticketledger.domain import errors
from ticketledger.domain.terms import ClosurePeriods

ErrorType = type[errors.DomainError] | None


@dataclass
class TicketModel:
    opened_at: datetime
    last_at: datetime
    status: str = "new"
    level: int = 1
    priority: str = "high"
    kind: str = "incident"
    assignee: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    waiting_since: datetime | None = None
    closure_reason: str | None = None
    attempts: int = 0
    rated: bool = False
    reopens: int = 0
    comments: int = 0
    authorisations: list[datetime] = field(default_factory=list)
    work: dict[UUID, tuple[timedelta, bool]] = field(default_factory=dict)
    links: set[UUID] = field(default_factory=set)

    # Guards in the order the rules state them.

    def final_error(self) -> ErrorType:
        if self.status == "closed":
            return errors.TicketClosedError
        if self.status == "cancelled":
            return errors.TicketCancelledError
        return None

    def active_error(self) -> ErrorType:
        if self.status == "resolved":
            return errors.InvalidTransitionError
        return self.final_error()

    def resolved_error(self) -> ErrorType:
        if self.final_error():
            return self.final_error()
        return None if self.status == "resolved" else errors.TicketNotResolvedError

    def closure_due(self, reason: str, periods: ClosurePeriods) -> datetime | None:
        """A silent customer's ticket closes only after a notice, which the
        machine's terms never give; failed contacts do not close a resolved ticket."""
        if reason == "acceptance_deemed" and self.status == "resolved":
            assert self.resolved_at is not None
            return self.resolved_at + periods.acceptance
        if reason == "third_party" and self.status == "waiting_on_third_party":
            return self.waiting_since
        if (
            reason == "contact_attempts_exhausted"
            and self.attempts >= periods.failed_contact_attempts
            and self.status != "resolved"
        ):
            return self.opened_at + periods.contact_attempts_minimum_age
        return None

    def close_error(self, reason: str, now: datetime, periods: ClosurePeriods) -> ErrorType:
        if self.final_error():
            return self.final_error()
        due = self.closure_due(reason, periods)
        return errors.ClosureNotDueError if due is None or now < due else None

    def rate_error(self) -> ErrorType:
        if self.rated:
            return errors.AlreadyRatedError
        return errors.NotRateableError if self.resolved_at is None else None

    # Effects.

    def take_up(self) -> None:
        if self.status == "new":
            self.status = "open"

    def reopen(self) -> None:
        self.status, self.resolved_at = "open", None
        self.reopens += 1

    def close(self, reason: str, now: datetime) -> None:
        self.status, self.closure_reason, self.waiting_since = "closed", reason, None

    def wait(self, status: str, now: datetime) -> None:
        self.status, self.waiting_since = status, now
