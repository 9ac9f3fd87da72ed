"""kill -9 of the API server under load: every acknowledged command is stored
once, and every command in flight at the crash, retried with its key and
body after a restart, resolves to its one outcome: applied once, never twice,
never stuck. Real processes on 127.0.0.1, bounded loops that stop by themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.poison import open_healthy_ticket
from tests.reliability.pg_cluster import free_port
from ticketledger.api.access import AccessStore, Role
from ticketledger.domain.ticket import Ticket
from ticketledger.service.ledger import TicketLedger

CLI = "from ticketledger.api.cli.main import main; main()"
WRITERS = int(os.environ.get("TICKETLEDGER_RELIABILITY_WRITERS", "6"))
LOAD_SECONDS = float(os.environ.get("TICKETLEDGER_RELIABILITY_LOAD_SECONDS", "1.5"))


@dataclass
class Load:
    """What the clients sent, what was acknowledged, what was left in flight."""

    sent: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # by problem code
    lock: threading.Lock = field(default_factory=threading.Lock)


def serve(database_url: str, port: int, **settings: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TICKETLEDGER_DATABASE_URL": database_url,
        "TICKETLEDGER_IDEMPOTENCY_LEASE_SECONDS": "1",
        "TICKETLEDGER_TICK_SECONDS": "0",
        **{f"TICKETLEDGER_{name.upper()}": value for name, value in settings.items()},
    }
    command = [sys.executable, "-c", CLI, "serve", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def start_server(servers: list[subprocess.Popen[bytes]], database_url: str, **settings: str) -> str:
    """A `serve` process on a free port, started (not yet answering): its base URL."""
    port = free_port()
    servers.append(serve(database_url, port, **settings))
    return f"http://127.0.0.1:{port}"


def until_up(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=1).status_code in (200, 503):
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the API server did not start")


def write(base: str, token: str, path: str, load: Load, writer: int, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=10) as client:
        for n in range(10_000):
            if stop.is_set():
                return
            key = f"w{writer}-{n}"
            with load.lock:
                load.sent.append(key)
            try:
                answer = client.post(
                    base + path, json={"text": key}, headers={**headers, "Idempotency-Key": key}
                )
            except httpx.TransportError:
                with load.lock:
                    load.in_flight.append(key)
                return  # the server died under this request
            with load.lock:
                if answer.status_code == 200:
                    load.acknowledged.append(key)
                else:
                    load.refused[answer.json().get("code", str(answer.status_code))] += 1


def retry(base: str, token: str, path: str, key: str, timeout: float = 30) -> httpx.Response:
    """The client's retry after the crash: same key, same body, until the
    claim its dead request left has expired."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.post(base + path, json={"text": key}, headers=headers, timeout=10)
        if answer.status_code != 409 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_a_server_killed_under_load_loses_nothing_and_every_key_resolves_once(
    ledger: TicketLedger, database_url: str, servers: list[subprocess.Popen[bytes]]
) -> None:
    _, number = open_healthy_ticket(ledger)
    _, token = AccessStore(ledger).create_key(Role.AGENT, name="loader")
    port = free_port()
    base, path = f"http://127.0.0.1:{port}", f"/tickets/{number}/comments"
    servers.append(serve(database_url, port))
    until_up(base)

    load, stop = Load(), threading.Event()
    writers = [
        threading.Thread(target=write, args=(base, token, path, load, w, stop))
        for w in range(WRITERS)
    ]
    for thread in writers:
        thread.start()
    time.sleep(LOAD_SECONDS)
    servers[0].send_signal(signal.SIGKILL)
    servers[0].wait()
    stop.set()
    for thread in writers:
        thread.join(timeout=30)

    servers.append(serve(database_url, port))
    until_up(base)
    retried = {key: retry(base, token, path, key) for key in load.in_flight}
    assert {key: r.status_code for key, r in retried.items()} == dict.fromkeys(retried, 200)

    stored = Counter(
        e.text
        for e in ledger.events_of(ledger.ticket(number).id)
        if isinstance(e, Ticket.Commented)
    )
    lost = [key for key in [*load.acknowledged, *load.in_flight] if stored[key] == 0]
    duplicated = [key for key, times in stored.items() if times > 1]
    print(
        f"crash: sent {len(load.sent)}, acknowledged {len(load.acknowledged)}, "
        f"refused {sum(load.refused.values())} {dict(load.refused)}, in flight at the kill "
        f"{len(load.in_flight)}, retried to their outcome {len(retried)}, "
        f"events stored {sum(stored.values())}, lost {len(lost)}, duplicated {len(duplicated)}"
    )
    assert load.acknowledged and not lost and not duplicated
    # A comment is never refused for racing another, but after twenty tries on a
    # ticket that kept changing it is answered 409 kept_changing, writing nothing.
    assert set(load.refused) <= {"kept_changing"}
    assert set(stored) == set(load.acknowledged) | set(load.in_flight)
