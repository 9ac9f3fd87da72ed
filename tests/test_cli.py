"""The command line: demo load, summary and show, on both backends."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ticketledger.api.cli import app

runner = CliRunner()


def test_the_demo_loads_the_seed_companies_and_a_few_hundred_tickets(database_url: str) -> None:
    loaded = runner.invoke(app, ["demo", "--database-url", database_url])
    assert loaded.exit_code == 0, loaded.output
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


def test_showing_an_unknown_ticket_fails_with_a_clear_message(database_url: str) -> None:
    shown = runner.invoke(app, ["show", "2026-000404", "--database-url", database_url])
    assert shown.exit_code == 1
    assert "no ticket 2026-000404" in shown.output
