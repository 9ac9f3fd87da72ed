"""The agents' desk: the queue, the off-hours queue, and a ticket's page with
every command the desk gives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ticketledger.api.access import Role
from ticketledger.api.http import contracts, tickets
from ticketledger.api.http import schemas as s
from ticketledger.api.http.deps import DESK, Commands
from ticketledger.api.http.problems import ApiProblem
from ticketledger.api.web.render import done_sentence, page, see_other
from ticketledger.api.web.ticket_page import (
    CHOICES,
    Action,
    Outcome,
    form_page,
    give,
    local_instant,
    show_ticket,
    ticket_form,
)
from ticketledger.api.web.visits import PageRefusal, Visit, checked_form, visitor
from ticketledger.projections import quarantine, queues, triage

router = APIRouter(include_in_schema=False)
DeskVisit = Annotated[Visit, Depends(visitor(Role.ADMIN, Role.AGENT))]
CheckedForm = Annotated[FormData, Depends(checked_form)]
Number = Annotated[str, Path(pattern=s.NUMBER_PATTERN)]
SLA_MARKS = ("breached", "at_risk")
# How often the live queue looks for news, and how long one stream lasts
# before the browser reconnects (a stream does not outlive its page for long).
LIVE_POLL_SECONDS = 2.0
LIVE_STREAM_SECONDS = 300.0


def work_minutes(fields: dict[str, Any], zone: str) -> dict[str, Any]:
    if "started_at" in fields:
        fields["started_at"] = local_instant(fields["started_at"], zone)
    fields["customer_caused"] = fields.get("customer_caused") == "on"
    return fields


ACTIONS = {
    "reply": Action(s.Reply, tickets.reply, DESK),
    "comment": Action(s.Comment, tickets.comment, DESK),
    "wait": Action(s.WaitOnCustomer, tickets.wait_on_customer, DESK),
    "wait-third-party": Action(s.WaitOnThirdParty, tickets.wait_on_third_party, DESK),
    "resume": Action(s.Resume, tickets.resume, DESK),
    "escalate": Action(s.Escalate, tickets.escalate, DESK),
    "reclassify": Action(s.Reclassify, tickets.reclassify, DESK),
    "assign": Action(s.Assign, tickets.assign, DESK),
    "work": Action(s.LogWork, tickets.log_work, DESK, work_minutes, zoned=True),
    "authorise-off-hours": Action(s.AuthoriseOffHours, tickets.authorise_off_hours, DESK),
    "resolve": Action(s.Resolve, tickets.resolve, DESK),
    "reopen": Action(s.Reopen, tickets.reopen, DESK),
    "close": Action(s.Close, tickets.close, DESK),
    "cancel": Action(s.Cancel, tickets.cancel, DESK),
    "link": Action(s.Link, tickets.link, DESK),
}


def chosen(value: str | None, allowed: list[str] | tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def queue_filters(request: Request) -> dict[str, Any]:
    """The queue's filters as given; an empty or unknown choice is no filter."""
    given = request.query_params
    level = given.get("level", "")
    return {
        "assignee": (given.get("assignee") or "").strip()[:200] or None,
        "customer": (given.get("customer") or "").strip()[:200] or None,
        "level": int(level) if level.isdigit() and 1 <= int(level) <= 9 else None,
        "status": chosen(given.get("status"), CHOICES["statuses"]),
        "kind": chosen(given.get("kind"), CHOICES["kinds"]),
        "sla": chosen(given.get("sla"), SLA_MARKS),
    }


def queue_context(visit: Visit, filters: dict[str, Any], *, off_hours: bool) -> dict[str, Any]:
    read = visit.reads()
    now = read.instant(None)
    wanted = {k: v for k, v in filters.items() if k != "sla"}
    with read.rows("queues") as rows:
        if off_hours:
            found = queues.off_hours_queue(rows, now)
        else:
            found = queues.work_queue(rows, **wanted, now=now)
        entries = quarantine.visible(found, rows)
        contracts = rows.all("SELECT contract_id, customer, terms_json FROM {contracts}")
    if filters.get("sla"):
        entries = [e for e in entries if e.get("sla") == filters["sla"]]
    zones = {str(c["contract_id"]): json.loads(c["terms_json"])["timezone"] for c in contracts}
    return {
        "entries": entries,
        "zones": zones,
        "customers": sorted({str(c["customer"]) for c in contracts}),
        "filters": filters,
        "now": now,
        "off_hours": off_hours,
        **CHOICES,
    }


QUEUE_QUERY = ("assignee", "customer", "level", "status", "kind", "sla", "part")


@router.get("/desk")
def queue_page(
    request: Request,
    visit: DeskVisit,
    assignee: str | None = None,
    customer: str | None = None,
    level: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    sla: str | None = None,
    part: str | None = None,
) -> Response:
    filters = queue_filters(request)
    context = queue_context(visit, filters, off_hours=False)
    template = "queue_table.html" if part == "table" else "desk_queue.html"
    return page(request, template, visit.words, visit=visit, csrf=visit.csrf, **context)


