"""`ticketledger serve` and `ticketledger keys`: the API under uvicorn, and its keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn

from ticketledger.api.access import AccessStore, Role
from ticketledger.api.cli.options import DatabaseOption, fail, opened_ledger, settings_from, where
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.storage import persistence_env

# Well-known keys that only `ticketledger demo` creates, so the README's example
# requests work as written against the demo ledger. Never use them elsewhere.
DEMO_KEYS = (
    ("tl_demo_admin", Role.ADMIN, None, None),
    ("tl_demo_agent", Role.AGENT, None, None),
    ("tl_demo_auditor", Role.AUDITOR, None, None),
    ("tl_demo_billing", Role.BILLING, None, None),
    ("tl_demo_requester", Role.REQUESTER, "Móveis Serra Gaúcha", "compras@moveisserra.com.br"),
)


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on [8000]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="worker processes (PostgreSQL only; SQLite serves from one) [1]"),
    ] = None,
    followers: Annotated[
        bool | None,
        typer.Option(
            "--followers/--no-followers",
            help="run the projection followers inside the server (default), or leave them "
            "to `ticketledger project --follow` processes",
        ),
    ] = None,
    tick_every: Annotated[
        float | None,
        typer.Option(
            "--tick-every",
            min=0.0,
            help="seconds between ticks of the background ticker that applies the "
            "time-driven rules (0: none; run `ticketledger tick --every` instead) [60]",
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the HTTP API, with the projection followers and the ticker inside by
    default. Several workers tick side by side safely: each consequence is
    written once."""
    settings = settings_from(
        database_url=database_url,
        host=host,
        port=port,
        workers=workers,
        followers=followers,
        tick_seconds=tick_every,
    )
    sqlite = persistence_env(settings.database_url)["PERSISTENCE_MODULE"].endswith("sqlite")
    if sqlite and settings.workers > 1:
        raise fail("SQLite serves from one worker; use PostgreSQL for several")
    # Each worker builds its Settings from the environment: these same ones.
    os.environ.update(settings.as_environment())
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(f"ticketledger API on {base} over {where(settings)}")
    typer.echo(f"Pages: {base}/   (sign in as a person; `ticketledger users list`)")
    typer.echo(f"Interactive docs: {base}/docs   (OpenAPI: {base}/openapi.json)")
    uvicorn.run(
        "ticketledger.api.http.app:app_from_settings",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
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
