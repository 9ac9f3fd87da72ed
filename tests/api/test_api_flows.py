"""The seeds' flows end to end, over real HTTP against uvicorn on 127.0.0.1.

The ledger's clock is the tests' manual clock: Monday 5 October 2026, 12:00
UTC, which is 09:00 in Caxias do Sul (America/Sao_Paulo, UTC-3). Metalúrgica
Serra has Focco's terms (seed 003): business hours 08:00-12:00 and
13:30-18:00, critical 2 h to respond and 8 h to resolve, 15-minute rounding,
20 h allowance for 5000.00 BRL, 180.00/h beyond it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api_support import OWN, Api
from ticketledger.domain.vocabulary import Channel
from ticketledger.service.commands import HoldForTriage


def etag(api: Api, number: str, after: int | None = None) -> str:
    params = {} if after is None else {"after": after}
    response = api.get("agent", f"/tickets/{number}", **params)
    api.ok(response)
    return response.headers["ETag"]


def statement(api: Api, after: int) -> Any:
    path = f"/contracts/{api.contracts[OWN]}/statements/2026-10"
    return api.ok(api.get("billing", path, after=after))


def test_a_factory_stopped_critical_ticket_goes_from_opening_to_acceptance(api: Api) -> None:
    api.sign_contracts()
    opened = api.open(
        kind="critical_incident", priority="critical", subject="Factory stopped: press line 2"
    )
    number = opened["number"]
    assert opened["version"] == 1 and not opened["held"]

    tag = etag(api, number, after=opened["position"])
    assert tag == '"1"'
    assigned = api.ok(
        api.post("agent", f"/tickets/{number}/assignment", {"assignee": "diego"}, if_match=tag)
    )
    assert assigned["version"] == 2

    api.clock.advance(timedelta(minutes=30))  # 09:30 local: the first response
    api.ok(api.post("agent", f"/tickets/{number}/replies", {"message": "Connecting now."}))
    api.clock.advance(timedelta(hours=2))  # 11:30 local
    work = {"started_at": "2026-10-05T09:30:00-03:00", "duration_minutes": 110}
    api.ok(api.post("agent", f"/tickets/{number}/work", work))
    resolved = api.ok(
        api.post("agent", f"/tickets/{number}/resolution", {"resolution": "Disk freed."})
    )

    sla = api.ok(api.get("requester", f"/tickets/{number}/sla", after=resolved["position"]))
    assert sla["first_response"]["status"] == "met"
    assert sla["first_response"]["elapsed_seconds"] == 30 * 60
    assert sla["resolution"]["status"] == "met"
    assert sla["resolution"]["elapsed_seconds"] == 2.5 * 3600

    api.clock.advance(timedelta(hours=1))
    accepted = api.ok(
        api.post("requester", f"/tickets/{number}/acceptance", {"comment": "Running again."})
    )
    ticket = api.ok(api.get("requester", f"/tickets/{number}", after=accepted["position"]))
    assert (ticket["status"], ticket["closure_reason"]) == ("closed", "accepted")
    assert ticket["assignee"] == "diego" and ticket["comments"] is None
    # 110 minutes round up to 2.00 h in 15-minute steps, inside the allowance.
    billed = statement(api, accepted["position"])
    assert (billed["consumed_hours"], billed["overage_hours"]) == ("2.00", "0.00")
    assert billed["total"] == "5000.00"


def test_a_request_from_an_unauthorised_sender_is_held_and_released_once_authorised(
    api: Api,
) -> None:
    api.sign_contracts()
    body = {
        "contract_id": api.contracts[OWN],
        "kind": "question",
        "priority": "low",
        "subject": "How do I reprint an invoice?",
    }
    held = api.ok(api.post("stranger", "/tickets", body), 202)
    assert held["held"] and held["number"] is None
    view = api.ok(api.get("agent", f"/held-requests/{held['id']}"))
    assert view["requester"] == "visitor@gmail.com"
    assert "not authorised" in view["reason"] and view["ticket_id"] is None

    refused = api.post("agent", f"/held-requests/{held['id']}/release")
    assert refused.status_code == 409
    assert refused.json()["code"] == "requester_not_authorised"
    assert refused.headers["content-type"] == "application/problem+json"

    path = f"/contracts/{api.contracts[OWN]}/authorised-requesters"
    api.ok(api.post("admin", path, {"requester": "visitor@gmail.com"}))
    released = api.ok(api.post("agent", f"/held-requests/{held['id']}/release"), 201)
    ticket = api.ok(
        api.get("stranger", f"/tickets/{released['number']}", after=released["position"])
    )
    assert (ticket["requester"], ticket["status"]) == ("visitor@gmail.com", "new")
    assert api.ok(api.get("agent", f"/held-requests/{held['id']}"))["ticket_id"] == released["id"]


def test_a_request_held_with_no_contract_is_released_on_the_contract_the_agent_names(
    api: Api,
) -> None:
    api.sign_contracts()
    held = api.ledger.handle(
        HoldForTriage(
            requester="visitor@gmail.com",
            channel=Channel.EMAIL,
            subject="Reprint an invoice",
            reason="its sender is not authorised on any contract",
        )
    )
    path = f"/held-requests/{held.aggregate_id}"
    view = api.ok(api.get("agent", path))
    assert (view["contract_id"], view["channel"]) == (None, "email")
    unnamed = api.post("agent", f"{path}/release")
    assert (unnamed.status_code, unnamed.json()["code"]) == (422, "invalid_command")
    assert "name the contract" in unnamed.json()["detail"]
    own = api.contracts[OWN]
    authorised = f"/contracts/{own}/authorised-requesters"
    api.ok(api.post("admin", authorised, {"requester": "visitor@gmail.com"}))
    released = api.ok(api.post("agent", f"{path}/release?contract_id={own}"), 201)
    ticket = api.ok(api.get("agent", f"/tickets/{released['number']}", after=released["position"]))
    assert (ticket["contract_id"], ticket["subject"]) == (own, "Reprint an invoice")


def test_a_rejected_resolution_reopens_the_ticket_and_a_later_one_is_accepted(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    api.ok(api.post("agent", f"/tickets/{number}/replies", {"message": "Looking into it."}))
    api.clock.advance(timedelta(hours=1))
    api.ok(api.post("agent", f"/tickets/{number}/resolution", {"resolution": "Restarted."}))

    api.clock.advance(timedelta(hours=1))
    rejected = api.ok(
        api.post("requester", f"/tickets/{number}/rejection", {"reason": "Still stopped."})
    )
    ticket = api.ok(api.get("requester", f"/tickets/{number}", after=rejected["position"]))
    assert (ticket["status"], ticket["reopen_count"], ticket["resolved_at"]) == ("open", 1, None)
    again = api.post("requester", f"/tickets/{number}/acceptance", {})
    assert again.status_code == 409 and again.json()["code"] == "ticket_not_resolved"

    api.clock.advance(timedelta(hours=1))
    api.ok(api.post("agent", f"/tickets/{number}/resolution", {"resolution": "PLC replaced."}))
    api.ok(api.post("requester", f"/tickets/{number}/acceptance", {"comment": "Fine now."}))
    rated = api.ok(api.post("requester", f"/tickets/{number}/rating", {"score": 4}))
    shown = api.ok(api.get("requester", f"/tickets/{number}", after=rated["position"]))
    assert (shown["rating"], shown["rating_out_of"]) == (4, 5)

    events = api.ok(api.get("auditor", f"/tickets/{number}/events"))
    kinds = [e["type"] for e in events]
    assert kinds == [
        "Ticket.Opened",
        "Ticket.AgentReplied",
        "Ticket.Resolved",
        "Ticket.AcceptanceRejected",
        "Ticket.Resolved",
        "Ticket.AcceptanceGiven",
        "Ticket.Rated",
    ]
    assert rated["version"] == len(kinds)
    assert events[3]["by"] == "ana@serra.com.br"


def test_hours_reach_the_statement_only_when_the_resolution_is_accepted(api: Api) -> None:
    api.sign_contracts()
    number = api.open(priority="medium")["number"]
    api.clock.advance(timedelta(hours=1))  # 10:00 local
    work = {"started_at": "2026-10-05T09:00:00-03:00", "duration_minutes": 50}
    logged = api.ok(api.post("agent", f"/tickets/{number}/work", work))

    pending = api.ok(api.get("billing", f"/tickets/{number}/hours", after=logged["position"]))
    assert [(p["minutes"], p["category"]) for p in pending] == [(50.0, "support")]
    assert statement(api, logged["position"])["consumed_hours"] == "0.00"

    resolved = api.ok(api.post("agent", f"/tickets/{number}/resolution", {"resolution": "Done."}))
    assert statement(api, resolved["position"])["consumed_hours"] == "0.00"

    accepted = api.ok(api.post("requester", f"/tickets/{number}/acceptance", {}))
    # 50 minutes round up to 1.00 h in 15-minute steps.
    assert statement(api, accepted["position"])["consumed_hours"] == "1.00"
    assert api.ok(api.get("billing", f"/tickets/{number}/hours")) == []
    path = f"/contracts/{api.contracts[OWN]}/statements/2026-10/entries"
    entries = api.ok(api.get("billing", path, after=accepted["position"]))
    assert [(e["ticket"], e["consumed_hours"]) for e in entries] == [(number, "1.00")]
    csv = api.get("billing", f"/contracts/{api.contracts[OWN]}/statements/2026-10", format="csv")
    assert csv.headers["content-type"].startswith("text/csv") and "1.00" in csv.text
