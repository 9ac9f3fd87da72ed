"""Many callers at once: worker processes, one per core as `serve --workers`
runs them, each with threads that send commands through one ledger (whose
saves share commits), every thread on a ticket of its own. The processes stay
up between rounds, so a round times commands, not process starts."""

from __future__ import annotations

import multiprocessing
import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from uuid import UUID

from bench.dataset import MONDAY_MORNING, Desk, SteppingClock
from ticketledger.service.ledger import TicketLedger

CALLERS = 16


@dataclass(frozen=True)
class Crew:
    url: str
    contract_id: UUID
    threads: int
    reps: int


def work(crew: Crew, orders: Connection) -> None:
    """A worker process: opens a ticket per thread, then at each order runs
    `reps` commands (a reply and a comment, alternately) on each thread."""
    clock = SteppingClock(MONDAY_MORNING)
    ledger = TicketLedger(database_url=crew.url, clock=clock)
    desk = Desk(ledger, clock, crew.contract_id, 0, 0)
    tickets = [desk.open() for _ in range(crew.threads)]
    orders.send("ready")
    while orders.recv() == "go":
        threads = [threading.Thread(target=commands, args=(desk, t, crew.reps)) for t in tickets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        orders.send(crew.threads * crew.reps)
    ledger.close()


def commands(desk: Desk, number: str, reps: int) -> None:
    for n in range(reps):
        if n % 2:
            desk.comment(number)
        else:
            desk.reply(number)


class Callers:
    """CALLERS callers in `processes` processes, started once."""

    def __init__(self, url: str, contract_id: UUID, reps: int, processes: int = 0) -> None:
        processes = processes or min(CALLERS, os.cpu_count() or 1)
        spawn = multiprocessing.get_context("spawn")
        crew = Crew(url, contract_id, CALLERS // processes, reps)
        self.orders: list[Connection] = []
        self.workers: list[Any] = []
        for _ in range(processes):
            mine, theirs = spawn.Pipe()
            worker = spawn.Process(target=work, args=(crew, theirs), daemon=True)
            worker.start()
            self.orders.append(mine)
            self.workers.append(worker)
        for order in self.orders:
            if order.recv() != "ready":
                raise RuntimeError("a benchmark worker did not start")

    def round(self) -> int:
        for order in self.orders:
            order.send("go")
        return sum(int(order.recv()) for order in self.orders)

    def close(self) -> None:
        for order in self.orders:
            order.send("stop")
        for worker in self.workers:
            worker.join(30)
