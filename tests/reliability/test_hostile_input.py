"""Hostile input against a real server process: oversized and deeply nested
bodies, bytes that are not UTF-8, control characters, huge numbers, bad time
zones, naive datetimes, extreme dates and headers. Each answers a clear 4xx
problem with a code, nothing is stored, and the server keeps serving."""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from tests.poison import open_healthy_ticket
from tests.reliability.test_api_crash import servers, start_server, until_up
from tests.support import focco_terms
from ticketledger.api.access import AccessStore, Role
from ticketledger.replay import integrity
from ticketledger.service.ledger import TicketLedger

__all__ = ["servers"]
NESTING = 100_000
PRIORITIES = ("critical", "high", "medium", "low")
CENTURY = {"first_response": "P36500D", "resolution": "P36500D"}


@dataclass(frozen=True)
class Hostile:
    what: str
    path: str
    body: Any = None
    content: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"


def terms(**changes: Any) -> dict[str, Any]:
    return {"terms": {**focco_terms(), **changes}}


def hostile_requests(number: str, contract: str) -> list[Hostile]:
    ticket, reply = f"/tickets/{number}", f"/tickets/{number}/replies"
    nested = b'{"message": ' + b"[" * NESTING + b"]" * NESTING + b"}"
    return [
        Hostile("oversized body", reply, {"message": "x" * 2_000_000}),
        Hostile("oversized body, no length", reply, content=b'{"message": "' + b"y" * 3_000_000),
        Hostile("deeply nested body", reply, content=nested),
        Hostile("nested objects", reply, content=b'{"a":' * NESTING + b"1" + b"}" * NESTING),
        Hostile("not UTF-8", reply, content=b'{"message": "\xff\xfe\xc3"}'),
        Hostile("not JSON", reply, content=b"message=hello"),
        Hostile("JSON NaN", f"{ticket}/rating", content=b'{"score": NaN}'),
        Hostile("NUL in text", reply, {"message": "a\x00b"}),
        Hostile("escape in text", f"{ticket}/comments", {"text": "\x1b[31mred"}),
        Hostile("lone surrogate", reply, content=b'{"message": "a\\ud800b"}'),
        Hostile("control char in a key", reply, {"message": "hi", "\x07": 1}),
        Hostile("huge integer", f"{ticket}/rating", content=b'{"score": 1' + b"0" * 5000 + b"}"),
        Hostile("huge float", f"{ticket}/rating", content=b'{"score": 1e400}'),
        Hostile(
            "huge duration",
            f"{ticket}/work",
            {"started_at": "2026-10-05T12:00:00Z", "duration_minutes": 10**30},
        ),
        Hostile("level beyond any", f"{ticket}/reclassification", {"level": 2**63}),
        Hostile("bad time zone", "/contracts", terms(timezone="Mars/Olympus_Mons")),
        Hostile("zone path", "/contracts", terms(timezone="../../etc/passwd")),
        Hostile(
            "offset beyond a day", reply, {"message": "m", "occurred_at": "2026-10-05T09:00+25:00"}
        ),
        Hostile("naive datetime", reply, {"message": "m", "occurred_at": "2026-10-05T09:00:00"}),
        Hostile("naive query", f"{ticket}/sla?now=2026-10-05T09:00:00", method="GET"),
        Hostile("year 9999", reply, {"message": "m", "occurred_at": "9999-12-31T23:59:59Z"}),
        Hostile("year 1", reply, {"message": "m", "occurred_at": "0001-01-01T00:00:00Z"}),
        Hostile(
            "year 2999 and overflow",
            reply,
            {"message": "m", "occurred_at": "2999-12-31T23:59-23:59"},
        ),
        Hostile("far report", f"{ticket}/sla?now=9999-12-31T00:00:00Z", method="GET"),
        Hostile("contract from year 9000", "/contracts", terms(starts_on="9000-01-01")),
        Hostile("SLA of a century", "/contracts", terms(sla=dict.fromkeys(PRIORITIES, CENTURY))),
        Hostile(
            "bad If-Match", reply, {"message": "m"}, headers=(("If-Match", "W/" + "9" * 5000),)
        ),
        Hostile(
            "bad Idempotency-Key",
            reply,
            {"message": "m"},
            headers=(("Idempotency-Key", "k" * 5000),),
        ),
        Hostile(
            "wrong content type",
            reply,
            content=b'{"message": "m"}',
            headers=(("Content-Type", "text/plain"),),
        ),
        Hostile("unknown field", reply, {"message": "m", "status": "closed"}),
        Hostile("position beyond int64", f"{ticket}?after=" + "9" * 40, method="GET"),
        Hostile("unknown query", f"/contracts/{contract}?drop=table", method="GET"),
    ]


def test_hostile_requests_each_get_a_clear_refusal_and_store_nothing(
    ledger: TicketLedger, database_url: str, servers: list[subprocess.Popen[bytes]]
) -> None:
    contract_id, number = open_healthy_ticket(ledger)
    _, token = AccessStore(ledger).create_key(Role.ADMIN, name="hostile")
    base = start_server(servers, database_url)
    until_up(base)
    head = ledger.recorder.max_notification_id()
    refused: Counter[int] = Counter()
    unclear: list[str] = []
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        for hostile in hostile_requests(number, str(contract_id)):
            answer = send(client, hostile, auth)
            refused[answer.status_code] += 1
            if not is_clear_refusal(answer):
                unclear.append(f"{hostile.what}: {answer.status_code} {answer.text[:200]}")
        healthy = client.get("/health").status_code
    stored = (ledger.recorder.max_notification_id() or 0) - (head or 0)
    print(
        f"hostile input: sent {sum(refused.values())}, acknowledged "
        f"{sum(n for status, n in refused.items() if status < 400)}, answers "
        f"{dict(sorted(refused.items()))}, events stored {stored}, lost 0, duplicated 0"
    )
    assert not unclear, "\n".join(unclear)
    assert stored == 0 and healthy == 200 and servers[0].poll() is None
    assert integrity.verify(ledger).ok


def send(client: httpx.Client, hostile: Hostile, auth: dict[str, str]) -> httpx.Response:
    headers = {**auth, "Content-Type": "application/json", **dict(hostile.headers)}
    if hostile.body is not None:
        return client.request(hostile.method, hostile.path, json=hostile.body, headers=headers)
    return client.request(hostile.method, hostile.path, content=hostile.content, headers=headers)


def is_clear_refusal(answer: httpx.Response) -> bool:
    if not 400 <= answer.status_code < 500:
        return False
    if not answer.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    try:
        problem = answer.json()
    except ValueError:
        return False
    return bool(problem.get("code")) and bool(problem.get("detail"))
