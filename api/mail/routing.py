"""What a received message does: one decision, made from the message and what
the ledger says of its sender and of the tickets it refers to.

- A machine's message (auto-reply, bounce, list, loop) does nothing and is
  answered by nothing; so does one sent from our own domain.
- A message that refers to a ticket whose contract admits the sender acts on
  it: an explicit verdict on a resolved ticket accepts or rejects the
  resolution; anything else is the requester's reply (which resumes a ticket
  waiting on the customer and reopens a resolved one); a closed ticket is
  final, so the message opens a new ticket that follows it.
- Otherwise an authorised sender's message opens a ticket on the one contract
  that admits it.
- Anything else, and a message that could not be read whole, is held for
  triage with the reason, and its sender learns nothing about any ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ticketledger.api.mail.inbound import Inbound
from ticketledger.api.mail.reply_text import Verdict
from ticketledger.domain.addresses import address_identity
from ticketledger.domain.errors import DomainError
from ticketledger.domain.vocabulary import Status

NO_SUBJECT = "(no subject)"
NO_TEXT = "(no text)"


@dataclass(frozen=True)
class TicketSeen:
    number: str
    contract_id: UUID
    status: Status


class Desk(Protocol):
    """What the decision asks of the ledger."""

    def contracts_admitting(self, sender: str) -> Sequence[UUID]:
        """The contracts that let `sender` open tickets."""
        ...

    def ticket(self, number: str) -> TicketSeen | None: ...

    def admits(self, contract_id: UUID, sender: str) -> bool: ...


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Triage:
    reason: str


@dataclass(frozen=True)
class Open:
    contract_id: UUID
    subject: str
    description: str
    follows: str | None = None  # the closed ticket a reply to it continues


@dataclass(frozen=True)
class Reply:
    number: str
    message: str


@dataclass(frozen=True)
class Accept:
    number: str
    comment: str


@dataclass(frozen=True)
class Reject:
    number: str
    reason: str


Action = Ignore | Triage | Open | Reply | Accept | Reject


def route(message: Inbound, desk: Desk, own_domains: Iterable[str]) -> Action:
    ours = {domain.lower() for domain in own_domains}
    if message.automatic:
        return Ignore(f"sent by a machine: {message.automatic}")
    try:
        identity = address_identity(message.sender)
    except DomainError:
        identity = ""
    if not identity or identity.startswith("@"):  # a whole domain is nobody's address
        reasons = "; ".join(message.problems) or f"no usable sender address: {message.sender!r}"
        return Triage(reasons)
    if identity.rpartition("@")[2] in ours:
        return Ignore(f"sent from our own domain ({identity})")
    if message.problems:
        # A message we could not read whole is for a person to look at.
        return Triage("; ".join(message.problems))
    return on_a_ticket(message, desk, ours) or opening(message, desk)


def on_a_ticket(message: Inbound, desk: Desk, ours: set[str]) -> Action | None:
    """The action on the first ticket referred to whose contract admits the
    sender; a triage when every ticket referred to is another's."""
    refused = False
    for number in message.ticket_numbers(ours):
        ticket = desk.ticket(number)
        if ticket is None:
            continue
        if desk.admits(ticket.contract_id, message.sender):
            return acting_on(message, ticket)
        refused = True
    return Triage("refers only to tickets its sender may not see") if refused else None


def acting_on(message: Inbound, ticket: TicketSeen) -> Action:
    text = message.reply or message.text or NO_TEXT
    verdict = message.verdict if ticket.status is Status.RESOLVED else None
    if verdict is Verdict.ACCEPTED:
        return Accept(ticket.number, text)
    if verdict is Verdict.REJECTED:
        return Reject(ticket.number, text)
    if ticket.status.is_final:
        return Open(ticket.contract_id, subject_of(message), text, follows=ticket.number)
    return Reply(ticket.number, text)


def opening(message: Inbound, desk: Desk) -> Action:
    contracts = list(dict.fromkeys(desk.contracts_admitting(message.sender)))
    if len(contracts) == 1:
        return Open(contracts[0], subject_of(message), message.text or NO_TEXT)
    if contracts:
        return Triage(f"its sender is authorised on {len(contracts)} contracts")
    return Triage("its sender is not authorised on any contract")


def subject_of(message: Inbound) -> str:
    return message.subject or NO_SUBJECT
