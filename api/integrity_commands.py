"""Auditors' integrity commands: `digest`, `digests`, `verify`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ticketledger.replay import integrity
from ticketledger.replay.integrity import BrokenLogError, Digest, Report
from ticketledger.service.ledger import TicketLedger

from .reports import DatabaseOption, JsonOption, fail

ByOption = Annotated[str, typer.Option("--by", help="who makes the digest")]
FindingsShown = 20


@contextmanager
def opened(database_url: str | None) -> Iterator[TicketLedger]:
    ledger = TicketLedger(database_url=database_url)
    try:
        yield ledger
    finally:
        ledger.close()


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
    with opened(database_url) as ledger:
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
    with opened(database_url) as ledger:
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
) -> None:
    """Check every event's hash chain and every stored (and kept) digest. Exit 1 and
    name the first event that fails if anything was altered, deleted, inserted or moved."""
    try:
        kept_digests = integrity.read_digests(kept) if kept else []
    except (OSError, ValueError, KeyError) as error:
        raise fail(f"cannot read {kept}: {error}") from None
    with opened(database_url) as ledger:
        report = integrity.verify(ledger, kept_digests)
    show_report(report)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Adds this module's commands to `app`."""
    app.command()(digest)
    app.command()(digests)
    app.command()(verify)
