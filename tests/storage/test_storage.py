"""What the database itself guarantees, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from eventsourcing.persistence import RecordConflictError

from tests.conftest import POSTGRES_URL, LedgerFactory
from tests.support import ManualClock, focco_terms
from ticketledger.domain import errors
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.service.commands import (
    Assign,
    AuthoriseRequester,
    Comment,
    LogWork,
    OpenTicket,
    SignContract,
)
from ticketledger.service.ledger import TicketLedger


def raw_sql(database_url: str) -> Callable[[str], None]:
    """Runs one statement as someone with direct access to the database would."""
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")

        def run_sqlite(statement: str) -> None:
            with sqlite3.connect(path) as conn:
                conn.execute(statement)

        return run_sqlite
    schema = urlsplit(database_url).query.removeprefix("schema=")

    def run_postgres(statement: str) -> None:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute(statement)

    return run_postgres


def events_table(database_url: str) -> str:
    return "stored_events" if database_url.startswith("sqlite") else "ticketledger_events"


def open_some_ticket(ledger: TicketLedger) -> str:
    contract_id = ledger.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    ledger.handle(
        AuthoriseRequester(contract_id=contract_id, requester="@serra.com.br", by="admin")
    )
    result = ledger.handle(
        OpenTicket(
            contract_id=contract_id,
            requester="ana@serra.com.br",
            channel=Channel.WEB,
            kind=Kind.QUESTION,
            priority=Priority.LOW,
            subject="How do I export?",
        )
    )
    return result.number or ""


@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET topic = 'forged'", "DELETE FROM {table}"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_a_stored_event(
    ledger: TicketLedger, database_url: str, statement: str
) -> None:
    number = open_some_ticket(ledger)
    run = raw_sql(database_url)
    with pytest.raises((sqlite3.DatabaseError, psycopg.DatabaseError)) as refused:
        run(statement.format(table=events_table(database_url)))
    assert "immutable" in str(refused.value)
    assert ledger.ticket(number).version == 1


def test_the_postgres_database_refuses_to_truncate_the_events(
    make_ledger: LedgerFactory, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        assert "sqlite" in database_url  # SQLite has no TRUNCATE statement to refuse
        return
    open_some_ticket(make_ledger())
    with pytest.raises(psycopg.DatabaseError, match="immutable"):
        raw_sql(database_url)("TRUNCATE ticketledger_events")


def count_rows(database_url: str, table: str) -> int:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    schema = urlsplit(database_url).query.removeprefix("schema=")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(f'SELECT COUNT(*) FROM "{schema}"."{table}"').fetchone()
        assert row is not None
        return int(row[0])


def test_every_stored_event_gets_its_chain_link_and_a_refused_save_gets_none(
    make_ledger: LedgerFactory, database_url: str
) -> None:
    ledger = make_ledger()
    number = open_some_ticket(ledger)
    table = events_table(database_url)
    assert count_rows(database_url, table) == count_rows(database_url, f"{table}_chain") > 0
    stale = make_ledger()
    ticket = stale.ticket(number)
    ledger.handle(Assign(ticket=number, assignee="carla", by="lead"))
    ticket.assign("bruno", by="lead", occurred_at=ticket.state.last_occurred_at)
    with pytest.raises(RecordConflictError):
        stale.save(ticket)
    assert count_rows(database_url, table) == count_rows(database_url, f"{table}_chain")


def run_concurrently(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[Exception]]:
    results: list[Any] = []
    failures: list[Exception] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        try:
            results.append(work(index))
        except Exception as error:  # collected so the test can show it
            failures.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures


def test_concurrent_opens_get_unique_consecutive_numbers(make_ledger: LedgerFactory) -> None:
    setup = make_ledger()
    contract_id = setup.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    setup.handle(AuthoriseRequester(contract_id=contract_id, requester="@serra.com.br", by="admin"))
    ledgers = [make_ledger() for _ in range(6)]

    def open_one(index: int) -> str:
        return (
            ledgers[index]
            .handle(
                OpenTicket(
                    contract_id=contract_id,
                    requester="ana@serra.com.br",
                    channel=Channel.EMAIL,
                    kind=Kind.INCIDENT,
                    priority=Priority.HIGH,
                    subject=f"concurrent {index}",
                )
            )
            .number
            or ""
        )

    numbers, failures = run_concurrently(6, open_one)
    assert failures == []
    assert sorted(numbers) == [f"2026-{n:06d}" for n in range(1, 7)]
    assert len(setup.ticket_ids(2026)) == 6


def test_racing_commands_on_one_ticket_are_all_applied_in_some_order(
    make_ledger: LedgerFactory,
) -> None:
    setup = make_ledger()
    number = open_some_ticket(setup)
    ledgers = [make_ledger() for _ in range(5)]

    def comment(index: int) -> int:
        return (
            ledgers[index]
            .handle(Comment(ticket=number, text=f"note {index}", by=f"agent{index}"))
            .version
        )

    versions, failures = run_concurrently(5, comment)
    assert failures == []
    assert sorted(versions) == [2, 3, 4, 5, 6]
    assert setup.ticket(number).state.comments == 5


def test_racing_commands_with_the_same_expected_version_let_exactly_one_win(
    make_ledger: LedgerFactory,
) -> None:
    setup = make_ledger()
    number = open_some_ticket(setup)
    ledgers = [make_ledger() for _ in range(4)]

    def assign(index: int) -> int:
        return (
            ledgers[index]
            .handle(Assign(ticket=number, assignee=f"agent{index}", by="lead", expected_version=1))
            .version
        )

    versions, failures = run_concurrently(4, assign)
    assert versions == [2]
    assert len(failures) == 3 and all(isinstance(f, errors.VersionMismatchError) for f in failures)
    assert setup.ticket(number).version == 2


def test_an_event_written_is_read_back_equal_by_a_fresh_ledger(
    make_ledger: LedgerFactory, clock: ManualClock
) -> None:
    writer = make_ledger()
    number = open_some_ticket(writer)
    clock.advance(timedelta(hours=2))
    writer.handle(
        LogWork(
            ticket=number,
            agent="carla",
            started_at=clock() - timedelta(hours=1),
            duration=timedelta(minutes=50),
        )
    )
    assert vars(make_ledger().ticket(number)) == vars(writer.ticket(number))


def test_the_database_refuses_to_replace_a_stored_event_by_inserting_over_it(
    ledger: TicketLedger, database_url: str
) -> None:
    number = open_some_ticket(ledger)
    table = events_table(database_url)
    columns = "(originator_id, originator_version, topic, state)"
    forged = f"SELECT originator_id, originator_version, 'forged', state FROM {table} LIMIT 1"
    if database_url.startswith("sqlite"):
        statement = f"INSERT OR REPLACE INTO {table} {columns} {forged}"
    else:
        statement = (
            f"INSERT INTO {table} {columns} {forged} "
            "ON CONFLICT (originator_id, originator_version) DO UPDATE SET topic = 'forged'"
        )
    with pytest.raises((sqlite3.DatabaseError, psycopg.DatabaseError), match="immutable"):
        raw_sql(database_url)(statement)
    assert ledger.ticket(number).state.subject == "How do I export?"


def test_workers_starting_together_on_one_database_all_start(make_ledger: LedgerFactory) -> None:
    make_ledger()  # the tables exist; now many workers start at once

    def start(index: int) -> bool:
        make_ledger()
        return True

    started, failures = run_concurrently(8, start)
    assert failures == [] and len(started) == 8
