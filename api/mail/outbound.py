"""The sender: what the outbox projection says is owed, rendered and handed to
the relay, then recorded on its ticket (Ticket.NoticeMailed).

Each notice once: a sender claims a notice before it sends it (a lease, so
several senders, or a sender started again after a crash, never send the same
notice side by side), and records it under the notice's own retry key, so the
record is written once however often it is attempted. Before sending, a
sender asks whether the notice's record exists: a notice recorded is never
sent again. What no mail system can promise is left: a sender killed between
the relay's acceptance and the record sends that one notice again after the
lease, with the same Message-ID, which mail programs show once.

A relay that is down or refuses delays a notice, with a growing pause between
attempts, and never drops it. A notice whose event is older than the
configured age when a sender first comes to it (a desk's history, when the
sender is first switched on) is not sent, nor recorded anywhere: it stays
owed in the outbox. A recipient already sent the hourly limit gets no more
notices that hour (a loop or a flood); those withheld are not sent later, and
are kept with the reason in the sender's own table."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID, uuid4

from ticketledger.api.mail.notices import Notice, Sender, message_id, message_of
from ticketledger.api.mail.receive import MailStore
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import MailNotice
from ticketledger.projections.outbox import NOTICES, OutboxProjection
from ticketledger.projections.quarantine import is_transient
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import ProjectionStore, stamp
from ticketledger.service import commands as c
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.outcomes import AlreadyAppliedError, RequestKey

log = logging.getLogger(__name__)
SENDING = "mail_sending"
SCOPE = "outbox"
MAILER = "mailer"
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=1)
PAGE = 200
STATES = ("claimed", "delayed", "sent", "withheld")


class RelayError(Exception):
    """The relay did not take the message: try again later."""


@dataclass(frozen=True)
class Relay:
    """An SMTP relay: `smtp://[user:password@]host[:port][?starttls=true]`,
    or `smtps://…` for TLS from the first byte."""

    host: str
    port: int
    tls: bool = False
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30
    # Certificates to trust besides the system's: a relay with a private CA.
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str, cafile: str | None = None) -> Relay:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("a relay is smtp://host:port or smtps://host:port")
        options = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            starttls=options.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            cafile=cafile,
        )

    def send(self, message: EmailMessage) -> None:
        try:
            smtp = self._connected()
            try:
                if self.user is not None:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
            finally:
                # Not QUIT: after a failed handshake the connection may be half
                # in TLS, and a polite goodbye would wait out the timeout.
                smtp.close()
        except (smtplib.SMTPException, OSError) as error:
            raise RelayError(f"{type(error).__name__}: {error}") from error

    def _connected(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.cafile)
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()
                raise
        return smtp


@dataclass(frozen=True)
class Outgoing:
    sender: Sender
    max_age: timedelta = timedelta(hours=48)
    per_recipient_hour: int = 30
    claim: timedelta = timedelta(seconds=120)


@dataclass
class Report:
    sent: int = 0
    delayed: int = 0
    withheld: int = 0

    def __bool__(self) -> bool:
        return any((self.sent, self.delayed, self.withheld))

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.delayed} delayed, {self.withheld} withheld"


class SendingStore:
    """The sender's own record of each notice it handled: claimed, sent,
    delayed (and until when, after how many attempts, why), or not sent."""

    def __init__(self, ledger: TicketLedger) -> None:
        self.store = ProjectionStore.beside(ledger)
        self.table = self.store.qualify(SENDING)
        self.store.create_tables(
            [
                f"CREATE TABLE IF NOT EXISTS {self.table} (notice_id TEXT PRIMARY KEY, "
                "recipient TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL, "
                "next_at TEXT NOT NULL, claimed_by TEXT, claimed_until TEXT, "
                "reason TEXT, updated_at TEXT NOT NULL)",
                f"CREATE INDEX IF NOT EXISTS {SENDING}_by_recipient "
                f"ON {self.table} (recipient, state, updated_at)",
            ]
        )

    def claim(self, notice_id: str, me: str, now: datetime, lease: timedelta) -> bool:
        """Whether this sender may send the notice now: nobody holds it, it is
        neither done nor waiting out a pause."""
        row = {"id": notice_id, "me": me, "now": stamp(now), "until": stamp(now + lease)}
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"INSERT INTO {self.table} AS s (notice_id, state, attempts, next_at, "
                "claimed_by, claimed_until, updated_at) "
                "VALUES (:id, 'claimed', 0, :now, :me, :until, :now) "
                "ON CONFLICT (notice_id) DO UPDATE SET state = 'claimed', claimed_by = :me, "
                "claimed_until = :until, updated_at = :now "
                "WHERE s.state IN ('claimed', 'delayed') AND s.next_at <= :now "
                "AND (s.claimed_until IS NULL OR s.claimed_until < :now)",
                row,
            )
            found = self.store.fetch(
                cursor,
                f"SELECT claimed_by, state FROM {self.table} WHERE notice_id = :id",
                {"id": notice_id},
            )
        return bool(found) and found[0]["claimed_by"] == me and found[0]["state"] == "claimed"

    def settle(
        self,
        notice_id: str,
        state: str,
        now: datetime,
        *,
        recipient: str | None = None,
        reason: str = "",
        next_at: datetime | None = None,
    ) -> None:
        row = {
            "id": notice_id,
            "state": state,
            "recipient": recipient,
            "reason": reason,
            "now": stamp(now),
            "next": stamp(next_at or now),
        }
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"INSERT INTO {self.table} AS s (notice_id, recipient, state, attempts, "
                "next_at, reason, updated_at) "
                "VALUES (:id, :recipient, :state, 0, :next, :reason, :now) "
                "ON CONFLICT (notice_id) DO UPDATE SET state = :state, "
                "recipient = COALESCE(:recipient, s.recipient), reason = :reason, "
                "next_at = :next, claimed_by = NULL, claimed_until = NULL, updated_at = :now, "
                "attempts = s.attempts + (CASE WHEN :state = 'delayed' THEN 1 ELSE 0 END)",
                row,
            )

    def attempts(self, notice_id: str) -> int:
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT attempts FROM {self.table} WHERE notice_id = :id",
                {"id": notice_id},
            )
        return int(found[0]["attempts"]) if found else 0

    def sent_to(self, recipient: str, since: datetime) -> int:
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT COUNT(*) AS n FROM {self.table} WHERE recipient = :r "
                "AND state = 'sent' AND updated_at >= :since",
                {"r": recipient, "since": stamp(since)},
            )
        return int(found[0]["n"])

    def rows(self, *states: str) -> list[dict[str, Any]]:
        """The notices this sender handled, in these states (all when none)."""
        chosen = ", ".join(f"'{state}'" for state in states if state in STATES)
        where = f" WHERE state IN ({chosen})" if chosen else ""
        with self.store.reading() as cursor:
            return self.store.fetch(
                cursor, f"SELECT * FROM {self.table}{where} ORDER BY updated_at, notice_id"
            )


def pause_after(attempts: int) -> timedelta:
    doubled: timedelta = FIRST_PAUSE * (2 ** max(attempts - 1, 0))
    return min(doubled, LONGEST_PAUSE)


class Mailer:
    """Sends what is owed, each time it is asked to (`send_due`)."""

    def __init__(
        self,
        ledger: TicketLedger,
        relay: Callable[[EmailMessage], None],
        outgoing: Outgoing,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.ledger = ledger
        self.relay = relay
        self.outgoing = outgoing
        self.clock = clock or ledger.clock
        self.projector = Projector(ledger, [OutboxProjection()])
        self.sending = SendingStore(ledger)
        self.received = MailStore(ledger)
        self.me = uuid4().hex

    def owed(self) -> list[dict[str, Any]]:
        """The notices owed, oldest first: those this sender has begun and not
        settled, and those it has not seen yet that are recent enough to send."""
        self.projector.catch_up([OutboxProjection.name])
        oldest = stamp(self.clock() - self.outgoing.max_age)
        with self.projector.reading(OutboxProjection.name) as rows:
            owed: list[dict[str, Any]] = rows.all(
                f"SELECT n.* FROM {{{NOTICES.name}}} n LEFT JOIN {self.sending.table} s "
                "ON s.notice_id = n.notice_id WHERE n.message_id IS NULL "
                "AND ((s.state IS NULL AND n.occurred_at >= :oldest) "
                "OR s.state IN ('claimed', 'delayed')) "
                "ORDER BY n.position LIMIT :page",
                {"page": PAGE, "oldest": oldest},
            )
        return owed

    def send_due(self) -> Report:
        report = Report()
        for row in self.owed():
            try:
                self.send_one(row, report)
            except Exception as error:
                if is_transient(error):
                    raise  # the database, not the notice: the next round retries
                # One notice that cannot be made must not hold up the others.
                log.exception("notice %s could not be sent", row["notice_id"])
                self.delay(str(row["notice_id"]), f"{type(error).__name__}: {error}")
                report.delayed += 1
        return report

    def delay(self, key: str, reason: str) -> None:
        now = self.clock()
        later = now + pause_after(self.sending.attempts(key) + 1)
        self.sending.settle(key, "delayed", now, reason=reason, next_at=later)
        log.warning("notice %s delayed until %s: %s", key, later.isoformat(), reason)

    def send_one(self, row: dict[str, Any], report: Report) -> None:
        now = self.clock()
        key = str(row["notice_id"])
        if not self.sending.claim(key, self.me, now, self.outgoing.claim):
            return
        request = RequestKey(SCOPE, key, fingerprint=f"{SCOPE}:{key}")
        if self.ledger.outcome_of(request) is not None:
            self.sending.settle(key, "sent", now, reason="recorded earlier")
            return
        notice = self.notice_of(row)
        if self.sending.sent_to(notice.recipient, now - timedelta(hours=1)) >= (
            self.outgoing.per_recipient_hour
        ):
            reason = f"{self.outgoing.per_recipient_hour} notices this hour already"
            self.sending.settle(key, "withheld", now, recipient=notice.recipient, reason=reason)
            report.withheld += 1
            return
        try:
            self.relay(message_of(notice, self.outgoing.sender, now))
        except RelayError as error:
            self.delay(key, str(error))
            report.delayed += 1
            return
        self.record(notice, row, request)
        self.sending.settle(key, "sent", self.clock(), recipient=notice.recipient)
        report.sent += 1

    def record(self, notice: Notice, row: dict[str, Any], request: RequestKey) -> None:
        domain = self.outgoing.sender.domain
        command = c.RecordNoticeMailed(
            ticket=UUID(str(row["ticket_id"])),
            notice=notice.notice,
            about_version=notice.about_version,
            recipient=notice.recipient,
            message_id=message_id(notice.number, notice.about_version, notice.notice, domain),
            by=MAILER,
        )
        try:
            with self.ledger.keyed(request):
                self.ledger.handle(command)
        except AlreadyAppliedError:
            pass  # recorded by an earlier attempt: once is the point

    def notice_of(self, row: dict[str, Any]) -> Notice:
        ticket_id = UUID(str(row["ticket_id"]))
        version = int(row["about_version"])
        state = self.ledger.folded(ticket_id).state
        (event,) = self.ledger.events.get(ticket_id, gt=version - 1, lte=version)
        terms = self.ledger.contract(state.contract_id).state.terms
        return Notice(
            notice=MailNotice(row["notice"]),
            number=state.number,
            about_version=version,
            recipient=state.requester,
            subject=state.subject,
            language=terms.language,
            timezone=terms.timezone,
            text=event_words(event),
            closure=event.reason if isinstance(event, Ticket.Closed) else None,
            closes_at=getattr(event, "closes_at", None),
            opened_by_message=self.received.opener_of(state.number),
        )


def event_words(event: Any) -> str:
    """The words of the event the requester is told of."""
    match event:
        case Ticket.AgentReplied(message=text) | Ticket.Commented(text=text):
            return str(text)
        case Ticket.WaitingOnCustomer(reason=text) | Ticket.Resolved(resolution=text):
            return str(text)
        case Ticket.Opened(description=text):
            return str(text)
    return ""