@router.get("/desk/off-hours")
def off_hours_page(request: Request, visit: DeskVisit, part: str | None = None) -> Response:
    context = queue_context(visit, {}, off_hours=True)
    template = "queue_table.html" if part == "table" else "desk_queue.html"
    return page(request, template, visit.words, visit=visit, csrf=visit.csrf, **context)


@router.get("/desk/changes")
async def queue_changes(request: Request, visit: DeskVisit) -> EventSourceResponse:
    """A `changed` event each time the queues have applied something new:
    the page then fetches its table again (htmx, `sse:changed`)."""
    projector = visit.services.projector

    async def changes() -> AsyncIterator[dict[str, str]]:
        seen = projector.position("queues")
        loop = asyncio.get_running_loop()
        ends = loop.time() + LIVE_STREAM_SECONDS
        while loop.time() < ends and not await request.is_disconnected():
            await asyncio.sleep(LIVE_POLL_SECONDS)
            now = await run_in_threadpool(projector.position, "queues")
            if now != seen:
                seen = now
                yield {"event": "changed", "data": str(now)}

    return EventSourceResponse(changes(), ping=15)


@router.get("/desk/tickets/{number}")
def ticket_page(
    request: Request, number: Number, visit: DeskVisit, done: str | None = None
) -> Response:
    return show_ticket(request, visit, number, "desk_ticket.html", done=chosen(done, [*ACTIONS]))


@router.get("/desk/tickets/{number}/files/{sha256}")
def ticket_file(number: Number, sha256: tickets.Sha256, visit: DeskVisit) -> Response:
    """A file that came with a message, as the API serves it: a download."""
    return tickets.attachment(number, sha256, visit.reads())


@router.post("/desk/tickets/{number}/{action}")
async def ticket_command(
    request: Request, number: Number, action: str, visit: DeskVisit, form: CheckedForm
) -> Response:
    back = f"/desk/tickets/{number}"
    return await run_in_threadpool(
        ticket_form, request, visit, number, action, ACTIONS, form, "desk_ticket.html", back
    )


# Triage: requests held because their sender is not authorised.


class Release(BaseModel):
    """Releasing a held request: the contract to open it on, when it was
    held with none; an admin may authorise its sender on the way."""

    model_config = ConfigDict(extra="forbid")
    contract_id: UUID | None = None
    authorise: bool = False


def release(held_id: UUID, body: Release, do: Commands) -> JSONResponse:
    if body.authorise:
        if do.caller.role is not Role.ADMIN:
            raise ApiProblem(403, "forbidden_for_role", "only admins authorise requesters")
        held = do.ledger.held_request(held_id)
        contract_id = body.contract_id or held.contract_id
        if contract_id is None:
            raise ApiProblem(422, "contract_missing", "choose the contract to authorise on")
        if do.ledger.contract(contract_id).state.is_authorised(held.requester):
            # Authorised already (a second request of the sender, a retry):
            # the release is what is left to do.
            return contracts.release_held(held_id, do, body.contract_id)
        signed = contracts.authorise_requester(
            contract_id,
            s.AuthoriseRequester(requester=held.requester),
            replace(do, version=None, retry=None),
        )
        if signed.status_code >= 400:
            return signed
    return contracts.release_held(held_id, do, body.contract_id)


TRIAGE = {
    "release": Action(Release, release, DESK, lambda f, zone: {**f, "authorise": "authorise" in f}),
    "discard": Action(s.DiscardHeld, contracts.discard_held, DESK),
}
HELD_STATES = ("held", "released", "discarded", "all")


@router.get("/desk/triage")
def triage_page(
    request: Request, visit: DeskVisit, state: str | None = None, done: str | None = None
) -> Response:
    return show_triage(request, visit, chosen(state, HELD_STATES) or "held", done=done)


def show_triage(
    request: Request,
    visit: Visit,
    state: str,
    *,
    status: int = 200,
    done: str | None = None,
    outcome: Outcome | None = None,
) -> Response:
    read = visit.reads()
    with read.rows(triage.TriageProjection.name) as rows:
        found = triage.held_requests(rows, None if state == "all" else state, limit=500)
        held = quarantine.visible(found, rows)
    with read.rows("ticket_state") as rows:
        signed = rows.all("SELECT contract_id, customer FROM {contracts} ORDER BY customer")
    return form_page(
        request,
        visit,
        "desk_triage.html",
        status=status,
        outcome=outcome,
        held=held,
        state=state,
        states=HELD_STATES,
        contracts=signed,
        done=done_sentence(visit.words, done) if done in TRIAGE else None,
    )


@router.post("/desk/triage/{held_id}/{action}")
async def triage_command(
    request: Request, held_id: UUID, action: str, visit: DeskVisit, form: CheckedForm
) -> Response:
    found = TRIAGE.get(action)
    if found is None:
        raise PageRefusal(404, "not_found")
    outcome = await run_in_threadpool(give, visit, request, found, form, held_id)
    if outcome.code is None:
        return see_other(f"/desk/triage?done={action}")
    return await run_in_threadpool(
        partial(show_triage, status=outcome.status, outcome=outcome),
        request,
        visit,
        "held",
    )
