"""A request from someone the contract does not authorise is held for triage,
not opened (seeds 000 and 001: only released senders and domains open tickets).
A message that reaches the desk with no contract to open on (its sender is
authorised by none, or by several) is held with no contract: releasing it
names the one to open it on."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ticketledger.domain.attachments import NONE as NO_ATTACHMENTS
from ticketledger.domain.attachments import Attachment
from ticketledger.domain.errors import HeldRequestDecidedError, InvalidCommandError
from ticketledger.domain.events import LedgerCreated, LedgerEvent, RecordsInOrder, check_occurred_at
from ticketledger.domain.vocabulary import Channel, Kind, Priority


class HeldRequest(RecordsInOrder, Aggregate):
    TOPIC = "ticketledger:HeldRequest"

    class Created(LedgerCreated):
        TOPIC = "ticketledger:HeldRequest.Created"

    class Held(Created):
        TOPIC = "ticketledger:HeldRequest.Held"
        contract_id: UUID | None
        requester: str
        channel: Channel
        kind: Kind
        priority: Priority
        subject: str
        description: str
        reason: str
        # Since schema 4: requests held before hold none (domain/ticket.py Opened).
        attachments: tuple[Attachment, ...] = NO_ATTACHMENTS

        def apply(self, aggregate: Any) -> None:
            r: HeldRequest = aggregate
            r.contract_id, r.requester, r.channel = self.contract_id, self.requester, self.channel
            r.kind, r.priority, r.subject = self.kind, self.priority, self.subject
            r.description, r.reason = self.description, self.reason
            r.attachments = tuple(self.attachments)
            r.held_at = r.last_occurred_at = self.occurred_at

    class Released(LedgerEvent):
        TOPIC = "ticketledger:HeldRequest.Released"
        ticket_id: UUID
        ticket_number: str

        def apply(self, aggregate: Any) -> None:
            aggregate.ticket_id, aggregate.last_occurred_at = self.ticket_id, self.occurred_at

    class Discarded(LedgerEvent):
        TOPIC = "ticketledger:HeldRequest.Discarded"
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.discarded, aggregate.last_occurred_at = True, self.occurred_at

    def __init__(self) -> None:
        self.contract_id: UUID | None = None
        self.requester = self.subject = self.description = self.reason = ""
        self.attachments: tuple[Attachment, ...] = NO_ATTACHMENTS
        self.channel = Channel.EMAIL
        self.kind = Kind.QUESTION
        self.priority = Priority.MEDIUM
        self.held_at: datetime | None = None
        self.last_occurred_at: datetime | None = None
        self.ticket_id: UUID | None = None
        self.discarded = False

    @classmethod
    def hold(
        cls,
        *,
        contract_id: UUID | None,
        requester: str,
        channel: Channel,
        kind: Kind,
        priority: Priority,
        subject: str,
        description: str,
        reason: str,
        by: str,
        occurred_at: datetime,
        attachments: tuple[Attachment, ...] = NO_ATTACHMENTS,
    ) -> HeldRequest:
        occurred_at = check_occurred_at(occurred_at, None)
        return cls._create(
            cls.Held,
            contract_id=contract_id,
            requester=requester,
            channel=channel,
            kind=kind,
            priority=priority,
            subject=subject,
            description=description,
            reason=reason,
            attachments=attachments,
            by=by,
            occurred_at=occurred_at,
        )

    def contract_to_open_on(self, named: UUID | None) -> UUID:
        """The contract it was held for, or the one its releaser names when it
        was held for none; never another than the one it was held for."""
        if self.contract_id is not None and named not in (None, self.contract_id):
            raise InvalidCommandError(
                f"this request was held for contract {self.contract_id}, not {named}"
            )
        chosen = self.contract_id or named
        if chosen is None:
            raise InvalidCommandError(
                "this request was held with no contract: name the contract to open it on"
            )
        return chosen

    def check_undecided(self) -> None:
        if self.ticket_id is not None or self.discarded:
            raise HeldRequestDecidedError("this held request was already released or discarded")

    def release(self, ticket_id: UUID, ticket_number: str, by: str, occurred_at: datetime) -> None:
        self.check_undecided()
        self._record(
            self.Released, occurred_at, ticket_id=ticket_id, ticket_number=ticket_number, by=by
        )

    def discard(self, reason: str, by: str, occurred_at: datetime) -> None:
        self.check_undecided()
        self._record(self.Discarded, occurred_at, reason=reason, by=by)
