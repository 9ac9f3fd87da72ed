"""A month's statement recomputed from the events alone: an issued month exactly
as it stood when issued, whatever was posted later. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

from typer.testing import CliRunner

from tests.storage.test_hours import corrected_after_issue, statement_of
from tests.support import ManualClock
from ticketledger.api.cli.main import app
from ticketledger.projections.runner import Projector
from ticketledger.replay.statements import reproduce_statement
from ticketledger.service.ledger import TicketLedger


def test_an_issued_statement_reproduces_byte_for_byte_after_later_corrections(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract_id, issued, frozen_json = corrected_after_issue(ledger, clock, projector)
    replay = reproduce_statement(ledger, contract_id, "2026-10")
    assert replay.canonical_json == frozen_json == issued.canonical_json()
    assert replay.issued is not None and replay.matches_issue
    assert hashlib.sha256(frozen_json.encode()).hexdigest() == replay.issued.digest
    # The correction is billed in November, and recomputing November agrees with billing.
    november = reproduce_statement(ledger, contract_id, "2026-11")
    assert november.issued is None
    assert (
        november.canonical_json == statement_of(projector, contract_id, "2026-11").canonical_json()
    )


def test_the_reproduce_command_prints_the_issued_json_byte_for_byte(
    ledger: TicketLedger, clock: ManualClock, projector: Projector, database_url: str
) -> None:
    contract_id, _, frozen_json = corrected_after_issue(ledger, clock, projector)
    arguments = ["reproduce-statement", "--contract", str(contract_id), "--month", "2026-10"]
    result = CliRunner().invoke(
        app, [*arguments, "--format", "json", "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == frozen_json + "\n"
    assert "matches the digest issued at position" in result.stderr
