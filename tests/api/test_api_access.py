"""Who may do what over HTTP: the role x endpoint x own/other-customer matrix,
and the rules around it (hashed keys, revocation, hidden internal comments).

The matrix states the policy here, independently of the app's own tables.
Every command carries `If-Match: "999"`, a version no ticket or contract has,
so a permitted command reaches the ledger and is refused with 412, writing
nothing; the matrix then runs every cell on the same state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from tests.api_support import OTHER, OTHER_REQUESTER, OWN, OWN_REQUESTER, Api
from tests.support import focco_terms, neotel_extended_terms
from ticketledger.api.access import AccessStore, Principal, Role
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger

CALLERS = (None, "admin", "agent", "auditor", "billing", "requester")
ALL = {"admin", "agent", "auditor", "billing", "requester"}
DESK = {"admin", "agent"}
REQUESTER_WRITERS = {"admin", "agent", "requester"}
TICKET_READERS = {"admin", "agent", "auditor", "requester"}
HOUR_READERS = {"admin", "agent", "auditor", "billing"}
SUPERVISORS = {"admin", "agent", "auditor"}
BILLING_READERS = {"admin", "billing", "auditor"}
PUBLIC = ALL | {"anonymous"}  # a load balancer's health check has no key
STALE = '"999"'
HELD = str(uuid4())
ENTRY = str(uuid4())
FILE = "0" * 64  # a SHA-256 no ticket names
T = "/tickets/{number}"
C = "/contracts/{contract}"

# (method, path, body, roles allowed, status when allowed, scoped to the customer)
MATRIX: list[tuple[str, str, dict[str, Any] | None, set[str], int, bool]] = [
    ("GET", "/tickets", None, TICKET_READERS, 200, False),
    ("GET", T, None, TICKET_READERS, 200, True),
    ("GET", T + "/events", None, TICKET_READERS, 200, True),
    ("GET", T + "/chronology", None, TICKET_READERS, 200, True),
    ("GET", T + "/as-of", None, TICKET_READERS, 422, True),
    ("GET", T + "/sla", None, TICKET_READERS, 200, True),
    ("GET", T + "/hours", None, HOUR_READERS, 200, False),
    ("GET", T + f"/attachments/{FILE}", None, TICKET_READERS, 404, True),
    ("GET", "/contracts", None, ALL, 200, False),
    ("GET", C, None, ALL, 200, True),
    ("GET", C + "/sla/2026-10", None, SUPERVISORS, 200, False),
    ("GET", C + "/statements/2026-10", None, BILLING_READERS, 200, False),
    ("GET", C + "/statements/2026-10/entries", None, BILLING_READERS, 200, False),
    ("GET", "/queue", None, SUPERVISORS, 200, False),
    ("GET", "/queue/off-hours", None, SUPERVISORS, 200, False),
    ("GET", "/deadlines", None, SUPERVISORS, 200, False),
    ("GET", "/held-requests", None, SUPERVISORS, 200, False),
    ("GET", f"/held-requests/{HELD}", None, SUPERVISORS, 404, False),
    ("GET", "/health", None, PUBLIC, 200, False),
    (
        "POST",
        "/tickets",
        {"kind": "question", "priority": "low", "subject": "Hi"},
        REQUESTER_WRITERS,
        201,
        True,
    ),
    ("POST", T + "/reclassification", {"priority": "low", "reason": "r"}, DESK, 412, True),
    ("POST", T + "/assignment", {"assignee": "diego"}, DESK, 412, True),
    ("POST", T + "/escalation", {"reason": "r"}, DESK, 412, True),
    ("POST", T + "/replies", {"message": "m"}, REQUESTER_WRITERS, 412, True),
    ("POST", T + "/comments", {"text": "t"}, DESK, 412, True),
    ("POST", T + "/waiting-on-customer", {"reason": "r"}, DESK, 412, True),
    (
        "POST",
        T + "/waiting-on-third-party",
        {"third_party": "bank", "reason": "r"},
        DESK,
        412,
        True,
    ),
    ("POST", T + "/resumption", {"reason": "r"}, DESK, 412, True),
    ("POST", T + "/failed-contacts", {"channel": "phone"}, DESK, 412, True),
    (
        "POST",
        T + "/work",
        {"started_at": "2026-10-05T08:00:00-03:00", "duration_minutes": 30},
        DESK,
        412,
        True,
    ),
    (
        "POST",
        T + f"/work/{ENTRY}/correction",
        {"duration_minutes": 30, "reason": "r"},
        DESK,
        412,
        True,
    ),
    ("POST", T + "/off-hours-authorisation", {"authorised_by": "ana"}, DESK, 412, True),
    ("POST", T + "/resolution", {"resolution": "r"}, DESK, 412, True),
    ("POST", T + "/acceptance", {}, REQUESTER_WRITERS, 412, True),
    ("POST", T + "/rejection", {"reason": "r"}, REQUESTER_WRITERS, 412, True),
    ("POST", T + "/reopening", {"reason": "r"}, DESK, 412, True),
    ("POST", T + "/closure", {"reason": "acceptance_deemed"}, DESK, 412, True),
    ("POST", T + "/cancellation", {"reason": "opened_by_mistake"}, DESK, 412, True),
    ("POST", T + "/rating", {"score": 5}, REQUESTER_WRITERS, 412, True),
    ("POST", T + "/links", {"other": "2026-000001"}, DESK, 412, True),
    ("POST", f"/held-requests/{HELD}/release", None, DESK, 404, False),
    ("POST", f"/held-requests/{HELD}/discard", {"reason": "spam"}, DESK, 404, False),
    ("POST", "/contracts", {"terms": "own terms"}, {"admin"}, 201, False),
    ("POST", C + "/authorised-requesters", {"requester": "x@serra.com.br"}, {"admin"}, 412, False),
    ("POST", C + "/revoked-requesters", {"requester": "x", "reason": "r"}, {"admin"}, 412, False),
    (
        "POST",
        C + "/plan-changes",
        {"terms": "own terms", "effective_on": "2026-12-01", "reason": "renewal"},
        {"admin"},
        412,
        False,
    ),
    ("POST", C + "/suspension", {"reason": "r"}, {"admin"}, 412, False),
    ("POST", C + "/reinstatement", {"reason": "r"}, {"admin"}, 412, False),
    ("POST", C + "/ending", {"reason": "r"}, {"admin"}, 412, False),
    ("POST", C + "/statements/2026-10/issue", None, {"admin", "billing"}, 412, False),
]


def expected(caller: str | None, allowed: set[str], status: int, scoped: bool, own: bool) -> int:
    if caller is None:
        return status if "anonymous" in allowed else 401
    if caller not in allowed:
        return 403
    if caller == "requester" and scoped and not own:
        return 404
    return status


def prepared_body(api: Api, body: dict[str, Any] | None, path: str, own: bool) -> Any:
    customer = OWN if own else OTHER
    if path == "/tickets" and body is not None:
        requester = OWN_REQUESTER if own else OTHER_REQUESTER
        return {**body, "contract_id": api.contracts[customer], "requester": requester}
    if body is not None and body.get("terms") == "own terms":
        # A new contract gets a new customer; a plan change keeps the customer's name.
        name = f"Signed in the matrix {uuid4()}" if path == "/contracts" else customer
        terms = focco_terms(customer=name) if customer == OWN or path == "/contracts" else None
        return {**body, "terms": terms or neotel_extended_terms()}
    return body


def call(api: Api, caller: str | None, method: str, path: str, body: Any, after: int) -> int:
    """One cell; reads wait until the projections hold the set-up."""
    headers = api.headers(caller, {"If-Match": STALE} if method == "POST" else None)
    params = {"after": after} if method == "GET" and path != "/health" else None
    if caller == "requester" and path == "/tickets" and body:
        body = {k: v for k, v in body.items() if k != "requester"}
    response = api.http.request(method, api.base + path, json=body, headers=headers, params=params)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", path
    return response.status_code


def test_every_role_gets_the_expected_status_on_every_endpoint_for_own_and_other_customers(
    api: Api,
) -> None:
    api.sign_contracts()
    tickets = {
        True: api.open(customer=OWN),
        False: api.open("admin", OTHER, requester=OTHER_REQUESTER),
    }
    after = max(t["position"] for t in tickets.values())
    seen: dict[tuple[str, str, str | None, str], int] = {}
    wanted: dict[tuple[str, str, str | None, str], int] = {}
    for method, template, body, allowed, status, scoped in MATRIX:
        for own in (True, False):
            customer = OWN if own else OTHER
            path = template.format(number=tickets[own]["number"], contract=api.contracts[customer])
            for caller in CALLERS:
                cell = (method, template, caller, "own" if own else "other")
                wanted[cell] = expected(caller, allowed, status, scoped, own)
                sent = prepared_body(api, body, template, own)
                seen[cell] = call(api, caller, method, path, sent, after)
    assert seen == wanted
    # The refused commands wrote nothing: each matrix ticket is still at version 1.
    for ticket in tickets.values():
        assert api.ledger.ticket(ticket["number"]).version == 1


def test_the_matrix_covers_every_operation_the_api_documents(api: Api) -> None:
    document = api.http.get(api.base + "/openapi.json").json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert {(method, documented_path(path)) for method, path, *_ in MATRIX} == documented


def documented_path(path: str) -> str:
    named = {
        "{contract}": "{contract_id}",
        HELD: "{held_id}",
        ENTRY: "{entry_id}",
        FILE: "{sha256}",
    }
    for value, name in {**named, "2026-10": "{month}"}.items():
        path = path.replace(value, name)
    return path


def test_a_requester_never_sees_internal_comments_but_an_auditor_does(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    note = {"text": "Customer's DBA is on holiday.", "visibility": "internal"}
    api.ok(api.post("agent", f"/tickets/{number}/comments", note))
    public = {"text": "We will call you at 14:00.", "visibility": "public"}
    written = api.ok(api.post("agent", f"/tickets/{number}/comments", public))

    def texts(who: str) -> list[str]:
        events = api.ok(api.get(who, f"/tickets/{number}/events"))
        return [e["data"]["text"] for e in events if e["type"] == "Ticket.Commented"]

    assert texts("requester") == [public["text"]]
    assert texts("auditor") == [note["text"], public["text"]]
    seen = api.ok(api.get("requester", f"/tickets/{number}", after=written["position"]))
    assert seen["comments"] is None
    assert api.ok(api.get("agent", f"/tickets/{number}"))["comments"] == 2


def test_a_requester_only_lists_its_own_customers_tickets_and_contracts(api: Api) -> None:
    api.sign_contracts()
    own = api.open()["number"]
    other = api.open("admin", OTHER, requester=OTHER_REQUESTER)
    listed = api.ok(api.get("requester", "/tickets", after=other["position"]))
    assert [t["number"] for t in listed["tickets"]] == [own]
    asked = api.ok(api.get("requester", "/tickets", customer=OTHER, after=other["position"]))
    assert asked["tickets"] == []
    contracts = api.ok(api.get("requester", "/contracts", after=other["position"]))
    assert [c["customer"] for c in contracts] == [OWN]
    everyone = api.ok(api.get("auditor", "/tickets"))
    assert {t["number"] for t in everyone["tickets"]} == {own, other["number"]}


def test_keys_are_stored_only_as_hashes_and_a_revoked_key_stops_working(api: Api) -> None:
    access = AccessStore(api.ledger)
    principal, token = access.create_key(Role.AGENT, name="carla")
    with access.store.transaction(commit=False) as cursor:
        rows = access.store.fetch(cursor, f"SELECT * FROM {access.keys}")
    assert rows and not any(token in str(value) for row in rows for value in row.values())
    api.tokens["carla"] = token
    assert api.get("carla", "/queue").status_code == 200
    assert access.revoke_key(principal.key_id)
    refused = api.get("carla", "/queue")
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key")
    assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_a_requester_acts_as_its_own_person_and_cannot_backdate(api: Api) -> None:
    api.sign_contracts()
    body = {"contract_id": api.contracts[OWN], "kind": "question", "priority": "low"}
    mismatch = api.post("requester", "/tickets", {**body, "subject": "s", "requester": "boss"})
    assert (mismatch.status_code, mismatch.json()["code"]) == (422, "requester_mismatch")
    number = api.open()["number"]
    backdated = {"message": "m", "occurred_at": "2026-10-05T08:00:00-03:00"}
    refused = api.post("requester", f"/tickets/{number}/replies", backdated)
    assert (refused.status_code, refused.json()["code"]) == (422, "occurred_at_not_allowed")
    replied = api.ok(api.post("requester", f"/tickets/{number}/replies", {"message": "m"}))
    events = api.ok(api.get("auditor", f"/tickets/{number}/events", after=replied["position"]))
    assert events[-1]["by"] == OWN_REQUESTER


def test_a_key_revoked_by_another_process_is_refused_at_once_by_every_kind_of_read(
    api: Api, make_ledger: Callable[..., TicketLedger]
) -> None:
    api.sign_contracts()
    opened = api.open()
    number = opened["number"]
    elsewhere = AccessStore(make_ledger())
    principal, token = elsewhere.create_key(Role.AUDITOR, name="ines")
    api.tokens["ines"] = token
    reads = [
        f"/tickets/{number}",
        "/tickets",
        f"/tickets/{number}/chronology",
        f"/tickets/{number}/events",
        f"/contracts/{api.contracts[OWN]}",
        "/queue",
    ]
    for path in reads:
        assert api.get("ines", path, after=opened["position"]).status_code == 200, path
    assert elsewhere.revoke_key(principal.key_id)
    for path in reads:
        refused = api.get("ines", path)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key"), path


def test_a_key_revoked_by_another_process_is_refused_at_once_by_every_kind_of_command(
    api: Api, make_ledger: Callable[..., TicketLedger]
) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    elsewhere = AccessStore(make_ledger())
    agent, agent_token = elsewhere.create_key(Role.AGENT, name="rui")
    requester, requester_token = elsewhere.create_key(
        Role.REQUESTER, name="ana", customer=OWN, requester=OWN_REQUESTER
    )
    api.tokens.update(rui=agent_token, ana=requester_token)
    commands = [
        ("rui", f"/tickets/{number}/comments", {"text": "checked"}, {}),
        ("rui", f"/tickets/{number}/comments", {"text": "keyed"}, {"Idempotency-Key": "k-1"}),
        ("ana", f"/tickets/{number}/replies", {"message": "still down"}, {}),
    ]
    for who, path, body, headers in commands:  # each key is known to this server now
        api.ok(api.post(who, path, body, **headers))
    version = api.ledger.ticket(number).version
    assert elsewhere.revoke_key(agent.key_id) and elsewhere.revoke_key(requester.key_id)
    for who, path, body, headers in commands:
        again = {"Idempotency-Key": "k-2"} if headers else {}
        refused = api.post(who, path, body, **again)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key"), path
    assert api.ledger.ticket(number).version == version
    assert api.app_services().access.claim(agent.key_id, "k-2", "anything") is None


def test_a_key_read_with_before_is_confirmed_by_the_reads_own_first_statement(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.sign_contracts()
    opened = api.open()
    access = api.app_services().access
    authenticated: list[str] = []
    authenticate = access.authenticate

    def counted(token: str) -> Principal | None:
        authenticated.append(token)
        return authenticate(token)

    def refused(hashed: str) -> bool:
        raise AssertionError("a projection read confirmed its key with a query of its own")

    monkeypatch.setattr(access, "authenticate", counted)
    monkeypatch.setattr(access, "confirm", refused)
    path = f"/tickets/{opened['number']}"
    assert api.get("agent", path, after=opened["position"]).status_code == 200
    for _ in range(3):
        assert api.get("agent", path).status_code == 200
    assert authenticated == [api.tokens["agent"]]


def test_a_remembered_key_is_refused_a_read_its_role_may_not_make_until_revoked_then_unknown(
    api: Api, make_ledger: Callable[..., TicketLedger]
) -> None:
    elsewhere = AccessStore(make_ledger())
    principal, token = elsewhere.create_key(Role.BILLING, name="bia")
    api.tokens["bia"] = token
    assert api.get("bia", "/contracts").status_code == 200
    assert api.get("bia", "/tickets").json()["code"] == "forbidden_for_role"
    assert elsewhere.revoke_key(principal.key_id)
    assert api.get("bia", "/tickets").json()["code"] == "invalid_api_key"


def test_a_remembered_key_is_confirmed_too_by_a_read_that_follows_a_rebuild_made_elsewhere(
    api: Api, make_ledger: Callable[..., TicketLedger]
) -> None:
    api.sign_contracts()
    opened = api.open()
    path = f"/tickets/{opened['number']}"
    elsewhere = AccessStore(make_ledger())
    principal, token = elsewhere.create_key(Role.AGENT, name="rui")
    api.tokens["rui"] = token
    assert api.get("rui", path, after=opened["position"]).status_code == 200
    rebuilder = Projector(make_ledger(), all_projections())
    rebuilder.rebuild("ticket_state")
    assert api.get("rui", path).status_code == 200  # the new generation, found again
    rebuilder.rebuild("ticket_state")
    assert elsewhere.revoke_key(principal.key_id)
    refused = api.get("rui", path)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key")
