"""A state kept as JSON is written the same by every process: a set's members
in the order of their own JSON, not in the order the process's string hash
seed gives (a projection rebuilt in another process must equal the live one)."""

from __future__ import annotations

import os
import subprocess
import sys

DUMP = """
import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID
from ticketledger.domain.events import recording_clock
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Channel, Kind, Priority, SlaClockName, SlaThreshold
from ticketledger.projections.store import state_text
at = datetime(2026, 10, 5, 12, tzinfo=UTC)
with recording_clock(lambda: at):
    ticket = Ticket.open(
        ticket_id=UUID(int=1), number="2026-000001", contract_id=UUID(int=2), customer="Acme",
        by="ana@acme.com", occurred_at=at, requester="ana@acme.com", channel=Channel.EMAIL,
        kind=Kind.INCIDENT, priority=Priority.HIGH, subject="down", description="",
    )
warnings = frozenset(
    (clock, threshold, timedelta(hours=hours))
    for clock in SlaClockName for threshold in SlaThreshold for hours in (4, 16)
)
print(state_text(dataclasses.replace(ticket.state, sla_warnings=warnings)))
"""


def dumped(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    run = subprocess.run([sys.executable, "-c", DUMP], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_a_state_with_a_set_is_written_alike_whatever_the_hash_seed() -> None:
    written = {dumped(seed) for seed in ("1", "2", "3", "4")}
    first = (
        '"sla_warnings":[["first_response","at_risk","PT16H"],["first_response","at_risk","PT4H"]'
    )
    assert len(written) == 1 and first in written.pop()
