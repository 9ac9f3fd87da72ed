"""Auditors' commands (audit): registered on the `ticketledger` command line."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds this module's commands to `app`."""
