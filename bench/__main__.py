"""python -m bench [--quick] [--tickets N] [--engines postgresql,sqlite] [--out F]

Builds the data sets on throwaway databases, measures every figure beside its
baseline (interleaved, several rounds), prints the table and writes the JSON."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import figures
from bench.databases import ENGINES, server_version, throwaway
from bench.dataset import demo_desk, small_desk
from bench.measure import Figure
from bench.report import engine_result, run_and_write


@dataclass(frozen=True)
class Budget:
    tickets: int
    long_events: int
    rounds: int
    reps: int
    load_seconds: float


FULL = Budget(tickets=3000, long_events=1000, rounds=5, reps=20, load_seconds=3)
QUICK = Budget(tickets=40, long_events=100, rounds=2, reps=2, load_seconds=0.5)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny scale, 2 rounds")
    parser.add_argument("--tickets", type=int, help="tickets in the desk (scale)")
    parser.add_argument("--rounds", type=int, help="rounds of A B per figure")
    parser.add_argument("--engines", default=",".join(ENGINES), help="postgresql,sqlite")
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    return parser.parse_args()


def budget_of(args: argparse.Namespace) -> Budget:
    base = QUICK if args.quick else FULL
    return Budget(
        args.tickets or base.tickets,
        base.long_events,
        args.rounds or base.rounds,
        base.reps,
        base.load_seconds,
    )


def measure(engine: str, budget: Budget, place: Path) -> dict[str, Any]:
    with throwaway(engine, place, "desk") as database, throwaway(engine, place, "small") as few:
        started = time.perf_counter()
        desk = demo_desk(database.url, budget.tickets).with_long_ticket(budget.long_events)
        small = small_desk(few.url)
        built = time.perf_counter() - started
        print(f"{engine}: {desk.tickets} tickets, {desk.events} events built in {built:.0f} s")
        rounds, reps = budget.rounds, budget.reps
        try:
            found: list[Figure] = [
                figures.commands_per_second(desk, database, rounds, reps),
                figures.commands_from_16_callers(desk, database, rounds, reps),
                figures.reply_on_a_long_history(desk, rounds, reps),
                figures.opening_after_a_year(desk, small, rounds, reps),
                *figures.chronology_of_a_long_ticket(desk, database, rounds),
                figures.rebuild_all_projections(desk, database, max(1, rounds // 2)),
                figures.cli_start(desk, database, rounds),
                *figures.get_ticket_at_32_connections(desk, database, rounds, budget.load_seconds),
                figures.comments_from_16_clients(desk, database, rounds, budget.load_seconds),
            ]
        finally:
            desk.close()
            small.close()
        return engine_result(
            engine,
            server_version(database),
            desk.tickets,
            desk.events,
            found,
            build_seconds=round(built, 1),
        )


def main() -> None:
    args = arguments()
    budget = budget_of(args)
    run_and_write(
        {"budget": vars(budget)},
        args.engines,
        lambda engine, place: measure(engine, budget, place),
        args.out,
    )


if __name__ == "__main__":
    main()
