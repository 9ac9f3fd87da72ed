"""A revoked person cannot open tickets under a disguised address through the
API: the disguise is held for triage, a look-alike refused, nothing opened."""

from __future__ import annotations

from tests.api_support import OWN, Api

REVOKED = "joao.mendes@serra.com.br"


def test_a_disguised_revoked_address_is_held_and_a_look_alike_refused(api: Api) -> None:
    api.sign_contracts()
    contract = api.contracts[OWN]
    path = f"/contracts/{contract}/authorised-requesters"
    api.ok(api.post("admin", path, {"requester": "@serra.com.br"}))
    revoked = {"requester": REVOKED, "reason": "left"}
    api.ok(api.post("admin", f"/contracts/{contract}/revoked-requesters", revoked))
    body = {
        "contract_id": contract,
        "kind": "incident",
        "priority": "high",
        "subject": "Line 2 PLC does not start",
        "channel": "phone",
    }
    for disguise in ("joao.mendes+x@serra.com.br", "joao.\u200bmendes@Serra.com.br"):
        held = api.post("agent", "/tickets", {**body, "requester": disguise})
        assert (held.status_code, held.json()["held"]) == (202, True), disguise
    head = api.ledger.recorder.max_notification_id()
    look_alike = {**body, "requester": "j\u043eao.mendes@serra.com.br"}
    refused = api.post("agent", "/tickets", look_alike)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_command")
    assert "mixes scripts" in refused.json()["detail"]
    assert api.ledger.recorder.max_notification_id() == head
