"""Timing, interleaved: the ledger's operation and its baseline take turns,
round after round, so that whatever else the machine does falls on both."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# An action does its work and says how many operations that was.
Action = Callable[[], int]


@dataclass(frozen=True)
class Spread:
    """Seconds per operation over the rounds."""

    rounds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    def to_json(self, unit: str) -> dict[str, Any]:
        shown = [in_unit(r, unit) for r in self.rounds]
        return {
            "median": in_unit(self.median, unit),
            "min": min(shown),
            "max": max(shown),
            "rounds": shown,
        }


# Units where less is better: time per operation, and memory (kept as MiB).
LESS_IS_BETTER = frozenset({"ms", "MiB"})


def in_unit(value: float, unit: str) -> float:
    """A spread's value as its unit shows it: seconds per operation in "ms" or
    in operations per second ("/s"); memory in "MiB" as it is."""
    if unit == "ms":
        return round(value * 1000, 3)
    if unit == "MiB":
        return round(value, 1)
    return round(1 / value, 1)  # operations per second


def repeated(times: int, operation: Callable[[], object]) -> Action:
    """The action of doing `operation` `times` times."""

    def action() -> int:
        for _ in range(times):
            operation()
        return times

    return action


def per_operation(action: Action) -> float:
    started = time.perf_counter()
    count = action()
    return (time.perf_counter() - started) / max(count, 1)


def interleaved(ledger: Action, baseline: Action, rounds: int) -> tuple[Spread, Spread]:
    """A B A B ...: each round times both, one after the other."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(per_operation(ledger))
        b.append(per_operation(baseline))
    return Spread(tuple(a)), Spread(tuple(b))


@dataclass(frozen=True)
class Figure:
    """One figure of the table: the ledger's operation beside its baseline.

    `unit` is "ms" (time per operation, lower is better), "MiB" (memory, lower
    is better) or "/s" (operations per second, higher is better); `ratio` is
    the ledger's figure over the baseline's, and `target` the bound it must
    meet (at least, for "/s"; at most, for the others)."""

    name: str
    what: str
    baseline: str
    unit: str
    ours: Spread
    theirs: Spread
    target: float

    @property
    def ratio(self) -> float:
        if self.unit in LESS_IS_BETTER:
            return self.ours.median / self.theirs.median
        return self.theirs.median / self.ours.median

    @property
    def at_most(self) -> bool:
        return self.unit in LESS_IS_BETTER

    @property
    def met(self) -> bool:
        return self.ratio <= self.target if self.at_most else self.ratio >= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "what": self.what,
            "baseline": self.baseline,
            "unit": self.unit,
            "ledger": self.ours.to_json(self.unit),
            "raw": self.theirs.to_json(self.unit),
            "ratio": round(self.ratio, 3),
            "target": self.target,
            "target_is": "at most" if self.at_most else "at least",
            "met": self.met,
        }
