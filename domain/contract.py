"""The Contract aggregate: terms signed with a customer, who may open tickets,
and whether the desk serves it at all."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import singledispatch
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ticketledger.domain.addresses import address_identity, stored_identity
from ticketledger.domain.billing import check_month, first_day, month_of, next_month
from ticketledger.domain.contract_state import (
    ContractState,
    superseded,
)
from ticketledger.domain.copies import copied_by_attributes, replace
from ticketledger.domain.errors import (
    ContractEndedError,
    ContractNotFoundError,
    ContractNotStartedError,
    ContractSuspendedError,
    InvalidCommandError,
    InvalidTransitionError,
    MonthNotEndedError,
    NothingChangedError,
    OffHoursExceptionUsedError,
    RequesterNotAuthorisedError,
    StatementAlreadyIssuedError,
    UnknownEventError,
    WarrantyNotCoveredError,
)
from ticketledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    RecordsInOrder,
    check_aware,
    check_occurred_at,
    fold_from_nothing,
)
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import ContractStanding, Kind

DIGEST = re.compile(r"^[0-9a-f]{64}$")


@copied_by_attributes
class Contract(RecordsInOrder, Aggregate):
    TOPIC = "ticketledger:Contract"

    class Created(LedgerCreated):
        TOPIC = "ticketledger:Contract.Created"

    class Signed(Created):
        TOPIC = "ticketledger:Contract.Signed"
        terms: ContractTerms

        def apply(self, aggregate: Any) -> None:
            aggregate.state = evolve(None, self)

    class Event(LedgerEvent):
        def apply(self, aggregate: Any) -> None:
            aggregate.state = evolve(aggregate.state, self)

    class RequesterAuthorised(Event):
        TOPIC = "ticketledger:Contract.RequesterAuthorised"
        requester: str

    class RequesterRevoked(Event):
        """Revoking one address inside an authorised domain denies just that
        person (seed 000: plants have a high turnover of operators)."""

        TOPIC = "ticketledger:Contract.RequesterRevoked"
        requester: str
        reason: str

    class PlanChanged(Event):
        """New terms from a date on; it supersedes any change that was scheduled
        for that date or later."""

        TOPIC = "ticketledger:Contract.PlanChanged"
        terms: ContractTerms
        effective_on: date
        reason: str

    class Suspended(Event):
        TOPIC = "ticketledger:Contract.Suspended"
        reason: str

    class Reinstated(Event):
        TOPIC = "ticketledger:Contract.Reinstated"
        reason: str

    class Ended(Event):
        TOPIC = "ticketledger:Contract.Ended"
        reason: str

    class OffHoursExceptionGranted(Event):
        """Seed 003: without the 24x7 add-on, an off-hours service is an exception."""

        TOPIC = "ticketledger:Contract.OffHoursExceptionGranted"
        ticket_id: UUID
        ticket_number: str

    class StatementIssued(Event):
        """A month's statement as the issuer read it from the hours projection up
        to `through_position`: its total and the sha256 of its canonical JSON.
        The month is frozen from then on; corrections post to a later month."""

        TOPIC = "ticketledger:Contract.StatementIssued"
        month: str
        through_position: int
        total: Decimal
        currency: str
        digest: str

    def __init__(self) -> None:
        # Set by the signing: every event's apply folds the contract's state.
        self.state: ContractState

    def occurred_last(self) -> datetime:
        return self.state.last_occurred_at

    @classmethod
    def sign(cls, terms: ContractTerms, by: str, occurred_at: datetime) -> Contract:
        occurred_at = check_occurred_at(occurred_at, None)
        return cls._create(cls.Signed, terms=terms, by=by, occurred_at=occurred_at)

    def check_authorised(self, requester: str) -> None:
        if not self.state.is_authorised(requester):
            raise RequesterNotAuthorisedError(
                f"{requester} is not authorised to open tickets for {self.state.customer}"
            )

    def check_serves(self, at: datetime | None = None) -> None:
        """No contract service before the contract starts, while it is
        suspended (non-payment) or after its end."""
        if at is not None:
            self.check_started(at)
        standing = self.state.standing if at is None else self.state.standing_at(at)
        if standing is ContractStanding.SUSPENDED:
            raise ContractSuspendedError(f"the contract of {self.state.customer} is suspended")
        if standing is ContractStanding.ENDED:
            raise ContractEndedError(f"the contract of {self.state.customer} has ended")

    def check_started(self, at: datetime) -> None:
        """A ticket cannot open, nor work count, before the first day of the
        contract in its own time zone: there are no terms to serve it under."""
        if self.state.local_date(at) < self.state.starts_on:
            raise ContractNotStartedError(
                f"the contract of {self.state.customer} starts on "
                f"{self.state.starts_on.isoformat()}"
            )

    def authorise_requester(self, requester: str, by: str, occurred_at: datetime) -> None:
        requester = address_identity(requester)
        if requester in self.state.authorised_requesters:
            raise NothingChangedError(f"{requester} is already authorised")
        self._record(self.RequesterAuthorised, occurred_at, requester=requester, by=by)

    def revoke_requester(self, requester: str, reason: str, by: str, occurred_at: datetime) -> None:
        requester = address_identity(requester)
        if requester not in self.state.authorised_requesters and not self.state.is_authorised(
            requester
        ):
            raise NothingChangedError(f"{requester} is not authorised")
        self._record(self.RequesterRevoked, occurred_at, requester=requester, reason=reason, by=by)

    def change_plan(
        self, terms: ContractTerms, effective_on: date, reason: str, by: str, occurred_at: datetime
    ) -> None:
        self.check_not_ended()
        if terms.customer != self.state.customer:
            raise InvalidCommandError("a plan change cannot move the contract to another customer")
        if effective_on < self.state.local_date(check_aware(occurred_at, "occurred_at")):
            # Months already served and billed keep the terms they had.
            raise InvalidCommandError("a plan change cannot take effect in the past")
        terms = terms.model_copy(update={"starts_on": self.state.starts_on})
        self._record(
            self.PlanChanged,
            occurred_at,
            terms=terms,
            effective_on=effective_on,
            reason=reason,
            by=by,
        )

    def suspend(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_serves()
        self._record(self.Suspended, occurred_at, reason=reason, by=by)

    def reinstate(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_not_ended()
        if self.state.standing is not ContractStanding.SUSPENDED:
            raise InvalidTransitionError("only a suspended contract can be reinstated")
        self._record(self.Reinstated, occurred_at, reason=reason, by=by)

    def end(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_not_ended()
        self._record(self.Ended, occurred_at, reason=reason, by=by)

    def check_not_ended(self) -> None:
        if self.state.standing is ContractStanding.ENDED:
            raise ContractEndedError(f"the contract of {self.state.customer} has ended")

    def check_warranty(self, kind: Kind, at: datetime) -> None:
        """A warranty kind of ticket opens only while that warranty is in force
        (works: from the signed hand-over; material: from the invoice date)."""
        warranty_kind = kind.warranty
        if warranty_kind is None:
            return
        day = self.state.local_date(at)
        if self.state.terms_at(at).warranty_for(warranty_kind, day) is None:
            raise WarrantyNotCoveredError(
                f"{self.state.customer} has no {warranty_kind.value} warranty in force on {day}"
            )

    def allow_off_hours(
        self, ticket_id: UUID, ticket_number: str, by: str, occurred_at: datetime
    ) -> bool:
        """Whether the customer's go-ahead for off-hours work on the ticket spends
        the contract's off-hours exception: it does without around-the-clock
        service (seed 003), and the exception is granted here, once."""
        self.check_serves(occurred_at)
        if self.state.terms_at(occurred_at).off_hours_exception_limit is None:
            return False
        self.grant_off_hours_exception(ticket_id, ticket_number, by, occurred_at)
        return True

    def grant_off_hours_exception(
        self, ticket_id: UUID, ticket_number: str, by: str, occurred_at: datetime
    ) -> None:
        """Seed 003: the first off-hours service without the add-on is granted;
        the next is refused until the customer adheres to the 24x7 contract."""
        limit = self.state.terms_at(occurred_at).off_hours_exception_limit
        tickets = self.state.off_hours_exception_tickets
        if ticket_id in tickets or limit is None:
            return
        if len(tickets) >= limit:
            raise OffHoursExceptionUsedError(
                f"{self.state.customer} has used its {limit} off-hours exception(s); "
                "further off-hours service needs the 24x7 add-on"
            )
        self._record(
            self.OffHoursExceptionGranted,
            occurred_at,
            ticket_id=ticket_id,
            ticket_number=ticket_number,
            by=by,
        )

    def check_statement_issuable(self, month: str, at: datetime) -> None:
        """A month is issued once, only after it has ended in the contract's
        local time, and never for a month before the contract started."""
        check_month(month)
        if month in self.state.issued_months:
            raise StatementAlreadyIssuedError(
                f"the statement of {self.state.customer} for {month} was already issued"
            )
        if month_of(self.state.starts_on) > month:
            raise ContractNotStartedError(
                f"the contract of {self.state.customer} starts after {month}"
            )
        if self.state.local_date(check_aware(at, "occurred_at")) < first_day(next_month(month)):
            raise MonthNotEndedError(f"{month} has not ended yet in {self.state.terms.timezone}")

    def issue_statement(
        self,
        *,
        month: str,
        through_position: int,
        total: Decimal,
        currency: str,
        digest: str,
        by: str,
        occurred_at: datetime,
    ) -> None:
        self.check_statement_issuable(month, occurred_at)
        if currency != self.state.terms_for_month(month).currency:
            raise InvalidCommandError(f"the statement of {month} is not in {currency}")
        if not DIGEST.match(digest) or through_position < 0:
            raise InvalidCommandError("a statement names a sha256 digest and a log position")
        self._record(
            self.StatementIssued,
            occurred_at,
            month=month,
            through_position=through_position,
            total=total,
            currency=currency,
            digest=digest,
            by=by,
        )


UNSIGNED = "a contract's events begin with its signing"

# The fold: what each event means. The aggregate and every projection that
# keeps contracts ask it.


def evolve(state: ContractState | None, event: Any) -> ContractState:
    """The contract's state once `event`, the next of its events, happened."""
    if isinstance(event, Contract.Signed):
        return signed(event)
    if state is None:
        raise ContractNotFoundError(UNSIGNED)
    return changed(event, replace(state, last_occurred_at=event.occurred_at))


