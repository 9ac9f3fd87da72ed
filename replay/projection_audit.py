"""Rebuild and compare: each projection rebuilt from zero into scratch tables
and compared, row by row, with its live tables at the same log position.

One position for both, while followers may be running (`serve`, or
`ticketledger project --follow`): the live generation is first caught up to the
log's head P; its rows are then read together with its tracked position L in
one transaction under the projection's writer lock, so no follower applies a
page halfway through the read. L is P, or later when a follower moved on in
between. The scratch generation is then built from zero to exactly L. Followers
keep running throughout and wait only while the live rows are read; the scratch
tables are built from the immutable log, so the log growing meanwhile does not
matter.

The scratch generation is numbered like a rebuild's, recorded as 'audit', never
made live, and dropped together with its record when the audit of that
projection ends, well or not. A `ticketledger rebuild` that finishes during an
audit drops every older generation that is not live, the audit's included: the
audit then fails, and is run again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ticketledger.projections.quarantine import Quarantined
from ticketledger.projections.runner import Progress, Projector
from ticketledger.projections.store import Table

AUDIT_STATE = "audit"
Key = tuple[tuple[str, Any], ...]
Dump = Mapping[str, list[dict[str, Any]]]


class Missing(Enum):
    """What stands for a value one side does not have."""

    ROW = "no such row"
    COLUMN = "no such column"


@dataclass(frozen=True)
class Difference:
    """One disagreement: a column of a row, or a whole row (column `*`) that
    only one side has, shown in full on that side."""

    table: str
    key: Key
    column: str
    live: Any
    rebuilt: Any


@dataclass(frozen=True)
class ProjectionAudit:
    name: str
    position: int
    live_rows: dict[str, int]
    rebuilt_rows: dict[str, int]
    differences: list[Difference]
    # What each side holds in quarantine: aggregates neither follows in full.
    quarantined: list[Quarantined] = field(default_factory=list)
    rebuilt_quarantined: list[Quarantined] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences

    @property
    def complete(self) -> bool:
        """Equal, and following every aggregate of the log."""
        return self.equal and not self.quarantined and not self.rebuilt_quarantined


def audit_projections(
    projector: Projector, names: Sequence[str] | None = None, progress: Progress | None = None
) -> list[ProjectionAudit]:
    """Audits each named projection (all by default) against the log's head now."""
    head = projector.ledger.recorder.max_notification_id() or 0
    return [
        audit_projection(projector, name, head, progress) for name in names or projector.projections
    ]


def audit_projection(
    projector: Projector, name: str, head: int, progress: Progress | None = None
) -> ProjectionAudit:
    live = projector.processor(name)
    live.catch_up(head)
    scratch = projector.begin_rebuild(name, state=AUDIT_STATE)
    try:
        position, live_rows = live.snapshot()
        scratch.catch_up(position, progress=progress)
        rebuilt_position, rebuilt_rows = scratch.snapshot()
        held = live.quarantined(), scratch.quarantined()
    finally:
        projector.discard(scratch)
    if rebuilt_position != position:
        raise RuntimeError(
            f"{name}: the rebuild reached position {rebuilt_position}, not {position}"
        )
    return ProjectionAudit(
        name=name,
        position=position,
        live_rows={table: len(rows) for table, rows in live_rows.items()},
        rebuilt_rows={table: len(rows) for table, rows in rebuilt_rows.items()},
        differences=compare(live.projection.tables, live_rows, rebuilt_rows),
        quarantined=held[0],
        rebuilt_quarantined=held[1],
    )


def compare(tables: Iterable[Table], live: Dump, rebuilt: Dump) -> list[Difference]:
    return [
        difference
        for table in tables
        for difference in compare_table(table, live[table.name], rebuilt[table.name])
    ]


def compare_table(
    table: Table, live_rows: list[dict[str, Any]], rebuilt_rows: list[dict[str, Any]]
) -> list[Difference]:
    live = {key_of(table, row): row for row in live_rows}
    rebuilt = {key_of(table, row): row for row in rebuilt_rows}
    differences = []
    for key in sorted(live.keys() | rebuilt.keys()):
        ours, theirs = live.get(key), rebuilt.get(key)
        if ours is None or theirs is None:
            differences.append(
                Difference(table.name, key, "*", ours or Missing.ROW, theirs or Missing.ROW)
            )
            continue
        for column in dict.fromkeys([*table.column_names, *ours, *theirs]):
            were = ours.get(column, Missing.COLUMN), theirs.get(column, Missing.COLUMN)
            if were[0] != were[1]:
                differences.append(Difference(table.name, key, column, *were))
    return differences


def key_of(table: Table, row: Mapping[str, Any]) -> Key:
    return tuple((column, row[column]) for column in table.key)
