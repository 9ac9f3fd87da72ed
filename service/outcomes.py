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


@dataclass(frozen=True)
class RequestKey:
    """A client's retry key for one command: `scope` is who sent it (an API
    key's id), `fingerprint` what it asked, so a key reused for another
    request is told so rather than answered with another's outcome."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class OutcomeDraft:
    """What the events' own transaction records beside them for a keyed
    command: all of its result but the log position, known only once inserted."""

    request: RequestKey
    aggregate_id: UUID
    version: int
    number: str | None
    held: bool


@dataclass(frozen=True)
class StoredOutcome:
    fingerprint: str
    result: CommandResult


class AlreadyAppliedError(Exception):
    """A keyed command whose outcome another attempt has already recorded."""

    def __init__(self, outcome: StoredOutcome) -> None:
        super().__init__("this request was already applied")
        self.outcome = outcome
