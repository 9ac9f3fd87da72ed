"""Poison input against the running API: a contract whose terms no calendar can
serve is refused whole, and one that got into the log anyway stops only itself."""

from __future__ import annotations

from tests.api_support import Api
from tests.support import focco_terms


def test_a_contract_with_a_hundred_thousand_day_target_is_refused_naming_every_problem(
    api: Api,
) -> None:
    sla = {p: {"first_response": "PT1H", "resolution": "P100000D"} for p in focco_terms()["sla"]}
    head = api.ledger.recorder.max_notification_id()
    terms = focco_terms(sla=sla, starts_on="2999-01-01")
    refused = api.post("admin", "/contracts", {"terms": terms})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    named = {".".join(map(str, e["loc"][2:])) for e in body["errors"]}
    assert named == {f"sla.{p}.resolution" for p in sla} | {"starts_on"}
    assert "P100000D" in body["detail"] and "2999-01-01" in body["detail"]
    assert api.ledger.recorder.max_notification_id() == head
