"""One path for every way a message comes in (the SMTP listener, the pipe from
a mail server, a folder of .eml files): keep it, decide what it does
(api/mail/routing.py), do it through the ledger's commands, record the outcome.

Nothing taken is lost: the message is stored whole before anything is done
with it, and a command the ledger refuses (the ticket closed meanwhile, say)
holds the message for triage with the refusal as its reason. The same message
delivered twice is acted on once: the ledger's command runs under the
message's own retry key (its Message-ID), recorded in the command's own
transaction. A database that fails is the caller's to retry (the pipe exits
75, EX_TEMPFAIL), never an answer.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from ticketledger.api.attachments import AttachmentStore, Content
from ticketledger.api.mail.inbound import Inbound, Limits, read_message
from ticketledger.api.mail.routing import (
    Accept,
    Action,
    Ignore,
    Open,
    Reject,
    Reply,
    TicketSeen,
    Triage,
    route,
)
from ticketledger.domain.attachments import Attachment, name_of
from ticketledger.domain.errors import DomainError, TicketNotFoundError
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.projections.store import ProjectionStore, stamp
from ticketledger.service import commands as c
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.outcomes import AlreadyAppliedError, CommandResult, RequestKey

RECEIVED = "mail_received"
SCOPE = "mail"
# What an e-mail opens as until the desk classifies it.
OPENED_KIND, OPENED_PRIORITY = Kind.QUESTION, Priority.MEDIUM


@dataclass(frozen=True)
class MailSettings:
    domains: tuple[str, ...]  # ours: our Message-IDs and our own senders
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Received:
    """What became of a message: opened, replied, accepted, rejected, held,
    ignored, or already taken (a second delivery)."""

    outcome: str
    reason: str
    message_key: str
    number: str | None = None
    held_id: UUID | None = None


class LedgerDesk:
    """What the decision asks, answered by the ledger: tickets and contracts
    from their own events; which contracts there are, from the ticket_state
    projection (a contract signed a moment ago, before the followers read it,
    is not yet among them: its senders' first message is held, not lost)."""

    def __init__(self, ledger: TicketLedger, contract_ids: Callable[[], Iterable[UUID]]) -> None:
        self.ledger = ledger
        self.contract_ids = contract_ids

    def ticket(self, number: str) -> TicketSeen | None:
        # The fold the command then continues: the ticket is folded once.
        try:
            state = self.ledger.folded(number).state
        except (TicketNotFoundError, ValueError):
            return None
        return TicketSeen(number, state.contract_id, state.status)

    def admits(self, contract_id: UUID, sender: str) -> bool:
        try:
            return self.ledger.contract(contract_id).state.is_authorised(sender)
        except DomainError:
            return False

    def contracts_admitting(self, sender: str) -> Sequence[UUID]:
        return [c for c in self.contract_ids() if self.admits(c, sender)]


class MailStore:
    """Every message taken, whole, by its key: what it did, and why."""

    def __init__(self, ledger: TicketLedger) -> None:
        self.store = ProjectionStore.beside(ledger)
        self.contents = AttachmentStore(ledger)
        self.table = self.store.qualify(RECEIVED)
        self.store.create_tables(
            [
                f"CREATE TABLE IF NOT EXISTS {self.table} (message_key TEXT PRIMARY KEY, "
                "sha256 TEXT NOT NULL, raw_base64 TEXT NOT NULL, sender TEXT NOT NULL, "
                "subject TEXT NOT NULL, received_at TEXT NOT NULL, outcome TEXT, "
                "reason TEXT, number TEXT, held_id TEXT)"
            ]
        )

    def keep(self, key: str, raw: bytes, message: Inbound) -> None:
        """Stored before anything is done with it, its files before any event
        names them; a second delivery keeps the first."""
        self.contents.keep([Content(a.sha256, a.content) for a in message.attachments])
        row = {
            "key": key,
            "sha": hashlib.sha256(raw).hexdigest(),
            "raw": base64.b64encode(raw).decode("ascii"),
            "sender": message.sender,
            "subject": message.subject,
            "at": stamp(datetime.now(tz=UTC)),
        }
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"INSERT INTO {self.table} (message_key, sha256, raw_base64, sender, subject, "
                "received_at) VALUES (:key, :sha, :raw, :sender, :subject, :at) "
                "ON CONFLICT (message_key) DO NOTHING",
                row,
            )

    def record(self, received: Received) -> None:
        """What the message did; a second delivery, which did nothing, leaves
        the first's outcome (and fills it in only if that was never recorded)."""
        row = {
            "key": received.message_key,
            "outcome": received.outcome,
            "reason": received.reason,
            "number": received.number,
            "held": None if received.held_id is None else str(received.held_id),
        }
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"UPDATE {self.table} SET outcome = :outcome, reason = :reason, "
                "number = :number, held_id = :held WHERE message_key = :key "
                "AND (outcome IS NULL OR :outcome <> 'already taken')",
                row,
            )

    def raw(self, key: str) -> bytes | None:
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT raw_base64 FROM {self.table} WHERE message_key = :key",
                {"key": key},
            )
        return base64.b64decode(found[0]["raw_base64"]) if found else None

    def opener_of(self, number: str) -> str | None:
        """The Message-ID of the message that opened the ticket, if one did."""
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT message_key FROM {self.table} WHERE number = :number "
                "AND outcome = 'opened' AND message_key NOT LIKE :hashed",
                {"number": number, "hashed": "sha256:%"},
            )
        return str(found[0]["message_key"]) if found else None

    def outcomes(self) -> list[dict[str, object]]:
        with self.store.reading() as cursor:
            return self.store.fetch(
                cursor,
                f"SELECT message_key, sender, subject, outcome, reason, number, held_id "
                f"FROM {self.table} ORDER BY received_at, message_key",
            )


