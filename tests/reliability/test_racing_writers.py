"""Writers racing on the same tickets through two real server processes on one
database, with and without If-Match, and clients whose responses are lost (they time out and
retry with the same key): every acknowledged command is stored once, the
hours projection holds exactly the acknowledged work, `verify` and
`audit-projections` find nothing. The long variant (scripts/reliability)
runs more writers for longer."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from tests.poison import open_healthy_ticket, open_on
from tests.reliability.test_api_crash import LOAD_SECONDS, WRITERS, servers, start_server, until_up
from ticketledger.api.access import AccessStore, Role
from ticketledger.domain.ticket import Ticket
from ticketledger.projections import hours
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.replay import integrity
from ticketledger.replay.projection_audit import audit_projections
from ticketledger.service.ledger import TicketLedger

__all__ = ["servers"]  # the fixture, shared with the crash scenario
WORK_STARTS = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)  # a Monday, 09:00 in Caxias do Sul


@dataclass
class Tally:
    sent: int = 0
    acknowledged: Counter[str] = field(default_factory=Counter)  # text or entry, by ticket
    work_minutes: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # 200, or the problem code
    lost_responses: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def racer(
    base: str, token: str, numbers: list[str], tally: Tally, writer: int, until: float
) -> None:
    """Comments on the version it last read (If-Match), and work without it."""
    pick = random.Random(writer)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30, headers=auth) as client:
        n = 0
        while time.monotonic() < until:
            n += 1
            number = pick.choice(numbers)
            if pick.random() < 0.5:
                etag = client.get(f"/tickets/{number}").headers.get("ETag", '"1"')
                body = {"text": f"w{writer}-{n}", "visibility": "public"}
                answer = client.post(
                    f"/tickets/{number}/comments", json=body, headers={"If-Match": etag}
                )
                key = body["text"]
            else:
                started = WORK_STARTS + timedelta(minutes=n % 170)
                work = {"started_at": started.isoformat(), "duration_minutes": 1}
                answer = client.post(f"/tickets/{number}/work", json=work)
                key = f"work-{writer}-{n}"
            with tally.lock:
                tally.sent += 1
                tally.statuses[answered(answer)] += 1
                if answer.status_code == 200:
                    tally.acknowledged[key] += 1
                    tally.work_minutes += 1 if key.startswith("work-") else 0


def answered(answer: httpx.Response) -> str:
    return "200" if answer.status_code == 200 else str(answer.json().get("code"))


def forgetful(base: str, token: str, number: str, tally: Tally, writer: int, until: float) -> None:
    """A client whose responses are often lost: it retries with the same key."""
    auth = {"Authorization": f"Bearer {token}"}
    n = 0
    while time.monotonic() < until:
        n += 1
        text = f"lost-{writer}-{n}"
        headers = {**auth, "Idempotency-Key": text}
        timeout, deadline = 0.02, time.monotonic() + 60
        while True:  # until its one answer, as a client keeping its key should
            try:
                answer = httpx.post(
                    f"{base}/tickets/{number}/comments",
                    json={"text": text},
                    headers=headers,
                    timeout=timeout,
                )
            except httpx.TimeoutException:
                with tally.lock:
                    tally.lost_responses += 1
                timeout = 30
                continue
            if answer.status_code != 409 or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # still running, or the ticket kept changing
        with tally.lock:
            tally.sent += 1
            tally.statuses[answered(answer)] += 1
            if answer.status_code == 200:
                tally.acknowledged[text] += 1


def test_racing_writers_and_lost_responses_store_each_acknowledged_command_once(
    ledger: TicketLedger, database_url: str, servers: list[subprocess.Popen[bytes]]
) -> None:
    contract_id, first = open_healthy_ticket(ledger)
    numbers = [first, open_on(ledger, contract_id, "ana@serra.com.br")]
    _, token = AccessStore(ledger).create_key(Role.AGENT, name="racer")
    # Two processes writing to one database race in its transactions, not in
    # one process's locks.
    bases = [start_server(servers, database_url) for _ in range(2)]
    for base in bases:
        until_up(base)

    tally, until = Tally(), time.monotonic() + LOAD_SECONDS * 2
    threads = [
        threading.Thread(target=racer, args=(bases[w % 2], token, numbers, tally, w, until))
        for w in range(WRITERS)
    ] + [
        threading.Thread(target=forgetful, args=(bases[w % 2], token, numbers[0], tally, w, until))
        for w in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    stored: Counter[str] = Counter()
    work = 0
    for number in numbers:
        for event in ledger.events_of(ledger.ticket(number).id):
            if isinstance(event, Ticket.Commented):
                stored[event.text] += 1
            elif isinstance(event, Ticket.WorkLogged):
                work += 1
    comments = {k for k in tally.acknowledged if not k.startswith("work-")}
    lost = [k for k in comments if stored[k] == 0]
    duplicated = [k for k, times in stored.items() if times > 1]
    projector = Projector(ledger, all_projections())
    projector.catch_up()
    with projector.reading("hours") as rows:
        pending = sum(
            e.duration.total_seconds() / 60
            for n in numbers
            for e in hours.pending_hours(rows, ledger.ticket(n).id)
        )
    print(
        f"racing writers (2 server processes): sent {tally.sent}, "
        f"acknowledged {sum(tally.acknowledged.values())}, "
        f"answers {dict(tally.statuses)}, responses lost and retried {tally.lost_responses}, "
        f"work entries {work}, events stored {sum(stored.values()) + work}, lost {len(lost)}, "
        f"duplicated {len(duplicated)}"
    )
    assert not lost and not duplicated and tally.work_minutes > 0
    assert set(stored) == comments and work == tally.work_minutes == pending
    # Refused: a stale If-Match, or twenty tries on a ticket that kept changing.
    assert set(tally.statuses) <= {"200", "version_mismatch", "kept_changing"}
    assert integrity.verify(ledger).ok
    audits = audit_projections(projector)
    assert all(audit.complete for audit in audits), [
        (a.name, a.differences[:3], a.quarantined) for a in audits if not a.complete
    ]
