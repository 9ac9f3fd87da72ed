"""Followers as separate processes (`ticketledger project --follow`): several
at once on one database, killed without warning and restarted."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError
from eventsourcing.sqlite import SQLiteDatastore

from tests.storage.test_projections import live_rows, open_some_tickets, rebuilt_rows
from tests.support import ManualClock
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import ProjectionStore, SQLiteProjectionRecorder
from ticketledger.service.ledger import TicketLedger

Spawn = Callable[[], subprocess.Popen[bytes]]
CLI = "from ticketledger.api.cli.main import main; main()"


@pytest.fixture
def spawn_follower(database_url: str) -> Iterator[Spawn]:
    started: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", CLI, "project", "--follow", "--database-url"]
        process = subprocess.Popen(
            [*command, database_url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def following(process: subprocess.Popen[bytes], timeout: float = 60) -> list[bytes]:
    """Waits until the follower says it follows: from then on SIGTERM stops it
    cleanly (before, the interpreter may not even have started)."""
    return said(process, b"following ", timeout)


def said(process: subprocess.Popen[bytes], prefix: bytes, timeout: float = 60) -> list[bytes]:
    """Waits until the process prints a line starting with `prefix`; returns
    the list its output lines keep arriving in. The output is read on a
    thread, which keeps reading so the pipe never fills."""
    heard, lines = threading.Event(), []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(prefix):
                heard.set()

    threading.Thread(target=read, daemon=True).start()
    assert heard.wait(timeout), f"the process never said {prefix!r}"
    return lines


def caught_up(projector: Projector, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    head = projector.ledger.recorder.max_notification_id() or 0
    while any(projector.position(name) < head for name in projector.projections):
        assert time.monotonic() < deadline, "followers did not catch up"
        time.sleep(0.1)


def test_follower_processes_killed_and_restarted_apply_every_event_exactly_once(
    ledger: TicketLedger, clock: ManualClock, spawn_follower: Spawn
) -> None:
    observer = Projector(ledger, all_projections())
    open_some_tickets(ledger, clock, count=3)
    first, second = spawn_follower(), spawn_follower()
    caught_up(observer)

    first.send_signal(signal.SIGKILL)
    open_some_tickets(ledger, clock, count=3)
    caught_up(observer)  # the second follower carries on alone
    second.send_signal(signal.SIGKILL)

    open_some_tickets(ledger, clock, count=2)
    restarted = spawn_follower()
    caught_up(observer)
    following(restarted)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=30) == 0

    incremental = live_rows(observer)
    assert incremental == rebuilt_rows(Projector(ledger, all_projections()))
    assert len(incremental["ticket_state"]["tickets"]) == 8


def test_a_tracking_table_another_process_creates_during_our_check_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datastore = SQLiteDatastore(str(tmp_path / "race.db"))
    ProjectionStore(datastore).recorder("sla_g1_tracking", [])  # the other process wins
    looked = SQLiteProjectionRecorder(datastore, tracking_table="sla_g1_tracking", ddl=[])
    original = looked.max_tracking_id
    answers = iter([OperationalError("no such table: sla_g1_tracking")])

    def before_the_other_process(application_name: str) -> int | None:
        # Our first look happened before the other process created the table.
        for error in answers:
            raise error
        return original(application_name)

    monkeypatch.setattr(looked, "max_tracking_id", before_the_other_process)
    looked.create_table()
    assert looked.max_tracking_id("__migration__") == 1
    datastore.close()


def test_a_follower_stopped_during_its_first_catch_up_stops_cleanly_at_a_page(
    ledger: TicketLedger, clock: ManualClock, spawn_follower: Spawn
) -> None:
    open_some_tickets(ledger, clock, count=150)  # pages of 200 events for five projections
    head = ledger.recorder.max_notification_id() or 0
    process = spawn_follower()
    lines = said(process, b"catching up")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    time.sleep(0.2)  # the reader thread takes the last lines
    reached = [int(line.rsplit(b" at ", 1)[1]) for line in lines if b": applied " in line]
    assert len(reached) == len(all_projections()) and min(reached) < head
    assert not any(line.startswith(b"following ") for line in lines)