def message_key(message: Inbound) -> str:
    """The message's own Message-ID; for one without, a hash of what its
    sender wrote (a second delivery adds trace headers, not content)."""
    if message.message_id:
        return message.message_id
    written = "\n".join((message.sender, message.subject, str(message.sent_at), message.text))
    return "sha256:" + hashlib.sha256(written.encode("utf-8")).hexdigest()


def receive(
    ledger: TicketLedger, store: MailStore, desk: LedgerDesk, raw: bytes, settings: MailSettings
) -> Received:
    message = read_message(raw, settings.limits)
    key = message_key(message)
    store.keep(key, raw, message)
    received = act(ledger, message, key, route(message, desk, settings.domains))
    store.record(received)
    return received


def act(ledger: TicketLedger, message: Inbound, key: str, action: Action) -> Received:
    if isinstance(action, Ignore):
        return Received("ignored", action.reason, key)
    request = RequestKey(SCOPE, key, fingerprint=f"{SCOPE}:{key}")
    try:
        with ledger.keyed(request):
            return done(action, ledger.handle(command_for(action, message)), key)
    except AlreadyAppliedError as applied:
        first = applied.outcome.result
        held_id = first.aggregate_id if first.held else None
        return Received(
            "already taken", "delivered again: acted on once", key, first.number, held_id
        )
    except DomainError as refused:
        if isinstance(action, Triage):
            raise
        held = Triage(f"{outcome_word(action)} refused: {refused}")
        return act(ledger, message, key, held)


def command_for(action: Action, message: Inbound) -> c.Command:
    by = message.sender
    files = attachments_of(message)
    match action:
        case Open(contract_id, subject, description, follows):
            text = description if follows is None else f"{description}\n\n(follows {follows})"
            return c.OpenTicket(
                contract_id=contract_id,
                requester=by,
                channel=Channel.EMAIL,
                kind=OPENED_KIND,
                priority=OPENED_PRIORITY,
                subject=subject,
                description=text + not_kept(message),
                attachments=files,
            )
        case Reply(number, text):
            return c.ReplyAsRequester(
                ticket=number, message=text + not_kept(message), attachments=files, by=by
            )
        case Accept(number, comment):
            return c.AcceptResolution(ticket=number, comment=comment, by=by)
        case Reject(number, reason):
            return c.RejectResolution(ticket=number, reason=reason, by=by)
        case Triage(reason):
            return c.HoldForTriage(
                requester=by or "(no sender)",
                channel=Channel.EMAIL,
                subject=message.subject or "(no subject)",
                description=message.text + not_kept(message),
                reason=reason,
                attachments=files,
            )
    raise AssertionError(f"no command for {action}")


def attachments_of(message: Inbound) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(name=name_of(a.name), content_type=a.content_type, size=a.size, sha256=a.sha256)
        for a in message.attachments
    )


def not_kept(message: Inbound) -> str:
    """What the desk should know it did not get: files over the limits."""
    if not message.refused_attachments:
        return ""
    return "\n\n(attachments not kept: " + "; ".join(message.refused_attachments) + ")"


def outcome_word(action: Action) -> str:
    return {
        Open: "opened",
        Reply: "replied",
        Accept: "accepted",
        Reject: "rejected",
        Triage: "held",
        Ignore: "ignored",
    }[type(action)]


def done(action: Action, result: CommandResult, key: str) -> Received:
    if result.held:
        # Held by the ledger itself: its sender was not authorised after all.
        reason = action.reason if isinstance(action, Triage) else "its sender is not authorised"
        return Received("held", reason, key, None, result.aggregate_id)
    number = getattr(action, "number", None) or result.number
    return Received(outcome_word(action), "", key, number)
