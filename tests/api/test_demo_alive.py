"""The demo is alive when a person looks at it: its history ends at its
loading, with a clock breached, clocks at risk, a ticket waiting on its
customer, a resolution awaiting acceptance, off-hours work billed last month,
last month ready to bill and the month before issued; and the ticker finds
nothing to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from typer.testing import CliRunner

from tests.conftest import DemoCopy
from ticketledger.api.cli.main import app
from ticketledger.projections import queues, ticket_state
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger

runner = CliRunner()
HELP_DESK = (
    "Cooperativa Agroindustrial Vale Sul",
    "Leilões Norte de Minas",
    "Móveis Serra Gaúcha",
    "Contact Center Andino",
)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demos_history_ends_when_it_was_loaded(demo: DemoCopy) -> None:
    ledger = TicketLedger(database_url=demo.url)
    try:
        head = ledger.recorder.max_notification_id() or 0
        last = ledger.recorder.select_notifications(head, 1)[0]
        event: Any = ledger.mapper.to_domain_event(last)
    finally:
        ledger.close()
    assert datetime.now(UTC) - timedelta(hours=6) < event.timestamp <= datetime.now(UTC)


def test_the_ticker_finds_nothing_to_do_after_the_demo_loads(demo: DemoCopy) -> None:
    ticked = invoke("tick", "--database-url", demo.url)
    assert ", 0 changed" in ticked


def test_the_queue_holds_a_breached_clock_clocks_at_risk_and_tickets_waiting(
    demo: DemoCopy,
) -> None:
    ledger = TicketLedger(database_url=demo.url)
    projector = Projector(ledger, all_projections())
    try:
        projector.catch_up(["queues"])
        with projector.reading("queues") as rows:
            queue = queues.work_queue(rows, now=datetime.now(UTC))
    finally:
        projector.stop()
        ledger.close()
    marks = [entry["sla"] for entry in queue]
    assert marks.count("breached") >= 1 and marks.count("at_risk") >= 2
    assert any(entry["status"] == "waiting_on_customer" for entry in queue)
    assert any(entry["sla"] is None and entry["sla_due_at"] for entry in queue)


def test_last_month_is_ready_to_bill_with_off_hours_work_and_the_month_before_is_issued(
    demo: DemoCopy,
) -> None:
    db = ("--database-url", demo.url)
    ready, issued = demo.loaded.ready_month, demo.loaded.issued_month
    for customer in HELP_DESK:
        again = runner.invoke(
            app, ["statement", "--contract", customer, "--month", issued, "--issue", *db]
        )
        assert again.exit_code == 1 and "already issued" in again.output, again.output
    andino = ("--contract", "Contact Center Andino", "--month", ready)
    shown = json.loads(invoke("statement", *andino, "--format", "json", *db))
    assert Decimal(shown["off_hours_hours"]) > 0 and Decimal(shown["off_hours_amount"]) > 0
    assert "issued" not in invoke("statement", *andino, *db).split("\n")[0]


def test_the_demo_leaves_resolutions_awaiting_acceptance(demo: DemoCopy) -> None:
    ledger = TicketLedger(database_url=demo.url)
    projector = Projector(ledger, all_projections())
    filters: dict[str, str | None] = dict.fromkeys(ticket_state.FILTERS)
    filters["status"] = "resolved"
    try:
        projector.catch_up(["ticket_state"])
        with projector.reading("ticket_state") as rows:
            resolved = ticket_state.list_tickets(rows, filters, after=None, limit=50).tickets
    finally:
        projector.stop()
        ledger.close()
    assert resolved
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert all(datetime.fromisoformat(t["resolved_at"]) > week_ago for t in resolved)


def test_contracts_are_listed_with_their_ids_and_customers(demo: DemoCopy) -> None:
    contracts = json.loads(invoke("contracts", "--json", "--database-url", demo.url))
    assert {c["customer"] for c in contracts} >= set(HELP_DESK)
    assert all(len(c["contract_id"]) == 36 for c in contracts)
    assert "Soporte Extendido" in invoke("contracts", "--database-url", demo.url)


def test_a_rebuild_and_a_catch_up_tell_their_progress_up_to_the_logs_head(
    demo: DemoCopy,
) -> None:
    ledger = TicketLedger(database_url=demo.url)
    projector = Projector(ledger, all_projections())
    told: list[tuple[str, int, int]] = []
    try:
        head = ledger.recorder.max_notification_id() or 0
        projector.rebuild_together(["hours", "triage"], lambda *seen: told.append(seen))
        assert told and told[-1] == ("rebuild", head, head)
        reached = [done for _, done, _ in told]
        assert reached == sorted(reached) and len(reached) > 1
        told.clear()
        scratch = projector.begin_rebuild("queues", state="audit")
        scratch.catch_up(progress=lambda *seen: told.append(seen))
        projector.discard(scratch)
        assert told[-1] == ("queues", head, head)
    finally:
        projector.stop()
        ledger.close()


def test_a_requester_reads_the_pages_in_their_contracts_language_unless_told(
    demo: DemoCopy,
) -> None:
    db = ("--database-url", demo.url)
    password = "a long enough password\n"
    for login, customer in (
        ("pablo@andino.com.ar", "Contact Center Andino"),
        ("rita@moveisserra.com.br", "Móveis Serra Gaúcha"),
    ):
        made = runner.invoke(
            app,
            [
                "users",
                "create",
                login,
                "--role",
                "requester",
                "--customer",
                customer,
                "--password-stdin",
                *db,
            ],
            input=password,
        )
        assert made.exit_code == 0, made.output
    listed = invoke("users", "list", *db)
    assert "pablo@andino.com.ar" in listed and "Contact Center Andino [es]" in listed
    assert "Móveis Serra Gaúcha [pt-BR]" in listed
    unknown = runner.invoke(
        app,
        [
            "users",
            "create",
            "x@y.com",
            "--role",
            "requester",
            "--customer",
            "Nobody",
            "--password-stdin",
            *db,
        ],
        input=password,
    )
    assert unknown.exit_code == 1 and "no contract of 'Nobody'" in unknown.output
