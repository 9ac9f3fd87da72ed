"""Each figure of the table: what the ledger does, what the raw database does
in its place, and the bound the ratio must meet."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.callers import CALLERS, Callers
from bench.databases import Database
from bench.dataset import Desk
from bench.measure import Action, Figure, Spread, interleaved, repeated
from bench.server import CONSTANT_COMMENT_PATH, CONSTANT_PATH, serving
from ticketledger.api.access import AccessStore, Role
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.replay.chronology import CHRONOLOGIES_KEPT, ticket_chronology

RAW_TABLE = "bench_raw_rows"


def events_table(desk: Desk) -> str:
    recorder: Any = desk.ledger.recorder  # the library's recorders name it; not in its protocol
    return str(recorder.events_table_name)


def typical_state(raw: Any, desk: Desk) -> bytes:
    """A payload the size of the desk's average stored event."""
    row = raw.execute(f"SELECT avg(length(state)) FROM {events_table(desk)}").fetchone()
    return b"x" * int(row[0] or 500)


def commands_per_second(desk: Desk, database: Database, rounds: int, reps: int) -> Figure:
    def ledger() -> int:
        for _ in range(reps):
            number = desk.open()
            desk.reply(number)
            desk.log_work(number)
        return 3 * reps

    with closing(database.raw()) as raw:
        baseline = repeated(3 * reps, raw_inserts(raw, desk, database))
        ours, theirs = interleaved(ledger, baseline, rounds)
    return Figure(
        "commands_per_second",
        "commands/s, one caller (open, reply, log work)",
        "single-row INSERT + COMMIT of an event-sized row, same driver",
        "/s",
        ours,
        theirs,
        0.6,
    )


def commands_from_16_callers(desk: Desk, database: Database, rounds: int, reps: int) -> Figure:
    """16 callers at once on tickets of their own, in one worker process per
    core (their saves share commits), beside one connection's sequential
    single-row INSERT + COMMIT: the issue's bar is twice that rate."""
    callers = Callers(database.url, desk.contract_id, reps)
    try:
        callers.round()  # warms each worker's caches and connection pool
        with closing(database.raw()) as raw:
            baseline = repeated(CALLERS * reps, raw_inserts(raw, desk, database))
            ours, theirs = interleaved(callers.round, baseline, rounds)
    finally:
        callers.close()
    return Figure(
        "commands_per_second_16_callers",
        f"commands/s, {CALLERS} callers on their own tickets (reply, comment), "
        f"{len(callers.workers)} processes",
        "single-row INSERT + COMMIT of an event-sized row, one connection",
        "/s",
        ours,
        theirs,
        2.0,
    )


def raw_inserts(raw: Any, desk: Desk, database: Database) -> Any:
    key = "INTEGER PRIMARY KEY" if database.engine == "sqlite" else "BIGSERIAL PRIMARY KEY"
    blob = "BLOB" if database.engine == "sqlite" else "BYTEA"
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} (id {key}, "
        f"originator_id TEXT, originator_version INTEGER, topic TEXT, state {blob})"
    )
    state = typical_state(raw, desk)
    p = database.placeholder
    statement = (
        f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) "
        f"VALUES ({p}, {p}, {p}, {p})"
    )
    version = iter(range(1, 10**9))

    def insert() -> None:
        if database.engine == "sqlite":
            raw.execute("BEGIN")
            raw.execute(statement, ("bench", next(version), "bench:Row", state))
            raw.execute("COMMIT")
        else:  # autocommit: the statement is its own transaction
            raw.execute(statement, ("bench", next(version), "bench:Row", state))

    return insert


def reply_on_a_long_history(desk: Desk, rounds: int, reps: int) -> Figure:
    long_ticket = desk.long_ticket
    shorts = iter([desk.ticket_with_events(10) for _ in range(rounds * reps)])

    on_long = repeated(reps, lambda: desk.reply(long_ticket))
    on_short = repeated(reps, lambda: desk.reply(next(shorts)))
    ours, theirs = interleaved(on_long, on_short, rounds)
    return Figure(
        "reply_history",
        f"a reply on a ticket with {desk.long_events} events",
        "a reply on a ticket with 10 events",
        "ms",
        ours,
        theirs,
        1.25,
    )


