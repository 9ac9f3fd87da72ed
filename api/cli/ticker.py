"""`ticketledger tick` and `ticketledger deadlines`: the ticker by hand, and
what the rules will do next."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Annotated

import typer

from ticketledger.api.cli.options import DatabaseOption, JsonOption, NowOption, fail
from ticketledger.api.cli.reports import instant, opened_projector
from ticketledger.api.jobs.every import Every
from ticketledger.api.jobs.ticker import Ticker, TickReport
from ticketledger.projections import deadlines


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
                Every("ticker", ticker.tick, every).run()
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
