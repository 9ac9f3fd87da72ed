"""Command-line ways into the projections: followers, rebuilds, and the
reports supervisors and billing read (queue, SLA, statement)."""

from __future__ import annotations

import csv
import io
import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ticketledger.api.cli.options import (
    ContractOption,
    DatabaseOption,
    JsonOption,
    MonthOption,
    NowOption,
    ShownProgress,
    StatementFormat,
    fail,
    opened_ledger,
    settings_from,
    where,
)
from ticketledger.api.statements import entry_line, issue_month
from ticketledger.domain.errors import DomainError
from ticketledger.projections import hours, quarantine, queues, sla, triage
from ticketledger.projections.catalog import all_projections, projection_names
from ticketledger.projections.runner import Projector


@contextmanager
def opened_projector(database_url: str | None) -> Iterator[Projector]:
    with opened_ledger(database_url) as ledger:
        try:
            yield Projector(ledger, all_projections())
        except quarantine.ProjectionQuarantinedError as error:
            raise fail(f"{error}: {error.entry.error}") from None


def show_quarantined(projector: Projector, names: list[str]) -> None:
    for name in names:
        for entry in projector.processor(name).quarantined():
            when = f"{entry.quarantined_at:%Y-%m-%d %H:%M:%S} UTC"
            typer.echo(
                f"{name}: QUARANTINED {entry.aggregate_id} since position {entry.position} "
                f"({entry.skipped} later events skipped, at {when}): {entry.error}"
            )


def chosen(names: list[str] | None) -> list[str]:
    unknown = sorted(set(names or []) - set(projection_names()))
    if unknown:
        raise fail(f"no projection {', '.join(unknown)}; known: {', '.join(projection_names())}")
    return names or projection_names()


