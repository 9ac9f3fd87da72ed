"""`ticketledger mail receive` (a mail server's pipe) and `mail import DIR`,
on SQLite and PostgreSQL: what they take, what they print, and the exit code a
mail server reads (0 taken, 75 try again)."""

from __future__ import annotations

import shutil
from pathlib import Path
from uuid import UUID

from typer.testing import CliRunner

from tests.mail.test_inbound import CORPUS
from tests.support import focco_terms
from ticketledger.api.cli.main import app
from ticketledger.projections.runner import Projector
from ticketledger.service.commands import AuthoriseRequester, SignContract
from ticketledger.service.ledger import TicketLedger

runner = CliRunner()
MESSAGE = (
    b"From: Ana Ribeiro <ana.ribeiro@moveisserra.com.br>\r\n"
    b"To: suporte@desk.example\r\nSubject: Linha 2 parada\r\n"
    b"Message-ID: <pipe-1@moveisserra.com.br>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nA linha 2 parou.\r\n"
)


def serra_desk(ledger: TicketLedger, projector: Projector) -> UUID:
    """A contract admitting @moveisserra.com.br, known to the projections; its id."""
    contract = ledger.handle(SignContract(terms=focco_terms(customer="Serra"), by="a"))
    ledger.handle(
        AuthoriseRequester(
            contract_id=contract.aggregate_id, requester="@moveisserra.com.br", by="a"
        )
    )
    projector.catch_up(["ticket_state"])
    return contract.aggregate_id


def test_the_pipe_takes_a_message_once_and_says_what_it_did(
    ledger: TicketLedger, projector: Projector, database_url: str
) -> None:
    serra_desk(ledger, projector)
    db = ["--database-url", database_url]
    taken = runner.invoke(app, ["mail", "receive", *db], input=MESSAGE)
    assert taken.exit_code == 0, taken.output
    assert taken.stdout.strip() == "pipe-1@moveisserra.com.br: opened 2026-000001"
    again = runner.invoke(app, ["mail", "receive", *db], input=MESSAGE)
    assert again.exit_code == 0
    assert "already taken 2026-000001" in again.stdout
    assert ledger.ticket_ids(2026) == [ledger.ticket("2026-000001").id]
    stranger = MESSAGE.replace(b"ana.ribeiro@moveisserra.com.br", b"x@elsewhere.example")
    held = runner.invoke(app, ["mail", "receive", *db], input=stranger.replace(b"pipe-1", b"p2"))
    key, outcome, held_id, reason = held.stdout.strip().split(" ", 3)
    assert (key, outcome, reason) == (
        "p2@moveisserra.com.br:",
        "held",
        "its sender is not authorised on any contract",
    )
    assert ledger.held_request(UUID(held_id.rstrip(":"))).requester == "x@elsewhere.example"


def test_the_pipe_asks_the_mail_server_to_try_again_when_the_database_is_down() -> None:
    down = ["--database-url", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"]
    failed = runner.invoke(app, ["mail", "receive", *down], input=MESSAGE)
    assert failed.exit_code == 75, failed.output
    assert "not taken, try again" in failed.stderr


def test_an_empty_pipe_is_refused_with_a_clear_error() -> None:
    empty = runner.invoke(app, ["mail", "receive"], input=b"")
    assert (empty.exit_code, empty.stderr.strip()) == (1, "error: no message on standard input")


def test_a_folder_of_messages_is_taken_once_however_often_it_is_imported(
    ledger: TicketLedger, projector: Projector, database_url: str, tmp_path: Path
) -> None:
    serra_desk(ledger, projector)
    folder = tmp_path / "inbox"
    shutil.copytree(CORPUS, folder)
    db = ["--database-url", database_url]
    first = runner.invoke(app, ["mail", "import", str(folder), *db])
    assert first.exit_code == 0, first.output
    # Móveis Serra's people open tickets (their replies name tickets never
    # issued here); the other customer's people are held, and so is the broken
    # message; machines are ignored.
    assert first.stdout.strip().splitlines()[-1] == "16 messages: 4 held, 5 ignored, 7 opened"
    again = runner.invoke(app, ["mail", "import", str(folder), *db])
    assert again.stdout.strip().splitlines()[-1] == "16 messages: 11 already taken, 5 ignored"
