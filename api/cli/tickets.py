"""`ticketledger demo` and `ticketledger show`: the demo desk, and one ticket's state."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from ticketledger.api.cli.options import (
    DatabaseOption,
    ShownProgress,
    ledger_for,
    settings_from,
    where,
)
from ticketledger.domain.errors import DomainError
from ticketledger.domain.ticket import Ticket
from ticketledger.service.ledger import TicketLedger

FIRST_YEAR = 2020


def demo(database_url: DatabaseOption = None) -> None:
    """Load the demo data set (five seed companies, a few hundred tickets) and summarise it."""
    # The demo's loader, its keys and the projections load only for this command.
    from ticketledger.api.cli.people import DEMO_PASSWORD, create_demo_people
    from ticketledger.api.cli.serve import create_demo_keys
    from ticketledger.api.demo import SimulatedClock, load_demo

    clock = SimulatedClock(datetime.now(tz=UTC))
    settings = settings_from(database_url=database_url)
    ledger = ledger_for(settings, clock=clock)
    try:
        if ledger.recorder.max_notification_id():
            typer.echo(f"{where(settings)} already holds a ledger; summarising it.")
        else:
            typer.echo(f"Loading the demo into {where(settings)} ...")
            with ShownProgress() as progress:
                report = load_demo(ledger, clock, progress=progress)
            refused = sum(report.refused.values())
            typer.echo(
                f"Recorded {report.events} events; {report.held} requests held for triage; "
                f"{refused} planned commands refused by the rules {dict(report.refused)}"
            )
            demo_keys = create_demo_keys(ledger)
            typer.echo(
                "Demo API keys (this demo ledger only): "
                + ", ".join(f"{role.value} {token}" for token, role in demo_keys)
            )
            demo_people = create_demo_people(ledger)
            typer.echo(
                f"Demo people for the pages (password {DEMO_PASSWORD}): "
                + ", ".join(f"{login} ({role.value})" for login, role in demo_people)
            )
        summarise(ledger)
        project_demo(ledger)
    finally:
        ledger.close()


def project_demo(ledger: TicketLedger) -> None:
    from ticketledger.projections.catalog import all_projections
    from ticketledger.projections.runner import Projector

    projector = Projector(ledger, all_projections())
    with ShownProgress() as progress:
        applied = projector.catch_up(progress=progress)
    typer.echo(
        f"\nProjections up to date at log position {projector.position('ticket_state')} "
        f"({sum(applied.values())} event applications just now)."
    )
    month = last_month(ledger.clock())
    typer.echo(
        "Try: ticketledger queue | ticketledger contracts | ticketledger held | "
        f"ticketledger sla --contract 'Contact Center Andino' --month {month} | "
        f"ticketledger statement --contract 'Contact Center Andino' --month {month}"
    )


def last_month(now: datetime) -> str:
    """The month before `now`'s: the demo's month ready to bill."""
    first = now.date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def summarise(ledger: TicketLedger) -> None:
    # One numbering aggregate per year; none lies after the year the ledger's clock reads.
    years = range(FIRST_YEAR, ledger.clock().year + 1)
    tickets = [ledger.ticket(t) for year in years for t in ledger.ticket_ids(year)]
    by_contract: dict[Any, list[Ticket]] = {}
    for ticket in tickets:
        by_contract.setdefault(ticket.state.contract_id, []).append(ticket)
    typer.echo(f"\n{len(tickets)} tickets in {len(by_contract)} contracts\n")
    for contract_id, group in by_contract.items():
        terms = ledger.contract(contract_id).state.terms
        statuses = Counter(t.state.status.value for t in group)
        worked = sum((w.duration for t in group for w in t.state.work.values()), timedelta(0))
        typer.echo(
            f"{terms.customer} — {terms.plan} ({terms.agreement.value}, {terms.coverage.value} "
            f"coverage, {terms.timezone})"
        )
        typer.echo(
            f"  tickets {len(group)}: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items()))
        )
        first, last = group[0].state.number, group[-1].state.number
        typer.echo(f"  work logged {hours(worked)} h; numbers {first} .. {last}")
    if tickets:
        typer.echo(f"\nTry: ticketledger show {tickets[len(tickets) // 2].state.number}")


def hours(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 3600:.2f}"


def stamp(value: datetime | None) -> str:
    return value.isoformat(timespec="minutes") if value else "-"


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    work = list(ticket.state.work.values())
    return {
        "number": ticket.state.number,
        "subject": ticket.state.subject,
        "customer": ticket.state.customer,
        "requester": ticket.state.requester,
        "status": ticket.state.status.value,
        "closure_reason": ticket.state.closure_reason.value
        if ticket.state.closure_reason
        else None,
        "kind": ticket.state.kind.value,
        "priority": ticket.state.priority.value,
        "level": ticket.state.level,
        "assignee": ticket.state.assignee,
        "channel": ticket.state.channel.value,
        "opened_at": stamp(ticket.state.opened_at),
        "first_response_at": stamp(ticket.state.first_response_at),
        "resolved_at": stamp(ticket.state.resolved_at),
        "closed_at": stamp(ticket.state.closed_at),
        "work_entries": len(work),
        "work_hours": hours(sum((w.duration for w in work), timedelta(0))),
        "off_hours": hours(sum((w.off_hours for w in work), timedelta(0))),
        "failed_contact_attempts": ticket.state.failed_contact_attempts,
        "reopened": ticket.state.reopen_count,
        "rating": ticket.state.rating.score if ticket.state.rating else None,
        "rating_out_of": ticket.state.rating.out_of if ticket.state.rating else None,
        "links": [number for number, _ in ticket.state.links.values()],
        "version": ticket.version,
    }


def show(
    number: str,
    database_url: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print a ticket's current state."""
    ledger = ledger_for(settings_from(database_url=database_url), reading=True)
    try:
        summary = ticket_summary(ledger.ticket(number))
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        typer.echo(f"{key.replace('_', ' '):<{width}}  {value if value not in (None, []) else '-'}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(show)
