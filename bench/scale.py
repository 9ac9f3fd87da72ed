"""python -m bench.scale [--events 1000000] [--small-events 100000]
[--openings 100000] [--engines postgresql] [--rounds 1] [--out bench/scale.json]

The figures at a year's scale, on a desk built in bulk (bench/bulk.py): a
rebuild of every projection by `ticketledger rebuild` at --small-events and
at --events events, each beside a raw scan-and-decode of the same log, with
the rebuild process's peak memory at both; and an opening after --openings
tickets this year beside one after 10. It takes long (a million events: about
thirteen minutes on PostgreSQL here), so it stands apart from `python -m bench`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg

from bench.bulk import EVENTS_PER_TICKET, bulk_desk, extend
from bench.databases import Database, server_version, throwaway
from bench.dataset import Desk, small_desk
from bench.figures import events_table, opening_after_a_year
from bench.measure import Figure, Spread, interleaved
from bench.report import engine_result, run_and_write, table

SCAN_BATCH = 10_000
OPENING_ROUNDS = 5


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="the large log")
    parser.add_argument("--small-events", type=int, default=100_000, help="the small log")
    parser.add_argument("--openings", type=int, default=100_000, help="tickets this year")
    parser.add_argument("--engines", default="postgresql", help="postgresql,sqlite")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of A B per figure")
    parser.add_argument("--reps", type=int, default=20, help="openings per round")
    parser.add_argument("--out", type=Path, default=Path("bench/scale.json"))
    return parser.parse_args()


def tickets_for(events: int) -> int:
    return max(1, events // EVENTS_PER_TICKET)


# Starts the command from a small process and prints the command's own peak:
# a child forked from this benchmark counts this benchmark's resident memory
# as its own until it executes the command (ru_maxrss keeps the high-water mark
# across exec), so measured directly the peak was this process's size, with
# its desk of a million events, not the rebuild's.
PEAK_OF_A_CHILD = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def rebuild_in_a_process(database: Database) -> tuple[float, float]:
    """`ticketledger rebuild` of every projection: seconds, and its peak resident MiB."""
    script = Path(sys.executable).parent / "ticketledger"
    command = [str(script), "rebuild", "--database-url", database.url]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_OF_A_CHILD, *command], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"the rebuild's starter failed: {done.stderr[-2000:]}")
    code, peak_kib = (int(word) for word in done.stdout.split())
    if code:
        raise RuntimeError(f"ticketledger rebuild exited {code}")
    return elapsed, peak_kib / 1024  # ru_maxrss is in KiB on Linux


def scan_and_decode(database: Database, desk: Desk) -> int:
    """Every stored event read in log order and its JSON decoded, streamed."""
    order = "rowid" if database.engine == "sqlite" else "notification_id"
    statement = f"SELECT state FROM {events_table(desk)} ORDER BY {order}"
    count = 0
    if database.engine == "sqlite":
        with closing(database.raw()) as raw:
            for (state,) in raw.execute(statement):
                json.loads(bytes(state))
                count += 1
        return count
    with psycopg.connect(database.url) as conn, conn.cursor(name="scan") as cursor:
        cursor.itersize = SCAN_BATCH
        cursor.execute(statement)  # type: ignore[arg-type]
        for (state,) in cursor:
            json.loads(bytes(state))
            count += 1
    return count


def rebuild_at(desk: Desk, database: Database, rounds: int, name: str) -> tuple[Figure, Spread]:
    """The rebuild's events per second beside the raw scan's, and its peak memory."""
    events = desk.events
    peaks: list[float] = []

    def rebuild() -> int:
        _, peak = rebuild_in_a_process(database)
        peaks.append(peak)
        return events

    ours, theirs = interleaved(rebuild, lambda: scan_and_decode(database, desk), rounds)
    figure = Figure(
        name,
        f"rebuild of all projections (`ticketledger rebuild`), {events} events",
        "SELECT of every event in log order + JSON decode, streamed",
        "/s",
        ours,
        theirs,
        0.3,
    )
    return figure, Spread(tuple(peaks))


def measure(engine: str, args: argparse.Namespace, place: Path) -> dict[str, Any]:
    planned = max(tickets_for(args.events), args.openings) + args.rounds * args.reps + 10
    with throwaway(engine, place, "year") as database, throwaway(engine, place, "few") as few:
        started = time.perf_counter()
        desk, year = bulk_desk(database.url, tickets_for(args.small_events), planned)
        print(f"{engine}: {desk.events} events in {time.perf_counter() - started:.0f} s")
        small_rebuild, small_peak = rebuild_at(desk, database, args.rounds, "rebuild_small_log")
        small_events = desk.events
        print(table(engine, [small_rebuild]))
        extend(desk, year, max(0, args.openings - desk.tickets))
        small = small_desk(few.url)
        # Openings are cheap: more rounds than the rebuilds take.
        opening = opening_after_a_year(desk, small, max(OPENING_ROUNDS, args.rounds), args.reps)
        small.close()
        print(table(engine, [opening]))
        extend(desk, year, max(0, tickets_for(args.events) - desk.tickets))
        print(f"{engine}: {desk.events} events in {time.perf_counter() - started:.0f} s")
        large_rebuild, large_peak = rebuild_at(desk, database, args.rounds, "rebuild_large_log")
        memory = Figure(
            "rebuild_peak_memory",
            f"peak memory of `ticketledger rebuild` at {desk.events} events",
            f"at {small_events} events",
            "MiB",
            large_peak,
            small_peak,
            1.3,
        )
        found = [small_rebuild, opening, large_rebuild, memory]
        desk.close()
        return engine_result(engine, server_version(database), desk.tickets, desk.events, found)


def main() -> None:
    args = arguments()
    run_and_write(
        {"scale": vars(args) | {"out": str(args.out)}},
        args.engines,
        lambda engine, place: measure(engine, args, place),
        args.out,
    )


if __name__ == "__main__":
    main()
