"""The Contract aggregate: terms signed with a customer, who may open tickets,
and whether the desk serves it at all."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from ticketledger.domain.billing import check_month, first_day, month_of, next_month
from ticketledger.domain.errors import (
    ContractEndedError,
    ContractNotStartedError,
    ContractSuspendedError,
    InvalidCommandError,
    InvalidTransitionError,
    MonthNotEndedError,
    NothingChangedError,
    OffHoursExceptionUsedError,
    RequesterNotAuthorisedError,
    StatementAlreadyIssuedError,
    WarrantyNotCoveredError,
)
from ticketledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    RecordsInOrder,
    check_aware,
    check_occurred_at,
)
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import ContractState, Kind

DIGEST = re.compile(r"^[0-9a-f]{64}$")


def normalise_requester(requester: str) -> str:
    """An address (ana@acme.com) or a whole domain (@acme.com), lower-cased."""
    value = requester.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not domain or "." not in domain or " " in value or local.count("@"):
        raise InvalidCommandError(f"not an e-mail address or @domain: {requester!r}")
    return value


class Contract(RecordsInOrder, Aggregate):
    TOPIC = "ticketledger:Contract"

    class Created(LedgerCreated):
        TOPIC = "ticketledger:Contract.Created"

    class Signed(Created):
        TOPIC = "ticketledger:Contract.Signed"
        terms: ContractTerms

        def apply(self, aggregate: Any) -> None:
            aggregate.terms_history = [(self.terms.starts_on, self.terms)]
            aggregate.last_occurred_at = self.occurred_at

    class Event(LedgerEvent):
        def apply(self, aggregate: Any) -> None:
            aggregate.last_occurred_at = self.occurred_at
            self.change(aggregate)

        def change(self, contract: Contract) -> None:
            """Each event's own effect on the contract."""

    class RequesterAuthorised(Event):
        TOPIC = "ticketledger:Contract.RequesterAuthorised"
        requester: str

        def change(self, contract: Contract) -> None:
            contract.authorised_requesters.add(self.requester)
            contract.denied_addresses.discard(self.requester)

    class RequesterRevoked(Event):
        """Revoking one address inside an authorised domain denies just that
        person (seed 000: plants have a high turnover of operators)."""

        TOPIC = "ticketledger:Contract.RequesterRevoked"
        requester: str
        reason: str

        def change(self, contract: Contract) -> None:
            contract.authorised_requesters.discard(self.requester)
            # Still let in through an authorised domain: denied by name.
            if contract.is_authorised(self.requester):
                contract.denied_addresses.add(self.requester)

    class PlanChanged(Event):
        """New terms from a date on; it supersedes any change that was scheduled
        for that date or later."""

        TOPIC = "ticketledger:Contract.PlanChanged"
        terms: ContractTerms
        effective_on: date
        reason: str

        def change(self, contract: Contract) -> None:
            history = [(d, t) for d, t in contract.terms_history if d < self.effective_on]
            contract.terms_history = [*history, (self.effective_on, self.terms)]

    class Suspended(Event):
        TOPIC = "ticketledger:Contract.Suspended"
        reason: str

        def change(self, contract: Contract) -> None:
            contract.enter(ContractState.SUSPENDED, self.occurred_at)

    class Reinstated(Event):
        TOPIC = "ticketledger:Contract.Reinstated"
        reason: str

        def change(self, contract: Contract) -> None:
            contract.enter(ContractState.ACTIVE, self.occurred_at)

    class Ended(Event):
        TOPIC = "ticketledger:Contract.Ended"
        reason: str

        def change(self, contract: Contract) -> None:
            contract.enter(ContractState.ENDED, self.occurred_at)

    class OffHoursExceptionGranted(Event):
        """Seed 003: without the 24x7 add-on, an off-hours service is an exception."""

        TOPIC = "ticketledger:Contract.OffHoursExceptionGranted"
        ticket_id: UUID
        ticket_number: str

        def change(self, contract: Contract) -> None:
            contract.off_hours_exception_tickets.append(self.ticket_id)

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

        def change(self, contract: Contract) -> None:
            contract.issued_months.add(self.month)

    def __init__(self) -> None:
        self.terms_history: list[tuple[date, ContractTerms]] = []
        self.authorised_requesters: set[str] = set()
        self.denied_addresses: set[str] = set()
        self.state = ContractState.ACTIVE
        self.state_changes: list[tuple[datetime, ContractState]] = []
        self.off_hours_exception_tickets: list[UUID] = []
        self.issued_months: set[str] = set()
        self.last_occurred_at: datetime | None = None

    @classmethod
    def sign(cls, terms: ContractTerms, by: str, occurred_at: datetime) -> Contract:
        occurred_at = check_occurred_at(occurred_at, None)
        return cls._create(cls.Signed, terms=terms, by=by, occurred_at=occurred_at)

    @property
    def terms(self) -> ContractTerms:
        """The latest terms signed, whatever their effective date."""
        return self.terms_history[-1][1]

    @property
    def customer(self) -> str:
        return self.terms_history[0][1].customer

    def terms_on(self, day: date) -> ContractTerms:
        effective = [t for d, t in self.terms_history if d <= day]
        if not effective:
            raise ContractNotStartedError(
                f"the contract starts on {self.terms_history[0][0].isoformat()}, not {day}"
            )
        return effective[-1]

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(ZoneInfo(self.terms.timezone)).date()

    def terms_at(self, instant: datetime) -> ContractTerms:
        return self.terms_on(self.local_date(instant))

    def enter(self, state: ContractState, at: datetime) -> None:
        self.state = state
        self.state_changes.append((at, state))

    def state_at(self, instant: datetime) -> ContractState:
        """Suspensions and the end take effect when they occurred, so work done
        while the contract was active can still be logged afterwards."""
        earlier = [state for at, state in self.state_changes if at <= instant]
        return earlier[-1] if earlier else ContractState.ACTIVE

    def is_authorised(self, requester: str) -> bool:
        address = normalise_requester(requester)
        if address in self.denied_addresses:
            return False
        return address in self.authorised_requesters or (
            "@" + address.rpartition("@")[2] in self.authorised_requesters
        )

    def check_authorised(self, requester: str) -> None:
        if not self.is_authorised(requester):
            raise RequesterNotAuthorisedError(
                f"{requester} is not authorised to open tickets for {self.customer}"
            )

    def check_serves(self, at: datetime | None = None) -> None:
        """No contract service while suspended (non-payment) or after the end."""
        state = self.state if at is None else self.state_at(at)
        if state is ContractState.SUSPENDED:
            raise ContractSuspendedError(f"the contract of {self.customer} is suspended")
        if state is ContractState.ENDED:
            raise ContractEndedError(f"the contract of {self.customer} has ended")

    def authorise_requester(self, requester: str, by: str, occurred_at: datetime) -> None:
        requester = normalise_requester(requester)
        if requester in self.authorised_requesters:
            raise NothingChangedError(f"{requester} is already authorised")
        self._record(self.RequesterAuthorised, occurred_at, requester=requester, by=by)

    def revoke_requester(self, requester: str, reason: str, by: str, occurred_at: datetime) -> None:
        requester = normalise_requester(requester)
        if requester not in self.authorised_requesters and not self.is_authorised(requester):
            raise NothingChangedError(f"{requester} is not authorised")
        self._record(self.RequesterRevoked, occurred_at, requester=requester, reason=reason, by=by)

    def change_plan(
        self, terms: ContractTerms, effective_on: date, reason: str, by: str, occurred_at: datetime
    ) -> None:
        self.check_not_ended()
        if terms.customer != self.customer:
            raise InvalidCommandError("a plan change cannot move the contract to another customer")
        if effective_on < self.local_date(check_aware(occurred_at, "occurred_at")):
            # Months already served and billed keep the terms they had.
            raise InvalidCommandError("a plan change cannot take effect in the past")
        terms = terms.model_copy(update={"starts_on": self.terms_history[0][1].starts_on})
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
        if self.state is not ContractState.SUSPENDED:
            raise InvalidTransitionError("only a suspended contract can be reinstated")
        self._record(self.Reinstated, occurred_at, reason=reason, by=by)

    def end(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_not_ended()
        self._record(self.Ended, occurred_at, reason=reason, by=by)

    def check_not_ended(self) -> None:
        if self.state is ContractState.ENDED:
            raise ContractEndedError(f"the contract of {self.customer} has ended")

    def check_warranty(self, kind: Kind, at: datetime) -> None:
        """A warranty kind of ticket opens only while that warranty is in force
        (works: from the signed hand-over; material: from the invoice date)."""
        warranty_kind = kind.warranty
        if warranty_kind is None:
            return
        day = self.local_date(at)
        if self.terms_at(at).warranty_for(warranty_kind, day) is None:
            raise WarrantyNotCoveredError(
                f"{self.customer} has no {warranty_kind.value} warranty in force on {day}"
            )

    def allow_off_hours(
        self, ticket_id: UUID, ticket_number: str, by: str, occurred_at: datetime
    ) -> bool:
        """Whether the customer's go-ahead for off-hours work on the ticket spends
        the contract's off-hours exception: it does without around-the-clock
        service (seed 003), and the exception is granted here, once."""
        self.check_serves(occurred_at)
        if self.terms_at(occurred_at).off_hours_exception_limit is None:
            return False
        self.grant_off_hours_exception(ticket_id, ticket_number, by, occurred_at)
        return True

    def grant_off_hours_exception(
        self, ticket_id: UUID, ticket_number: str, by: str, occurred_at: datetime
    ) -> None:
        """Seed 003: the first off-hours service without the add-on is granted;
        the next is refused until the customer adheres to the 24x7 contract."""
        limit = self.terms_at(occurred_at).off_hours_exception_limit
        if ticket_id in self.off_hours_exception_tickets or limit is None:
            return
        if len(self.off_hours_exception_tickets) >= limit:
            raise OffHoursExceptionUsedError(
                f"{self.customer} has used its {limit} off-hours exception(s); "
                "further off-hours service needs the 24x7 add-on"
            )
        self._record(
            self.OffHoursExceptionGranted,
            occurred_at,
            ticket_id=ticket_id,
            ticket_number=ticket_number,
            by=by,
        )

    def terms_for_month(self, month: str) -> ContractTerms:
        """A month is billed under the terms in force on its first day, or on
        the contract's first day when it started later."""
        return self.terms_on(max(first_day(month), self.terms_history[0][0]))

    def check_statement_issuable(self, month: str, at: datetime) -> None:
        """A month is issued once, only after it has ended in the contract's
        local time, and never for a month before the contract started."""
        check_month(month)
        if month in self.issued_months:
            raise StatementAlreadyIssuedError(
                f"the statement of {self.customer} for {month} was already issued"
            )
        if month_of(self.terms_history[0][0]) > month:
            raise ContractNotStartedError(f"the contract of {self.customer} starts after {month}")
        if self.local_date(check_aware(at, "occurred_at")) < first_day(next_month(month)):
            raise MonthNotEndedError(f"{month} has not ended yet in {self.terms.timezone}")

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
        if currency != self.terms_for_month(month).currency:
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
