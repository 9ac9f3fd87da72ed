"""Messages handed over by SMTP on 127.0.0.1, on SQLite and PostgreSQL: the
listener takes each through the one path, answers 250 only once it is taken
and 451 when it could not be, and says nothing of what the message did."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.mail.test_mail_cli import MESSAGE, serra_desk
from ticketledger.api.mail.listener import TRY_AGAIN, Listener
from ticketledger.api.mail.receive import MailStore, Received
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger

SCRIPT = Path(sys.executable).parent / "ticketledger"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def hand_over(port: int, raw: bytes, sender: str = "ana.ribeiro@moveisserra.com.br") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, ["suporte@desk.example"], raw)


@pytest.fixture
def failing_listener() -> Iterator[int]:
    def take(raw: bytes) -> Received:
        raise OSError("the database is down")

    controller = Controller(Listener(take), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port
    controller.stop()


def test_a_message_not_taken_is_answered_451_so_the_sender_keeps_it(
    failing_listener: int,
) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        hand_over(failing_listener, MESSAGE)
    error = refused.value.smtp_error
    text = error.decode() if isinstance(error, bytes) else error
    assert (refused.value.smtp_code, text) == (451, TRY_AGAIN.removeprefix("451 "))


def test_mail_serve_takes_messages_over_smtp_and_stops_on_sigterm(
    ledger: TicketLedger, projector: Projector, database_url: str
) -> None:
    serra_desk(ledger, projector)
    port = free_port()
    listener = subprocess.Popen(
        [str(SCRIPT), "mail", "serve", "--port", str(port), "--database-url", database_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TICKETLEDGER_MAIL_DOMAIN": "desk.example"},
    )
    try:
        wait_for(port)
        hand_over(port, MESSAGE)
        stranger = MESSAGE.replace(b"ana.ribeiro@moveisserra.com.br", b"x@elsewhere.example")
        hand_over(port, stranger.replace(b"pipe-1@", b"pipe-2@"), sender="x@elsewhere.example")
        hand_over(port, MESSAGE)  # delivered again
    finally:
        listener.send_signal(signal.SIGTERM)
        out, err = listener.communicate(timeout=30)
    assert listener.returncode == 0, err.decode()
    assert f"taking mail on 127.0.0.1:{port}" in out.decode()
    assert ledger.ticket_ids(2026) == [ledger.ticket("2026-000001").id]
    assert ledger.ticket("2026-000001").state.subject == "Linha 2 parada"
    taken = {row["message_key"]: row["outcome"] for row in MailStore(ledger).outcomes()}
    assert taken == {"pipe-1@moveisserra.com.br": "opened", "pipe-2@moveisserra.com.br": "held"}


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")
