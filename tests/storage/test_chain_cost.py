"""A save links each new event to its aggregate's last link, found by one step
down the chain's key: what the database reads for it does not grow with the
aggregate's history. On PostgreSQL the save, links and outcome included, is
one statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL

from tests.poison import open_healthy_ticket
from ticketledger.domain.numbering import ticket_id_for
from ticketledger.service.commands import Comment
from ticketledger.service.ledger import TicketLedger

EVENTS = 60


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for inner in node.get("Plans", []):
        yield from plan_nodes(inner)


def chain_rows_read_on_postgres(ledger: TicketLedger, database_url: str, ticket: str) -> int:
    recorder: Any = ledger.recorder
    schema = database_url.split("schema=")[1]
    with psycopg.connect(database_url.split("?")[0], autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        # The very query the save function asks of each aggregate it links.
        query = recorder.last_link(SQL("%s")).as_bytes(conn)
        statement = b"EXPLAIN (ANALYZE, FORMAT JSON) " + query
        ((plan,),) = conn.execute(statement, (str(ticket_id_for(ticket)),)).fetchall()
    nodes = plan_nodes(plan[0]["Plan"])
    chain = recorder.chain_table_name
    return sum(
        int(n["Actual Rows"]) * int(n["Actual Loops"])
        for n in nodes
        if n.get("Relation Name") == chain or chain in str(n.get("Index Name", ""))
    )


def sqlite_plan(database_url: str, chain: str) -> str:
    statement = (
        f"EXPLAIN QUERY PLAN SELECT hash FROM {chain} WHERE originator_id = ? "
        "ORDER BY originator_version DESC LIMIT 1"
    )
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
        return " ".join(str(row[-1]) for row in conn.execute(statement, ("x",)).fetchall())


def test_finding_a_tickets_last_link_reads_one_link_however_long_its_chain(
    ledger: TicketLedger, database_url: str
) -> None:
    _, number = open_healthy_ticket(ledger)
    for n in range(EVENTS):
        ledger.handle(Comment(ticket=number, text=f"note {n}", by="carla"))
    recorder: Any = ledger.recorder
    if database_url.startswith("sqlite"):
        plan = sqlite_plan(database_url, recorder.chain_table_name)
        # Down the key's index, stopping at the first row: no sort of the chain.
        assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan
        return
    assert chain_rows_read_on_postgres(ledger, database_url, number) == 1


class CountingCursor:
    """Counts the statements a psycopg cursor sends."""

    sent = 0

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def __enter__(self) -> CountingCursor:
        self.cursor.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cursor.__exit__(*exc)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        CountingCursor.sent += 1
        return self.cursor.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def test_a_save_on_postgresql_is_one_statement_whatever_it_links_and_records(
    ledger: TicketLedger, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events, their chain links and a keyed command's outcome, committed in
    one round trip: an opening saves two aggregates, a reply one."""
    _, number = open_healthy_ticket(ledger)
    if database_url.startswith("sqlite"):
        # In process, one transaction: the links are there with the events.
        ledger.handle(Comment(ticket=number, text="noted", by="carla"))
        assert chain_links(ledger, database_url, number) == ledger.ticket(number).version
        return
    original = psycopg.Connection.cursor

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        return CountingCursor(original(self, *args, **kwargs))

    recorder: Any = ledger.recorder
    saves: list[int] = []
    insert = recorder.insert_events

    def insert_counted(*args: Any, **kwargs: Any) -> Any:
        CountingCursor.sent = 0
        with monkeypatch.context() as patch:
            patch.setattr(psycopg.Connection, "cursor", counted)
            found = insert(*args, **kwargs)
        saves.append(CountingCursor.sent)
        return found

    monkeypatch.setattr(recorder, "insert_events", insert_counted)
    open_healthy_ticket(ledger)
    ledger.handle(Comment(ticket=number, text="noted", by="carla"))
    assert saves and all(sent == 1 for sent in saves), saves
    assert chain_links(ledger, database_url, number) == ledger.ticket(number).version


def chain_links(ledger: TicketLedger, database_url: str, ticket: str) -> int:
    recorder: Any = ledger.recorder
    key = str(ticket_id_for(ticket))
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            statement = f"SELECT count(*) FROM {recorder.chain_table_name} WHERE originator_id = ?"
            return int(conn.execute(statement, (key,)).fetchone()[0])
    schema = database_url.split("schema=")[1]
    with psycopg.connect(database_url.split("?")[0], autocommit=True) as conn:
        statement = f'SELECT count(*) FROM "{schema}"."{recorder.chain_table_name}" '
        row = conn.execute(statement + "WHERE originator_id = %s", (key,)).fetchone()
        return int(row[0]) if row else 0
