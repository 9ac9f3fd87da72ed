"""The ticker: applies the time-driven rules to tickets nobody is touching.

A tick asks the deadlines projection which tickets have a rule due, and lets
the ledger apply each ticket's due rules from its own events. The ledger also
applies them before every command on a ticket, so the ticker only makes
consequences visible on time; how often it runs never changes what is written.
`ticketledger tick` runs one tick (or keeps ticking with --every);
`ticketledger serve` runs one in the background.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import typer

from ticketledger.domain.errors import DomainError
from ticketledger.projections import deadlines
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.outcomes import CommandResult

from .reports import DatabaseOption, JsonOption, NowOption, fail, instant, opened_projector

log = logging.getLogger(__name__)
TICK_SECONDS = 60.0
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
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

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
            if result is not None:
                report.applied.append(result)
        return report

    def run(self, every: float = TICK_SECONDS) -> None:
        """Ticks until stop(); a failed tick is logged and the next one retries."""
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:  # pragma: no cover - kept for the operator
                log.exception("tick failed; the next one retries")
            self._stopping.wait(every)

    def start(self, every: float = TICK_SECONDS) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, args=(every,), name="ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def tick(
    now: NowOption = None,
    every: Annotated[
        float | None,
        typer.Option("--every", min=1.0, help="keep ticking, every SECONDS, until stopped"),
    ] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Apply every time-driven rule due by --now (default: now): automatic
    closures, notices to requesters, SLA warnings and escalations, each recorded
    at the instant it fell due."""
    now = None if now is None else instant(now)  # refuses a --now without an offset
    if now is not None and every is not None:
        raise fail("--now and --every do not go together: a running ticker ticks at now")
    with opened_projector(database_url) as projector:
        ticker = Ticker(projector.ledger, projector)
        if every is not None:
            typer.echo(f"ticking every {every:g} s; Ctrl-C stops")
            with contextlib.suppress(KeyboardInterrupt):
                ticker.run(every)
            return
        if now is not None and now > projector.ledger.clock():
            raise fail("--now lies in the future: rules apply only once their time has come")
        report = ticker.tick(now)
    show_report(report, as_json)


def show_report(report: TickReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"tick at {report.now.isoformat()}: {report.examined} tickets with rules due, "
        f"{len(report.applied)} changed"
    )
    for result in report.applied:
        typer.echo(f"  {result.number} now at version {result.version}")
    for ticket_id, message in report.refused.items():
        typer.echo(f"  {ticket_id} refused: {message}", err=True)


def upcoming_deadlines(
    agent: Annotated[str | None, typer.Option(help="only this agent's tickets")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer's tickets")] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
            help="only deadlines up to this instant",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Upcoming deadlines (SLA warnings, notices, automatic closures), earliest
    first, for one agent, one customer, or everyone."""
    with opened_projector(database_url) as projector:
        name = deadlines.DeadlinesProjection.name
        projector.catch_up([name])
        with projector.reading(name) as rows:
            found = deadlines.upcoming(
                rows, agent=agent, customer=customer, until=until, limit=limit
            )
        now = projector.ledger.clock()
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    typer.echo(deadlines.render_upcoming(found, now))


def register(app: typer.Typer) -> None:
    app.command()(tick)
    app.command("deadlines")(upcoming_deadlines)
