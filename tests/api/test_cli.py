"""The command line: demo load, summary and show, on both backends."""

from __future__ import annotations

import gc
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from tests.conftest import POSTGRES_URL, DemoCopy
from tests.poison import open_poisoned_ticket
from ticketledger.api.cli.main import app
from ticketledger.domain.numbering import ticket_id_for
from ticketledger.service.ledger import TicketLedger

runner = CliRunner()


def test_the_demo_loads_the_seed_companies_and_a_few_hundred_tickets(demo: DemoCopy) -> None:
    # The session's one load per database; a second `demo` finds it loaded.
    loaded, database_url = demo.loaded, demo.url
    assert "Loading the demo into" in loaded.output
    assert "0 planned commands refused" in loaded.output
    for customer in (
        "Móveis Serra Gaúcha",
        "Contact Center Andino",
        "Prefeitura de Rio Novo",
        "Leilões Norte de Minas",
        "Cooperativa Agroindustrial Vale Sul",
        "Frigorífico Campos Altos",
    ):
        assert customer in loaded.output
    count = int(loaded.output.split(" tickets in ")[0].rsplit("\n", 1)[-1])
    assert 250 <= count <= 400

    again = runner.invoke(app, ["demo", "--database-url", database_url])
    assert "already holds a ledger" in again.output
    assert f"{count} tickets in 6 contracts" in again.output

    shown = runner.invoke(app, ["show", "2026-000001", "--json", "--database-url", database_url])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["number"] == "2026-000001"


def test_showing_an_unknown_ticket_fails_with_a_clear_message(
    ledger: TicketLedger, database_url: str
) -> None:
    shown = runner.invoke(app, ["show", "2026-000404", "--database-url", database_url])
    assert shown.exit_code == 1
    assert "no ticket 2026-000404" in shown.output


@pytest.mark.parametrize("command", [["show", "2026-000404"], ["replay", "2026-000404"]])
def test_a_query_where_no_ledger_is_says_so_and_lays_out_nothing_there(
    database_url: str, command: list[str]
) -> None:
    script = Path(sys.executable).parent / "ticketledger"
    done = subprocess.run(
        [str(script), *command, "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "no ledger" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert tables_at(database_url) == []


def tables_at(database_url: str) -> list[str]:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        if not path.exists():
            return []
        with closing(sqlite3.connect(path)) as conn:
            return [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    schema = database_url.rsplit("schema=", 1)[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        found = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return [str(r[0]) for r in found]


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_supervisors_and_billing_read_the_demo_through_the_projections(demo: DemoCopy) -> None:
    db = ("--database-url", demo.url)
    assert "ticket_state: applied 0" in invoke("project", *db)

    queue = json.loads(invoke("queue", "--json", *db))
    assert queue and all(t["status"] not in ("resolved", "closed", "cancelled") for t in queue)
    assert "SLA due" in invoke("queue", *db)

    month = demo.loaded.issued_month
    andino = ("--contract", "Contact Center Andino", "--month", month)
    report = json.loads(invoke("sla", *andino, "--json", *db))
    assert report["month"] == month
    assert "percentiles by nearest rank" in invoke("sla", *andino, *db)

    shown = json.loads(invoke("statement", *andino, "--format", "json", *db))
    amounts = ("fees", "overage_amount", "off_hours_amount", "customer_caused_amount")
    expected = sum(Decimal(shown[k]) for k in amounts) + Decimal(shown["adjustments_amount"])
    assert Decimal(shown["total"]) == expected
    assert invoke("statement", *andino, "--format", "csv", *db).startswith("item,hours,rate")
    assert "total" in invoke("statement", *andino, *db)
    entries = json.loads(invoke("statement", *andino, "--format", "json", "--entries", *db))
    consumed = sum(Decimal(e["consumed_hours"]) for e in entries["entries"])
    assert consumed == Decimal(shown["consumed_hours"])


def test_an_issued_statement_is_shown_as_issued_and_cannot_be_issued_again(
    demo: DemoCopy,
) -> None:
    db = ("--database-url", demo.url)
    month = demo.loaded.ready_month
    serra = ("--contract", "Móveis Serra Gaúcha", "--month", month)
    before = invoke("statement", *serra, "--format", "json", *db)
    issued = invoke("statement", *serra, "--format", "json", "--issue", *db)
    assert f"issued {month}" in issued
    assert before in issued
    again = runner.invoke(app, ["statement", *serra, "--issue", *db])
    assert again.exit_code == 1
    assert "already issued" in again.output


def test_a_rebuild_from_the_command_line_switches_to_a_new_generation(demo: DemoCopy) -> None:
    database_url = demo.url
    rebuilt = invoke("rebuild", "ticket_state", "hours", "--database-url", database_url)
    assert "ticket_state: generation 2 live" in rebuilt
    assert "hours: generation 2 live" in rebuilt
    unknown = runner.invoke(app, ["rebuild", "nonsense", "--database-url", database_url])
    assert unknown.exit_code == 1
    assert "no projection nonsense" in unknown.output


def test_project_and_audit_projections_name_what_a_projection_holds_in_quarantine(
    ledger: TicketLedger, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, poisoned = open_poisoned_ticket(ledger, monkeypatch)
    held = str(ticket_id_for(poisoned))
    projected = runner.invoke(app, ["project", "--database-url", database_url])
    assert projected.exit_code == 0, projected.output
    lines = [line for line in projected.output.splitlines() if "QUARANTINED" in line]
    assert sorted(line.split(":")[0] for line in lines) == ["deadlines", "queues", "sla"]
    assert all(held in line and "SlaTargetUnreachableError" in line for line in lines)
    audited = runner.invoke(app, ["audit-projections", "--database-url", database_url])
    assert audited.exit_code == 1, audited.output
    assert f"quarantined (live): {held}" in audited.output
    assert f"quarantined (rebuilt): {held}" in audited.output


def test_a_command_run_from_the_console_collects_garbage_again_once_its_modules_are_loaded(
    tmp_path: Path,
) -> None:
    probe = (
        "import gc, sys\n"
        "from ticketledger.api.cli.main import main\n"
        "try:\n"
        "    main(['show', '2026-000001', '--database-url', sys.argv[1]])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 0)\n"
    )
    url = f"sqlite:///{tmp_path / 'none.db'}"
    done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True)
    assert done.stdout.split() == ["True", "True"], done.stderr
    assert gc.isenabled(), "importing the command line changes nothing in this process"
