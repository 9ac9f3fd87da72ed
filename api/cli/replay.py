"""Auditors' commands (replay): registered on the `ticketledger` command line.

ticketledger replay NUMBER [--format table|json|csv]
ticketledger as-of NUMBER (--version N | --recorded-by T | --occurred-by T) [--json]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

import typer

from ticketledger.api.cli.options import DatabaseOption, JsonOption, fail, opened_ledger
from ticketledger.domain.errors import DomainError
from ticketledger.replay.as_of import TicketAsOf, ticket_as_of
from ticketledger.replay.chronology import (
    Chronology,
    ClockFigures,
    clock_text,
    instant_text,
    shown,
    ticket_chronology,
)
from ticketledger.service.ledger import TicketLedger

T = TypeVar("T")
InstantOption = Annotated[
    str | None, typer.Option(help="an instant, ISO 8601 with a UTC offset: 2026-10-05T12:00+00:00")
]


def read(database_url: str | None, query: Callable[[TicketLedger], T]) -> T:
    """Runs a query on the ledger; a domain error is a message and exit status 1."""
    with opened_ledger(database_url, reading=True) as ledger:
        try:
            return query(ledger)
        except DomainError as error:
            raise fail(error.message) from None


def replay(
    number: str,
    output: Annotated[
        str, typer.Option("--format", help="table, json or csv", case_sensitive=False)
    ] = "table",
    database_url: DatabaseOption = None,
) -> None:
    """Every event of a ticket in order: recorded and occurred times, actor, what
    changed (before -> after), and the SLA clocks and hours after each step."""
    shown = output.lower()
    if shown not in ("table", "json", "csv"):
        raise fail("--format is table, json or csv")
    found: Chronology = read(database_url, lambda ledger: ticket_chronology(ledger, number))
    if shown == "json":
        typer.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
    elif shown == "csv":
        typer.echo(found.to_csv(), nl=False)
    else:
        typer.echo(found.render_table(), nl=False)


def instant(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} is an ISO 8601 instant, not {value!r}") from None
    if parsed.utcoffset() is None:
        raise fail(f"{option} needs a UTC offset, e.g. 2026-10-05T12:00+00:00")
    return parsed


def as_of(
    number: str,
    version: Annotated[int | None, typer.Option(min=1, help="the ticket's version N")] = None,
    recorded_by: InstantOption = None,
    occurred_by: InstantOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """A ticket's state, SLA figures and hours at version N; as the ledger had
    recorded it by T; or as it had occurred by T, by all the ledger knows now."""
    if [version, recorded_by, occurred_by].count(None) != 2:
        raise fail("give exactly one of --version, --recorded-by, --occurred-by")
    recorded = None if recorded_by is None else instant(recorded_by, "--recorded-by")
    occurred = None if occurred_by is None else instant(occurred_by, "--occurred-by")
    found = read(
        database_url,
        lambda ledger: ticket_as_of(
            ledger, number, version=version, recorded_by=recorded, occurred_by=occurred
        ),
    )
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(render(found))


def render(found: TicketAsOf) -> str:
    how = {
        "version": "at version",
        "recorded_by": "as recorded by",
        "occurred_by": "as occurred by",
    }
    lines = [
        f"Ticket {found.number} of {found.customer} {how[found.question]} {found.asked}: "
        f"version {found.version}, last event occurred {instant_text(found.last_occurred_at)}, "
        f"recorded {instant_text(found.last_recorded_at)}",
    ]
    width = max(len(name) for name in found.state)
    lines += [f"  {k.replace('_', ' '):<{width}}  {shown(v)}" for k, v in found.state.items()]
    lines.append(f"SLA at {instant_text(found.sla.evaluated_at)} (business h:mm)")
    for label, clock in (
        ("first response", found.sla.first_response),
        ("resolution", found.sla.resolution),
    ):
        lines.append(f"  {label:<{width}}  {clock_line(clock)}")
    lines.append(f"Hours  {found.hours.cell()}")
    return "\n".join(lines)


def clock_line(clock: ClockFigures) -> str:
    due = f", due {instant_text(clock.due_at)}" if clock.due_at else ""
    return (
        f"{clock.status}: {clock.state}, {clock_text(clock.elapsed)} of "
        f"{clock_text(clock.target)} spent, {clock_text(clock.remaining)} left{due}"
    )


def register(app: typer.Typer) -> None:
    """Adds this module's commands to `app`."""
    app.command()(replay)
    app.command(name="as-of")(as_of)
