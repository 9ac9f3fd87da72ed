"""The requesters' portal: their customer's tickets only, a new ticket,
replies, and accepting, rejecting and rating a resolution. Nothing internal
is shown: the pages read what the API gives a requester's key."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ticketledger.api.access import Role
from ticketledger.api.attachments import Content
from ticketledger.api.http import schemas as s
from ticketledger.api.http import tickets
from ticketledger.api.http.deps import Commands
from ticketledger.api.web.render import page, see_other
from ticketledger.api.web.ticket_page import (
    Action,
    Outcome,
    form_fields,
    form_page,
    give,
    show_ticket,
    ticket_form,
)
from ticketledger.api.web.visits import Visit, checked_form, visitor
from ticketledger.domain.attachments import Attachment, name_of
from ticketledger.domain.vocabulary import Kind, Priority
from ticketledger.projections import quarantine

router = APIRouter(include_in_schema=False)
REQUESTERS = (Role.REQUESTER,)
PortalVisit = Annotated[Visit, Depends(visitor(Role.REQUESTER))]
CheckedForm = Annotated[FormData, Depends(checked_form)]
Number = Annotated[str, Path(pattern=s.NUMBER_PATTERN)]
ACTIONS = {
    "reply": Action(s.Reply, tickets.reply, REQUESTERS),
    "accept": Action(s.Accept, tickets.accept, REQUESTERS),
    "reject": Action(s.Reject, tickets.reject, REQUESTERS),
    "rate": Action(s.Rate, tickets.rate, REQUESTERS),
}
CONTENT_TYPE = re.compile(r"^[^/\s]{1,120}/[^/\s]{1,120}$")
# The most tickets the portal lists at once, newest first.
PORTAL_PAGE = 200
OPEN_KINDS = [k.value for k in Kind if k not in (Kind.WARRANTY_OF_MATERIAL, Kind.WARRANTY_OF_WORKS)]


def own_tickets(visit: Visit, wanted: str = "") -> list[dict[str, Any]]:
    """The customer's newest tickets (or those whose number or subject holds
    `wanted`), at most a page of them."""
    read = visit.reads()
    search = f"%{wanted.lower()}%"
    with read.rows("ticket_state") as rows:
        found = rows.all(
            "SELECT * FROM {tickets} WHERE customer = :customer AND "
            "(LOWER(number) LIKE :search OR LOWER(subject) LIKE :search) "
            "ORDER BY number DESC LIMIT :limit",
            {"customer": visit.person.customer, "search": search, "limit": PORTAL_PAGE},
        )
        return quarantine.visible(found, rows)


def contracts_of(visit: Visit, *, every: bool = False) -> list[dict[str, Any]]:
    """The customer's contracts: those it may open tickets on (active), or every one."""
    read = visit.reads()
    with read.rows("ticket_state") as rows:
        found = rows.all(
            "SELECT contract_id, customer, state FROM {contracts} WHERE customer = :customer "
            "ORDER BY contract_id",
            {"customer": visit.person.customer},
        )
    return [c for c in found if every or c["state"] == "active"]


@router.get("/portal")
def portal_page(
    request: Request, visit: PortalVisit, q: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    """The customer's tickets, or those whose number or subject holds `q`:
    a search looks among them only."""
    found = own_tickets(visit, (q or "").strip())
    return page(
        request,
        "portal_list.html",
        visit.words,
        visit=visit,
        csrf=visit.csrf,
        tickets=found,
        q=q or "",
        zones=zones_of(visit),
    )


def zones_of(visit: Visit) -> dict[str, str]:
    """The time zone of each of the customer's contracts: a ticket's times
    are written in its contract's."""
    read = visit.reads()
    return {
        str(c["contract_id"]): read.ledger.contract(
            UUID(str(c["contract_id"]))
        ).state.terms.timezone
        for c in contracts_of(visit, every=True)
    }


@router.get("/portal/new")
def new_ticket_page(request: Request, visit: PortalVisit) -> Response:
    return new_ticket_form(request, visit)


def new_ticket_form(
    request: Request,
    visit: Visit,
    status: int = 200,
    outcome: Outcome | None = None,
    kept: dict[str, Any] | None = None,
    *,
    held: bool = False,
) -> Response:
    return form_page(
        request,
        visit,
        "portal_new.html",
        status=status,
        outcome=outcome,
        contracts=contracts_of(visit),
        kinds=OPEN_KINDS,
        priorities=[p.value for p in Priority],
        kept=kept or {},
        held=held,
    )


@router.post("/portal/new")
async def open_ticket(request: Request, visit: PortalVisit, form: CheckedForm) -> Response:
    files = await attached(form)
    await run_in_threadpool(visit.services.attachments.keep, [content for content, _ in files])
    named = tuple(attachment for _, attachment in files)

    def open_with_files(body: s.OpenTicket, do: Commands) -> JSONResponse:
        return do.handle(tickets.opening(body, do, named), status=201)

    action = Action(s.OpenTicket, open_with_files, REQUESTERS)
    outcome, number = await run_in_threadpool(opened, visit, request, action, form)
    if outcome.code is None and number is None:
        # Held for triage: the requester is not authorised on the contract.
        return new_ticket_form(request, visit, outcome.status, held=True)
    if outcome.code is not None or number is None:
        return new_ticket_form(request, visit, outcome.status, outcome, form_fields(form))
    return see_other(f"/portal/tickets/{number}?done=opened")


async def attached(form: FormData) -> list[tuple[Content, Attachment]]:
    """The files chosen in the form, each kept by its hash and named as an
    event names it; a file input left empty sends a part with no name."""
    found = []
    for value in form.getlist("files"):
        if isinstance(value, str) or not value.filename:
            continue
        data = await value.read()
        digest = hashlib.sha256(data).hexdigest()
        kind = value.content_type or ""
        if not CONTENT_TYPE.match(kind):
            kind = "application/octet-stream"
        named = Attachment(
            name=name_of(value.filename), content_type=kind, size=len(data), sha256=digest
        )
        found.append((Content(digest, data), named))
    return found


def opened(
    visit: Visit, request: Request, action: Action, form: FormData
) -> tuple[Outcome, str | None]:
    outcome = give(visit, request, action, form)
    number = outcome.answer.get("number")
    return outcome, None if number is None else str(number)


@router.get("/portal/tickets/{number}")
def ticket_page(
    request: Request, number: Number, visit: PortalVisit, done: str | None = None
) -> Response:
    known = done if done in (*ACTIONS, "opened") else None
    return show_ticket(request, visit, number, "portal_ticket.html", done=known)


@router.get("/portal/tickets/{number}/files/{sha256}")
def ticket_file(number: Number, sha256: tickets.Sha256, visit: PortalVisit) -> Response:
    """A file of the ticket's public history, as the API serves it to a requester."""
    return tickets.attachment(number, sha256, visit.reads())


@router.post("/portal/tickets/{number}/{action}")
async def ticket_command(
    request: Request, number: Number, action: str, visit: PortalVisit, form: CheckedForm
) -> Response:
    back = f"/portal/tickets/{number}"
    return await run_in_threadpool(
        ticket_form, request, visit, number, action, ACTIONS, form, "portal_ticket.html", back
    )
