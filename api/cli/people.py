"""`ticketledger users`: the people who sign in to the web pages."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from ticketledger.api.access import Role
from ticketledger.api.cli.options import DatabaseOption, fail, opened_ledger
from ticketledger.api.people import LANGUAGES, PeopleError, PeopleStore
from ticketledger.service.ledger import TicketLedger

users = typer.Typer(help="People who sign in to the web pages (programs use API keys).")

# The demo's people, named in the README. Only `ticketledger demo` creates
# them, with this password: never use them elsewhere.
DEMO_PASSWORD = "ticketledger-demo"
DEMO_PEOPLE = (
    ("admin@desk.example", Role.ADMIN, "admin", "en", None),
    ("carla.souza@desk.example", Role.AGENT, "carla.souza", "pt-BR", None),
    ("diego.pereira@desk.example", Role.AGENT, "diego.pereira", "en", None),
    ("billing@desk.example", Role.BILLING, "billing", "en", None),
    ("auditor@desk.example", Role.AUDITOR, "auditor", "en", None),
    ("compras@moveisserra.com.br", Role.REQUESTER, "Compras", "pt-BR", "Móveis Serra Gaúcha"),
    ("soporte@andino.com.ar", Role.REQUESTER, "Soporte", "es", "Contact Center Andino"),
    ("ti@leiloesnorte.com.br", Role.REQUESTER, "TI", "pt-BR", "Leilões Norte de Minas"),
)


@contextmanager
def opened_people(database_url: str | None) -> Iterator[PeopleStore]:
    with opened_ledger(database_url) as ledger:
        yield PeopleStore(ledger)


def language_of(ledger: TicketLedger, role: Role, customer: str | None) -> str:
    """A requester's pages are in their contract's language (the one the
    notices are written in); anyone else's in Portuguese unless told."""
    if role is not Role.REQUESTER or customer is None:
        return "pt-BR"
    from uuid import UUID

    from ticketledger.projections.catalog import all_projections
    from ticketledger.projections.runner import Projector

    projector = Projector(ledger, all_projections())
    try:
        projector.catch_up(["ticket_state"])
        with projector.reading("ticket_state") as rows:
            found = rows.all(
                "SELECT contract_id FROM {contracts} WHERE customer = :customer "
                "ORDER BY contract_id",
                {"customer": customer},
            )
    finally:
        projector.stop()
    if not found:
        raise fail(f"no contract of {customer!r}: a requester belongs to a customer's contract")
    return ledger.contract(UUID(str(found[0]["contract_id"]))).state.terms.language.value


def password_given(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    given: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return given


@users.command("create")
def create_user(
    login: Annotated[str, typer.Argument(help="the person's e-mail address, used to sign in")],
    role: Annotated[Role, typer.Option(help="admin, agent, requester, auditor or billing")],
    name: Annotated[
        str | None, typer.Option(help="the name events record (agents: as assigned)")
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            help=f"one of {', '.join(LANGUAGES)} [requesters: their contract's; others: pt-BR]"
        ),
    ] = None,
    customer: Annotated[str | None, typer.Option(help="requesters: their customer")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create a person; a requester acts as their own address, for one customer."""
    password = password_given(password_stdin)
    requester = login.strip().lower() if role is Role.REQUESTER else None
    with opened_ledger(database_url) as ledger:
        people = PeopleStore(ledger)
        try:
            person = people.create(
                login,
                password,
                role,
                name=name,
                language=language or language_of(ledger, role, customer),
                customer=customer,
                requester=requester,
            )
        except PeopleError as error:
            raise fail(str(error)) from None
    typer.echo(f"created {person.login} ({person.role.value}, acts as {person.principal.actor})")


@users.command("list")
def list_users(database_url: DatabaseOption = None) -> None:
    """List people (never their passwords)."""
    with opened_people(database_url) as people:
        found = people.list()
    for person in found:
        bound = f" {person.customer}" if person.customer else ""
        state = f"disabled {person.disabled_at}" if person.disabled_at else "active"
        typer.echo(
            f"{person.login:<32} {person.role.value:<9} {person.name}{bound} "
            f"[{person.language}]  created {person.created_at}  {state}"
        )


@users.command("disable")
def disable_user(login: str, database_url: DatabaseOption = None) -> None:
    """Disable a person: their sessions end at once and they cannot sign in."""
    with opened_people(database_url) as people:
        disabled = people.disable(login)
    if not disabled:
        raise fail(f"no active person {login}")
    typer.echo(f"disabled {login}")


def create_demo_people(ledger: TicketLedger) -> list[tuple[str, Role]]:
    people = PeopleStore(ledger)
    for login, role, name, language, customer in DEMO_PEOPLE:
        requester = login if role is Role.REQUESTER else None
        people.create(
            login,
            DEMO_PASSWORD,
            role,
            name=name,
            language=language,
            customer=customer,
            requester=requester,
        )
    return [(login, role) for login, role, *_ in DEMO_PEOPLE]


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
