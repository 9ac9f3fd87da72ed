"""What every ledger event shares: who acted and when it happened.

Aggregates and events name an explicit TOPIC (the library registers it), so
stored rows keep resolving after a Python module or class is moved.

The recording clock is injected through a context variable, so tests and
replays never read the wall clock: the application sets it around each command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from eventsourcing.domain import Aggregate

from ticketledger.domain.errors import (
    NaiveDatetimeError,
    OccurredInFutureError,
    OccurredOutOfOrderError,
)

Clock = Callable[[], datetime]


State = TypeVar("State")


def fold_from_nothing(
    evolve: Callable[[State | None, Any], State], events: Iterable[Any], empty: Exception
) -> State:
    """The state an aggregate's whole history leaves it in, one `evolve` at a
    time; `empty` is raised for a history with no events."""
    state: State | None = None
    for event in events:
        state = evolve(state, event)
    if state is None:
        raise empty
    return state


def system_clock() -> datetime:
    return datetime.now(tz=UTC)


_recording_clock: ContextVar[Clock] = ContextVar("recording_clock", default=system_clock)


@contextmanager
def recording_clock(clock: Clock) -> Iterator[None]:
    """Events created inside this block are stamped with `clock()`."""
    token = _recording_clock.set(clock)
    try:
        yield
    finally:
        _recording_clock.reset(token)


def now() -> datetime:
    return check_aware(_recording_clock.get()(), "clock")


def check_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{name} is a naive datetime ({value.isoformat()}): use an aware one"
        )
    return value


def check_not_ahead(occurred_at: datetime, recorded: datetime) -> datetime:
    if occurred_at > recorded:
        raise OccurredInFutureError(
            f"occurred_at {occurred_at.isoformat()} is after the recording time "
            f"{recorded.isoformat()}"
        )
    return occurred_at


def check_occurred_at(occurred_at: datetime, previous: datetime | None) -> datetime:
    """An event may not have happened in the future, nor before the one it follows."""
    check_not_ahead(check_aware(occurred_at, "occurred_at"), now())
    if previous is not None and occurred_at < previous:
        raise OccurredOutOfOrderError(
            f"occurred_at {occurred_at.isoformat()} is before the previous event "
            f"({previous.isoformat()})"
        )
    return occurred_at.astimezone(UTC)


class LedgerEvent(Aggregate.Event):
    """Every fact carries who acted and when it happened beside when it was recorded."""

    by: str
    occurred_at: datetime

    @staticmethod
    def create_timestamp() -> datetime:
        return now()


class LedgerCreated(Aggregate.Created):
    by: str
    occurred_at: datetime

    @staticmethod
    def create_timestamp() -> datetime:
        return now()


class RecordsInOrder:
    """For aggregates whose events must not have happened before the previous
    one: checks occurred_at, then triggers the event."""

    if TYPE_CHECKING:  # provided by the aggregate itself, never by this mixin

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    def occurred_last(self) -> datetime | None:
        """When the aggregate's latest event happened."""
        last: datetime | None = getattr(self, "last_occurred_at", None)
        return last

    def _record(self, event_class: type[Any], occurred_at: datetime, **kwargs: Any) -> None:
        occurred_at = check_occurred_at(occurred_at, self.occurred_last())
        self.trigger_event(event_class, occurred_at=occurred_at, **kwargs)
