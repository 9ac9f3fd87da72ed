"""The projection follower: exactly once, resumable, rebuildable, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from tests.conftest import POSTGRES_URL, postgres_schema_url
from tests.storage import test_state_machine as machines
from tests.support import ManualClock, at, focco_terms
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.projections import hours
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import Rows
from ticketledger.projections.ticket_state import FIND_TICKET, TicketStateProjection, list_tickets
from ticketledger.service.commands import (
    Assign,
    AuthoriseRequester,
    Comment,
    Escalate,
    IssueStatement,
    OpenTicket,
    ReplyAsAgent,
    SignContract,
    WaitOnCustomer,
)
from ticketledger.service.ledger import TicketLedger

Dumps = dict[str, dict[str, list[dict[str, Any]]]]


def live_rows(projector: Projector) -> Dumps:
    return {name: projector.processor(name).dump() for name in projector.projections}


def rebuilt_rows(projector: Projector) -> Dumps:
    for name in projector.projections:
        projector.rebuild(name)
    return live_rows(projector)


def rebuilt_together_rows(projector: Projector) -> Dumps:
    """Every projection rebuilt in one pass, each page applied by all of them."""
    projector.rebuild_together(list(projector.projections))
    return live_rows(projector)


def open_some_tickets(ledger: TicketLedger, clock: ManualClock, count: int = 3) -> list[str]:
    contract = ledger.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="@serra.com.br", by="admin"))
    numbers = []
    for index in range(count):
        clock.advance(timedelta(minutes=7))
        opened = ledger.handle(
            OpenTicket(
                contract_id=contract,
                requester="ana@serra.com.br",
                channel=Channel.EMAIL,
                kind=Kind.INCIDENT,
                priority=Priority.HIGH,
                subject=f"Line {index} stopped",
            )
        )
        assert opened.number is not None
        numbers.append(opened.number)
        clock.advance(timedelta(minutes=3))
        ledger.handle(ReplyAsAgent(ticket=opened.number, message="on it", by="carla"))
        ledger.handle(Assign(ticket=opened.number, assignee="carla", by="lead"))
    return numbers


# ----------------------------------------------------------------------- random histories


class ProjectedLedgerMachine(machines.LedgerMachine):
    """The ledger state machine's random histories, with followers that run a
    few events at a time and stop, as if restarted, between commands. At the
    end the incrementally built rows must equal a rebuild from zero."""

    make_database: Callable[[], tuple[str, Callable[[], None]]]

    def __init__(self) -> None:
        self.database_url, self.drop_database = type(self).make_database()
        super().__init__()
        # Late in October, so histories cross into months that billing can issue.
        self.clock.set(at("2026-10-27 11:00"))

    @rule(limit=st.integers(1, 25))
    def a_follower_runs_a_while_and_stops(self, limit: int) -> None:
        projector = Projector(self.reader, all_projections())
        for name in projector.projections:
            processor = projector.processor(name)
            processor.process(processor.read_page(processor.position(), limit))

    # The base machine expects the works warranty (until 2027-03-01) in force.
    @precondition(lambda self: self.clock() < at("2027-01-15 00:00"))
    @rule()
    def a_month_passes(self) -> None:
        self.clock.advance(timedelta(days=31))

    @rule(lag=st.integers(0, 12))
    def billing_issues_the_previous_month(self, lag: int) -> None:
        """Issued months freeze; postings the issuer did not see (it read the log
        `lag` events ago) move on to the next open month."""
        local = self.clock().astimezone(ZoneInfo(self.terms.timezone)).date()
        month = f"{local.year - (local.month == 1)}-{(local.month - 2) % 12 + 1:02d}"
        projector = Projector(self.reader, all_projections())
        projector.catch_up(["hours"])
        through = max(0, projector.position("hours") - lag)
        with projector.reading("hours") as rows:
            seen = hours.statement(rows, self.contract_id, month, through_position=through)
            issued = hours.issued_statement(rows, self.contract_id, month)
        if issued is not None:
            return
        self.ledger.handle(
            IssueStatement(
                contract_id=self.contract_id,
                month=month,
                through_position=through,
                total=seen.total,
                currency=seen.currency,
                digest=seen.digest(),
                by="billing",
            )
        )
        projector.catch_up(["hours"])
        with projector.reading("hours") as rows:
            frozen = hours.issued_statement(rows, self.contract_id, month)
        assert frozen is not None
        assert frozen.canonical_json() == seen.canonical_json()

    def teardown(self) -> None:
        try:
            projector = Projector(self.reader, all_projections())
            projector.catch_up()
            incremental = live_rows(projector)
            assert rebuilt_rows(projector) == incremental
            assert rebuilt_together_rows(projector) == incremental
            assert_queue_clocks_match_the_sla_clocks(incremental)
            assert any(incremental["ticket_state"].values()) or not self.models
        finally:
            super().teardown()
            self.drop_database()


def assert_queue_clocks_match_the_sla_clocks(dumps: Dumps) -> None:
    """Projections agree on an open ticket: the queue's status and clocks are the
    ticket state's and the SLA projection's (a stale due instant would send
    agents to the wrong ticket)."""
    sla_rows = {row["ticket_id"]: row for row in dumps["sla"]["tickets"]}
    states = {row["ticket_id"]: row for row in dumps["ticket_state"]["tickets"]}
    for row in dumps["queues"]["tickets"]:
        state = states[row["ticket_id"]]
        assert (row["status"], row["level"], row["assignee"]) == (
            state["status"],
            state["level"],
            state["assignee"],
        )
        clocks = {k: v for k, v in row.items() if k == "priority" or k.startswith(("fr_", "res_"))}
        assert clocks == {k: sla_rows[row["ticket_id"]][k] for k in clocks}


def database_factory(kind: str, tmp_path: Path) -> Callable[[], tuple[str, Callable[[], None]]]:
    def make() -> tuple[str, Callable[[], None]]:
        if kind == "sqlite":
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            return f"sqlite:///{path}", lambda: None
        schema = f"p_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')

        def drop() -> None:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

        return postgres_schema_url(schema), drop

    return make


def test_rows_built_incrementally_with_restarts_equal_the_rows_of_a_rebuild_from_zero(
    database_url: str, tmp_path: Path
) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    ProjectedLedgerMachine.make_database = staticmethod(database_factory(kind, tmp_path))  # type: ignore[assignment]
    run_state_machine_as_test(
        ProjectedLedgerMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# ----------------------------------------------------------------------- exactly once


def test_delivering_the_same_events_twice_changes_nothing(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    open_some_tickets(ledger, clock)
    processor = projector.processor("ticket_state")
    page = processor.read_page(0)
    assert processor.process(page) == len(page)
    once = processor.dump()
    assert processor.process(page) == 0
    assert processor.process(page[3:4]) == 0
    assert processor.dump() == once
    assert processor.position() == page[-1].id


def test_a_page_that_skips_past_unapplied_events_applies_only_what_follows_the_position(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    open_some_tickets(ledger, clock)
    processor = projector.processor("ticket_state")
    page = processor.read_page(0)
    processor.process(page[:5])
    # The same page again, as a second follower that read it earlier would send it.
    assert processor.process(page) == len(page) - 5
    assert processor.dump() == rebuilt_rows(projector)["ticket_state"]


class ProcessKilled(BaseException):
    """Stands for kill -9 mid-page: not an error a projection could quarantine."""


class CrashingProjection(TicketStateProjection):
    """Stops on its n-th event, as a process killed mid-page would."""

    def __init__(self, crash_after: int) -> None:
        self.remaining = crash_after

    def apply(self, event: Any, rows: Rows, position: int) -> None:
        if self.remaining == 0:
            raise ProcessKilled("the follower died here")
        self.remaining -= 1
        super().apply(event, rows, position)


def test_a_follower_restarted_after_a_crash_resumes_where_it_stopped(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    open_some_tickets(ledger, clock, count=4)
    crashing = Projector(ledger, [CrashingProjection(crash_after=13)])
    processor = crashing.processor("ticket_state")
    assert processor.process(processor.read_page(0, limit=10)) == 10
    with pytest.raises(ProcessKilled, match="died"):
        processor.process_page()
    assert processor.position() == 10  # the failed page left nothing behind

    restarted = Projector(ledger, [TicketStateProjection()])
    head = ledger.recorder.max_notification_id() or 0
    assert restarted.catch_up() == {"ticket_state": head - 10}
    assert restarted.position("ticket_state") == head
    assert live_rows(restarted) == rebuilt_rows(Projector(ledger, [TicketStateProjection()]))


# ----------------------------------------------------------------------- rebuild


def test_a_rebuild_serves_the_old_rows_until_it_switches_atomically(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    numbers = open_some_tickets(ledger, clock)
    projector.catch_up()
    before = projector.processor("ticket_state").dump()
    old = projector.processor("ticket_state").generation

    fresh = projector.begin_rebuild("ticket_state")
    fresh.process_page(limit=4)
    with projector.reading("ticket_state") as rows:
        assert len(list_tickets(rows).tickets) == len(numbers)
    assert projector.processor("ticket_state").generation == old

    projector.finish_rebuild(fresh)
    assert projector.processor("ticket_state").generation == fresh.generation
    assert projector.processor("ticket_state").dump() == before


def test_a_projections_transaction_on_postgresql_may_stay_idle_longer_than_the_librarys_limit(
    clock: ManualClock,
) -> None:
    """A page is applied in memory and written at its end; the library ends a
    PostgreSQL transaction idle for 5 s, which a busy page outlasted (SQLite
    has no such limit)."""
    url, drop = database_factory("postgres", Path())()
    ledger = TicketLedger(database_url=url, clock=clock)
    try:
        store = Projector(ledger, all_projections()).store
        with store.transaction(commit=False) as cursor:
            cursor.execute("SHOW idle_in_transaction_session_timeout")
            assert cursor.fetchone()["idle_in_transaction_session_timeout"] == "2min"
        with store.reading() as cursor:  # outside a projection's transaction, the library's
            cursor.execute("SHOW idle_in_transaction_session_timeout")
            assert cursor.fetchone()["idle_in_transaction_session_timeout"] == "5s"
    finally:
        ledger.close()
        drop()


def test_a_rebuild_keeps_the_generation_it_replaced_and_drops_older_ones(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    open_some_tickets(ledger, clock, count=1)
    projector.catch_up()
    projector.rebuild("ticket_state")
    third = projector.rebuild("ticket_state")
    with projector.store.transaction(commit=False) as cursor:
        generations = projector.store.generations(cursor, "ticket_state")
    assert generations == {third - 1: "retired", third: "live"}


def test_events_written_during_a_rebuild_are_in_the_new_generation(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    open_some_tickets(ledger, clock, count=2)
    projector.catch_up()
    fresh = projector.begin_rebuild("ticket_state")
    fresh.catch_up()
    late = open_some_tickets(ledger, clock, count=1)
    projector.finish_rebuild(fresh)
    with projector.reading("ticket_state") as rows:
        assert [t["number"] for t in list_tickets(rows).tickets][-1] == late[0]


def test_a_reader_follows_a_rebuild_switched_by_another_process(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    open_some_tickets(ledger, clock, count=2)
    projector.catch_up()
    with projector.reading("ticket_state") as rows:  # this reader now knows generation 1
        assert rows.holds_none, "nothing is held, and the read learned it with the pointer"
    elsewhere = Projector(ledger, all_projections())
    elsewhere.rebuild("ticket_state")
    late = open_some_tickets(ledger, clock, count=1)
    elsewhere.catch_up()  # only the new live generation follows the log now
    with projector.reading("ticket_state") as rows:
        assert [t["number"] for t in list_tickets(rows).tickets][-1] == late[0]
    assert projector.processor("ticket_state").generation == 2


def test_a_row_read_with_its_guard_comes_from_the_generation_another_process_made_live(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    number = open_some_tickets(ledger, clock, count=1)[0]
    projector.catch_up()
    query = (FIND_TICKET, {"number": number})
    with projector.reading_one("ticket_state", query) as (rows, found):
        assert found is not None and rows.holds_none
        before = found["version"]
    elsewhere = Projector(ledger, all_projections())
    elsewhere.rebuild("ticket_state")  # generation 1 is retired, its tables kept
    ledger.handle(Comment(ticket=number, text="PLC firmware suspected", by="carla"))
    elsewhere.catch_up()
    with projector.reading_one("ticket_state", query) as (_, found):
        assert found is not None and found["version"] == before + 1
    with projector.reading_one("ticket_state", (FIND_TICKET, {"number": "2026-999999"})) as (
        _,
        missing,
    ):
        assert missing is None


def test_a_reader_follows_two_rebuilds_elsewhere_that_dropped_the_generation_it_knew(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    numbers = open_some_tickets(ledger, clock, count=2)
    projector.catch_up()
    with projector.reading("ticket_state") as rows:  # generation 1
        assert len(list_tickets(rows).tickets) == len(numbers)
    elsewhere = Projector(ledger, all_projections())
    elsewhere.rebuild("ticket_state")
    assert elsewhere.rebuild("ticket_state") == 3  # generation 1's tables are dropped
    with projector.reading("ticket_state") as rows:
        assert len(list_tickets(rows).tickets) == len(numbers)
    assert projector.processor("ticket_state").generation == 3


# ----------------------------------------------------------------------- followers


def test_embedded_followers_bring_a_write_to_the_queries_within_a_wait(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    projector.start()
    try:
        numbers = open_some_tickets(ledger, clock, count=2)
        result = ledger.handle(Escalate(ticket=numbers[0], reason="complex", by="carla"))
        projector.wait(result.position, timeout=10)
        with projector.reading("ticket_state") as rows:
            found = list_tickets(rows, {"level": 2}).tickets
        assert [t["number"] for t in found] == [numbers[0]]
    finally:
        projector.stop()


def test_two_followers_of_one_projection_apply_each_event_once(
    make_ledger: Callable[..., TicketLedger], clock: ManualClock
) -> None:
    writer = make_ledger()
    open_some_tickets(writer, clock, count=6)
    followers = [Projector(make_ledger(), [TicketStateProjection()]) for _ in range(2)]
    followers[0].processor("ticket_state")  # one of them makes generation 1 live

    def follow(projector: Projector) -> None:
        processor = projector.processor("ticket_state")
        while processor.position() < (writer.recorder.max_notification_id() or 0):
            processor.process(processor.read_page(processor.position(), limit=3))

    threads = [threading.Thread(target=follow, args=(p,)) for p in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    incremental = live_rows(followers[0])
    assert incremental == live_rows(followers[1])
    assert incremental == rebuilt_rows(followers[1])


def test_the_ticket_state_lists_and_filters_with_a_cursor(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    numbers = open_some_tickets(ledger, clock, count=5)
    clock.set(at("2026-10-05 15:00"))
    ledger.handle(WaitOnCustomer(ticket=numbers[1], reason="needs a log", by="carla"))
    projector.catch_up()
    with projector.reading("ticket_state") as rows:
        first = list_tickets(rows, limit=2)
        second = list_tickets(rows, after=first.next_cursor, limit=2)
        waiting = list_tickets(rows, {"status": "waiting_on_customer"}).tickets
        with pytest.raises(ValueError, match="cannot filter"):
            list_tickets(rows, {"subject": "x"})
    assert [t["number"] for t in first.tickets + second.tickets] == numbers[:4]
    assert [(t["number"], t["agent_replies"], t["assignee"]) for t in waiting] == [
        (numbers[1], 1, "carla")
    ]
    assert waiting[0]["waiting_since"] == "2026-10-05T15:00:00.000000Z"
