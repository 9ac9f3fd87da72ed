"""The ticker: applies the time-driven rules to tickets nobody is touching.

A tick asks the deadlines projection which tickets have a rule due, and lets
the ledger apply each ticket's due rules from its own events. The ledger also
applies them before every command on a ticket, so the ticker only makes
consequences visible on time; how often it runs never changes what is written.
`ticketledger tick` runs one tick (or keeps ticking with --every);
`ticketledger serve` runs one in the background (api/jobs/every.py). It knows
no command line and no HTTP: the entry points start and stop it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from ticketledger.domain.errors import DomainError
from ticketledger.projections import deadlines
from ticketledger.projections.quarantine import is_transient
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.outcomes import CommandResult

log = logging.getLogger(__name__)
CATCH_UP_SECONDS = 30.0


@dataclass
class TickReport:
    now: datetime
    examined: int = 0
    applied: list[CommandResult] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "tickets_examined": self.examined,
            "tickets_changed": [
                {"number": r.number, "version": r.version, "position": r.position}
                for r in self.applied
            ],
            "refused": self.refused,
        }


class Ticker:
    def __init__(self, ledger: TicketLedger, projector: Projector) -> None:
        self.ledger, self.projector = ledger, projector

    def tick(self, now: datetime | None = None) -> TickReport:
        """Applies every rule due by `now` (the ledger's clock by default)."""
        at = self.ledger.clock() if now is None else now
        head = self.ledger.recorder.max_notification_id() or 0
        self.projector.wait(head, [deadlines.DeadlinesProjection.name], CATCH_UP_SECONDS)
        with self.projector.reading(deadlines.DeadlinesProjection.name) as rows:
            due = deadlines.tickets_due(rows, at)
        report = TickReport(at, examined=len(due))
        for ticket_id in due:
            try:
                result = self.ledger.apply_due_rules(UUID(ticket_id), now=at)
            except DomainError as error:
                # One ticket the rules cannot settle must not stop the others.
                report.refused[ticket_id] = error.message
                continue
            except Exception as error:
                if is_transient(error):
                    raise  # the database, not the ticket: the next tick retries
                log.exception("tick: the rules of ticket %s failed", ticket_id)
                report.refused[ticket_id] = f"{type(error).__name__}: {error}"
                continue
            if result is not None:
                report.applied.append(result)
        return report
