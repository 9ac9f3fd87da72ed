"""`ticketledger serve` and `ticketledger keys`: the API under uvicorn, and its keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.storage import DATABASE_URL, persistence_env

from .access import AccessStore, Role
from .http import Services, create_app
from .reports import DatabaseOption, fail, opened_ledger, where
from .ticker import TICK_SECONDS as DEFAULT_TICK_SECONDS

FOLLOWERS = "TICKETLEDGER_FOLLOWERS"
TICK_SECONDS = "TICKETLEDGER_TICK_SECONDS"  # 0 runs no ticker
# Well-known keys that only `ticketledger demo` creates, so the README's example
# requests work as written against the demo ledger. Never use them elsewhere.
DEMO_KEYS = (
    ("tl_demo_admin", Role.ADMIN, None, None),
    ("tl_demo_agent", Role.AGENT, None, None),
    ("tl_demo_auditor", Role.AUDITOR, None, None),
    ("tl_demo_billing", Role.BILLING, None, None),
    ("tl_demo_requester", Role.REQUESTER, "Móveis Serra Gaúcha", "compras@moveisserra.com.br"),
)


def build_services(
    database_url: str | None, *, followers: bool, tick_seconds: float | None = None
) -> Services:
    ledger = TicketLedger(database_url=database_url)
    projector = Projector(ledger, all_projections())
    return Services(
        ledger,
        projector,
        AccessStore(ledger),
        followers=followers,
        owns_ledger=True,
        tick_seconds=tick_seconds,
    )


def app_from_environment() -> FastAPI:
    """The app factory each uvicorn worker calls: settings come from the environment."""
    followers = os.environ.get(FOLLOWERS, "1") == "1"
    every = float(os.environ.get(TICK_SECONDS, str(DEFAULT_TICK_SECONDS)))
    return create_app(
        build_services(
            os.environ.get(DATABASE_URL), followers=followers, tick_seconds=every or None
        )
    )


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[
        int, typer.Option(help="worker processes (PostgreSQL only; SQLite serves from one)")
    ] = 1,
    followers: Annotated[
        bool,
        typer.Option(
            "--followers/--no-followers",
            help="run the projection followers inside the server (default), or leave them "
            "to `ticketledger project --follow` processes",
        ),
    ] = True,
    tick_every: Annotated[
        float,
        typer.Option(
            "--tick-every",
            min=0.0,
            help="seconds between ticks of the background ticker that applies the "
            "time-driven rules (0: none; run `ticketledger tick --every` instead)",
        ),
    ] = DEFAULT_TICK_SECONDS,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the HTTP API, with the projection followers and the ticker inside by
    default. Several workers tick side by side safely: each consequence is
    written once."""
    sqlite = persistence_env(database_url)["PERSISTENCE_MODULE"].endswith("sqlite")
    if workers < 1 or (sqlite and workers > 1):
        raise fail("SQLite serves from one worker; use PostgreSQL for several")
    if database_url:
        os.environ[DATABASE_URL] = database_url
    os.environ[FOLLOWERS] = "1" if followers else "0"
    os.environ[TICK_SECONDS] = str(tick_every)
    base = f"http://{host}:{port}"
    typer.echo(f"ticketledger API on {base} over {where(database_url)}")
    typer.echo(f"Interactive docs: {base}/docs   (OpenAPI: {base}/openapi.json)")
    uvicorn.run(
        "ticketledger.api.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


keys = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@contextmanager
def opened_access(database_url: str | None) -> Iterator[AccessStore]:
    with opened_ledger(database_url) as ledger:
        yield AccessStore(ledger)


@keys.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="admin, agent, requester, auditor or billing")],
    name: Annotated[
        str | None, typer.Option(help="who the key acts as (agents: their name)")
    ] = None,
    customer: Annotated[str | None, typer.Option(help="requester keys: the customer")] = None,
    requester: Annotated[str | None, typer.Option(help="requester keys: the person")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a key; its token is printed once and stored only as a hash."""
    with opened_access(database_url) as access:
        try:
            principal, token = access.create_key(
                role, name=name, customer=customer, requester=requester
            )
        except ValueError as error:
            raise fail(str(error)) from None
    typer.echo(f"key {principal.key_id} ({role.value}, acts as {principal.actor})", err=True)
    typer.echo(token)


@keys.command("list")
def list_keys(database_url: DatabaseOption = None) -> None:
    """List keys (never their tokens)."""
    with opened_access(database_url) as access:
        found = access.list_keys()
    for key in found:
        p = key.principal
        bound = f" {p.customer} / {p.requester}" if p.role is Role.REQUESTER else ""
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        typer.echo(
            f"{p.key_id}  {p.role.value:<9} {p.name}{bound}  created {key.created_at}  {state}"
        )


@keys.command("revoke")
def revoke_key(key_id: str, database_url: DatabaseOption = None) -> None:
    """Revoke a key: it stops working at once."""
    with opened_access(database_url) as access:
        revoked = access.revoke_key(key_id)
    if not revoked:
        raise fail(f"no active key {key_id}")
    typer.echo(f"revoked {key_id}")


def create_demo_keys(ledger: TicketLedger) -> list[tuple[str, Role]]:
    access = AccessStore(ledger)
    for token, role, customer, requester in DEMO_KEYS:
        access.create_key(role, customer=customer, requester=requester, token=token)
    return [(token, role) for token, role, _, _ in DEMO_KEYS]


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(keys, name="keys")
