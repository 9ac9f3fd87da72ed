"""The FastAPI app: its routes, its problems, and what runs beside it (the
projection followers and the ticker), started and stopped with it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ticketledger.api.access import AccessStore
from ticketledger.api.http import contracts, health, tickets
from ticketledger.api.http.deps import Replica, Services, known_query
from ticketledger.api.http.openapi import install_openapi
from ticketledger.api.http.problems import (
    COMMAND_RESPONSES,
    WAITING_RESPONSES,
    AllowedMethods,
    BodyLimit,
    install_problem_handlers,
)
from ticketledger.api.jobs.every import Every
from ticketledger.api.jobs.ticker import Ticker
from ticketledger.api.settings import Settings
from ticketledger.api.web import install_pages
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger

log = logging.getLogger(__name__)


def build_services(settings: Settings) -> Services:
    ledger = TicketLedger(database_url=settings.database_url, storage=settings.storage)
    projector = Projector(ledger, all_projections())
    replica = None
    if settings.read_database_url:
        reader = TicketLedger(
            database_url=settings.read_database_url, storage=settings.storage, replica=True
        )
        replica = Replica(reader, Projector(reader, all_projections(), replica=True))
    return Services(
        ledger,
        projector,
        AccessStore(ledger),
        followers=settings.followers,
        wait_seconds=settings.wait_seconds,
        owns_ledger=True,
        tick_seconds=settings.ticker_period,
        body_limit_bytes=settings.body_limit_bytes,
        claim_lease=timedelta(seconds=settings.idempotency_lease_seconds),
        replica=replica,
        sender=sender_of(ledger, settings),
        link_mail=settings.link_mail,
        public_url=settings.public_url,
    )


def sender_of(ledger: TicketLedger, settings: Settings) -> Every | None:
    """The notices' sender, when a relay is configured: each worker runs one,
    and their claims keep every notice to one sender at a time."""
    relay = settings.relay
    if relay is None:
        return None
    from ticketledger.api.mail.outbound import Mailer

    mailer = Mailer(ledger, relay.send, settings.outgoing)
    return Every("mail sender", mailer.send_due, settings.mail_send_seconds)


def app_from_settings() -> FastAPI:
    """The app factory each uvicorn worker calls: its one Settings comes from
    the environment, which `ticketledger serve` set for it."""
    return create_app(build_services(Settings()))


# The app.


def create_app(services_: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        projector = services_.projector
        try:
            projector.catch_up()
        except Exception:
            # Whatever the log holds, the server starts: a projection that cannot
            # catch up now is retried by its follower, and /health shows it.
            log.exception("projections could not catch up at start-up; followers retry")
        if services_.followers:
            projector.start()
        ticker = None
        if services_.tick_seconds is not None:
            ticking = Ticker(services_.ledger, projector).tick
            ticker = Every("ticker", ticking, services_.tick_seconds)
            ticker.start()
        if services_.sender is not None:
            services_.sender.start()
        try:
            yield
        finally:
            if services_.sender is not None:
                services_.sender.stop()
            if ticker is not None:
                ticker.stop()
            projector.stop()
            if services_.owns_ledger:
                services_.ledger.close()
                if services_.replica is not None:
                    services_.replica.ledger.close()

    app = FastAPI(
        title="ticketledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=TAGS,
        dependencies=[Depends(known_query)],
    )
    app.state.services = services_
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, limit=services_.body_limit_bytes)
    app.add_middleware(AllowedMethods, routes=api_routes())
    for router in ROUTERS:
        declare_command_responses(router)
        app.include_router(router)
    install_openapi(app)
    install_pages(app)
    return app


ROUTERS = (tickets.router, contracts.router, health.router)


def declare_command_responses(router: APIRouter) -> None:
    """A command also answers 400 (its headers), 409 (its rules), 412 (a stale
    If-Match) and 413 (its body); a read that waits for `after=` 409 (a
    position not written yet); another read none of these."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        if "POST" in (route.methods or ()):
            route.responses = {**COMMAND_RESPONSES, **route.responses}
        elif takes_query(route.dependant, "after"):
            route.responses = {**WAITING_RESPONSES, **route.responses}


def takes_query(dependant: Dependant, name: str) -> bool:
    return any(q.name == name for q in dependant.query_params) or any(
        takes_query(d, name) for d in dependant.dependencies
    )


def api_routes() -> list[APIRoute]:
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


DESCRIPTION = """
An event-sourced ledger for help-desk tickets: SLA clocks and contract hours
that can be replayed and never quietly rewritten.

* **Keys and roles.** Send an API key as `Authorization: Bearer …`. Roles:
  admin, agent, requester (one customer, one person), auditor (reads
  everything, writes nothing), billing (statements and the hour ledger).
  Another customer's ticket answers 404 to a requester.
* **Versions.** A ticket's `ETag` is its version. Send it back as `If-Match`
  and a command on a stale version answers 412 and writes nothing.
* **Retries.** An `Idempotency-Key` makes a command safe to retry.
* **Read your writes.** Commands return a log `position`; pass it as
  `after=` to a query and it waits until the projections have applied it.
* **Errors** are RFC 9457 problem details with a stable `code`.
"""
TAGS = [
    {"name": "tickets", "description": "Open, work and close tickets."},
    {"name": "ticket reads", "description": "A ticket's state, history, SLA and hours."},
    {"name": "contracts", "description": "Contracts and authorised requesters (admins)."},
    {"name": "reports", "description": "Queues, SLA reports, statements and the hour ledger."},
    {"name": "triage", "description": "Requests held because the sender is not authorised."},
    {"name": "health", "description": "Database, projection positions and quarantine."},
]
