"""Test helpers: a clock the tests move by hand, contract terms modelled on the
seeds, and a count of the stored events a ledger reads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ticketledger.domain.vocabulary import Priority

if TYPE_CHECKING:  # the pure tier imports these helpers without the storage tier
    import pytest

    from ticketledger.service.ledger import TicketLedger


def rows_read(
    ledger: TicketLedger, monkeypatch: pytest.MonkeyPatch, aggregate: UUID
) -> Counter[str]:
    """Counts, under "events", the stored events of `aggregate` the ledger
    reads from now on."""
    read = Counter[str]()
    select = ledger.recorder.select_events

    def counted(originator_id: Any, **kwargs: Any) -> Any:
        rows = select(originator_id, **kwargs)
        if originator_id == aggregate:
            read["events"] += len(rows)
        return rows

    monkeypatch.setattr(ledger.recorder, "select_events", counted)
    return read


class ManualClock:
    """The ledger's injected clock: it only moves when a test says so."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def set(self, instant: datetime) -> datetime:
        self.now = instant
        return self.now


def at(text: str) -> datetime:
    """An aware UTC instant from '2026-10-05 12:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SEED_004_SLA = {
    Priority.CRITICAL.value: {"first_response": "PT2H", "resolution": "PT8H"},
    Priority.HIGH.value: {"first_response": "PT4H", "resolution": "PT16H"},
    Priority.MEDIUM.value: {"first_response": "PT24H", "resolution": "PT72H"},
    Priority.LOW.value: {"first_response": "P4D", "resolution": "P8D"},
}


def focco_terms(**overrides: Any) -> dict[str, Any]:
    """Seed 003: 08:00-12:00 and 13:30-18:00 Mon-Fri in Caxias do Sul (BR-RS)."""
    terms: dict[str, Any] = {
        "customer": "Metalúrgica Serra",
        "plan": "GLT",
        "timezone": "America/Sao_Paulo",
        "business_hours": {
            "windows": {d: [("08:00", "12:00"), ("13:30", "18:00")] for d in range(5)},
            "holidays_country": "BR",
            "holidays_subdivision": "RS",
        },
        "sla": SEED_004_SLA,
        "monthly_fee": "5000.00",
        "monthly_hours": "20",
        "hourly_rate": "180.00",
        "off_hours_multiplier": "1.5",
        "rounding_minutes": 15,
        "currency": "BRL",
        "warranties": [
            {"kind": "works", "starts_on": "2026-03-01", "months": 12, "scope": "line 2"},
            {"kind": "material", "starts_on": "2025-01-10", "months": 12},
        ],
        "starts_on": "2026-01-01",
    }
    terms.update(overrides)
    return terms


def neotel_extended_terms(**overrides: Any) -> dict[str, Any]:
    """Seed 004: business Mon-Fri 08-19, extended Mon-Sat 05-21, Argentina."""
    return focco_terms(
        customer="Contact Center Andino",
        plan="Extendido",
        timezone="America/Argentina/Buenos_Aires",
        business_hours={
            "windows": {d: [("08:00", "19:00")] for d in range(5)},
            "holidays_country": "AR",
        },
        coverage="extended",
        coverage_hours={
            "windows": {d: [("05:00", "21:00")] for d in range(6)},
            "holidays_country": "AR",
        },
        currency="ARS",
        warranties=[],
        **overrides,
    )