def instant(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(tz=UTC)
    if value.tzinfo is None:
        raise fail("--now needs a UTC offset, e.g. 2026-10-05T14:00+00:00")
    return value


def project(
    names: Annotated[list[str] | None, typer.Argument(help="projections (default: all)")] = None,
    follow: Annotated[bool, typer.Option("--follow", help="keep following the log")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Bring projections up to date with the log; with --follow, keep them so
    (run one or more per projection, in as many processes as needed)."""
    selected = chosen(names)
    # A follower asked to stop while it catches up stops cleanly once it has.
    stopping: list[int] = []
    if follow:
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    with opened_projector(database_url) as projector:
        typer.echo(f"catching up {', '.join(selected)}")
        # A SIGTERM during the first catch-up stops it at the next page, cleanly.
        applied = projector.catch_up(selected, stop=lambda: bool(stopping))
        for name in selected:
            typer.echo(f"{name}: applied {applied[name]}, at {projector.position(name)}")
        show_quarantined(projector, selected)
        if not follow or stopping:
            return
        projector.start(selected)
        following = where(settings_from(database_url=database_url))
        typer.echo(f"following {following}; Ctrl-C or SIGTERM stops")
        try:
            while not stopping:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            projector.stop()


def rebuild(
    names: Annotated[list[str] | None, typer.Argument(help="projections (default: all)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Rebuild projections from zero; the old tables serve until the atomic switch."""
    with opened_projector(database_url) as projector:
        started = time.monotonic()
        # One pass over the log for all of them: each page is read and decoded once.
        with ShownProgress() as progress:
            generations = projector.rebuild_together(chosen(names), progress)
        elapsed = time.monotonic() - started
        for name, generation in generations.items():
            typer.echo(f"{name}: generation {generation} live at {projector.position(name)}")
        typer.echo(f"rebuilt in {elapsed:.2f} s")


def queue(
    assignee: Annotated[str | None, typer.Option(help="only this agent's tickets")] = None,
    level: Annotated[int | None, typer.Option(help="only this escalation level")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer")] = None,
    status: Annotated[str | None, typer.Option(help="only this status")] = None,
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
    off_hours: Annotated[
        bool, typer.Option("--off-hours", help="critical tickets whose coverage is on now")
    ] = False,
    now: NowOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """The work queue: contract customers first, then priority, then SLA due."""
    with opened_projector(database_url) as projector:
        projector.catch_up(["queues"])
        with projector.reading("queues") as rows:
            if off_hours:
                found = queues.off_hours_queue(rows, instant(now))
            else:
                found = queues.work_queue(
                    rows,
                    assignee=assignee,
                    level=level,
                    customer=customer,
                    status=status,
                    kind=kind,
                )
            found = quarantine.visible(found, rows)
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    typer.echo(queues.render_queue(found))


def contracts(as_json: JsonOption = False, database_url: DatabaseOption = None) -> None:
    """Every contract with its id, customer, plan and standing: the id is what
    the API and `--contract` take when a customer has more than one."""
    with opened_projector(database_url) as projector:
        projector.catch_up(["queues"])
        with projector.reading("queues") as rows:
            found = rows.all(
                "SELECT contract_id, customer, agreement, state, coverage, terms_json "
                "FROM {contracts} ORDER BY customer, contract_id"
            )
    listed = [
        {
            "contract_id": row["contract_id"],
            "customer": row["customer"],
            "plan": json.loads(row["terms_json"]).get("plan") or "",
            "agreement": row["agreement"],
            "coverage": row["coverage"],
            "standing": row["state"],
        }
        for row in found
    ]
    if as_json:
        typer.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    for c in listed:
        typer.echo(
            f"{c['contract_id']}  {c['customer']} — {c['plan'] or c['agreement']} "
            f"({c['agreement']}, {c['coverage']} coverage, {c['standing']})"
        )


def held(
    state: Annotated[
        str, typer.Option(help="held (still waiting), released, discarded or all")
    ] = "held",
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Requests held for triage (the sender is not authorised), oldest first."""
    if state not in (*triage.STATES, "all"):
        raise fail("--state is held, released, discarded or all")
    with opened_projector(database_url) as projector:
        projector.catch_up([triage.TriageProjection.name])
        with projector.reading(triage.TriageProjection.name) as rows:
            found = triage.held_requests(rows, None if state == "all" else state, limit=10_000)
            found = quarantine.visible(found, rows)
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for row in found:
        decided = {"released": f" -> {row['ticket_number']}", "discarded": " discarded"}
        typer.echo(
            f"{row['held_id']}  {row['held_at'][:16]}  {row['requester']}  "
            f"{row['customer'] or '(no contract)'}  {row['subject']!r}  "
            f"held: {row['reason']}{decided.get(row['state'], '')}"
        )
    typer.echo(f"{len(found)} requests")


def resolve_contract(projector: Projector, contract: str) -> str:
    projector.catch_up(["ticket_state"])
    with projector.reading("ticket_state") as rows:
        found = rows.all(
            "SELECT contract_id, customer FROM {contracts} "
            "WHERE contract_id = :c OR LOWER(customer) = LOWER(:c) ORDER BY contract_id",
            {"c": contract},
        )
    if len(found) != 1:
        problem = "no contract" if not found else "several contracts"
        raise fail(f"{problem} match {contract!r}; give the contract id")
    return str(found[0]["contract_id"])


def sla_report(
    contract: ContractOption,
    month: MonthOption,
    now: NowOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """SLA compliance of a contract in a month: per priority, met and breached,
    compliance, median and 90th percentile response and resolution times."""
    with opened_projector(database_url) as projector:
        contract_id = resolve_contract(projector, contract)
        projector.catch_up(["sla"])
        with projector.reading("sla") as rows:
            quarantine.check_contract(rows, "sla", contract_id)
            report = sla.contract_month_report(rows, contract_id, month, instant(now))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(report.render_table())


def statement(
    contract: ContractOption,
    month: MonthOption,
    output: StatementFormat = "table",
    issue: Annotated[
        bool, typer.Option("--issue", help="issue it: the month is then never rewritten")
    ] = False,
    by: Annotated[str, typer.Option("--by", help="who issues it")] = "billing",
    entries: Annotated[
        bool, typer.Option("--entries", help="also list the posted entries behind it")
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """A contract's monthly statement: fees, allowance, consumption, overage,
    off-hours, customer-caused, warranty, adjustments and amounts."""
    if output not in ("json", "csv", "table"):
        raise fail("--format is json, csv or table")
    with opened_projector(database_url) as projector:
        contract_id = resolve_contract(projector, contract)
        projector.catch_up(["hours"])
        if issue:
            issue_statement(projector, contract_id, month, by)
        with projector.reading("hours") as rows:
            quarantine.check_contract(rows, "hours", contract_id)
            shown = hours.issued_statement(rows, contract_id, month) or hours.statement(
                rows, contract_id, month
            )
            posted = [entry_line(e) for e in hours.ledger_entries(rows, contract_id, month)]
    if not entries:
        typer.echo(render_statement(shown, output))
    elif output == "json":
        both = {"statement": shown.to_json(), "entries": posted}
        typer.echo(json.dumps(both, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_statement(shown, output) + "\n")
        typer.echo(render_lines(posted, csv_format=output == "csv"))


def issue_statement(projector: Projector, contract_id: str, month: str, by: str) -> None:
    try:
        result = issue_month(projector, contract_id, month, by)
    except DomainError as error:
        raise fail(error.message) from None
    projector.wait(result.position, ["hours"])
    typer.echo(f"issued {month} for contract {contract_id} at position {result.position}", err=True)


def render_lines(lines: list[dict[str, Any]], *, csv_format: bool) -> str:
    if not lines:
        return "no entries posted"
    columns = list(lines[0])
    if csv_format:
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)
        return out.getvalue().rstrip("\n")
    shown = [c for c in columns if c not in ("entry_id", "reference")]
    table = [shown, *[["-" if v[c] is None else str(v[c]) for c in shown] for v in lines]]
    widths = [max(len(row[i]) for row in table) for i in range(len(shown))]
    lines_out = ("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in table)
    return "\n".join(line.rstrip() for line in lines_out)


def render_statement(shown: Any, output: str) -> str:
    if output == "json":
        return json.dumps(shown.to_json(), indent=2, ensure_ascii=False)
    if output == "csv":
        return str(shown.to_csv()).rstrip("\n")
    return str(shown.render_table())


def register(app: typer.Typer) -> None:
    app.command()(project)
    app.command()(rebuild)
    app.command()(queue)
    app.command()(held)
    app.command()(contracts)
    app.command("sla")(sla_report)
    app.command()(statement)
