"""Auditors' integrity commands: `digest`, `digests`, `verify`, `bundle` and
`reproduce-statement`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from ticketledger.api.cli.options import (
    ContractOption,
    DatabaseOption,
    JsonOption,
    MonthOption,
    StatementFormat,
    fail,
    opened_ledger,
)
from ticketledger.api.cli.reports import render_statement, resolve_contract
from ticketledger.domain.errors import DomainError
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.replay import bundle, integrity
from ticketledger.replay.bundle import BundleReport
from ticketledger.replay.integrity import BrokenLogError, Digest, Report
from ticketledger.replay.statements import reproduce_statement

ByOption = Annotated[str, typer.Option("--by", help="who makes the digest")]
FindingsShown = 20


def digest_line(digest: Digest) -> str:
    return (
        f"position {digest.position}  events {digest.leaves}  root {digest.root}  "
        f"made {digest.made_at} by {digest.made_by}"
    )


def digest(
    database_url: DatabaseOption = None,
    by: ByOption = "ticketledger digest",
    every: Annotated[
        float | None,
        typer.Option("--every", help="keep making one every this many seconds", min=1),
    ] = None,
) -> None:
    """Verify the whole log, then store a digest (a Merkle root) over it. Export the
    digests (`ticketledger digests --export FILE`) and keep the file elsewhere."""
    with opened_ledger(database_url) as ledger:
        while True:
            try:
                made = integrity.make_digest(ledger, by, ledger.clock())
            except BrokenLogError as broken:
                show_report(broken.report)
                raise typer.Exit(1) from None
            typer.echo(digest_line(made))
            if every is None:
                return
            time.sleep(every)


def digests(
    database_url: DatabaseOption = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="write them to this JSON file")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the stored digests, or export them for safekeeping."""
    with opened_ledger(database_url) as ledger:
        stored = integrity.stored_digests(ledger)
    document = integrity.digests_document(stored)
    if export is not None:
        export.write_text(document, "utf-8")
        typer.echo(f"wrote {len(stored)} digests to {export}")
    elif as_json:
        typer.echo(document, nl=False)
    else:
        for each in stored:
            typer.echo(digest_line(each))


def show_report(report: Report) -> None:
    typer.echo(
        f"Checked {report.events} events in {report.chains} chains up to position "
        f"{report.head}, and {report.digests_checked} digests."
    )
    first = report.first()
    if first is None:
        typer.echo(f"OK: every chain and every digest verifies. Root now: {report.root}")
        return
    typer.echo(f"FAILED: {len(report.findings)} findings. The first:\n  {first}")
    for finding in report.findings[1:FindingsShown]:
        typer.echo(f"  {finding}")
    if len(report.findings) > FindingsShown:
        typer.echo(f"  ... and {len(report.findings) - FindingsShown} more")


def verify(
    database_url: DatabaseOption = None,
    kept: Annotated[
        Path | None,
        typer.Option("--digests", help="also check these kept digests (an exported file)"),
    ] = None,
    bundle_file: Annotated[
        Path | None,
        typer.Option("--bundle", help="check this auditor's bundle offline, with no database"),
    ] = None,
) -> None:
    """Check every event's hash chain and every stored (and kept) digest. Exit 1 and
    name the first event that fails if anything was altered, deleted, inserted or moved.
    With --bundle, check a bundle file instead, offline."""
    try:
        kept_digests = integrity.read_digests(kept) if kept else []
    except (OSError, ValueError, KeyError) as error:
        raise fail(f"cannot read {kept}: {error}") from None
    if bundle_file is not None:
        verify_bundle_file(bundle_file, kept_digests)
        return
    with opened_ledger(database_url) as ledger:
        report = integrity.verify(ledger, kept_digests)
    show_report(report)
    if not report.ok:
        raise typer.Exit(1)


def verify_bundle_file(path: Path, kept: list[Digest]) -> None:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {path}: {error}") from None
    report = bundle.verify_bundle(text)
    if kept and report.digest is not None and report.digest not in kept:
        report.findings.append("its digest is none of the kept digests given with --digests")
    show_bundle_report(report, trusted=bool(kept))
    if not report.ok:
        raise typer.Exit(1)


def show_bundle_report(report: BundleReport, *, trusted: bool) -> None:
    typer.echo(f"Bundle of {report.subject}: {report.events} events.")
    if report.digest is not None:
        typer.echo(f"Digest: {digest_line(report.digest)}")
    if report.ok:
        typer.echo(
            "OK: every chain, every inclusion path, the chronologies and the statement verify."
        )
        if not trusted:
            typer.echo("Compare the digest's root with one you kept (or pass --digests FILE).")
        return
    typer.echo(f"FAILED: {len(report.findings)} findings. The first:")
    for finding in report.findings[:FindingsShown]:
        typer.echo(f"  {finding}")


def export_bundle(
    out: Annotated[Path, typer.Option("--out", help="the file to write")],
    ticket: Annotated[str | None, typer.Option("--ticket", help="a ticket's number")] = None,
    contract: Annotated[
        str | None, typer.Option("--contract", help="a contract's id or customer name")
    ] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, with --contract")] = None,
    by: ByOption = "ticketledger bundle",
    database_url: DatabaseOption = None,
) -> None:
    """Export one ticket, or one contract's month, as a self-contained file that
    `ticketledger verify --bundle FILE` checks offline."""
    if (ticket is None) == (contract is None) or (contract is not None) != (month is not None):
        raise fail("give either --ticket NUMBER, or --contract and --month")
    with opened_ledger(database_url) as ledger:
        try:
            if ticket is not None:
                text = bundle.export_ticket(ledger, ticket, by)
            else:
                contract_id = resolve_contract(Projector(ledger, all_projections()), str(contract))
                text = bundle.export_statement(ledger, UUID(contract_id), str(month), by)
        except DomainError as error:
            raise fail(error.message) from None
        except BrokenLogError as broken:
            show_report(broken.report)
            raise typer.Exit(1) from None
    out.write_text(text, "utf-8")
    typer.echo(f"wrote {out} ({len(text.encode('utf-8'))} bytes)")


def reproduce(
    contract: ContractOption,
    month: MonthOption,
    output: StatementFormat = "table",
    database_url: DatabaseOption = None,
) -> None:
    """Recompute a month's statement from the events alone (never the live tables):
    an issued month exactly as it stood when issued, with the digest its issue recorded."""
    if output not in ("json", "csv", "table"):
        raise fail("--format is json, csv or table")
    with opened_ledger(database_url) as ledger:
        contract_id = resolve_contract(Projector(ledger, all_projections()), contract)
        replay = reproduce_statement(ledger, contract_id, month)
    # JSON is the canonical form the issue's digest covers, byte for byte.
    shown = (
        replay.canonical_json if output == "json" else render_statement(replay.statement, output)
    )
    typer.echo(shown)
    if replay.issued is None:
        typer.echo(f"{month} is not issued: this is the month as it stands.", err=True)
    elif replay.matches_issue:
        typer.echo(f"matches the digest issued at position {replay.issued_position}", err=True)
    else:
        typer.echo(f"DIFFERS from the digest issued at position {replay.issued_position}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Adds this module's commands to `app`."""
    app.command()(digest)
    app.command()(digests)
    app.command()(verify)
    app.command("bundle")(export_bundle)
    app.command("reproduce-statement")(reproduce)