def opening_after_a_year(desk: Desk, small: Desk, rounds: int, reps: int) -> Figure:
    ours, theirs = interleaved(repeated(reps, desk.open), repeated(reps, small.open), rounds)
    return Figure(
        "open_ticket_history",
        f"open_ticket with {desk.tickets} tickets opened this year",
        f"open_ticket with {small.tickets} (and the ones this figure opens)",
        "ms",
        ours,
        theirs,
        1.25,
    )


def rebuild_all_projections(desk: Desk, database: Database, rounds: int) -> Figure:
    projector = Projector(desk.ledger, all_projections())
    events = desk.ledger.recorder.max_notification_id() or 0

    def rebuild() -> int:
        # As `ticketledger rebuild` does: every projection in one pass.
        projector.rebuild_together([p.name for p in all_projections()])
        return events

    with closing(database.raw()) as raw:

        def scan() -> int:
            rows = raw.execute(f"SELECT state FROM {events_table(desk)}").fetchall()
            for (state,) in rows:
                json.loads(bytes(state))
            return len(rows)

        ours, theirs = interleaved(rebuild, scan, rounds)
    return Figure(
        "rebuild_events_per_second",
        f"rebuild of all projections, {events} events",
        "SELECT of every event + JSON decode",
        "/s",
        ours,
        theirs,
        0.3,
    )


def chronology_of_a_long_ticket(desk: Desk, database: Database, rounds: int) -> list[Figure]:
    """A ticket's chronology read again (the ledger continues the one it last
    folded with the events stored since), and read for the first time in the
    process (folded from its whole history), each beside its rows' decode."""
    number = desk.long_ticket
    ticket_id = desk.ledger.ticket(number).id
    key: Any = ticket_id.hex if database.engine == "sqlite" else ticket_id
    statement = (
        f"SELECT state FROM {events_table(desk)} WHERE originator_id = "
        f"{database.placeholder} ORDER BY originator_version"
    )
    kept = desk.ledger.kept_reads("chronologies", CHRONOLOGIES_KEPT)

    def first_read() -> int:
        with suppress(KeyError):
            kept.get(ticket_id, evict=True)
        ticket_chronology(desk.ledger, number)
        return 1

    with closing(database.raw()) as raw:

        def rows() -> int:
            for (state,) in raw.execute(statement, (key,)).fetchall():
                json.loads(bytes(state))
            return 1

        again = repeated(1, lambda: ticket_chronology(desk.ledger, number))
        read_again = interleaved(again, rows, rounds)
        read_first = interleaved(first_read, rows, rounds)
    what = f"chronology of a ticket of {desk.long_events}+ events"
    baseline = "SELECT of its rows + JSON decode"
    return [
        Figure("chronology_1000_events", f"{what}, read again", baseline, "ms", *read_again, 3.0),
        Figure(
            "chronology_1000_events_first_read",
            f"{what}, first read in the process",
            baseline,
            "ms",
            *read_first,
            3.0,
        ),
    ]


def cli_start(desk: Desk, database: Database, rounds: int) -> Figure:
    number = desk.open()
    script = Path(sys.executable).parent / "ticketledger"
    show = [str(script), "show", number, "--database-url", database.url]
    imports = [sys.executable, "-c", "import eventsourcing, pydantic, psycopg"]

    def run(command: list[str]) -> Action:
        return repeated(1, lambda: subprocess.run(command, check=True, capture_output=True))

    ours, theirs = interleaved(run(show), run(imports), rounds)
    return Figure(
        "cli_show_start",
        "`ticketledger show` of a ticket, process start to exit",
        'python -c "import eventsourcing, pydantic, psycopg"',
        "ms",
        ours,
        theirs,
        2.0,
    )


