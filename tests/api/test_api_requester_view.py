"""A requester sees exactly the public history: nothing it can observe (body,
headers, ETag, version numbers, as-of ranges, chronology) changes when only
internal events are added, and its commands work with If-Match on what it sees."""

from __future__ import annotations

from typing import Any

from tests.api_support import Api

NOTE = {"text": "Customer's DBA is on holiday.", "visibility": "internal"}


def observed(api: Api, number: str, after: int) -> dict[str, Any]:
    """Everything the requester can read of its ticket, headers included."""
    t = f"/tickets/{number}"
    reads: dict[str, tuple[str, dict[str, Any]]] = {
        "ticket": (t, {}),
        "list": ("/tickets", {}),
        "events": (t + "/events", {}),
        "chronology": (t + "/chronology", {}),
        "csv": (t + "/chronology", {"format": "csv"}),
        "sla": (t + "/sla", {}),
        "as of version 3": (t + "/as-of", {"version": 3}),
        "as of version 4": (t + "/as-of", {"version": 4}),
        "as recorded now": (t + "/as-of", {"recorded_by": api.clock().isoformat()}),
        "as occurred now": (t + "/as-of", {"occurred_by": api.clock().isoformat()}),
    }
    seen = {}
    for name, (path, params) in reads.items():
        response = api.get("requester", path, after=after, **params)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("date",)}
        seen[name] = (response.status_code, headers, response.text)
    return seen


def test_an_internal_note_changes_nothing_a_requester_can_observe(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    api.ok(api.post("agent", f"/tickets/{number}/assignment", {"assignee": "diego"}))
    public = {"text": "We call you at 14:00", "visibility": "public"}
    written = api.ok(api.post("agent", f"/tickets/{number}/comments", public))
    before = observed(api, number, written["position"])
    assert before["ticket"][1]["etag"] == '"3"'
    assert before["as of version 4"][0] == 404

    noted = api.ok(api.post("agent", f"/tickets/{number}/comments", NOTE))
    after = observed(api, number, noted["position"])
    assert after == before
    assert api.ok(api.get("auditor", f"/tickets/{number}"))["version"] == 4


def test_a_requester_commands_on_the_version_it_sees_and_is_told_its_own_numbers(
    api: Api,
) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    api.ok(api.post("agent", f"/tickets/{number}/comments", NOTE))
    api.ok(api.post("agent", f"/tickets/{number}/comments", NOTE))
    replied = api.post(
        "requester", f"/tickets/{number}/replies", {"message": "Still down."}, if_match='"1"'
    )
    assert replied.status_code == 200, replied.text
    assert (replied.json()["version"], replied.headers["ETag"]) == (2, '"2"')
    stale = api.post("requester", f"/tickets/{number}/replies", {"message": "?"}, if_match='"1"')
    assert (stale.status_code, stale.json()["code"]) == (412, "version_mismatch")
    assert "at version 2" in stale.json()["detail"]
    assert api.ledger.ticket(number).version == 4


def test_a_position_beyond_the_log_is_refused_without_saying_where_the_log_ends(
    api: Api,
) -> None:
    api.sign_contracts()
    opened = api.open()
    head = api.ledger.recorder.max_notification_id()
    refused = api.get("requester", f"/tickets/{opened['number']}", after=10**9)
    assert (refused.status_code, refused.json()["code"]) == (409, "position_not_written")
    assert str(head) not in refused.json()["detail"]
