"""Contract terms are bounded: every duration, date, count and amount has a
range (README "Contract terms"), checked when terms are signed. A contract
outside it is refused with every problem named, before anything is written;
a stored event is read back whatever it holds, so the log stays readable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tests.support import focco_terms
from ticketledger.domain.terms import STORED, ContractTerms, shown


def problems(terms: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        ContractTerms.model_validate(terms)
    return {".".join(map(str, e["loc"])): e["msg"] for e in refused.value.errors()}


def test_an_sla_target_of_a_hundred_thousand_days_is_refused() -> None:
    sla = {p: {"first_response": "PT1H", "resolution": "P100000D"} for p in focco_terms()["sla"]}
    found = problems(focco_terms(sla=sla))
    assert set(found) == {f"sla.{p}.resolution" for p in sla}
    assert "between PT1M and P90D, got P100000D" in found["sla.critical.resolution"]


def test_every_problem_of_a_contract_is_named_at_once() -> None:
    terms = focco_terms(
        starts_on="2999-01-01",
        off_hours_exceptions=1_000_000,
        closure={"acceptance": "P5000D", "contact_attempts_minimum_age": "P400D"},
        warranties=[{"kind": "works", "starts_on": "1900-01-01", "months": 12}],
    )
    terms["business_hours"]["extra_holidays"] = ["1999-12-31"]
    assert set(problems(terms)) == {
        "starts_on",
        "off_hours_exceptions",
        "closure.acceptance",
        "closure.contact_attempts_minimum_age",
        "warranties.0.starts_on",
        "business_hours.extra_holidays.0",
    }


def test_a_target_the_business_hours_cannot_reach_is_refused() -> None:
    terms = focco_terms()
    terms["business_hours"]["windows"] = {0: [("09:00", "09:01")]}
    (message,) = problems(terms).values()
    assert "not reached within 730 days of business_hours" in message


def test_the_widest_targets_the_ranges_allow_are_accepted() -> None:
    sla = {p: {"first_response": "PT1M", "resolution": "P90D"} for p in focco_terms()["sla"]}
    terms = ContractTerms.model_validate(focco_terms(sla=sla, starts_on="2100-12-31"))
    assert {t.resolution.days for t in terms.sla.values()} == {90}


def test_a_stored_contract_outside_the_ranges_is_still_read_back() -> None:
    sla = {p: {"first_response": "PT1H", "resolution": "P100000D"} for p in focco_terms()["sla"]}
    stored = ContractTerms.model_validate(focco_terms(sla=sla), context={STORED: True})
    assert {t.resolution.days for t in stored.sla.values()} == {100_000}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(60, "PT1M"), (90 * 86400, "P90D"), (0, "PT0S"), (90061, "P1DT1H1M1S"), (1.5, "PT1.5S")],
)
def test_a_duration_is_shown_as_a_client_writes_it(seconds: float, text: str) -> None:
    assert shown(timedelta(seconds=seconds)) == text
