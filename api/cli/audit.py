"""Auditors' commands (audit): registered on the `ticketledger` command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ticketledger.api.cli.options import DatabaseOption, ShownProgress
from ticketledger.api.cli.reports import chosen, opened_projector
from ticketledger.replay.projection_audit import (
    Difference,
    Missing,
    ProjectionAudit,
    audit_projections,
)

ProjectionOption = Annotated[
    list[str] | None,
    typer.Option("--projection", help="audit only this projection (repeatable; default: all)"),
]
ShowOption = Annotated[
    int, typer.Option("--show", min=0, help="differences listed per projection, at most")
]
VALUE_WIDTH = 120


def audit_projections_command(
    database_url: DatabaseOption = None,
    projection: ProjectionOption = None,
    show: ShowOption = 20,
) -> None:
    """Rebuild each projection from zero into scratch tables and compare it, row
    by row, with the live one at the same log position; exit status 1 on any
    difference or while either side holds an aggregate in quarantine. The scratch
    tables are dropped afterwards; the live ones stay live."""
    names = chosen(projection)
    with opened_projector(database_url) as projector, ShownProgress() as progress:
        audits = audit_projections(projector, names, progress)
    for audit in audits:
        report(audit, show)
    if not all(audit.complete for audit in audits):
        raise typer.Exit(1)


def report(audit: ProjectionAudit, show: int) -> None:
    counts = ", ".join(
        f"{table} {count} live / {audit.rebuilt_rows[table]} rebuilt"
        for table, count in audit.live_rows.items()
    )
    found = len(audit.differences)
    verdict = "equal" if audit.equal else f"{found} difference{'s' if found > 1 else ''}"
    typer.echo(f"{audit.name} at position {audit.position}: {counts}: {verdict}")
    for difference in audit.differences[:show]:
        typer.echo(f"  {line(difference)}")
    if found > show:
        typer.echo(f"  ... and {found - show} more")
    for side, held in (("live", audit.quarantined), ("rebuilt", audit.rebuilt_quarantined)):
        for entry in held:
            typer.echo(
                f"  quarantined ({side}): {entry.aggregate_id} since position {entry.position}, "
                f"{entry.skipped} later events skipped: {entry.error}"
            )


def line(difference: Difference) -> str:
    key = ", ".join(f"{column}={value}" for column, value in difference.key)
    return (
        f"{difference.table} [{key}] {difference.column}: "
        f"live {shown(difference.live)}, rebuilt {shown(difference.rebuilt)}"
    )


def shown(value: Any) -> str:
    text = value.value if isinstance(value, Missing) else repr(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."


def register(app: typer.Typer) -> None:
    """Adds this module's commands to `app`."""
    app.command("audit-projections")(audit_projections_command)
