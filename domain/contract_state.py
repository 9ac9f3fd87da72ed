"""What a contract's events mean: the immutable state they fold into, and the
questions asked of it (which terms were in force on a day, whether a person
may open tickets, whether the desk serves the contract at an instant).

`ContractState` is the one answer to "what is this contract now". `evolve` in
domain/contract.py builds it for the aggregate and for every projection that
keeps contracts, so the rule that a plan change supersedes the changes
scheduled on or after its date, or that a revocation inside an authorised
domain denies the person by name, is written once.

Pure: no database and no wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from ticketledger.domain.addresses import address_identity
from ticketledger.domain.billing import Buckets, first_day, split_entry, warranty_covers
from ticketledger.domain.canonical import CanonicalSet
from ticketledger.domain.copies import shared_when_copied
from ticketledger.domain.errors import ContractNotStartedError
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import ContractStanding, Kind


@shared_when_copied
@dataclass(frozen=True)
class ContractState:
    """A contract as its events left it. `terms_history` holds each change of
    terms with the local date it takes effect from, oldest first; collections
    are tuples and frozen sets, built anew by `evolve`, never changed."""

    terms_history: tuple[tuple[date, ContractTerms], ...]
    last_occurred_at: datetime
    authorised_requesters: CanonicalSet[str] = frozenset()
    denied_addresses: CanonicalSet[str] = frozenset()
    standing: ContractStanding = ContractStanding.ACTIVE
    standing_changes: tuple[tuple[datetime, ContractStanding], ...] = ()
    off_hours_exception_tickets: tuple[UUID, ...] = ()
    issued_months: CanonicalSet[str] = frozenset()

    @property
    def terms(self) -> ContractTerms:
        """The latest terms signed, whatever their effective date."""
        return self.terms_history[-1][1]

    @property
    def customer(self) -> str:
        return self.terms_history[0][1].customer

    @property
    def starts_on(self) -> date:
        return self.terms_history[0][0]

    def terms_on(self, day: date) -> ContractTerms:
        effective = [t for d, t in self.terms_history if d <= day]
        if not effective:
            raise ContractNotStartedError(
                f"the contract starts on {self.starts_on.isoformat()}, not {day}"
            )
        return effective[-1]

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(ZoneInfo(self.terms.timezone)).date()

    def terms_at(self, instant: datetime) -> ContractTerms:
        return self.terms_on(self.local_date(instant))

    def terms_for_month(self, month: str) -> ContractTerms:
        """A month is billed under the terms in force on its first day, or on
        the contract's first day when it started later."""
        return self.terms_on(max(first_day(month), self.starts_on))

    def standing_at(self, instant: datetime) -> ContractStanding:
        """Suspensions and the end take effect when they occurred, so work done
        while the contract was active can still be logged afterwards."""
        earlier = [standing for at, standing in self.standing_changes if at <= instant]
        return earlier[-1] if earlier else ContractStanding.ACTIVE

    def work_buckets(
        self,
        *,
        started_at: datetime,
        duration: timedelta,
        off_hours: timedelta,
        off_hours_covered: timedelta,
        customer_caused: bool,
        kind: Kind,
    ) -> Buckets:
        """How a stretch of work is billed: under the terms in force on the
        contract-local day it started, and the ticket's kind at posting."""
        day = self.local_date(started_at)
        terms = self.terms_on(day)
        return split_entry(
            duration=duration,
            off_hours=off_hours,
            off_hours_covered=off_hours_covered,
            customer_caused=customer_caused,
            under_warranty=warranty_covers(terms, kind, day),
            rounding_minutes=terms.rounding_minutes,
        )

    def is_authorised(self, requester: str) -> bool:
        """Whether the sender may open tickets: refused with InvalidCommandError
        when the address is no address (domain/addresses.py)."""
        return self.admits(address_identity(requester))

    def admits(self, identity: str) -> bool:
        """Whether an address's identity is let in: by name, or through its
        domain unless denied by name."""
        if identity in self.denied_addresses:
            return False
        return identity in self.authorised_requesters or (
            "@" + identity.rpartition("@")[2] in self.authorised_requesters
        )


def superseded(
    history: tuple[tuple[date, ContractTerms], ...], effective_on: date, terms: ContractTerms
) -> tuple[tuple[date, ContractTerms], ...]:
    """New terms from a date on supersede any change scheduled for that date or later."""
    return (*((d, t) for d, t in history if d < effective_on), (effective_on, terms))