def fold(events: Iterable[Any]) -> ContractState:
    """The state a contract's events, Signed first, leave it in."""
    return fold_from_nothing(evolve, events, ContractNotFoundError(UNSIGNED))


def signed(e: Contract.Signed) -> ContractState:
    return ContractState(
        terms_history=((e.terms.starts_on, e.terms),), last_occurred_at=e.occurred_at
    )


@singledispatch
def changed(event: Any, state: ContractState) -> ContractState:
    raise UnknownEventError(f"the contract fold has no meaning for {type(event).__qualname__}")


@changed.register
def _requester_authorised(e: Contract.RequesterAuthorised, s: ContractState) -> ContractState:
    # Events stored before today's normalisation fold into today's identities.
    who = stored_identity(e.requester)
    return replace(
        s,
        authorised_requesters=s.authorised_requesters | {who},
        denied_addresses=s.denied_addresses - {who},
    )


@changed.register
def _requester_revoked(e: Contract.RequesterRevoked, s: ContractState) -> ContractState:
    who = stored_identity(e.requester)
    s = replace(s, authorised_requesters=s.authorised_requesters - {who})
    if s.admits(who):
        # Still let in through an authorised domain: denied by name.
        return replace(s, denied_addresses=s.denied_addresses | {who})
    return s


