"""ticketledger: an event-sourced ledger for help-desk tickets.

Stored events name their classes by stable topics such as
`ticketledger:Contract.Signed` (domain/events.py). The library resolves such
a topic as an attribute of this package: each aggregate is found here by its
name, its module imported on first use, so a process decodes any event of the
log without loading every aggregate when it starts."""

from __future__ import annotations

import importlib
from typing import Any

AGGREGATE_MODULES = {
    "Contract": "ticketledger.domain.contract",
    "HeldRequest": "ticketledger.domain.triage",
    "Ticket": "ticketledger.domain.ticket",
    "TicketNumbering": "ticketledger.domain.numbering",
}


def __getattr__(name: str) -> Any:
    module = AGGREGATE_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
