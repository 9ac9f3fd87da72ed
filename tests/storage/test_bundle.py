"""An auditor's bundle round trip: export from the ledger, verify offline with
no database, and any one altered byte makes verification fail. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.storage.test_hours import corrected_after_issue
from tests.storage.test_integrity import history
from tests.support import ManualClock
from ticketledger.api.cli.main import app
from ticketledger.projections.runner import Projector
from ticketledger.replay import bundle
from ticketledger.service.ledger import TicketLedger


@pytest.fixture
def ticket_bundle(ledger: TicketLedger, clock: ManualClock) -> str:
    ticket_id = history(ledger, clock)
    return bundle.export_ticket(ledger, ledger.ticket(ticket_id).state.number, "auditor")


def test_a_ticket_bundle_verifies_offline_with_no_database_reachable(
    ledger: TicketLedger,
    clock: ManualClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = ledger.ticket(history(ledger, clock)).state.number
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    runner = CliRunner()
    exported = runner.invoke(
        app,
        [
            "bundle",
            "--ticket",
            number,
            "--out",
            str(auditor / "b.json"),
            "--database-url",
            database_url,
        ],
    )
    assert exported.exit_code == 0, exported.output
    if database_url.startswith("sqlite:///"):
        ledger.close()
        Path(database_url.removeprefix("sqlite:///")).unlink()
    monkeypatch.chdir(auditor)
    # Were verify to open a ledger, it would fail to reach this one.
    monkeypatch.setenv("TICKETLEDGER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    checked = runner.invoke(app, ["verify", "--bundle", "b.json"])
    assert checked.exit_code == 0, checked.output
    assert "OK: every chain, every inclusion path" in checked.output
    assert sorted(p.name for p in auditor.iterdir()) == ["b.json"]  # no database was made
    (auditor / "b.json").write_text((auditor / "b.json").read_text().replace("carla", "carlo"))
    failed = runner.invoke(app, ["verify", "--bundle", "b.json"])
    assert failed.exit_code == 1 and "FAILED" in failed.output


def test_a_ticket_bundle_holds_complete_chains_and_the_chronology(ticket_bundle: str) -> None:
    document = json.loads(ticket_bundle)
    versions: dict[str, list[int]] = {}
    for row in document["events"]:
        versions.setdefault(row["originator_id"], []).append(row["version"])
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    (chronology,) = document["chronologies"]
    assert chronology["number"] == document["subject"]["ticket"]
    assert [s["version"] for s in chronology["steps"]] == list(range(1, 7))
    assert document["digest"]["position"] >= max(r["position"] for r in document["events"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_one_altered_byte_makes_the_bundle_fail(
    ticket_bundle: str, data: st.DataObject
) -> None:
    assert bundle.verify_bundle(ticket_bundle).ok
    raw = ticket_bundle.encode("utf-8")
    offset = data.draw(st.integers(0, len(raw) - 1), label="offset")
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != raw[offset]), label="byte")
    altered = raw[:offset] + bytes([replacement]) + raw[offset + 1 :]
    report = bundle.verify_bundle(altered.decode("utf-8", errors="replace"))
    assert not report.ok


def test_an_altered_event_in_a_bundle_is_named(ticket_bundle: str) -> None:
    document = json.loads(ticket_bundle)
    row = next(r for r in document["events"] if "looking into it" in r["state"])
    row["state"] = row["state"].replace("looking into it", "fixed it already")
    document["seal"] = bundle.seal_of(document)  # a careful forger reseals the file
    report = bundle.verify_bundle(bundle.bundle_text(document))
    assert report.findings[0] == (
        f"position {row['position']}: {row['originator_id']} version {row['version']} "
        "does not match its chain link"
    )


def test_a_statement_bundle_carries_the_month_exactly_as_issued(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, issued, frozen_json = corrected_after_issue(ledger, clock, projector)
    text = bundle.export_statement(ledger, contract_id, "2026-10", "auditor")
    report = bundle.verify_bundle(text)
    assert report.ok, report.findings
    statement = json.loads(text)["statement"]
    assert statement["statement_json"] == frozen_json == issued.canonical_json()
    assert statement["issued"]["digest"] == statement["sha256"] == issued.digest()
    assert len(json.loads(text)["chronologies"]) == 1
    forged = text.replace('\\"total\\":\\"5000.00\\"', '\\"total\\":\\"4000.00\\"')
    assert forged != text and not bundle.verify_bundle(forged).ok


def test_the_bundle_command_needs_a_ticket_or_a_contract_and_month(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["bundle", "--month", "2026-10", "--out", str(tmp_path / "x")])
    assert out.exit_code == 1 and "give either --ticket NUMBER" in out.output


def test_a_statement_bundle_of_an_open_month_verifies(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    ticket_id = history(ledger, clock)
    contract_id = UUID(str(ledger.ticket(ticket_id).state.contract_id))
    report = bundle.verify_bundle(bundle.export_statement(ledger, contract_id, "2026-10", "a"))
    assert report.ok and report.subject["month"] == "2026-10"
