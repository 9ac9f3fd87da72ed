"""Five contracts modelled on the five seed policies, with their real business
hours, holiday calendars, coverage and targets."""

from __future__ import annotations

from typing import Any


def week(*windows: tuple[str, str], days: int = 5) -> dict[int, list[tuple[str, str]]]:
    return {day: list(windows) for day in range(days)}


def sla(*targets: tuple[str, str]) -> dict[str, dict[str, str]]:
    """Targets in priority order critical, high, medium, low (ISO 8601 durations)."""
    names = ("critical", "high", "medium", "low")
    return {
        n: {"first_response": r, "resolution": s} for n, (r, s) in zip(names, targets, strict=True)
    }


# Seed 000: factory automation; urgent (factory stopped) handling starts within 1 h;
# Diamante plan served 24x7; warranties of works and material.
AGPR5_DIAMANTE: dict[str, Any] = {
    "customer": "Cooperativa Agroindustrial Vale Sul",
    "plan": "Diamante",
    "timezone": "America/Sao_Paulo",
    "business_hours": {
        "windows": week(("08:00", "12:00"), ("13:30", "18:00")),
        "holidays_country": "BR",
        "holidays_subdivision": "SC",
    },
    "coverage": "24x7",
    "sla": sla(("PT1H", "PT8H"), ("PT4H", "PT16H"), ("PT8H", "PT40H"), ("PT16H", "PT80H")),
    "monthly_fee": "8500.00",
    "monthly_hours": "30",
    "hourly_rate": "240.00",
    "off_hours_multiplier": "1.5",
    "rounding_minutes": 15,
    "currency": "BRL",
    "off_hours_exceptions": None,
    "warranties": [
        {"kind": "works", "starts_on": "2026-04-15", "months": 12, "scope": "feed mill line 3"},
        {"kind": "material", "starts_on": "2026-02-03", "months": 24, "scope": "PLC racks"},
    ],
    "starts_on": "2026-01-01",
}

# Seed 001: 08:00-10:45 and 13:00-17:30 Mon-Fri except holidays; response within
# 24 business hours; closure after three failed contacts and 48 h.
TEKSYSTEM_STANDARD: dict[str, Any] = {
    "customer": "Prefeitura de Rio Novo",
    "plan": "Cessão de uso",
    "timezone": "America/Sao_Paulo",
    "business_hours": {
        "windows": week(("08:00", "10:45"), ("13:00", "17:30")),
        "holidays_country": "BR",
        "holidays_subdivision": "MG",
    },
    "sla": sla(("PT2H", "PT8H"), ("PT8H", "PT24H"), ("PT24H", "PT72H"), ("PT24H", "PT120H")),
    "monthly_fee": "1900.00",
    "monthly_hours": "8",
    "hourly_rate": "150.00",
    "rounding_minutes": 30,
    "currency": "BRL",
    "starts_on": "2026-01-01",
}

# Seed 002: SaaS, 08:00-18:00 Mon-Fri, 30 minutes to respond; emergencies off
# hours at no extra cost, other off-hours work authorised and billed; training
# and meetings consume the plan's hours.
LEILOES_PREMIUM: dict[str, Any] = {
    "customer": "Leilões Norte de Minas",
    "plan": "Premium",
    "timezone": "America/Sao_Paulo",
    "business_hours": {
        "windows": week(("08:00", "18:00")),
        "holidays_country": "BR",
        "holidays_subdivision": "MG",
    },
    "coverage": "24x7",
    "sla": sla(("PT30M", "PT4H"), ("PT30M", "PT8H"), ("PT30M", "PT24H"), ("PT30M", "PT40H")),
    "monthly_fee": "2400.00",
    "monthly_hours": "12",
    "hourly_rate": "120.00",
    "off_hours_multiplier": "2",
    "rounding_minutes": 6,
    "currency": "BRL",
    "off_hours_exceptions": None,
    "starts_on": "2026-01-19",
}

# Seed 003: 08:00-12:00 and 13:30-18:00 Mon-Fri; the 24x7 add-on costs 30 % of
# the GLT fee; customer-caused problems are billed at the hourly rate, 1 h minimum.
FOCCO_GLT_24X7: dict[str, Any] = {
    "customer": "Móveis Serra Gaúcha",
    "plan": "GLT + 24|7",
    "timezone": "America/Sao_Paulo",
    "business_hours": {
        "windows": week(("08:00", "12:00"), ("13:30", "18:00")),
        "holidays_country": "BR",
        "holidays_subdivision": "RS",
    },
    "coverage": "24x7",
    "addon_24x7_share": "0.30",
    "sla": sla(("PT2H", "PT8H"), ("PT4H", "PT16H"), ("PT24H", "PT72H"), ("PT40H", "PT120H")),
    "monthly_fee": "5000.00",
    "monthly_hours": "20",
    "hourly_rate": "180.00",
    "rounding_minutes": 15,
    "currency": "BRL",
    "starts_on": "2026-01-01",
}

# Seed 004: business 08-19 Mon-Fri, extended Mon-Sat 05-21 without holidays;
# critical 2 h, high 4 h, medium 24 h, low 4 days.
NEOTEL_EXTENDED: dict[str, Any] = {
    "customer": "Contact Center Andino",
    "plan": "Soporte Extendido",
    "language": "es",
    "timezone": "America/Argentina/Buenos_Aires",
    "business_hours": {"windows": week(("08:00", "19:00")), "holidays_country": "AR"},
    "coverage": "extended",
    "coverage_hours": {"windows": week(("05:00", "21:00"), days=6), "holidays_country": "AR"},
    "sla": sla(("PT2H", "PT8H"), ("PT4H", "PT24H"), ("PT24H", "PT72H"), ("P4D", "P8D")),
    "monthly_fee": "1450000.00",
    "monthly_hours": "25",
    "hourly_rate": "65000.00",
    "rounding_minutes": 15,
    "currency": "ARS",
    "starts_on": "2026-01-01",
}

# Seed 000 section 9: a customer without a contract is still served, every hour
# billed, queued after contract customers.
AGPR5_PAY_PER_USE: dict[str, Any] = {
    "customer": "Frigorífico Campos Altos",
    "plan": "Atendimento eventual",
    "agreement": "pay_per_use",
    "timezone": "America/Sao_Paulo",
    "business_hours": AGPR5_DIAMANTE["business_hours"],
    "sla": sla(("PT4H", "PT16H"), ("PT8H", "PT40H"), ("PT24H", "PT80H"), ("PT40H", "PT120H")),
    "hourly_rate": "290.00",
    "rounding_minutes": 30,
    "currency": "BRL",
    "starts_on": "2026-06-01",
}

DEMO_CONTRACTS: list[tuple[dict[str, Any], list[str]]] = [
    (AGPR5_DIAMANTE, ["@valesul.coop.br"]),
    (TEKSYSTEM_STANDARD, ["@rionovo.mg.gov.br", "ti.rionovo@gmail.com"]),
    (LEILOES_PREMIUM, ["@leiloesnorte.com.br"]),
    (FOCCO_GLT_24X7, ["@moveisserra.com.br"]),
    (NEOTEL_EXTENDED, ["@andino.com.ar"]),
    (AGPR5_PAY_PER_USE, ["manutencao@camposaltos.com.br"]),
]
