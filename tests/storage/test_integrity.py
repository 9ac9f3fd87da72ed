"""Tampering done directly in the database, by someone who dropped the
immutability triggers first, is detected and located by `verify`; digests catch
a rewrite that kept the chain consistent. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from typer.testing import CliRunner

from tests.conftest import POSTGRES_URL
from tests.support import ManualClock, focco_terms
from ticketledger.api.cli.main import app
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.replay import integrity
from ticketledger.replay.integrity import BrokenLogError, Report
from ticketledger.service.chain import GENESIS, link_hash
from ticketledger.service.commands import (
    Assign,
    AuthoriseRequester,
    Comment,
    Escalate,
    OpenTicket,
    ReplyAsAgent,
    ResolveTicket,
    SignContract,
)
from ticketledger.service.ledger import TicketLedger

Sql = Callable[[str], list[Any]]


def sql_runner(database_url: str) -> Sql:
    """Runs statements as someone with direct access to the database would."""
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")

        def run_sqlite(statement: str) -> list[Any]:
            with sqlite3.connect(path) as conn:
                return conn.execute(statement).fetchall()

        return run_sqlite
    schema = database_url.split("schema=")[1]

    def run_postgres(statement: str) -> list[Any]:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []

    return run_postgres


class Database:
    """The tamperer's view: table names, keys and the triggers to drop."""

    def __init__(self, database_url: str) -> None:
        self.sqlite = database_url.startswith("sqlite")
        self.run = sql_runner(database_url)
        self.events = "stored_events" if self.sqlite else "ticketledger_events"
        self.chain = f"{self.events}_chain"
        self.digests = f"{self.events}_digests"
        self.position = "rowid" if self.sqlite else "notification_id"

    def drop_triggers(self, table: str) -> None:
        if self.sqlite:
            for name in ("no_update", "no_delete", "no_replace"):
                self.run(f"DROP TRIGGER {table}_{name}")
        else:
            self.run(f"DROP TRIGGER {table}_immutable_rows ON {table}")

    def key(self, aggregate_id: UUID, version: int, table: str = "") -> str:
        # SQLite's events table spells ids as bare hex; the chain table never does.
        hexed = self.sqlite and table != self.chain
        stored_id = aggregate_id.hex if hexed else str(aggregate_id)
        return f"originator_id = '{stored_id}' AND originator_version = {version}"

    def state_text(self, expression: str) -> str:
        return (
            f"CAST({expression} AS TEXT)" if self.sqlite else f"convert_from({expression}, 'UTF8')"
        )

    def state_bytes(self, expression: str) -> str:
        return f"CAST({expression} AS BLOB)" if self.sqlite else f"convert_to({expression}, 'UTF8')"

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        rows = self.run(
            f"SELECT {self.position} FROM {self.events} WHERE {self.key(aggregate_id, version)}"
        )
        return int(rows[0][0])


@pytest.fixture
def db(database_url: str) -> Database:
    return Database(database_url)


def history(ledger: TicketLedger, clock: ManualClock) -> UUID:
    """A contract and two tickets; returns the first ticket's id (versions 1..6)."""
    contract = ledger.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="@serra.com.br", by="admin"))
    numbers = []
    for subject in ("PLC down", "Report slow"):
        clock.advance(timedelta(minutes=5))
        opened = ledger.handle(
            OpenTicket(
                contract_id=contract,
                requester="ana@serra.com.br",
                channel=Channel.EMAIL,
                kind=Kind.INCIDENT,
                priority=Priority.HIGH,
                subject=subject,
            )
        )
        numbers.append(opened.number or "")
    for step in (
        lambda n: ledger.handle(Assign(ticket=n, assignee="carla", by="lead")),
        lambda n: ledger.handle(ReplyAsAgent(ticket=n, message="looking into it", by="carla")),
        lambda n: ledger.handle(Comment(ticket=n, text="checked the I/O card", by="carla")),
        lambda n: ledger.handle(Escalate(ticket=n, reason="needs level 2", by="carla")),
        lambda n: ledger.handle(
            ResolveTicket(ticket=n, resolution="replaced the card", by="carla")
        ),
    ):
        for number in numbers:
            clock.advance(timedelta(minutes=3))
            step(number)
    return ledger.ticket(numbers[0]).id


def first(report: Report) -> integrity.Finding:
    found = report.first()
    assert found is not None, "verify found nothing"
    return found


def test_an_untouched_log_verifies_with_its_digests(ledger: TicketLedger, clock: ManualClock):
    history(ledger, clock)
    made = integrity.make_digest(ledger, "auditor", clock())
    report = integrity.verify(ledger)
    assert report.ok and report.digests_checked == 1
    assert (report.events, report.root) == (made.leaves, made.root)
    assert report.chains == 4  # the contract, the year's numbering and two tickets


