"""What every command shares: its options, its one Settings, its ledger, and
how it fails. Kept light: a query such as `show` loads this and the ledger,
not the projections, the reports or the HTTP stack."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ticketledger.api.settings import Settings
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.storage import StorageOptions, persistence_env

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="postgresql://user@host:5432/db?schema=s or sqlite:///file.db "
        "(default: TICKETLEDGER_DATABASE_URL, else ./ticketledger.db)",
    ),
]
NowOption = Annotated[
    datetime | None,
    typer.Option(
        "--now",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S"],
        help="the instant to evaluate at, ISO 8601 with offset (default: now)",
    ),
]
ContractOption = Annotated[
    str, typer.Option("--contract", help="the contract's id, or its customer's name")
]
MonthOption = Annotated[str, typer.Option("--month", help="YYYY-MM in the contract's time zone")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
StatementFormat = Annotated[
    str, typer.Option("--format", help="json, csv or table", case_sensitive=False)
]


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def settings_from(**options: Any) -> Settings:
    """The command's one Settings: the environment's, with the options given."""
    try:
        return Settings.load(**options)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise fail(f"invalid settings: {problems}") from None


def ledger_for(settings: Settings, *, reading: bool = False, **options: Any) -> TicketLedger:
    """The command's ledger; `reading`: for a command that only reads the log,
    which neither makes a SQLite file nor creates tables where none are."""
    if reading:
        check_sqlite_file(settings)
    storage = one_command(settings.storage, reading=reading)
    return TicketLedger(database_url=settings.database_url, storage=storage, **options)


def check_sqlite_file(settings: Settings) -> None:
    env = persistence_env(settings.database_url)
    path = env.get("SQLITE_DBNAME", ":memory:")
    sqlite = env["PERSISTENCE_MODULE"].endswith("sqlite") and ":memory:" not in path
    if sqlite and not Path(path).exists():
        raise fail(f"no ledger at {path}: the file does not exist")


def one_command(storage: StorageOptions, *, reading: bool = False) -> StorageOptions:
    """A command opens one PostgreSQL connection when it starts, and more only
    if it needs them, up to the ceiling the settings give: opening the server's
    five at once was a tenth of a `ticketledger show`. A command that only
    reads creates no tables."""
    ceiling = storage.pool_size + storage.pool_max_overflow
    return replace(storage, pool_size=1, pool_max_overflow=ceiling - 1, create_tables=not reading)


@contextmanager
def opened_ledger(database_url: str | None, *, reading: bool = False) -> Iterator[TicketLedger]:
    """A ledger for one command, closed however the command ends."""
    ledger = ledger_for(settings_from(database_url=database_url), reading=reading)
    try:
        yield ledger
    finally:
        ledger.close()


def where(settings: Settings) -> str:
    env = persistence_env(settings.database_url)
    if env["PERSISTENCE_MODULE"].endswith("sqlite"):
        return f"SQLite file {env['SQLITE_DBNAME']}"
    return f"PostgreSQL {env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"


class ShownProgress:
    """Progress bars on standard error, one for each thing being done (a
    projection catching up, a rebuild, the demo's history): what a long
    command tells the person waiting at a terminal. Standard output keeps the
    command's answer alone, and a script reading standard error sees nothing."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.what = ""
        self.done = 0
        self.shown = sys.stderr.isatty()

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.shown:
            return
        if what != self.what:
            self.close()
            self.what, self.done = what, 0
            self.bar = typer.progressbar(length=max(total, 1), label=what, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(max(done - self.done, 0))
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> ShownProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