@changed.register
def _plan_changed(e: Contract.PlanChanged, s: ContractState) -> ContractState:
    return replace(s, terms_history=superseded(s.terms_history, e.effective_on, e.terms))


@changed.register
def _suspended(e: Contract.Suspended, s: ContractState) -> ContractState:
    return entered(s, ContractStanding.SUSPENDED, e.occurred_at)


@changed.register
def _reinstated(e: Contract.Reinstated, s: ContractState) -> ContractState:
    return entered(s, ContractStanding.ACTIVE, e.occurred_at)


@changed.register
def _ended(e: Contract.Ended, s: ContractState) -> ContractState:
    return entered(s, ContractStanding.ENDED, e.occurred_at)


@changed.register
def _off_hours_exception_granted(
    e: Contract.OffHoursExceptionGranted, s: ContractState
) -> ContractState:
    return replace(s, off_hours_exception_tickets=(*s.off_hours_exception_tickets, e.ticket_id))


@changed.register
def _statement_issued(e: Contract.StatementIssued, s: ContractState) -> ContractState:
    return replace(s, issued_months=s.issued_months | {e.month})


def entered(s: ContractState, standing: ContractStanding, at: datetime) -> ContractState:
    return replace(s, standing=standing, standing_changes=(*s.standing_changes, (at, standing)))
