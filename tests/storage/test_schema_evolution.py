"""Ticket.Rated version 2 records the scale a score was given on; a version 1
row stored before the change reads as version 2 everywhere the rating shows:
the ticket, its ticket_state row and `ticketledger show`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from eventsourcing.persistence import StoredEvent
from typer.testing import CliRunner

from tests.storage.test_storage import open_some_ticket
from ticketledger.api.cli.main import app
from ticketledger.domain.ticket import RATING_SCALE, Ticket
from ticketledger.domain.ticket_state import Rating
from ticketledger.projections.runner import Projector
from ticketledger.projections.ticket_state import find_ticket
from ticketledger.service.commands import RateTicket, ResolveTicket
from ticketledger.service.ledger import TicketLedger


def resolved_ticket(ledger: TicketLedger) -> str:
    number = open_some_ticket(ledger)
    ledger.handle(ResolveTicket(ticket=number, resolution="export explained", by="carla"))
    return number


def store_a_version_1_rating(ledger: TicketLedger, number: str, score: int) -> None:
    """Writes the row schema 1 wrote for a rating: no scale, no class_version."""
    ticket = ledger.ticket(number)
    state = {
        "timestamp": ledger.clock(),
        "by": ticket.state.requester,
        "occurred_at": ledger.clock(),
        "score": score,
        "comment": "ok",
    }
    row = StoredEvent(
        originator_id=ticket.id,
        originator_version=ticket.version + 1,
        topic=Ticket.Rated.TOPIC,
        state=ledger.mapper.transcoder.encode(state),
    )
    ledger.recorder.insert_events([row])


def test_a_rating_given_today_records_the_scale_it_was_given_on(
    ledger: TicketLedger, projector: Projector
) -> None:
    number = resolved_ticket(ledger)
    ledger.handle(RateTicket(ticket=number, score=4, comment="quick", by="ana@serra.com.br"))
    (rated,) = [e for e in ledger.events_of(ledger.ticket(number).id) if type(e) is Ticket.Rated]
    assert (rated.score, rated.out_of) == (4, RATING_SCALE) == (4, 5)
    assert ledger.ticket(number).state.rating == Rating(score=4, out_of=5, comment="quick")
    projector.catch_up(["ticket_state"])
    with projector.reading("ticket_state") as rows:
        row = find_ticket(rows, number)
    assert row is not None and (row["rating"], row["rating_out_of"]) == (4, 5)


def test_a_stored_version_1_rating_reads_as_version_2_on_the_1_to_5_scale_everywhere(
    ledger: TicketLedger, projector: Projector, database_url: str
) -> None:
    number = resolved_ticket(ledger)
    store_a_version_1_rating(ledger, number, score=3)
    stored = ledger.recorder.select_events(ledger.ticket(number).id, desc=True, limit=1)[0]
    assert b"out_of" not in stored.state and b"class_version" not in stored.state

    assert ledger.ticket(number).state.rating == Rating(score=3, out_of=5, comment="ok")
    projector.catch_up(["ticket_state"])
    with projector.reading("ticket_state") as rows:
        row = find_ticket(rows, number)
    assert row is not None and (row["rating"], row["rating_out_of"]) == (3, 5)
    shown = CliRunner().invoke(app, ["show", number, "--json", "--database-url", database_url])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.output)
    assert (summary["rating"], summary["rating_out_of"]) == (3, 5)
    # Reading upcasts in memory only: the stored bytes stay as schema 1 wrote them.
    again = ledger.recorder.select_events(ledger.ticket(number).id, desc=True, limit=1)[0]
    assert again.state == stored.state
