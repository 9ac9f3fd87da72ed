"""Commits shared by concurrent callers.

Each caller hands what it decided to save and waits. One of the waiting
callers at a time (the leader) commits everything handed in so far in one
transaction, in which each save succeeds or fails on its own; the callers that
arrived while it committed are the next batch, led by the first of them. A
caller alone commits at once, on its own thread: nothing waits for a batch to
fill. The database's durable flush, its table lock and the round trip are then
paid once per batch instead of once per command (README "Scaling out")."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
# Every save of a batch is a subtransaction on PostgreSQL; past 64 in one
# transaction the server's snapshots overflow to a slower path.
MOST_PER_BATCH = 32


@dataclass
class Handed(Generic[Item, Result]):
    item: Item
    woken: threading.Event = field(default_factory=threading.Event)
    settled: bool = False
    result: Result | None = None
    error: BaseException | None = None

    def settle(self, outcome: Result | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.error = outcome
        else:
            self.result = outcome
        self.settled = True
        self.woken.set()

    def outcome(self) -> Result:
        if self.error is not None:
            raise self.error
        assert self.settled
        return self.result  # type: ignore[return-value]


def each_its_own(error: Exception, callers: int) -> list[BaseException]:
    """The error that refused a whole batch, once for each of its callers:
    each raises it in its own thread, and a raise writes the traceback into
    the exception object. The copies keep its cause (the caller's retry reads
    it, service/storage.py `once_more`)."""
    copies: list[BaseException] = [error]
    for _ in range(callers - 1):
        try:
            copied = copy.copy(error)
        except Exception:
            copied = error
        copied.__cause__ = error.__cause__
        copies.append(copied)
    return copies


# A batch's commit: one outcome per item, in order, each its result or the
# error that refused it alone; raising refuses the whole batch.
CommitBatch = Callable[[Sequence[Item]], Sequence["Result | BaseException"]]


class GroupCommit(Generic[Item, Result]):
    def __init__(self, commit: CommitBatch[Item, Result], most: int = MOST_PER_BATCH) -> None:
        self._commit = commit
        self._most = most
        self._turn = threading.Lock()
        self._waiting: list[Handed[Item, Result]] = []
        self._leading = False

    @property
    def waiting(self) -> int:
        """Callers waiting for a batch that has not begun."""
        with self._turn:
            return len(self._waiting)

    def submit(self, item: Item) -> Result:
        """Commits the item, in a batch with whatever others hand in meanwhile;
        returns its result once durable, or raises what refused it."""
        mine: Handed[Item, Result] = Handed(item)
        with self._turn:
            self._waiting.append(mine)
            leads = not self._leading
            self._leading = True
        if not leads:
            mine.woken.wait()
            if mine.settled:
                return mine.outcome()
        self._lead()
        return mine.outcome()

    def _lead(self) -> None:
        with self._turn:
            batch = self._waiting[: self._most]
            del self._waiting[: self._most]
        try:
            outcomes = self._committed(batch)
        finally:
            self._hand_on()
        for handed, outcome in zip(batch, outcomes, strict=True):
            handed.settle(outcome)

    def _committed(self, batch: list[Handed[Item, Result]]) -> Sequence[Result | BaseException]:
        try:
            return self._commit([handed.item for handed in batch])
        except Exception as error:
            return each_its_own(error, len(batch))
        except BaseException as error:
            for handed in batch:
                handed.settle(error)
            raise

    def _hand_on(self) -> None:
        """The first caller still waiting leads the next batch."""
        with self._turn:
            if self._waiting:
                self._waiting[0].woken.set()
            else:
                self._leading = False
