"""`ticketledger mail`: messages taken in from a mail server's pipe or a folder
of .eml files, through the one path every message takes (api/mail/receive.py)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ticketledger.api.cli.options import DatabaseOption, fail, ledger_for, settings_from
from ticketledger.api.mail.inbound import Limits
from ticketledger.api.mail.receive import LedgerDesk, MailSettings, MailStore, Received, receive
from ticketledger.api.settings import Settings
from ticketledger.service.ledger import TicketLedger

if TYPE_CHECKING:
    from ticketledger.projections.runner import Projector

mail = typer.Typer(
    help="E-mail in (a mail server's pipe, a listener, a folder of .eml files) and out "
    "(the notices owed to requesters, through a relay)."
)
# sysexits.h: the mail server keeps the message and delivers it again later.
EX_TEMPFAIL = 75


class Intake:
    """The ledger, its store of messages, and what the decision asks of it."""

    def __init__(self, ledger: TicketLedger, settings: Settings) -> None:
        self.ledger = ledger
        self.store = MailStore(ledger)
        self.desk = LedgerDesk(ledger, self.contract_ids)
        self.settings = MailSettings(
            domains=(settings.mail_domain,),
            limits=Limits(attachment_bytes=settings.mail_attachment_bytes),
        )

    @cached_property
    def projector(self) -> Projector:
        # Loaded when a message may open a ticket, not for every message the
        # pipe takes: the projections' modules are a sixth of its start.
        from ticketledger.projections.catalog import all_projections
        from ticketledger.projections.runner import Projector

        return Projector(self.ledger, all_projections())

    def contract_ids(self) -> list[UUID]:
        with self.projector.reading("ticket_state") as rows:
            found = rows.all("SELECT contract_id FROM {contracts} ORDER BY contract_id")
        return [UUID(str(row["contract_id"])) for row in found]

    def take(self, raw: bytes) -> Received:
        return receive(self.ledger, self.store, self.desk, raw, self.settings)


@contextmanager
def intake(database_url: str | None) -> Iterator[Intake]:
    settings = settings_from(database_url=database_url)
    ledger = ledger_for(settings)
    try:
        yield Intake(ledger, settings)
    finally:
        ledger.close()


def line(received: Received) -> str:
    what = received.number or (str(received.held_id) if received.held_id else "")
    why = f": {received.reason}" if received.reason else ""
    return f"{received.message_key}: {received.outcome} {what}".rstrip() + why


@mail.command("receive")
def receive_one(database_url: DatabaseOption = None) -> None:
    """Take one message from standard input (a mail server's pipe): exit 0
    once it is taken, 75 (EX_TEMPFAIL) when the server should try again."""
    from eventsourcing.persistence import PersistenceError

    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise fail("no message on standard input")
    try:
        with intake(database_url) as taking:
            typer.echo(line(taking.take(raw)))
    except (PersistenceError, OSError) as error:
        typer.echo(f"error: not taken, try again: {error}", err=True)
        raise typer.Exit(EX_TEMPFAIL) from None


@mail.command("serve")
def serve_smtp(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the port to listen on", min=1, max=65535)] = 2525,
    database_url: DatabaseOption = None,
) -> None:
    """Listen for SMTP on HOST:PORT and take every message handed over (Ctrl-C stops)."""
    from aiosmtpd.controller import Controller

    from ticketledger.api.mail.listener import Listener

    # Blocked here, before the listener's thread starts (it inherits the mask):
    # this thread alone waits for them, and stops the listener cleanly.
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    with intake(database_url) as taking:
        limit = 2 * taking.settings.limits.attachment_bytes + 1024 * 1024
        controller = Controller(
            Listener(taking.take), hostname=host, port=port, data_size_limit=limit
        )
        controller.start()
        typer.echo(f"taking mail on {host}:{port} (Ctrl-C stops)")
        try:
            signal.sigwait(stopping)
        finally:
            controller.stop()


@mail.command("import")
def import_folder(
    folder: Annotated[Path, typer.Argument(help="a folder of .eml files, taken in name order")],
    database_url: DatabaseOption = None,
) -> None:
    """Take every .eml file of a folder, each once however often it is run."""
    if not folder.is_dir():
        raise fail(f"{folder} is not a folder")
    files = sorted(folder.glob("*.eml"))
    outcomes: dict[str, int] = {}
    with intake(database_url) as taking, typer.progressbar(files, label="messages") as bar:
        for path in bar:
            received = taking.take(path.read_bytes())
            outcomes[received.outcome] = outcomes.get(received.outcome, 0) + 1
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    typer.echo(f"{len(files)} messages: {summary or 'none'}")


@mail.command("send")
def send_notices(
    every: Annotated[
        float | None,
        typer.Option(help="seconds between rounds; without it, one round and exit", min=0.05),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Send the e-mail notices owed to requesters through TICKETLEDGER_SMTP_RELAY."""
    from ticketledger.api.mail.outbound import Mailer

    settings = settings_from(database_url=database_url)
    relay = settings.relay
    if relay is None:
        raise fail("no relay: set TICKETLEDGER_SMTP_RELAY=smtp://host:port")
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    ledger = ledger_for(settings)
    try:
        mailer = Mailer(ledger, relay.send, settings.outgoing)
        while True:
            report = mailer.send_due()
            if report or every is None:
                typer.echo(str(report))
            if every is None or signal.sigtimedwait(stopping, every) is not None:
                return
    finally:
        ledger.close()


@mail.command("outbox")
def outbox(database_url: DatabaseOption = None) -> None:
    """The notices owed and not sent yet: waiting, delayed (attempts, last
    error, next try) and withheld (why)."""
    from ticketledger.api.mail.outbound import PAGE, Mailer

    settings = settings_from(database_url=database_url)
    ledger = ledger_for(settings)
    try:
        # Nothing is sent from here: a relay that takes nothing.
        mailer = Mailer(ledger, lambda message: None, settings.outgoing)
        owed = mailer.owed()
        typer.echo(f"{len(owed)} owed{' (the first page)' if len(owed) >= PAGE else ''}")
        for row in mailer.sending.rows("delayed", "withheld"):
            typer.echo(
                f"{row['state']} {row['notice_id']} after {row['attempts']} attempts, "
                f"next {row['next_at']}: {row['reason']}"
            )
    finally:
        ledger.close()


def register(app: typer.Typer) -> None:
    app.add_typer(mail, name="mail")
