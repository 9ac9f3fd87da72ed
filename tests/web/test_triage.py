"""Triage: requests held because their sender is not authorised, listed by
the API, the command line and the desk's page, released or discarded there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import OWN, Api
from tests.web_support import create_people, signed_in

STRANGER = "visitor@gmail.com"


@pytest.fixture
def desk(api: Api) -> Iterator[Api]:
    api.sign_contracts()
    create_people(api.app_services().people)
    yield api


def hold(api: Api, subject: str = "Please give me access") -> str:
    body = {
        "contract_id": api.contracts[OWN],
        "kind": "question",
        "priority": "low",
        "subject": subject,
        "description": "I am new in purchasing.",
    }
    held: dict[str, Any] = api.ok(api.post("stranger", "/tickets", body), 202)
    # The triage page lists the projection's rows: read once it holds this one.
    api.ok(api.get("agent", "/held-requests", after=held["position"]))
    return str(held["id"])


def listed(api: Api, state: str = "held") -> list[dict[str, Any]]:
    """The list once it holds everything written so far."""
    head = api.ledger.recorder.max_notification_id() or 0
    found: list[dict[str, Any]] = api.ok(
        api.get("agent", "/held-requests", state=state, after=head)
    )
    return found


def test_the_api_lists_what_is_held_and_what_became_of_it(desk):
    first, second = hold(desk, "First"), hold(desk, "Second")
    desk.ok(desk.post("agent", f"/held-requests/{second}/discard", {"reason": "spam"}), 202)
    waiting = listed(desk)
    assert [h["held_id"] for h in waiting] == [first]
    assert waiting[0]["requester"] == STRANGER and waiting[0]["customer"] == OWN
    assert waiting[0]["state"] == "held" and "not authorised" in waiting[0]["reason"]
    gone = listed(desk, "discarded")
    assert [(h["held_id"], h["discard_reason"], h["decided_by"]) for h in gone] == [
        (second, "spam", "agent")
    ]
    assert len(listed(desk, "all")) == 2
    assert desk.get("requester", "/held-requests").status_code == 403
    assert desk.get("agent", "/held-requests", state="lost").status_code == 422


def test_an_agent_cannot_release_a_request_whose_sender_is_not_authorised(desk):
    held = hold(desk)
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get("/desk/triage")
    assert "Please give me access" in page.text and STRANGER in page.text
    refused = agent.send(page, f"/desk/triage/{held}/release", authorise="on")
    assert refused.status_code == 403
    plain = agent.send(agent.get("/desk/triage"), f"/desk/triage/{held}/release")
    assert plain.status_code == 409
    assert "not authorised on this contract yet" in plain.text
    assert listed(desk)[0]["held_id"] == held


def test_an_admin_authorises_the_sender_and_releases_the_request_as_a_ticket(desk):
    held = hold(desk)
    admin = signed_in(desk, "boss@desk.example")
    page = admin.get("/desk/triage")
    released = admin.send(page, f"/desk/triage/{held}/release", authorise="on")
    assert released.status_code == 303, released.text
    shown = admin.get("/desk/triage", state="released").text
    number = shown.split('href="/desk/tickets/')[1].split('"')[0]
    opening = desk.ok(desk.get("agent", f"/tickets/{number}/events"))[0]
    assert opening["data"]["requester"] == STRANGER
    contract = desk.ok(desk.get("admin", f"/contracts/{desk.contracts[OWN]}"))
    assert STRANGER in str(contract)


def test_an_agent_discards_a_request_with_its_reason(desk):
    held = hold(desk)
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get("/desk/triage")
    done = agent.send(page, f"/desk/triage/{held}/discard", reason="not a customer of ours")
    assert done.status_code == 303
    assert listed(desk, "discarded")[0]["discard_reason"] == "not a customer of ours"
    again = agent.send(page, f"/desk/triage/{held}/discard", reason="twice")
    assert again.status_code in (409, 412)


def test_a_second_request_of_a_sender_authorised_meanwhile_is_released_with_the_box_ticked(desk):
    first, second = hold(desk, "First"), hold(desk, "Second")
    admin = signed_in(desk, "boss@desk.example")
    for held in (first, second):
        released = admin.send(
            admin.get("/desk/triage"), f"/desk/triage/{held}/release", authorise="on"
        )
        assert released.status_code == 303, released.text
    assert listed(desk) == []
