"""E-mail both ways over real SMTP on 127.0.0.1, on SQLite and PostgreSQL:
messages handed to the listener act on tickets, and the notices owed go to an
aiosmtpd sink through the sender, each once, threaded, in the contract's
language; a relay that is down delays notices and drops none."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.mail.test_listener import free_port, hand_over
from tests.mail.test_mail_cli import serra_desk
from tests.support import ManualClock
from ticketledger.api.cli.mail import Intake
from ticketledger.api.mail.listener import Listener
from ticketledger.api.mail.notices import Sender
from ticketledger.api.mail.outbound import Mailer, Outgoing, Relay, RelayError
from ticketledger.api.settings import Settings
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Status, Visibility
from ticketledger.projections.runner import Projector
from ticketledger.replay.chronology import chronology
from ticketledger.service.commands import Comment, ReplyAsAgent, ResolveTicket
from ticketledger.service.ledger import TicketLedger

ANA = "ana.ribeiro@moveisserra.com.br"
DESK = Sender(address="suporte@desk.example", domain="desk.example", name="Suporte")


class Sink:
    """An SMTP server that keeps every message handed to it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        await asyncio.sleep(0)
        return "250 kept"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def serving(kept: Sink) -> Iterator[int]:
    """The sink on a free port of 127.0.0.1 until the block ends."""
    controller = Controller(kept, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    kept = Sink()
    with serving(kept) as port:
        yield kept, port


@pytest.fixture
def listener(ledger: TicketLedger, projector: Projector) -> Iterator[int]:
    """The listener, taking each message as `ticketledger mail serve` does."""
    serra_desk(ledger, projector)
    controller = Controller(
        Listener(Intake(ledger, Settings.load()).take), hostname="127.0.0.1", port=free_port()
    )
    controller.start()
    yield controller.port
    controller.stop()


def requests_by_mail(listener: int, clock: ManualClock, count: int) -> None:
    """Ana writes in `count` times, a minute apart, each message a ticket."""
    for n in range(count):
        clock.advance(timedelta(minutes=1))
        hand_over(listener, written(ANA, f"Pedido {n}", "texto", f"m{n}@x"))


def mailer(ledger: TicketLedger, port: int, **outgoing: Any) -> Mailer:
    return Mailer(ledger, Relay("127.0.0.1", port, timeout=5).send, Outgoing(DESK, **outgoing))


def written(
    sender: str, subject: str, text: str, message_id: str, replying_to: str | None = None
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "suporte@desk.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    if replying_to:
        message["In-Reply-To"] = replying_to
        message["References"] = replying_to
    message.set_content(text)
    return bytes(message)


def test_a_requester_opens_answers_rejects_and_accepts_by_mail_and_is_told_each_step(
    ledger: TicketLedger, clock: ManualClock, listener: int, sink: tuple[Sink, int]
) -> None:
    kept, port = sink
    sending = mailer(ledger, port)
    hand_over(listener, written(ANA, "Linha 2 parada", "A linha 2 parou.", "m1@moveisserra.com.br"))
    assert str(sending.send_due()) == "1 sent, 0 delayed, 0 withheld"
    (opened,) = kept.to(ANA)
    assert opened["Subject"] == "[2026-000001] Chamado aberto: Linha 2 parada"
    assert opened["Message-ID"] == "<2026-000001.1.opened@desk.example>"
    assert opened["In-Reply-To"] == "<m1@moveisserra.com.br>"
    assert opened["Auto-Submitted"] == "auto-generated"
    assert "abrimos o chamado 2026-000001" in opened.get_content()

    clock.advance(timedelta(minutes=5))
    ledger.handle(ReplyAsAgent(ticket="2026-000001", message="Reinicie o CLP.", by="carla"))
    ledger.handle(
        Comment(ticket="2026-000001", text="fusível?", visibility=Visibility.INTERNAL, by="carla")
    )
    clock.advance(timedelta(minutes=1))
    assert sending.send_due().sent == 1
    reply = kept.to(ANA)[-1]
    assert "Reinicie o CLP." in reply.get_content() and "fusível" not in reply.get_content()
    assert reply["References"] == "<m1@moveisserra.com.br> <2026-000001.1.opened@desk.example>"

    clock.advance(timedelta(minutes=5))
    answer = written(ANA, f"Re: {reply['Subject']}", "Reiniciei.", "m2@x", reply["Message-ID"])
    hand_over(listener, answer)
    resolve(ledger, clock, "CLP substituído")
    assert sending.send_due().sent == 1
    asking = kept.to(ANA)[-1]
    assert "ACEITO" in asking.get_content() and "CLP substituído" in asking.get_content()

    clock.advance(timedelta(minutes=5))
    hand_over(listener, written(ANA, "Re", "REJEITO\nparou de novo", "m3@x", asking["Message-ID"]))
    assert ledger.ticket("2026-000001").state.status is Status.OPEN
    resolve(ledger, clock, "fonte trocada")
    sending.send_due()
    asking = kept.to(ANA)[-1]
    clock.advance(timedelta(minutes=5))
    hand_over(listener, written(ANA, "Re", "Aceito.\n\nAna", "m4@x", asking["Message-ID"]))
    assert ledger.ticket("2026-000001").state.status is Status.CLOSED
    assert sending.send_due().sent == 1
    assert kept.to(ANA)[-1]["Subject"].startswith("[2026-000001] Como foi o atendimento?")

    ids = [m["Message-ID"] for m in kept.to(ANA)]
    assert len(ids) == len(set(ids)) == 5
    mailed = [e for e in ledger.events_after(ledger.ticket("2026-000001").id, None)]
    recorded = [e for e in mailed if isinstance(e, Ticket.NoticeMailed)]
    assert [f"<{e.message_id}>" for e in recorded] == ids
    steps = chronology(mailed, ledger.contract(ledger.ticket("2026-000001").state.contract_id))
    assert any("mailer e-mailed ana.ribeiro" in step.summary for step in steps.steps)
    assert not sending.send_due()  # nothing owed any more


def resolve(ledger: TicketLedger, clock: ManualClock, resolution: str) -> None:
    clock.advance(timedelta(minutes=5))
    ledger.handle(ResolveTicket(ticket="2026-000001", resolution=resolution, by="carla"))
    clock.advance(timedelta(minutes=1))


def test_a_stranger_s_message_is_held_and_nothing_is_mailed_to_anyone(
    ledger: TicketLedger, listener: int, sink: tuple[Sink, int]
) -> None:
    kept, port = sink
    stranger = "x@elsewhere.example"
    hand_over(listener, written(stranger, "2026-000001?", "olá", "s1@x"), sender=stranger)
    assert not mailer(ledger, port).send_due()
    assert kept.messages == []


def test_a_relay_that_is_down_delays_a_notice_and_a_later_round_sends_it_once(
    ledger: TicketLedger, clock: ManualClock, listener: int, sink: tuple[Sink, int]
) -> None:
    kept, port = sink
    hand_over(listener, written(ANA, "Linha 2 parada", "A linha 2 parou.", "m1@x"))
    down = mailer(ledger, free_port())
    first = down.send_due()
    assert (first.sent, first.delayed) == (0, 1)
    assert not down.send_due()  # waiting out the pause: not even tried
    assert ledger.ticket("2026-000001").version == 1
    clock.advance(timedelta(seconds=31))
    again = down.send_due()
    assert again.delayed == 1
    (row,) = down.sending.rows()
    assert (row["state"], row["attempts"]) == ("delayed", 2)
    assert "ConnectionRefusedError" in str(row["reason"])
    clock.advance(timedelta(minutes=2))
    up = mailer(ledger, port)
    assert up.send_due().sent == 1
    assert not up.send_due()
    assert len(kept.to(ANA)) == 1


def test_notices_older_than_the_age_limit_when_first_seen_are_not_sent_but_delayed_ones_are(
    ledger: TicketLedger, clock: ManualClock, listener: int, sink: tuple[Sink, int]
) -> None:
    kept, port = sink
    hand_over(listener, written(ANA, "Linha 2 parada", "A linha 2 parou.", "m1@x"))
    assert mailer(ledger, free_port()).send_due().delayed == 1  # the relay is down
    clock.advance(timedelta(hours=1))
    hand_over(listener, written(ANA, "Linha 3 parada", "A linha 3 parou.", "m2@x"))
    clock.advance(timedelta(hours=49))
    sending = mailer(ledger, port)
    assert [row["about_version"] for row in sending.owed()] == [1]  # the delayed one only
    assert sending.send_due().sent == 1
    assert [m["Subject"] for m in kept.messages] == ["[2026-000001] Chamado aberto: Linha 2 parada"]
    assert not sending.send_due()


def test_a_recipient_gets_at_most_the_hourly_number_of_notices(
    ledger: TicketLedger, clock: ManualClock, listener: int, sink: tuple[Sink, int]
) -> None:
    kept, port = sink
    requests_by_mail(listener, clock, 4)
    report = mailer(ledger, port, per_recipient_hour=3).send_due()
    assert (report.sent, report.withheld) == (3, 1)
    assert len(kept.to(ANA)) == 3
    assert len(ledger.ticket_ids(2026)) == 4  # the message itself is still taken


def test_the_relay_is_read_from_its_url() -> None:
    relay = Relay.from_url("smtp://desk%40x:s3cr%2Ft@mail.example:587?starttls=true")
    assert (relay.host, relay.port, relay.starttls, relay.tls) == ("mail.example", 587, True, False)
    assert (relay.user, relay.password) == ("desk@x", "s3cr/t")
    assert Relay.from_url("smtps://mail.example").port == 465
    assert Relay.from_url("smtp://mail.example").port == 25
    with pytest.raises(ValueError, match="a relay is smtp"):
        Relay.from_url("http://mail.example")


def test_a_relay_that_cannot_be_reached_raises_the_error_that_delays_a_notice() -> None:
    relay = Relay("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(RelayError, match="ConnectionRefusedError") as raised:
        relay.send(EmailMessage())
    assert isinstance(raised.value.__cause__, OSError | smtplib.SMTPException)


def test_the_relay_speaks_starttls_and_logs_in_when_its_url_says_so(
    ledger: TicketLedger, listener: int, tmp_path: Path
) -> None:
    authority = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(served)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        logins.append((data.login, data.password))
        # handled=False: the server answers a refusal itself (535)
        ok = (data.login, data.password) == (b"desk", b"s3cr/t")
        return AuthResult(success=ok, handled=False)

    kept = Sink()
    controller = Controller(
        kept,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=served,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        hand_over(listener, written(ANA, "Linha 2 parada", "A linha 2 parou.", "m1@x"))
        url = f"smtp://desk:s3cr%2Ft@127.0.0.1:{controller.port}?starttls=true"
        wrong = f"smtp://desk:guess@127.0.0.1:{controller.port}?starttls=true"
        refused = Mailer(ledger, Relay.from_url(wrong, str(ca_file)).send, Outgoing(DESK))
        assert refused.send_due().delayed == 1
        untrusted = Mailer(ledger, Relay.from_url(url).send, Outgoing(DESK))
        untrusted.sending.settle(untrusted.owed()[0]["notice_id"], "delayed", ledger.clock())
        assert untrusted.send_due().delayed == 1  # the tests' CA is not the system's
        trusted = Mailer(ledger, Relay.from_url(url, str(ca_file)).send, Outgoing(DESK))
        trusted.sending.settle(trusted.owed()[0]["notice_id"], "delayed", ledger.clock())
        assert trusted.send_due().sent == 1
    finally:
        controller.stop()
    assert [m["To"] for m in kept.messages] == [ANA]
    # A refused login is tried once per mechanism the relay offers.
    assert logins[-1] == (b"desk", b"s3cr/t")
    assert set(logins[:-1]) == {(b"desk", b"guess")}


def test_a_notice_that_cannot_be_made_is_delayed_and_the_others_are_sent(
    ledger: TicketLedger, clock: ManualClock, listener: int, sink: tuple[Sink, int]
) -> None:
    kept, port = sink
    requests_by_mail(listener, clock, 2)
    sending = mailer(ledger, port)
    made = sending.notice_of

    def failing_for_the_first(row: dict[str, Any]) -> Any:
        if row["about_version"] == 1 and str(row["ticket_id"]) == str(
            ledger.ticket("2026-000001").id
        ):
            raise ValueError("a template that cannot render")
        return made(row)

    sending.notice_of = failing_for_the_first  # type: ignore[method-assign]
    report = sending.send_due()
    assert (report.sent, report.delayed) == (1, 1)
    assert [m["Subject"] for m in kept.messages] == ["[2026-000002] Chamado aberto: Pedido 1"]
    failed = next(r for r in sending.sending.rows() if r["state"] == "delayed")
    assert failed["reason"] == "ValueError: a template that cannot render"


def test_the_outbox_command_lists_what_is_owed_and_why_a_notice_waits(
    ledger: TicketLedger, listener: int, database_url: str
) -> None:
    from typer.testing import CliRunner

    from ticketledger.api.cli.main import app

    hand_over(listener, written(ANA, "Linha 2 parada", "A linha 2 parou.", "m1@x"))
    mailer(ledger, free_port()).send_due()
    shown = CliRunner().invoke(app, ["mail", "outbox", "--database-url", database_url])
    assert shown.exit_code == 0, shown.output
    owed, delayed = shown.stdout.strip().split("\n")
    assert owed == "1 owed"
    assert delayed.startswith("delayed ") and "after 1 attempts" in delayed
    assert "ConnectionRefusedError" in delayed
