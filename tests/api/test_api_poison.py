"""Poison input against the running API: a contract whose terms no calendar can
serve is refused whole, and one that got into the log anyway stops only itself."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from tests.api_support import Api, make_app, running
from tests.poison import open_healthy_ticket, open_poisoned_ticket
from tests.support import ManualClock, focco_terms
from ticketledger.api.http.problems import PROBLEM_JSON
from ticketledger.domain.numbering import ticket_id_for
from ticketledger.service.ledger import TicketLedger


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


def test_a_server_starts_over_a_poisoned_log_and_only_the_poisoned_ticket_is_refused(
    ledger: TicketLedger, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, poisoned = open_poisoned_ticket(ledger, monkeypatch)
    _, healthy = open_healthy_ticket(ledger)
    head = ledger.recorder.max_notification_id()
    app, tokens = make_app(ledger)
    with running(app) as base:
        api = Api(base, tokens, clock, ledger)
        refused = api.get("agent", f"/tickets/{poisoned}/sla", after=head)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert (refused.json()["code"], refused.json()["projection"]) == (
            "projection_quarantined",
            "sla",
        )
        assert "100000" not in refused.text  # the error itself stays with the operator
        api.ok(api.get("agent", f"/tickets/{healthy}/sla", after=head))
        api.ok(api.get("agent", f"/tickets/{poisoned}", after=head))  # ticket_state holds nothing
        queue = api.ok(api.get("agent", "/queue", after=head))
        assert [entry["number"] for entry in queue] == [healthy]
        api.clock.advance(timedelta(minutes=5))
        reply = api.post("agent", f"/tickets/{poisoned}/replies", {"message": "On it."})
        assert (reply.status_code, reply.json()["code"]) == (409, "sla_target_unreachable")
        api.ok(api.post("agent", f"/tickets/{healthy}/replies", {"message": "On it."}))


def test_health_shows_each_projection_and_what_it_holds_to_operators_only(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, poisoned = open_poisoned_ticket(api.ledger, monkeypatch)
    anonymous = caught_up_health(api)
    assert anonymous["status"] == "degraded" and anonymous["database_reachable"]
    counts = {p["name"]: (p["quarantined"], p["items"]) for p in anonymous["projections"]}
    assert counts["sla"] == (1, None) and counts["ticket_state"] == (0, None)
    operator = api.ok(api.get("admin", "/health"))
    (item,) = next(p["items"] for p in operator["projections"] if p["name"] == "sla")
    assert item["aggregate_id"] == str(ticket_id_for(poisoned))
    assert "SlaTargetUnreachableError" in item["error"]
    requester = api.ok(api.get("requester", "/health"))
    assert all(p["items"] is None for p in requester["projections"])


def caught_up_health(api: Api) -> Any:
    """/health once every projection has applied the whole log."""
    deadline = time.monotonic() + 30
    while True:
        found = api.ok(api.get(None, "/health"))
        if all(p["lag"] == 0 for p in found["projections"]) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
