"""The HTTP API under a real uvicorn server on 127.0.0.1, for end-to-end tests.

Keys: one per role, plus a requester of Metalúrgica Serra (the customer whose
contract the tests sign first) and one of Contact Center Andino (another
customer's, for the isolation tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support import ManualClock, focco_terms, neotel_extended_terms
from ticketledger.api.access import AccessStore, Role
from ticketledger.api.http.app import create_app
from ticketledger.api.http.deps import Services
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger

OWN = "Metalúrgica Serra"
OTHER = "Contact Center Andino"
OWN_REQUESTER = "ana@serra.com.br"
OTHER_REQUESTER = "pablo@andino.com.ar"
KEYS: dict[str, tuple[Role, str | None, str | None]] = {
    "admin": (Role.ADMIN, None, None),
    "agent": (Role.AGENT, None, None),
    "auditor": (Role.AUDITOR, None, None),
    "billing": (Role.BILLING, None, None),
    "requester": (Role.REQUESTER, OWN, OWN_REQUESTER),
    "other_requester": (Role.REQUESTER, OTHER, OTHER_REQUESTER),
    "stranger": (Role.REQUESTER, OWN, "visitor@gmail.com"),
}


def make_services(
    ledger: TicketLedger, *, followers: bool = True
) -> tuple[Services, dict[str, str]]:
    """What an app serves from, and a key of each role of KEYS."""
    access = AccessStore(ledger)
    services = Services(ledger, Projector(ledger, all_projections()), access, followers=followers)
    tokens = {
        who: access.create_key(role, name=who, customer=customer, requester=requester)[1]
        for who, (role, customer, requester) in KEYS.items()
    }
    return services, tokens


def make_app(ledger: TicketLedger, *, followers: bool = True) -> tuple[FastAPI, dict[str, str]]:
    services, tokens = make_services(ledger, followers=followers)
    return create_app(services), tokens


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serves the app on a free port of 127.0.0.1 until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it; without it each response waits out the
    # client's delayed ACK (about 40 ms), as uvicorn only sets it on sockets it binds.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Api:
    """A client of the running API that calls as any of the test's keys."""

    base: str
    tokens: dict[str, str]
    clock: ManualClock
    ledger: TicketLedger
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    contracts: dict[str, str] = field(default_factory=dict)
    app: FastAPI | None = None

    def app_services(self) -> Services:
        """The running app's services, for a test that reaches behind the API."""
        assert self.app is not None, "this client was made without its app"
        found: Services = self.app.state.services
        return found

    def headers(self, who: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        found = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return {**found, **(extra or {})}

    def post(self, who: str | None, path: str, body: Any = None, **headers: str) -> httpx.Response:
        return self.http.post(
            self.base + path, json=body, headers=self.headers(who, header_names(headers))
        )

    def get(self, who: str | None, path: str, **params: Any) -> httpx.Response:
        return self.http.get(self.base + path, params=params, headers=self.headers(who))

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, (response.status_code, response.text)
        return response.json()

    # The usual set-up, through the API itself.

    def sign_contracts(self) -> None:
        own = self.ok(self.post("admin", "/contracts", {"terms": focco_terms(customer=OWN)}), 201)
        other = self.ok(self.post("admin", "/contracts", {"terms": neotel_extended_terms()}), 201)
        self.contracts = {OWN: own["id"], OTHER: other["id"]}
        for customer, requester in ((OWN, OWN_REQUESTER), (OTHER, OTHER_REQUESTER)):
            path = f"/contracts/{self.contracts[customer]}/authorised-requesters"
            self.ok(self.post("admin", path, {"requester": requester}))

    def open(self, who: str = "requester", customer: str = OWN, **fields: Any) -> Any:
        body = {
            "contract_id": self.contracts[customer],
            "kind": "incident",
            "priority": "high",
            "subject": "Line 2 PLC does not start",
            "channel": "phone",
            **fields,
        }
        return self.ok(self.post(who, "/tickets", body), 201)


def header_names(headers: dict[str, str]) -> dict[str, str]:
    """if_match= becomes If-Match, idempotency_key= Idempotency-Key."""
    return {"-".join(p.capitalize() for p in k.split("_")): v for k, v in headers.items()}
