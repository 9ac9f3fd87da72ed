"""Every projection the ledger keeps, by name."""

from __future__ import annotations

from ticketledger.projections.base import Projection
from ticketledger.projections.deadlines import DeadlinesProjection
from ticketledger.projections.hours import HoursProjection
from ticketledger.projections.queues import QueueProjection
from ticketledger.projections.sla import SlaProjection
from ticketledger.projections.ticket_state import TicketStateProjection
from ticketledger.projections.triage import TriageProjection


def all_projections() -> list[Projection]:
    return [
        TicketStateProjection(),
        SlaProjection(),
        QueueProjection(),
        HoursProjection(),
        DeadlinesProjection(),
        TriageProjection(),
    ]


def projection_names() -> list[str]:
    return [p.name for p in all_projections()]
