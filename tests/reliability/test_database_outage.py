"""PostgreSQL stopped under the running API (a throwaway cluster of the
test's own): reads and writes answer 503 `database_unavailable` with
Retry-After within about two seconds, never 500 and never a hang; when the
database returns, the API, its followers and its ticker resume by themselves,
and nothing acknowledged was lost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api_support import Api, make_app, running
from tests.reliability.pg_cluster import Cluster, throwaway_cluster
from tests.support import ManualClock, at
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.storage import StorageOptions

QUICK = 3.0  # seconds: a call waits at most TICKETLEDGER_CONNECT_TIMEOUT (2 s)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as made:
        yield made


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def until_answered(call: Callable[[], httpx.Response], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if response.status_code < 500 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_an_outage_answers_503_quickly_and_the_api_resumes_by_itself(cluster: Cluster) -> None:
    clock = ManualClock(at("2026-10-05 12:00"))
    ledger = TicketLedger(
        database_url=cluster.url, clock=clock, storage=StorageOptions(connect_timeout=2)
    )
    app, tokens = make_app(ledger)
    try:
        with running(app) as base:
            api = Api(base, tokens, clock, ledger, app=app)
            api.sign_contracts()
            number = api.open()["number"]
            path = f"/tickets/{number}/comments"
            before = api.ok(api.post("agent", path, {"text": "before the outage"}))

            cluster.stop()
            calls: dict[str, Callable[[], httpx.Response]] = {
                "read": lambda: api.get("agent", f"/tickets/{number}"),
                "query": lambda: api.get("agent", "/queue"),
                "write": lambda: api.post(
                    "agent", path, {"text": "during"}, idempotency_key="during-1"
                ),
            }
            for _ in range(2):  # the first call meets broken connections, the next none
                for what, call in calls.items():
                    response, elapsed = timed(call)
                    assert response.status_code == 503, (what, response.text)
                    assert response.json()["code"] == "database_unavailable", what
                    assert response.headers["Retry-After"] == "2", what
                    assert elapsed < QUICK, (what, elapsed)
            health, elapsed = timed(lambda: api.get(None, "/health"))
            assert (health.status_code, health.json()["status"]) == (503, "unavailable")
            assert elapsed < QUICK

            cluster.start()
            written = until_answered(calls["write"])
            assert written.status_code == 200, written.text
            after = written.json()["position"]
            shown = api.ok(api.get("agent", f"/tickets/{number}", after=after))
            assert shown["version"] == written.json()["version"] == before["version"] + 1
            assert api.ok(api.get(None, "/health"))["status"] == "ok"
    finally:
        ledger.close()
    print_figures(before=before, written=written.json())


def print_figures(**figures: Any) -> None:
    print(f"database outage: {figures}")