def get_ticket_at_32_connections(
    desk: Desk, database: Database, rounds: int, seconds: float
) -> list[Figure]:
    """GET a ticket from 32 clients at once, beside the same app's constant
    route: throughput, and the 99th percentile of latency."""
    number = desk.open()
    token = AccessStore(desk.ledger).create_key(Role.AGENT, name="benchmark")[1]
    with serving(database.url, free_port()) as base:
        ticket = Load(base, [f"/tickets/{number}"], token, seconds)
        constant = Load(base, [CONSTANT_PATH], token, seconds)
        ticket.run()  # warms the server's caches and connection pool
        rates = interleaved(ticket.run, constant.run, rounds)
    p99 = (Spread(tuple(ticket.p99s)), Spread(tuple(constant.p99s)))
    what = "GET a ticket, 32 connections"
    return [
        Figure("get_ticket_32", what, "a constant route of the same app", "/s", *rates, 0.5),
        Figure("get_ticket_32_p99", f"{what}: p99", "the constant route's p99", "ms", *p99, 2.0),
    ]


def comments_from_16_clients(desk: Desk, database: Database, rounds: int, seconds: float) -> Figure:
    """16 clients posting comments, each on a ticket of its own, to a server of
    one worker per core, beside a route of the same app that validates the
    same body and answers a constant."""
    numbers = [desk.open() for _ in range(CALLERS)]
    token = AccessStore(desk.ledger).create_key(Role.AGENT, name="benchmark")[1]
    body = {"text": "PLC firmware suspected", "visibility": "internal"}
    # One SQLite file takes one serving process (`ticketledger serve` says so).
    workers = 1 if database.engine == "sqlite" else min(CALLERS, os.cpu_count() or 1)
    with serving(database.url, free_port(), workers=workers) as base:
        paths = [f"/tickets/{n}/comments" for n in numbers]
        comments = Load(base, paths, token, seconds, body, clients=CALLERS)
        constant = Load(base, [CONSTANT_COMMENT_PATH], token, seconds, body, clients=CALLERS)
        comments.run()  # warms each worker's caches and connection pool
        rates = interleaved(comments.run, constant.run, rounds)
    return Figure(
        "post_comment_16_clients",
        f"POST a comment, {CALLERS} clients on their own tickets, "
        f"{workers} worker{'s' if workers > 1 else ''}",
        "a POST route of the same app validating the same body, answering a constant",
        "/s",
        *rates,
        0.5,
    )


CONNECTIONS = 32


@dataclass
class Load:
    """`clients` clients, each on its own keep-alive connection, asking for
    its path for `seconds` (a GET, or a POST of `body` when given); every
    answer must be a 200."""

    base: str
    paths: list[str]
    token: str
    seconds: float
    body: dict[str, Any] | None = None
    clients: int = CONNECTIONS
    p99s: list[float] = field(default_factory=list)

    def run(self) -> int:
        latencies: list[float] = []
        lock = threading.Lock()
        # The load's seconds start once every client has made its connection:
        # making 32 clients on a busy machine took longer than a quick run's
        # whole load, which then measured nothing.
        until: list[float] = []
        ready = threading.Barrier(
            self.clients,
            action=lambda: until.append(time.perf_counter() + self.seconds),
            timeout=60,
        )
        threads = [
            threading.Thread(
                target=self.client,
                args=(self.paths[n % len(self.paths)], ready, until, latencies, lock),
            )
            for n in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        latencies.sort()
        self.p99s.append(latencies[int(len(latencies) * 0.99)])
        return len(latencies)

    def client(
        self,
        path: str,
        ready: threading.Barrier,
        until: list[float],
        latencies: list[float],
        lock: threading.Lock,
    ) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        mine: list[float] = []
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as http:
            ready.wait()
            while True:  # at least one request each, however late this thread runs
                started = time.perf_counter()
                answer = http.get(path) if self.body is None else http.post(path, json=self.body)
                mine.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise RuntimeError(f"{path}: {answer.status_code} {answer.text}")
                if started >= until[0]:
                    break
        with lock:
            latencies.extend(mine)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
