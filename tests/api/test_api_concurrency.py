"""Concurrent and retried commands over HTTP: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx

from tests.api_support import OWN, Api
from tests.support import focco_terms
from ticketledger.api.http.deps import fingerprint_of
from ticketledger.service.commands import Comment
from ticketledger.service.outcomes import RequestKey

EVENT_OF = {
    "comments": "Ticket.Commented",
    "assignment": "Ticket.Assigned",
    "escalation": "Ticket.Escalated",
    "replies": "Ticket.AgentReplied",
    "resolution": "Ticket.Resolved",
    "waiting-on-customer": "Ticket.WaitingOnCustomer",
}


def command_mix(count: int) -> list[tuple[str, dict[str, Any]]]:
    """Commands that conflict in every way the ticket knows: several that always
    apply, several that can apply once, and some the others make impossible."""
    shapes: list[tuple[str, dict[str, Any]]] = [
        ("comments", {"text": "note"}),
        ("assignment", {"assignee": "diego"}),
        ("escalation", {"reason": "specialist"}),
        ("replies", {"message": "on it"}),
        ("resolution", {"resolution": "fixed"}),
        ("waiting-on-customer", {"reason": "log please"}),
    ]
    return [
        (action, {**body, **({"text": f"note {i}"} if action == "comments" else {})})
        for i, (action, body) in ((i, shapes[i % len(shapes)]) for i in range(count))
    ]


def at_once(
    api: Api, calls: list[Callable[[httpx.Client], httpx.Response]]
) -> list[httpx.Response]:
    """Runs the calls from as many threads, released together."""
    barrier = threading.Barrier(len(calls))
    responses: list[httpx.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            responses[index] = calls[index](client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def poster(
    api: Api, path: str, body: Any, **headers: str
) -> Callable[[httpx.Client], httpx.Response]:
    full = {**api.headers("agent"), "Content-Type": "application/json", **headers}
    return lambda client: client.post(api.base + path, json=body, headers=full)


def test_many_racing_commands_on_one_ticket_are_each_applied_or_clearly_refused(
    api: Api,
) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    mix = command_mix(24)
    responses = at_once(
        api, [poster(api, f"/tickets/{number}/{action}", body) for action, body in mix]
    )

    applied: Counter[str] = Counter()
    versions = []
    for (action, _), response in zip(mix, responses, strict=True):
        if response.status_code == 200:
            applied[EVENT_OF[action]] += 1
            versions.append(response.json()["version"])
            continue
        problem = response.json()
        assert response.status_code in (409, 422), response.text
        assert problem["code"] and problem["detail"]
    events = [type(e).__qualname__ for e in api.ledger.events_of(api.ledger.ticket(number).id)]
    assert Counter(events[1:]) == applied
    assert sorted(versions) == list(range(2, len(events) + 1))
    # Only one of the four resolutions can apply: some commands were refused.
    assert applied["Ticket.Resolved"] <= 1 and len(versions) < len(mix)
    assert applied["Ticket.Commented"] >= 1


def test_of_commands_racing_on_one_expected_version_exactly_one_wins(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    calls = [
        poster(api, f"/tickets/{number}/comments", {"text": f"n{i}"}, **{"If-Match": '"1"'})
        for i in range(12)
    ]
    statuses = Counter(r.status_code for r in at_once(api, calls))
    assert statuses == Counter({200: 1, 412: 11})
    assert api.ledger.ticket(number).version == 2


def test_a_retried_command_with_the_same_idempotency_key_writes_once(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    path = f"/tickets/{number}/comments"
    first = api.post("agent", path, {"text": "called the customer"}, idempotency_key="call-1")
    retries = [
        api.post("agent", path, {"text": "called the customer"}, idempotency_key="call-1")
        for _ in range(3)
    ]
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    for retry in retries:
        assert (retry.status_code, retry.content) == (200, first.content)
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.headers["ETag"] == first.headers["ETag"]
    assert api.ledger.ticket(number).version == 2

    other = api.post("agent", path, {"text": "another text"}, idempotency_key="call-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    # Keys belong to the API key that sent them: the admin's call-1 is its own.
    mine = api.post("admin", path, {"text": "called the customer"}, idempotency_key="call-1")
    assert mine.status_code == 200 and "Idempotent-Replayed" not in mine.headers
    assert api.ledger.ticket(number).version == 3


def test_a_refused_command_retried_with_its_key_gets_the_same_refusal(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    path = f"/tickets/{number}/acceptance"
    first = api.post("requester", path, {}, idempotency_key="accept-1")
    again = api.post("requester", path, {}, idempotency_key="accept-1")
    assert first.status_code == again.status_code == 409
    assert first.json() == again.json() and first.json()["code"] == "ticket_not_resolved"
    assert api.ledger.ticket(number).version == 1


def test_concurrent_retries_with_one_key_write_once(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    calls = [
        poster(api, f"/tickets/{number}/comments", {"text": "once"}, **{"Idempotency-Key": "k"})
        for _ in range(10)
    ]
    responses = at_once(api, calls)
    done = [r for r in responses if r.status_code == 200]
    assert done and {r.content for r in done} == {done[0].content}
    running = [r for r in responses if r.status_code != 200]
    assert all(r.json()["code"] == "idempotency_key_in_use" for r in running)
    assert api.ledger.ticket(number).version == 2


def test_bad_requests_get_problem_details_never_a_server_error(api: Api) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    path = f"/tickets/{number}/comments"
    huge = api.post("agent", path, {"text": "x" * 1_100_000})
    assert (huge.status_code, huge.json()["code"]) == (413, "body_too_large")
    broken = api.http.post(
        api.base + path,
        content=b"{not json",
        headers=api.headers("agent", {"Content-Type": "application/json"}),
    )
    assert (broken.status_code, broken.json()["code"]) == (422, "invalid_request")
    control = api.post("agent", path, {"text": "a\x00b"})
    assert (control.status_code, control.json()["code"]) == (422, "invalid_request")
    naive = api.post("agent", path, {"text": "t", "occurred_at": "2026-10-05T08:00:00"})
    assert naive.status_code == 422
    etag = api.post("agent", path, {"text": "t"}, if_match="soon")
    assert (etag.status_code, etag.json()["code"]) == (400, "invalid_if_match")
    typo = api.get("agent", "/tickets", stauts="open")
    assert (typo.status_code, typo.json()["code"]) == (422, "unknown_parameter")
    twice = api.get("agent", "/tickets", status=["open", "resolved"])
    assert (twice.status_code, twice.json()["code"]) == (422, "repeated_parameter")
    ahead = api.get("agent", f"/tickets/{number}", after=10**9)
    assert (ahead.status_code, ahead.json()["code"]) == (409, "position_not_written")
    for response in (huge, broken, control, naive, etag, typo, twice, ahead):
        assert response.headers["content-type"] == "application/problem+json"
    assert api.ledger.ticket(number).version == 1


def test_stale_versions_are_refused_on_triage_and_statements_too(api: Api) -> None:
    api.sign_contracts()
    body = {"contract_id": api.contracts[OWN], "kind": "question", "priority": "low"}
    held = api.ok(api.post("stranger", "/tickets", {**body, "subject": "s"}), 202)
    for path, sent in (
        (f"/held-requests/{held['id']}/discard", {"reason": "spam"}),
        (f"/held-requests/{held['id']}/release", None),
        (f"/contracts/{api.contracts[OWN]}/statements/2026-09/issue", None),
    ):
        refused = api.post("admin", path, sent, if_match='"999"')
        assert (refused.status_code, refused.json()["code"]) == (412, "version_mismatch")
    assert api.ledger.held_request(UUID(held["id"])).version == 1
    assert api.ledger.contract(UUID(api.contracts[OWN])).state.issued_months == set()
    discarded = api.ok(
        api.post(
            "admin", f"/held-requests/{held['id']}/discard", {"reason": "spam"}, if_match='"1"'
        ),
        202,
    )
    assert discarded["version"] == 2


def test_a_contract_signed_a_moment_ago_already_has_a_statement_and_an_sla_report(
    api: Api,
) -> None:
    for attempt in range(5):
        terms = focco_terms(customer=f"Fresh customer {attempt}")
        signed = api.ok(api.post("admin", "/contracts", {"terms": terms}), 201)
        path = f"/contracts/{signed['id']}"
        statement = api.ok(api.get("billing", path + "/statements/2026-10"))
        assert (statement["customer"], statement["total"]) == (terms["customer"], "5000.00")
        report = api.ok(api.get("agent", path + "/sla/2026-10"))
        assert report["customer"] == terms["customer"]
        assert api.ok(api.get("billing", path + "/statements/2026-10/entries")) == []


def test_odd_requests_are_refused_with_problems_not_server_errors(api: Api) -> None:
    api.sign_contracts()
    opened = api.open()
    number = opened["number"]
    nested = api.http.post(
        api.base + f"/held-requests/{UUID(int=7)}/release",
        content=b"[" * 100_000,
        headers=api.headers("agent", {"Idempotency-Key": "deep"}),
    )
    assert nested.status_code == 404

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 100_000

    streamed = api.http.post(
        api.base + f"/tickets/{number}/replies",
        content=chunks(),
        headers=api.headers("agent", {"Content-Type": "application/json"}),
    )
    assert (streamed.status_code, streamed.json()["code"]) == (413, "body_too_large")
    ahead = api.get("requester", f"/tickets/{number}/sla", now="2999-12-30T23:59:59Z")
    year = api.get(
        "requester", f"/tickets/{number}/sla", now="2027-10-01T00:00:00Z", after=opened["position"]
    )
    assert year.status_code == 200
    assert (ahead.status_code, ahead.json()["code"]) == (422, "now_out_of_range")
    path = f"/tickets/{number}/comments"
    first = api.post("agent", path, {"text": "t"}, idempotency_key="p", if_match='"1"')
    other = api.post("agent", path, {"text": "t"}, idempotency_key="p", if_match='"2"')
    assert first.status_code == 200
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def died_holding(api: Api, who: str, key: str, path: str, body: dict[str, Any]) -> RequestKey:
    """A request that claimed `key` and died unanswered (kill -9 of its
    server): its claim stays, with nothing remembered."""
    principal = api.app_services().access.authenticate(api.tokens[who])
    assert principal is not None
    fingerprint = fingerprint_of("POST", path, "", json.dumps(body).encode())
    assert api.app_services().access.claim(principal.key_id, key, fingerprint) is None
    return RequestKey(principal.key_id, key, fingerprint)


def test_a_retry_after_a_server_died_having_applied_the_command_gets_its_outcome(
    api: Api,
) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    path, body = f"/tickets/{number}/comments", {"text": "called the customer"}
    dead = died_holding(api, "agent", "call-1", path, body)
    with api.ledger.keyed(dead):  # its command committed; its answer never left
        applied = api.ledger.handle(Comment(ticket=number, text=body["text"], by="agent"))
    retry = api.post("agent", path, body, idempotency_key="call-1")
    assert retry.status_code == 200, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert (retry.json()["version"], retry.json()["position"]) == (
        applied.version,
        applied.position,
    )
    again = api.post("agent", path, body, idempotency_key="call-1")
    assert again.content == retry.content
    assert api.ledger.ticket(number).version == applied.version


def test_a_claim_left_by_a_dead_request_expires_and_the_retry_applies_the_command_once(
    api: Api,
) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    path, body = f"/tickets/{number}/comments", {"text": "called the customer"}
    died_holding(api, "agent", "call-1", path, body)
    early = api.post("agent", path, body, idempotency_key="call-1")
    assert (early.status_code, early.json()["code"]) == (409, "idempotency_key_in_use")
    assert early.headers["Retry-After"] == "1"
    api.app_services().claim_lease = timedelta(milliseconds=50)
    time.sleep(0.1)
    retry = api.post("agent", path, body, idempotency_key="call-1")
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    again = api.post("agent", path, body, idempotency_key="call-1")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert api.ledger.ticket(number).version == 2