def test_an_altered_payload_is_named_at_its_event(ledger, clock, db: Database) -> None:
    ticket = history(ledger, clock)
    db.drop_triggers(db.events)
    changed = db.state_bytes(f"replace({db.state_text('state')}, 'looking', 'LOOKING')")
    db.run(f"UPDATE {db.events} SET state = {changed} WHERE {db.key(ticket, 3)}")
    found = first(integrity.verify(ledger))
    assert found.kind == "altered" and found.position == db.position_of(ticket, 3)
    assert f"{ticket} version 3 (ticketledger:Ticket.AgentReplied)" in found.message


def test_a_payload_changed_to_text_is_reported_altered_by_the_command_line(
    tmp_path: Path, clock: ManualClock
) -> None:
    """SQLite keeps any type in any column: a payload rewritten as text is
    tampering the ledger never does, reported, never a traceback. (A
    PostgreSQL bytea column holds bytes only, so there it cannot happen.)"""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = TicketLedger(database_url=url, clock=clock)
    try:
        ticket = history(ledger, clock)
        db = Database(url)
        db.drop_triggers(db.events)
        db.run(f"UPDATE {db.events} SET state = CAST(state AS TEXT) WHERE {db.key(ticket, 3)}")
    finally:
        ledger.close()
    verified = CliRunner().invoke(app, ["verify", "--database-url", url])
    assert verified.exit_code == 1, verified.output
    assert "Traceback" not in verified.output and "altered" in verified.output
    assert f"{ticket} version 3 (ticketledger:Ticket.AgentReplied) holds a str payload" in (
        verified.output
    )


def test_a_deleted_event_is_named_where_it_stood(ledger, clock, db: Database) -> None:
    ticket = history(ledger, clock)
    position = db.position_of(ticket, 4)
    db.drop_triggers(db.events)
    db.run(f"DELETE FROM {db.events} WHERE {db.key(ticket, 4)}")
    report = integrity.verify(ledger)
    assert (first(report).kind, first(report).position) == ("deleted", position)
    assert f"{ticket} version 4 has a chain link but no event" in first(report).message
    assert any("versions 4..4 are missing" in f.message for f in report.findings)


def test_a_deleted_event_and_its_link_are_still_caught_at_the_next_one(
    ledger, clock, db: Database
) -> None:
    ticket = history(ledger, clock)
    for table in (db.events, db.chain):
        db.drop_triggers(table)
        db.run(f"DELETE FROM {table} WHERE {db.key(ticket, 4, table)}")
    found = first(integrity.verify(ledger))
    assert found.kind == "deleted" and found.position == db.position_of(ticket, 5)
    assert "versions 4..4 are missing" in found.message


def test_an_inserted_event_is_named(ledger, clock, db: Database) -> None:
    ticket = history(ledger, clock)
    columns = "originator_id, originator_version, topic, state"
    forged = f"SELECT originator_id, 7, topic, state FROM {db.events} WHERE {db.key(ticket, 6)}"
    db.drop_triggers(db.events)  # dropped although a plain INSERT would not need it
    db.run(f"INSERT INTO {db.events} ({columns}) {forged}")
    found = first(integrity.verify(ledger))
    assert found.kind == "inserted" and found.position == db.position_of(ticket, 7)
    assert f"{ticket} version 7" in found.message


def test_two_swapped_events_are_named_at_the_first(ledger, clock, db: Database) -> None:
    """Versions 3 and 4 exchange their contents: the comment now reads as
    coming before the reply."""
    ticket = history(ledger, clock)
    db.drop_triggers(db.events)
    columns = "originator_id, originator_version, topic, state"
    db.run(
        f"INSERT INTO {db.events} ({columns}) SELECT originator_id, -3, topic, state "
        f"FROM {db.events} WHERE {db.key(ticket, 3)}"
    )
    for target, source in ((3, 4), (4, -3)):
        copied = f"FROM {db.events} WHERE {db.key(ticket, source)}"
        db.run(
            f"UPDATE {db.events} SET topic = (SELECT topic {copied}), "
            f"state = (SELECT state {copied}) WHERE {db.key(ticket, target)}"
        )
    db.run(f"DELETE FROM {db.events} WHERE {db.key(ticket, -3)}")
    found = first(integrity.verify(ledger))
    assert found.kind == "altered" and found.position == db.position_of(ticket, 3)
    assert f"{ticket} version 3 (ticketledger:Ticket.Commented)" in found.message


