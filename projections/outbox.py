"""The e-mail notices the desk owes its requesters, read off the tickets'
events: which event tells the requester what (`notices_of`, the one place that
rule lives), and whether the relay has taken each one yet (a NoticeMailed
event names the notice it records). Like every projection it is rebuilt from
the log alone: a notice is owed until its ticket records it mailed.

Internal comments never leave: only what the requester may read gives a
notice. The sender (api/mail/outbound.py) renders and sends what is owed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import ClosureReason, MailNotice, Notice, Visibility
from ticketledger.projections.base import DispatchingProjection, handles
from ticketledger.projections.store import Rows, Table, stamp

NOTICES = Table(
    "notices",
    (
        ("notice_id", "TEXT"),
        ("ticket_id", "TEXT"),
        ("about_version", "INTEGER"),
        ("notice", "TEXT"),
        ("position", "INTEGER"),
        ("occurred_at", "TEXT"),
        ("message_id", "TEXT"),
    ),
    key=("notice_id",),
    # The sender asks for the recent ones still owed.
    indexes=(("message_id", "occurred_at"),),
)
# Closures the requester did not bring about: the notice of closure says so.
CLOSED_BY_THE_DESK = frozenset(ClosureReason) - {ClosureReason.ACCEPTED}


def notices_of(event: Any) -> tuple[MailNotice, ...]:
    """What the requester is told of this event of its ticket."""
    match event:
        case Ticket.Opened():
            return (MailNotice.OPENED,)
        case Ticket.AgentReplied():
            return (MailNotice.REPLY,)
        case Ticket.Commented(visibility=Visibility.PUBLIC):
            return (MailNotice.REPLY,)
        case Ticket.WaitingOnCustomer():
            return (MailNotice.WAITING_ON_YOU,)
        case Ticket.Resolved():
            return (MailNotice.RESOLVED,)
        case Ticket.RequesterNoticeSent(notice=Notice.CLOSURE_PENDING):
            return (MailNotice.CLOSURE_PENDING,)
        case Ticket.Closed(reason=reason) if reason in CLOSED_BY_THE_DESK:
            return (MailNotice.CLOSED,)
        case Ticket.AcceptanceGiven():
            return (MailNotice.RATING_INVITATION,)
    return ()


def notice_id(ticket_id: UUID, about_version: int, notice: MailNotice) -> str:
    return f"{ticket_id}.{about_version}.{notice.value}"


class OutboxProjection(DispatchingProjection):
    name: ClassVar[str] = "mail_outbox"
    tables: ClassVar[tuple[Table, ...]] = (NOTICES,)

    @handles(
        Ticket.Opened,
        Ticket.AgentReplied,
        Ticket.Commented,
        Ticket.WaitingOnCustomer,
        Ticket.Resolved,
        Ticket.RequesterNoticeSent,
        Ticket.Closed,
        Ticket.AcceptanceGiven,
    )
    def owed(self, event: Any, rows: Rows, position: int) -> None:
        for notice in notices_of(event):
            rows.put(NOTICES.name, owed_row(event, notice, position))

    @handles(Ticket.NoticeMailed)
    def mailed(self, event: Ticket.NoticeMailed, rows: Rows, position: int) -> None:
        key = notice_id(event.originator_id, event.about_version, event.notice)
        row = rows.get(NOTICES.name, notice_id=key)
        if row is not None:
            rows.put(NOTICES.name, {**row, "message_id": event.message_id})


def owed_row(event: Any, notice: MailNotice, position: int) -> dict[str, Any]:
    occurred_at: datetime = event.occurred_at
    return {
        "notice_id": notice_id(event.originator_id, event.originator_version, notice),
        "ticket_id": str(event.originator_id),
        "about_version": event.originator_version,
        "notice": notice.value,
        "position": position,
        "occurred_at": stamp(occurred_at),
        "message_id": None,
    }
