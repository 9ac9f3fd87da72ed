"""What deciding a command gives, and what the caller is told it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class CommandResult:
    """What a command wrote: the aggregate's new version and the log position of
    its last event, so a reader can wait for projections to catch up."""

    aggregate_id: UUID
    version: int
    position: int
    number: str | None = None
    held: bool = False


@dataclass(frozen=True)
class Decision:
    """The aggregates a command changed, to be saved together, and the one the
    result reports on (with the ticket number, or held, where it says)."""

    subject: Aggregate
    changed: tuple[Aggregate, ...]
    number: str | None = None
    held: bool = False

    def result(self, recordings: list[Any]) -> CommandResult:
        position = max(int(r.notification.id) for r in recordings)
        return CommandResult(
            self.subject.id, self.subject.version, position, self.number, self.held
        )