def test_two_events_swapped_in_log_order_are_named(ledger, clock, db: Database) -> None:
    ticket = history(ledger, clock)
    here, there = db.position_of(ticket, 3), db.position_of(ticket, 4)
    db.drop_triggers(db.events)
    db.run(f"UPDATE {db.events} SET {db.position} = -1 WHERE {db.position} = {here}")
    db.run(f"UPDATE {db.events} SET {db.position} = {here} WHERE {db.position} = {there}")
    db.run(f"UPDATE {db.events} SET {db.position} = {there} WHERE {db.position} = -1")
    found = first(integrity.verify(ledger))
    assert (found.kind, found.position) == ("moved", here)
    assert f"stands where the chain recorded aggregate {ticket} version 3" in found.message


def rewrite_chain(db: Database, ticket: UUID) -> None:
    """What a careful tamperer does after altering an event: recompute every
    later link of the chain so that the chain check passes."""
    rows = db.run(
        f"SELECT {db.position}, originator_version, topic, state FROM {db.events} "
        f"WHERE originator_id = '{ticket.hex if db.sqlite else ticket}' ORDER BY originator_version"
    )
    db.drop_triggers(db.chain)
    previous = GENESIS
    for position, version, topic, state in rows:
        previous = link_hash(previous, position, ticket, version, topic, bytes(state))
        key = db.key(ticket, version, db.chain)
        db.run(f"UPDATE {db.chain} SET hash = '{previous}' WHERE {key}")


def alter_and_cover_up(ledger, clock, db: Database) -> UUID:
    ticket = history(ledger, clock)
    integrity.make_digest(ledger, "auditor", clock())
    db.drop_triggers(db.events)
    changed = db.state_bytes(f"replace({db.state_text('state')}, 'replaced', 'cleaned')")
    db.run(f"UPDATE {db.events} SET state = {changed} WHERE {db.key(ticket, 6)}")
    rewrite_chain(db, ticket)
    return ticket


def test_a_rewrite_that_keeps_the_chain_consistent_breaks_the_digest(
    ledger, clock, db: Database
) -> None:
    alter_and_cover_up(ledger, clock, db)
    report = integrity.verify(ledger)
    assert [f.kind for f in report.findings] == ["digest"]
    assert "no longer matches" in first(report).message


def test_a_kept_digest_catches_a_rewrite_even_when_the_stored_digests_are_gone(
    ledger, clock, db: Database, tmp_path: Path
) -> None:
    history(ledger, clock)
    kept = tmp_path / "digests.json"
    made = integrity.make_digest(ledger, "auditor", clock())
    kept.write_text(integrity.digests_document([made]))
    ticket = ledger.ticket(history_ticket_number(ledger)).id
    db.drop_triggers(db.events)
    changed = db.state_bytes(f"replace({db.state_text('state')}, 'PLC', 'PCL')")
    db.run(f"UPDATE {db.events} SET state = {changed} WHERE {db.key(ticket, 1)}")
    rewrite_chain(db, ticket)
    db.drop_triggers(db.digests)
    db.run(f"DELETE FROM {db.digests}")
    assert integrity.verify(ledger).ok  # everything in the database agrees with itself
    report = integrity.verify(ledger, integrity.read_digests(kept))
    assert [f.kind for f in report.findings] == ["digest"]


def history_ticket_number(ledger: TicketLedger) -> str:
    return ledger.ticket(ledger.ticket_ids(2026)[0]).state.number


def test_no_digest_is_made_over_a_broken_log(ledger, clock, db: Database) -> None:
    ticket = history(ledger, clock)
    db.drop_triggers(db.events)
    db.run(f"DELETE FROM {db.events} WHERE {db.key(ticket, 2)}")
    with pytest.raises(BrokenLogError):
        integrity.make_digest(ledger, "auditor", clock())
    assert integrity.stored_digests(ledger) == []


def test_the_verify_command_names_the_first_bad_event_and_exits_1(
    ledger, clock, db: Database, database_url: str
) -> None:
    ticket = history(ledger, clock)
    runner = CliRunner()
    clean = runner.invoke(app, ["verify", "--database-url", database_url])
    assert clean.exit_code == 0 and "OK: every chain and every digest verifies" in clean.output
    db.drop_triggers(db.events)
    changed = db.state_bytes(f"replace({db.state_text('state')}, 'carla', 'bruno')")
    db.run(f"UPDATE {db.events} SET state = {changed} WHERE {db.key(ticket, 2)}")
    broken = runner.invoke(app, ["verify", "--database-url", database_url])
    assert broken.exit_code == 1
    position = db.position_of(ticket, 2)
    assert f"The first:\n  position {position}: altered: aggregate {ticket} version 2" in (
        broken.output
    )
