"""Messages received through the ledger, on SQLite and PostgreSQL: a
registered sender's message opens a ticket, replies thread onto it, an
acceptance closes it and a rejection reopens it; anyone else's message is
held; a machine's is recorded and does nothing; a message delivered twice is
acted on once; every message is kept whole."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from uuid import UUID

import pytest

from tests.conftest import LedgerFactory
from tests.support import ManualClock, focco_terms
from ticketledger.api.mail.receive import LedgerDesk, MailSettings, MailStore, Received, receive
from ticketledger.domain.vocabulary import Channel, Status
from ticketledger.service.commands import (
    AuthoriseRequester,
    ResolveTicket,
    SignContract,
    SuspendContract,
)
from ticketledger.service.ledger import TicketLedger

OURS = MailSettings(domains=("desk.example",))
ANA = "ana.ribeiro@moveisserra.com.br"


class Desk:
    """A ledger with one contract for Móveis Serra, and its mailbox."""

    def __init__(self, ledger: TicketLedger, clock: ManualClock) -> None:
        self.ledger, self.clock = ledger, clock
        signed = ledger.handle(SignContract(terms=focco_terms(customer="Móveis Serra"), by="a"))
        self.contract_id: UUID = signed.aggregate_id
        ledger.handle(
            AuthoriseRequester(
                contract_id=self.contract_id, requester="@moveisserra.com.br", by="a"
            )
        )
        self.store = MailStore(ledger)
        self.desk = LedgerDesk(ledger, lambda: [self.contract_id])
        self.sent = 0

    def deliver(self, raw: bytes) -> Received:
        self.clock.advance(timedelta(minutes=5))
        return receive(self.ledger, self.store, self.desk, raw, OURS)

    def message(
        self,
        body: str,
        *,
        sender: str = ANA,
        subject: str = "Linha 2 parada",
        answers: str | None = None,
        message_id: str | None = None,
        **headers: str,
    ) -> bytes:
        self.sent += 1
        message = EmailMessage()
        message["From"] = sender
        message["To"] = "suporte@desk.example"
        message["Subject"] = subject
        message["Message-ID"] = message_id or f"<m{self.sent}@moveisserra.com.br>"
        if answers:
            message["In-Reply-To"] = f"<{answers}.1.abc@desk.example>"
        for name, value in headers.items():
            message[name.replace("_", "-")] = value
        message.set_content(body)
        return message.as_bytes()

    def resolve(self, number: str) -> None:
        self.clock.advance(timedelta(minutes=30))
        self.ledger.handle(ResolveTicket(ticket=number, resolution="restarted", by="carla"))


@pytest.fixture
def desk(ledger: TicketLedger, clock: ManualClock) -> Desk:
    return Desk(ledger, clock)


def test_a_registered_senders_message_opens_a_ticket_by_email(desk: Desk) -> None:
    opened = desk.deliver(desk.message("A linha 2 não liga desde as 8h."))
    assert opened.outcome == "opened" and opened.number is not None
    ticket = desk.ledger.ticket(opened.number).state
    assert (ticket.requester, ticket.channel, ticket.subject) == (
        ANA,
        Channel.EMAIL,
        "Linha 2 parada",
    )
    assert ticket.description == "A linha 2 não liga desde as 8h."


def test_replies_thread_onto_the_ticket_and_a_verdict_answers_the_resolution(
    desk: Desk,
) -> None:
    number = desk.deliver(desk.message("A linha 2 parou.")).number
    assert number is not None
    reply = desk.deliver(
        desk.message("Segue o log.\n\nEm seg., Suporte escreveu:\n> envie o log", answers=number)
    )
    assert (reply.outcome, reply.number) == ("replied", number)
    assert desk.ledger.ticket(number).state.requester_replies == 1
    desk.resolve(number)
    accepted = desk.deliver(desk.message("Aceito.\n\nObrigada!", answers=number))
    assert (accepted.outcome, accepted.number) == ("accepted", number)
    assert desk.ledger.ticket(number).state.status is Status.CLOSED


def test_a_rejection_by_email_reopens_the_resolved_ticket(desk: Desk) -> None:
    number = desk.deliver(desk.message("O relatório não abre.")).number
    assert number is not None
    desk.resolve(number)
    rejected = desk.deliver(desk.message("Não aceito.\nContinua sem abrir.", answers=number))
    assert rejected.outcome == "rejected"
    assert desk.ledger.ticket(number).state.status is Status.OPEN


def test_a_reply_to_a_closed_ticket_opens_a_new_one_that_names_it(desk: Desk) -> None:
    number = desk.deliver(desk.message("Falha 1.")).number
    assert number is not None
    desk.resolve(number)
    desk.deliver(desk.message("Aceito", answers=number))
    again = desk.deliver(desk.message("Voltou a falhar.", answers=number))
    assert again.outcome == "opened" and again.number not in (None, number)
    assert again.number is not None
    assert f"(follows {number})" in desk.ledger.ticket(again.number).state.description


def test_an_unknown_senders_message_is_held_with_no_contract_and_kept_whole(
    desk: Desk,
) -> None:
    raw = desk.message("Quero suporte.", sender="someone@elsewhere.example")
    held = desk.deliver(raw)
    assert (held.outcome, held.number) == ("held", None) and held.held_id is not None
    request = desk.ledger.held_request(held.held_id)
    assert (request.contract_id, request.requester) == (None, "someone@elsewhere.example")
    assert request.reason == "its sender is not authorised on any contract"
    assert desk.store.raw(held.message_key) == raw


def test_a_machines_message_is_recorded_and_does_nothing(desk: Desk) -> None:
    number = desk.deliver(desk.message("A linha 2 parou.")).number
    before = desk.ledger.ticket(str(number)).version
    ooo = desk.message("Estou de férias.", answers=number, Auto_Submitted="auto-replied")
    ignored = desk.deliver(ooo)
    assert ignored.outcome == "ignored" and "Auto-Submitted" in ignored.reason
    assert desk.ledger.ticket(str(number)).version == before
    recorded = {row["message_key"]: row["outcome"] for row in desk.store.outcomes()}
    assert recorded[ignored.message_key] == "ignored"


def test_a_message_delivered_twice_is_acted_on_once(desk: Desk, make_ledger: LedgerFactory) -> None:
    raw = desk.message("A linha 2 parou.", message_id="<once@moveisserra.com.br>")
    first = desk.deliver(raw)
    # Delivered again, to another process, with a trace header added on the way.
    other = make_ledger()
    again = receive(
        other,
        MailStore(other),
        LedgerDesk(other, lambda: [desk.contract_id]),
        b"Received: from relay2.example\r\n" + raw,
        OURS,
    )
    assert (again.outcome, again.number) == ("already taken", first.number)
    assert desk.ledger.ticket_ids(2026) == [desk.ledger.ticket(str(first.number)).id]
    recorded = {row["message_key"]: row["outcome"] for row in desk.store.outcomes()}
    assert recorded["once@moveisserra.com.br"] == "opened"  # the second did nothing


def test_a_command_the_ledger_refuses_holds_the_message_with_the_refusal(desk: Desk) -> None:
    number = desk.deliver(desk.message("O relatório não abre.")).number
    assert number is not None
    desk.resolve(number)
    desk.ledger.handle(
        SuspendContract(contract_id=desk.contract_id, reason="payment overdue", by="billing")
    )
    refused = desk.deliver(desk.message("Não aceito.\nContinua.", answers=number))
    assert refused.outcome == "held" and refused.held_id is not None
    assert refused.reason.startswith("rejected refused: ")
    assert desk.ledger.ticket(number).state.status is Status.RESOLVED
