"""What people and programs ask of the ledger: small frozen values, one per
command, each with one handler (service/handlers.py).

A command names who asks (`by`), when it happened (`occurred_at`; None is now,
by the ledger's clock), the aggregate it is about and, where a caller read one,
the version it expects. Building one checks nothing: the aggregates decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ticketledger.domain.attachments import Attachment
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
    MailNotice,
    Priority,
    Visibility,
    WorkCategory,
)

TicketRef = UUID | str
Terms = ContractTerms | Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class Command:
    by: str
    occurred_at: datetime | None = None


# Contracts.


@dataclass(frozen=True, kw_only=True)
class SignContract(Command):
    terms: Terms


@dataclass(frozen=True, kw_only=True)
class ContractCommand(Command):
    contract_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class AuthoriseRequester(ContractCommand):
    requester: str


@dataclass(frozen=True, kw_only=True)
class RevokeRequester(ContractCommand):
    requester: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ChangePlan(ContractCommand):
    terms: Terms
    effective_on: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class SuspendContract(ContractCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReinstateContract(ContractCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class EndContract(ContractCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class IssueStatement(ContractCommand):
    """Freezes a month: the caller read the statement from the hours
    projection up to `through_position` and names its total and digest."""

    month: str
    through_position: int
    total: Decimal
    currency: str
    digest: str


# Opening tickets, and requests held for triage.


@dataclass(frozen=True, kw_only=True)
class OpenTicket(Command):
    """Opens a ticket for an authorised requester; anyone else's request is
    held for triage. `by` defaults to the requester."""

    by: str = ""
    contract_id: UUID
    requester: str
    channel: Channel
    kind: Kind
    priority: Priority
    subject: str
    description: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class HoldForTriage(Command):
    """Holds a request that reached the desk with no contract to open it on
    (its sender authorised by none, or by several): `reason` says which."""

    by: str = ""
    requester: str
    channel: Channel
    subject: str
    description: str = ""
    reason: str
    kind: Kind = Kind.QUESTION
    priority: Priority = Priority.MEDIUM
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class HeldRequestCommand(Command):
    held_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReleaseHeldRequest(HeldRequestCommand):
    """Opens the held request once its sender has been authorised; a request
    held with no contract names the one to open it on."""

    contract_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class DiscardHeldRequest(HeldRequestCommand):
    reason: str


# Commands on a ticket.


@dataclass(frozen=True, kw_only=True)
class TicketCommand(Command):
    ticket: TicketRef
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class Reclassify(TicketCommand):
    kind: Kind | None = None
    priority: Priority | None = None
    level: int | None = None
    reason: str


@dataclass(frozen=True, kw_only=True)
class Assign(TicketCommand):
    assignee: str


@dataclass(frozen=True, kw_only=True)
class Escalate(TicketCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReplyAsAgent(TicketCommand):
    message: str


@dataclass(frozen=True, kw_only=True)
class ReplyAsRequester(TicketCommand):
    message: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Comment(TicketCommand):
    text: str
    visibility: Visibility = Visibility.INTERNAL


@dataclass(frozen=True, kw_only=True)
class RecordNoticeMailed(TicketCommand):
    notice: MailNotice
    about_version: int
    recipient: str
    message_id: str


@dataclass(frozen=True, kw_only=True)
class WaitOnCustomer(TicketCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class WaitOnThirdParty(TicketCommand):
    third_party: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Resume(TicketCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordFailedContact(TicketCommand):
    channel: Channel
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class LogWork(TicketCommand):
    """`by` defaults to the agent who did the work; `entry_id` to a new id."""

    by: str = ""
    agent: str
    started_at: datetime
    duration: timedelta
    category: WorkCategory = WorkCategory.SUPPORT
    customer_caused: bool = False
    note: str = ""
    entry_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class CorrectWork(TicketCommand):
    """Category and cause left None keep the entry's own."""

    entry_id: UUID
    duration: timedelta
    category: WorkCategory | None = None
    customer_caused: bool | None = None
    reason: str


@dataclass(frozen=True, kw_only=True)
class AuthoriseOffHoursWork(TicketCommand):
    authorised_by: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ResolveTicket(TicketCommand):
    resolution: str


@dataclass(frozen=True, kw_only=True)
class AcceptResolution(TicketCommand):
    comment: str = ""


@dataclass(frozen=True, kw_only=True)
class RejectResolution(TicketCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReopenTicket(TicketCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class CloseTicket(TicketCommand):
    reason: ClosureReason
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class CancelTicket(TicketCommand):
    reason: CancellationReason
    duplicate_of: TicketRef | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RateTicket(TicketCommand):
    score: int
    comment: str = ""


@dataclass(frozen=True, kw_only=True)
class LinkTickets(TicketCommand):
    other: TicketRef
    link_kind: LinkKind = LinkKind.RELATES_TO
