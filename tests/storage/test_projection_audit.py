"""`ticketledger audit-projections` rebuilds every projection into scratch tables
and compares it with the live one, row by row, on SQLite and PostgreSQL: a
clean ledger audits equal, a live row altered, deleted or inserted behind the
ledger's back is named by table and key, and nothing of the audit stays behind."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from typer.testing import CliRunner, Result

from tests.conftest import POSTGRES_URL
from tests.golden.generate import history
from tests.storage.test_storage import open_some_ticket, raw_sql
from tests.support import ManualClock
from ticketledger.api.cli.main import app
from ticketledger.projections.catalog import projection_names
from ticketledger.projections.runner import Projector
from ticketledger.projections.ticket_state import TicketStateProjection
from ticketledger.replay.projection_audit import audit_projections
from ticketledger.service.commands import ReplyAsAgent
from ticketledger.service.ledger import TicketLedger

runner = CliRunner()


def fetch(database_url: str, statement: str) -> list[tuple[Any, ...]]:
    """Runs one query as someone with direct access to the database would."""
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return list(conn.execute(statement).fetchall())
    schema = urlsplit(database_url).query.removeprefix("schema=")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return list(conn.execute(statement).fetchall())


def tables(database_url: str) -> set[str]:
    if database_url.startswith("sqlite:///"):
        rows = fetch(database_url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = fetch(
            database_url,
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()",
        )
    return {str(name) for (name,) in rows}


def generations(database_url: str) -> set[tuple[Any, ...]]:
    return set(fetch(database_url, "SELECT name, generation, state FROM projection_generations"))


def audit(database_url: str, *args: str) -> Result:
    return runner.invoke(app, ["audit-projections", "--database-url", database_url, *args])


@pytest.fixture
def facts(ledger: TicketLedger, clock: ManualClock, projector: Projector) -> dict[str, Any]:
    """Four tickets worked, resolved, accepted, cancelled, deemed accepted,
    released from triage; a plan change and an issued statement; projections live."""
    facts = history(ledger, clock)
    projector.catch_up()
    main = ledger.ticket(facts["main_number"])
    return {**facts, "main_id": str(main.id), "entry_id": str(next(iter(main.state.work)))}


def test_a_clean_ledger_audits_equal_and_leaves_nothing_behind(
    ledger: TicketLedger, database_url: str, facts: dict[str, Any]
) -> None:
    before = tables(database_url)
    assert generations(database_url) == {(n, 1, "live") for n in projection_names()}
    head = ledger.recorder.max_notification_id()

    result = audit(database_url)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(" at ")[0] for line in lines] == projection_names()
    assert all(
        line.startswith(f"{n} at position {head}: ")
        for n, line in zip(projection_names(), lines, strict=True)
    )
    assert all(line.endswith(": equal") for line in lines)
    assert (
        "tickets 6 live / 6 rebuilt, states 6 live / 6 rebuilt, "
        "contract_states 1 live / 1 rebuilt, contracts 1 live / 1 rebuilt" in lines[0]
    )
    hours_line = next(line for line in lines if line.startswith("hours at"))
    assert "issued 1 live / 1 rebuilt" in hours_line
    deadlines_line = next(line for line in lines if line.startswith("deadlines at"))
    assert "watches 6 live / 6 rebuilt" in deadlines_line
    assert tables(database_url) == before
    assert generations(database_url) == {(n, 1, "live") for n in projection_names()}


TAMPERING = {
    "a live row altered": (
        "UPDATE ticket_state_g1_tickets SET status = 'open' WHERE ticket_id = '{main_id}'",
        "ticket_state",
        "  tickets [ticket_id={main_id}] status: live 'open', rebuilt 'closed'",
    ),
    "a live row deleted": (
        "DELETE FROM hours_g1_work WHERE entry_id = '{entry_id}'",
        "hours",
        "  work [ticket_id={main_id}, entry_id={entry_id}] *: live no such row, rebuilt {{",
    ),
    "a live row inserted": (
        "INSERT INTO ticket_state_g1_contracts VALUES ('ghost', 'Ghost Ltda', 'active')",
        "ticket_state",
        "  contracts [contract_id=ghost] *: live {{'contract_id': 'ghost', 'customer': "
        "'Ghost Ltda', 'state': 'active'}}, rebuilt no such row",
    ),
}


@pytest.mark.parametrize("tampering", TAMPERING, ids=list(TAMPERING))
def test_tampering_with_a_live_row_is_reported_with_its_table_and_key(
    database_url: str, facts: dict[str, Any], tampering: str
) -> None:
    statement, projection, expected = TAMPERING[tampering]
    raw_sql(database_url)(statement.format(**facts))
    before = tables(database_url)

    result = audit(database_url)

    assert result.exit_code == 1, result.output
    listed = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert len(listed) == 1 and listed[0].startswith(expected.format(**facts))
    summary = next(line for line in result.output.splitlines() if line.startswith(projection))
    assert summary.endswith(": 1 difference")
    equal = len(projection_names()) - 1
    assert sum(line.endswith(": equal") for line in result.output.splitlines()) == equal
    assert tables(database_url) == before
    assert generations(database_url) == {(n, 1, "live") for n in projection_names()}


def test_the_listing_is_capped_and_says_how_many_more(
    database_url: str, facts: dict[str, Any]
) -> None:
    raw_sql(database_url)("UPDATE sla_g1_tickets SET ticket_id = 'x' || ticket_id")

    result = audit(database_url, "--projection", "sla", "--show", "2")

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    # Six tickets, each row once missing and once extra under its altered key.
    assert lines[0].startswith("sla at position") and lines[0].endswith(": 12 differences")
    assert len(lines) == 4 and lines[3] == "  ... and 10 more"


class FailingTicketState(TicketStateProjection):
    """Its database goes away: an error retried, never quarantined."""

    def apply(self, event: Any, rows: Any, position: int) -> None:
        raise OperationalError("the database broke down")


def test_an_audit_that_fails_halfway_leaves_no_scratch_tables_nor_generation_records(
    ledger: TicketLedger, database_url: str, facts: dict[str, Any]
) -> None:
    before = tables(database_url)
    failing = Projector(ledger, [FailingTicketState()])

    with pytest.raises(OperationalError, match="broke down"):
        audit_projections(failing)

    assert tables(database_url) == before
    assert generations(database_url) == {(n, 1, "live") for n in projection_names()}


def test_an_audit_while_followers_apply_new_events_compares_at_one_position(
    ledger: TicketLedger, clock: ManualClock, projector: Projector, facts: dict[str, Any]
) -> None:
    """The live rows move on while the scratch ones are built: both are compared
    at the position the live rows were read at, so the audit still finds them equal."""
    projector.start()
    stop = threading.Event()

    def keep_writing() -> None:
        while True:
            clock.advance(timedelta(minutes=1))
            ledger.handle(
                ReplyAsAgent(ticket=open_some_ticket(ledger), message="on it", by="carla")
            )
            if stop.is_set():
                return

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        head = ledger.recorder.max_notification_id() or 0
        audits = audit_projections(Projector(ledger, projector.projections.values()))
    finally:
        stop.set()
        writer.join()
    assert all(a.equal for a in audits), [a.differences[:3] for a in audits]
    assert all(a.position >= head for a in audits)
    assert all(a.live_rows == a.rebuilt_rows for a in audits)
    assert (ledger.recorder.max_notification_id() or 0) > head
