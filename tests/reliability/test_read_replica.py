"""Reads from a streaming replica, for real: a throwaway primary and a replica
made from it by pg_basebackup, on ports of their own (the machine's cluster
on 5432 is never touched), and `ticketledger serve` with
TICKETLEDGER_READ_DATABASE_URL pointing at the replica. Commands write to the
primary; queries read the replica, and a read given the position a command
returned (`after=`) waits until the replica holds it. While the replica's
replay is paused, a read without `after=` shows the replica's older state and
one with it answers 503 instead of a stale page."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.poison import HEALTHY_REQUESTER, open_healthy_ticket
from tests.reliability.pg_cluster import Cluster, throwaway_cluster, throwaway_replica
from tests.reliability.test_api_crash import servers, start_server, until_up
from ticketledger.api.access import AccessStore, Role
from ticketledger.service.ledger import TicketLedger

__all__ = ["servers"]


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Cluster, Cluster]]:
    with throwaway_cluster() as primary, throwaway_replica(primary) as replica:
        yield primary, replica


def replay(replica: Cluster, action: str) -> None:
    with psycopg.connect(replica.url, autocommit=True) as conn:
        conn.execute(f"SELECT pg_wal_replay_{action}()")  # type: ignore[arg-type]


def test_reads_through_a_replica_see_every_write_they_are_given_the_position_of(
    pair: tuple[Cluster, Cluster], servers: list[subprocess.Popen[bytes]]
) -> None:
    primary, replica = pair
    ledger = TicketLedger(database_url=primary.url)
    try:
        contract_id, number = open_healthy_ticket(ledger)
        _, token = AccessStore(ledger).create_key(Role.AGENT, name="desk")
    finally:
        ledger.close()
    base = start_server(servers, primary.url, read_database_url=replica.url)
    until_up(base)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
        for n in range(5):  # read your writes, command after command
            posted = http.post(f"/tickets/{number}/comments", json={"text": f"note {n}"})
            assert posted.status_code == 200, posted.text
            after = posted.json()["position"]
            shown = http.get(f"/tickets/{number}", params={"after": after})
            assert shown.status_code == 200 and shown.json()["version"] == 2 + n, shown.text
            events = http.get(f"/tickets/{number}/events", params={"after": after}).json()
            assert events[-1]["data"]["text"] == f"note {n}"
        opened = http.post(
            "/tickets",
            json={
                "contract_id": str(contract_id),
                "requester": HEALTHY_REQUESTER,
                "channel": "phone",
                "kind": "incident",
                "priority": "high",
                "subject": "Line 3 stopped",
            },
        ).json()
        listed = http.get("/tickets", params={"after": opened["position"]}).json()
        assert opened["number"] in {t["number"] for t in listed["tickets"]}

        replay(replica, "pause")
        try:
            posted = http.post(f"/tickets/{number}/comments", json={"text": "while paused"})
            after = posted.json()["position"]
            stale = http.get(f"/tickets/{number}")
            waited = http.get(f"/tickets/{number}", params={"after": after})
            assert stale.status_code == 200 and stale.json()["version"] == 6
            assert waited.status_code == 503
            assert waited.json()["code"] == "projection_lagging"
        finally:
            replay(replica, "resume")
        caught_up = http.get(f"/tickets/{number}", params={"after": after})
        assert caught_up.status_code == 200 and caught_up.json()["version"] == 7
    with psycopg.connect(replica.url) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        assert row == (True,)  # the replica stayed a replica: nothing was written to it
