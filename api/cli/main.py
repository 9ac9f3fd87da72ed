"""The `ticketledger` command line.

Each command's module loads only when that command runs: a query such as
`ticketledger show` starts without the HTTP stack, the projections or the
reports (`--help` loads them all, to list every command)."""

from __future__ import annotations

import gc
import importlib
from typing import Any

import typer
from typer.core import TyperGroup

CLI = "ticketledger.api.cli"
# Every command, in the order `--help` lists them, with the module whose
# `register(app)` defines it.
COMMANDS = {
    "demo": "tickets",
    "show": "tickets",
    "project": "reports",
    "rebuild": "reports",
    "queue": "reports",
    "held": "reports",
    "contracts": "reports",
    "sla": "reports",
    "statement": "reports",
    "serve": "serve",
    "replay": "replay",
    "as-of": "replay",
    "audit-projections": "audit",
    "digest": "integrity",
    "digests": "integrity",
    "verify": "integrity",
    "bundle": "integrity",
    "reproduce-statement": "integrity",
    "tick": "ticker",
    "deadlines": "ticker",
    "keys": "serve",
    "users": "people",
    "mail": "mail",
}


class LazyCommands(TyperGroup):
    """The commands of `COMMANDS`, each built from its module on first use."""

    built: dict[str, TyperGroup] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    # Any: the context and command are of the click that typer bundles and does
    # not export.
    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        if module not in self.built:
            commands = typer.Typer()
            importlib.import_module(f"{CLI}.{module}").register(commands)
            self.built[module] = typer.main.get_group(commands)
            settle_imports()
        return self.built[module].commands.get(cmd_name)


app = typer.Typer(
    cls=LazyCommands,
    help="ticketledger: an event-sourced ledger for help-desk tickets.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def ticketledger() -> None:
    """ticketledger: an event-sourced ledger for help-desk tickets."""


# Set by `main`, the console script: only a process of its own changes how
# garbage is collected, never one that imports this module (a test, say).
COLLECTING_AFTER_IMPORTS: list[bool] = []


def settle_imports() -> None:
    """What a command's imports made lives as long as the process: collecting
    while importing (pydantic's models and the event classes make hundreds of
    thousands of objects), and walking them again at every later collection,
    was about 20 ms of a `ticketledger show`. Kept out of collection once
    loaded; what the command makes next is collected as usual."""
    if COLLECTING_AFTER_IMPORTS:
        gc.freeze()
        gc.enable()


def main(*args: Any) -> None:
    from eventsourcing.persistence import PersistenceError

    gc.disable()
    COLLECTING_AFTER_IMPORTS.append(True)
    try:
        app(*args)
    except PersistenceError as error:
        typer.echo(f"error: {database_failure(error)}", err=True)
        raise SystemExit(1) from None


def database_failure(error: Exception) -> str:
    """What a person reads when the database fails a command: no traceback."""
    text = str(error).strip() or type(error).__name__
    if "does not exist" in text or "no such table" in text:
        return f"{text}: no ledger here (a query creates no tables; check the database URL)"
    return f"the database failed: {text}"
