"""Ticket routes: one command or one read each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic_core import to_jsonable_python

from ticketledger.api.access import Role
from ticketledger.api.http import schemas as s
from ticketledger.api.http.deps import (
    DESK,
    REQUESTER_WRITERS,
    SUPERVISORS,
    TICKET_READERS,
    Commands,
    NowQuery,
    Reads,
    commands,
    reads,
)
from ticketledger.api.http.problems import COMMON_RESPONSES, ApiProblem
from ticketledger.domain.attachments import SHA256, Attachment
from ticketledger.domain.errors import TicketNotFoundError
from ticketledger.domain.ticket import public_events, public_history
from ticketledger.domain.vocabulary import Kind, Priority, Status
from ticketledger.projections import hours, quarantine, sla, ticket_state
from ticketledger.projections.store import unstamp, unstamp_or_none
from ticketledger.replay import chronology as replay
from ticketledger.replay.as_of import answer
from ticketledger.service import commands as c

router = APIRouter(responses=COMMON_RESPONSES)
Route = Callable[..., JSONResponse]
Number = Annotated[str, Path(pattern=s.NUMBER_PATTERN, examples=["2026-000123"])]
EntryId = Annotated[UUID, Path(examples=["6f1c3a52-9d1e-4f0a-8a55-0d3b1f2e7c44"])]
DeskCommands = Annotated[Commands, Depends(commands(*DESK))]
RequesterCommands = Annotated[Commands, Depends(commands(*REQUESTER_WRITERS))]
TicketReads = Annotated[Reads, Depends(reads(*TICKET_READERS))]
ACCEPTED: dict[int | str, dict[str, Any]] = {200: {"model": s.Accepted}}
OPENED: dict[int | str, dict[str, Any]] = {
    201: {"model": s.Accepted, "description": "opened"},
    202: {"model": s.Accepted, "description": "held for triage: the sender is not authorised"},
}
HOUR_READERS = (Role.ADMIN, Role.AGENT, Role.AUDITOR, Role.BILLING)


def command(path: str, summary: str) -> Callable[[Route], Route]:
    return router.post(path, tags=["tickets"], summary=summary, responses=ACCEPTED)


# Opening.


@router.post("/tickets", tags=["tickets"], summary="Open a ticket", responses=OPENED)
def open_ticket(body: s.OpenTicket, do: RequesterCommands) -> JSONResponse:
    return do.handle(opening(body, do), status=201)


def opening(
    body: s.OpenTicket, do: Commands, attachments: tuple[Attachment, ...] = ()
) -> c.OpenTicket:
    """The opening a caller may give: a requester opens on its own customer's
    contract, as itself. The pages give files with it (kept before by hash)."""
    requester = body.requester
    if do.caller.role is Role.REQUESTER:
        do.contract(body.contract_id)
        if requester not in (None, do.caller.requester):
            raise ApiProblem(422, "requester_mismatch", "a requester opens tickets as itself")
        requester = do.caller.requester
    if requester is None:
        raise ApiProblem(422, "requester_missing", "name the requester the ticket is for")
    when = do.occurred(body.occurred_at)
    return c.OpenTicket(
        contract_id=body.contract_id,
        requester=requester,
        channel=body.channel,
        kind=body.kind,
        priority=body.priority,
        subject=body.subject,
        description=body.description,
        attachments=attachments,
        by=do.by,
        occurred_at=when,
    )


# Commands on a ticket: `on_ticket` loads the ticket first, so a requester
# asking about another customer's ticket gets 404 before anything runs.


@command("/tickets/{number}/reclassification", "Change kind, priority or level")
def reclassify(number: Number, body: s.Reclassify, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(
        number,
        c.Reclassify,
        body.occurred_at,
        kind=body.kind,
        priority=body.priority,
        level=body.level,
        reason=body.reason,
    )


@command("/tickets/{number}/assignment", "Assign to an agent")
def assign(number: Number, body: s.Assign, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(number, c.Assign, body.occurred_at, assignee=body.assignee)


@command("/tickets/{number}/escalation", "Escalate one level")
def escalate(number: Number, body: s.Escalate, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(number, c.Escalate, body.occurred_at, reason=body.reason)


@command("/tickets/{number}/replies", "Reply (as the agent, or as the requester)")
def reply(number: Number, body: s.Reply, do: RequesterCommands) -> JSONResponse:
    as_requester = do.caller.role is Role.REQUESTER
    reply = c.ReplyAsRequester if as_requester else c.ReplyAsAgent
    return do.on_ticket(number, reply, body.occurred_at, message=body.message)


@command("/tickets/{number}/comments", "Comment (internal by default)")
def comment(number: Number, body: s.Comment, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(
        number, c.Comment, body.occurred_at, text=body.text, visibility=body.visibility
    )


@command("/tickets/{number}/waiting-on-customer", "Wait on the customer")
def wait_on_customer(number: Number, body: s.WaitOnCustomer, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(number, c.WaitOnCustomer, body.occurred_at, reason=body.reason)


@command("/tickets/{number}/waiting-on-third-party", "Wait on a third party")
def wait_on_third_party(number: Number, body: s.WaitOnThirdParty, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(
        number,
        c.WaitOnThirdParty,
        body.occurred_at,
        third_party=body.third_party,
        reason=body.reason,
    )


@command("/tickets/{number}/resumption", "Resume after waiting")
def resume(number: Number, body: s.Resume, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(number, c.Resume, body.occurred_at, reason=body.reason)


@command("/tickets/{number}/failed-contacts", "Record a failed contact attempt")
def failed_contact(number: Number, body: s.FailedContact, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(
        number,
        c.RecordFailedContact,
        body.occurred_at,
        channel=body.channel,
        note=body.note,
    )


@command("/tickets/{number}/work", "Log work")
def log_work(number: Number, body: s.LogWork, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(
        number,
        c.LogWork,
        body.occurred_at,
        agent=body.agent or do.by,
        started_at=body.started_at,
        duration=body.duration,
        category=body.category,
        customer_caused=body.customer_caused,
        note=body.note,
        entry_id=body.entry_id,
    )


@command("/tickets/{number}/work/{entry_id}/correction", "Correct a work entry")
def correct_work(
    number: Number, entry_id: EntryId, body: s.CorrectWork, do: DeskCommands
) -> JSONResponse:
    return do.on_ticket(
        number,
        c.CorrectWork,
        body.occurred_at,
        entry_id=entry_id,
        duration=body.duration,
        category=body.category,
        customer_caused=body.customer_caused,
        reason=body.reason,
    )


@command("/tickets/{number}/off-hours-authorisation", "Record the customer's off-hours go-ahead")
def authorise_off_hours(
    number: Number, body: s.AuthoriseOffHours, do: DeskCommands
) -> JSONResponse:
    return do.on_ticket(
        number,
        c.AuthoriseOffHoursWork,
        body.occurred_at,
        authorised_by=body.authorised_by,
        note=body.note,
    )


@command("/tickets/{number}/resolution", "Resolve")
def resolve(number: Number, body: s.Resolve, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(number, c.ResolveTicket, body.occurred_at, resolution=body.resolution)


@command("/tickets/{number}/acceptance", "Accept the resolution")
def accept(number: Number, body: s.Accept, do: RequesterCommands) -> JSONResponse:
    return do.on_ticket(number, c.AcceptResolution, body.occurred_at, comment=body.comment)


@command("/tickets/{number}/rejection", "Reject the resolution")
def reject(number: Number, body: s.Reject, do: RequesterCommands) -> JSONResponse:
    return do.on_ticket(number, c.RejectResolution, body.occurred_at, reason=body.reason)


@command("/tickets/{number}/reopening", "Reopen a resolved ticket")
def reopen(number: Number, body: s.Reopen, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(number, c.ReopenTicket, body.occurred_at, reason=body.reason)


@command("/tickets/{number}/closure", "Close (acceptance deemed, customer silent, ...)")
def close(number: Number, body: s.Close, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(number, c.CloseTicket, body.occurred_at, reason=body.reason, note=body.note)


@command("/tickets/{number}/cancellation", "Cancel (duplicate, opened by mistake)")
def cancel(number: Number, body: s.Cancel, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(
        number,
        c.CancelTicket,
        body.occurred_at,
        reason=body.reason,
        duplicate_of=body.duplicate_of,
        note=body.note,
    )


@command("/tickets/{number}/rating", "Rate the service, once, from 1 to 5")
def rate(number: Number, body: s.Rate, do: RequesterCommands) -> JSONResponse:
    return do.on_ticket(
        number, c.RateTicket, body.occurred_at, score=body.score, comment=body.comment
    )


@command("/tickets/{number}/links", "Link to another ticket")
def link(number: Number, body: s.Link, do: DeskCommands) -> JSONResponse:
    return do.on_ticket(
        number, c.LinkTickets, body.occurred_at, other=body.other, link_kind=body.link_kind
    )


# Reads.


def ticket_view(row: dict[str, Any], read: Reads) -> s.TicketView:
    view = {k: v for k, v in row.items() if k in s.TicketView.model_fields}
    for name in ("opened_at", "last_activity_at"):
        view[name] = unstamp(row[name])
    for name in ("first_response_at", "resolved_at", "closed_at", "waiting_since"):
        view[name] = unstamp_or_none(row[name])
    view["work_minutes"] = int(row["work_microseconds"]) / 60_000_000
    if read.caller.role is Role.REQUESTER:
        view["comments"] = None
        view.update(public_figures(read, UUID(str(row["ticket_id"])), int(row["version"])))
    return s.TicketView(**view)


def public_figures(read: Reads, ticket_id: UUID, version: int) -> dict[str, Any]:
    """Version, last activity and position as the requester sees them: of the
    public events among the ticket's first `version`, so nothing moves when
    only an internal note is added."""
    public = public_events(read.ledger.events.get(ticket_id, lte=version))
    last = public[-1]
    return {
        "version": len(public),
        "last_activity_at": last.occurred_at,
        "last_activity_by": last.by,
        "position": read.ledger.log_positions(ticket_id)[last.originator_version],
    }


@router.get(
    "/tickets/{number}",
    tags=["ticket reads"],
    summary="A ticket's current state; the ETag is its version",
    response_model=s.TicketView,
)
def get_ticket(number: Number, read: TicketReads) -> JSONResponse:
    found = read.one("ticket_state", ticket_state.FIND_TICKET, {"number": number}, ticket=number)
    view = ticket_view(read.ticket_row(found, number), read)
    return JSONResponse(view.model_dump(mode="json"), headers={"ETag": f'"{view.version}"'})


@router.get(
    "/tickets",
    tags=["ticket reads"],
    summary="List and search tickets, by number, a page at a time",
    response_model=s.TicketPage,
)
def list_tickets(
    read: TicketReads,
    status: Status | None = None,
    kind: Kind | None = None,
    priority: Priority | None = None,
    level: Annotated[int | None, Query(ge=1, le=9)] = None,
    assignee: Annotated[s.SearchText | None, Query()] = None,
    customer: Annotated[s.SearchText | None, Query()] = None,
    requester: Annotated[s.SearchText | None, Query()] = None,
    contract_id: UUID | None = None,
    cursor: Annotated[
        str | None, Query(pattern=s.NUMBER_PATTERN, description="the previous page's next_cursor")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> s.TicketPage:
    if read.caller.role is Role.REQUESTER:
        if customer not in (None, read.caller.customer):
            return s.TicketPage(tickets=[], next_cursor=None)
        customer = read.caller.customer
    filters = dict(
        status=status,
        kind=kind,
        priority=priority,
        level=level,
        assignee=assignee,
        customer=customer,
        requester=requester,
        contract_id=None if contract_id is None else str(contract_id),
    )
    with read.rows("ticket_state") as rows:
        page = ticket_state.list_tickets(rows, filters, after=cursor, limit=limit)
        shown = quarantine.visible(page.tickets, rows)
    return s.TicketPage(
        tickets=[ticket_view(row, read) for row in shown], next_cursor=page.next_cursor
    )


@router.get(
    "/tickets/{number}/events",
    tags=["ticket reads"],
    summary="A ticket's events, in order, from the log itself",
    response_model=list[s.EventView],
)
def ticket_events(number: Number, read: TicketReads) -> list[s.EventView]:
    ticket = read.ticket(number)
    events = list(read.ledger.events_of(ticket.id))
    if read.caller.role is Role.REQUESTER:
        events = public_history(events)
    return [event_view(event) for event in events]


ENVELOPE = ("originator_id", "originator_version", "timestamp", "occurred_at", "by")
Sha256 = Annotated[
    str,
    Path(
        pattern=SHA256,
        description="the file's SHA-256, as the ticket's events name it",
        examples=["38523c087796e5d5dd1cf9bad1fb026781a838dd9dd2cf8af58b9f6502a46778"],
    ),
]


@router.get(
    "/tickets/{number}/attachments/{sha256}",
    tags=["ticket reads"],
    summary="A file that came with a message of the ticket, as its events name it",
    response_class=Response,
    responses={
        200: {
            "description": "the file, as an attachment of its own type",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
def attachment(number: Number, sha256: Sha256, read: TicketReads) -> Response:
    ticket = read.ticket(number)
    events = list(read.ledger.events_of(ticket.id))
    if read.caller.role is Role.REQUESTER:
        events = public_events(events)
    named = next(
        (a for e in events for a in getattr(e, "attachments", ()) if a.sha256 == sha256), None
    )
    if named is None:
        raise ApiProblem(404, "attachment_not_found", f"ticket {number} has no file {sha256}")
    content = read.services.attachments.content(sha256)
    if content is None:
        raise ApiProblem(500, "attachment_missing", f"the content of {sha256} is not kept")
    return Response(content, media_type=named.content_type, headers=served_as_file(named.name))


def served_as_file(name: str) -> dict[str, str]:
    """Downloaded, never shown in the API's origin: a file is the sender's."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    return {
        "Content-Disposition": f'attachment; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }


def event_view(event: Any) -> s.EventView:
    data = {k: v for k, v in vars(event).items() if k not in ENVELOPE}
    return s.EventView(
        version=event.originator_version,
        type=type(event).__qualname__,
        recorded_at=event.timestamp,
        occurred_at=getattr(event, "occurred_at", None),
        by=getattr(event, "by", None),
        data=to_jsonable_python(data),
    )


@router.get(
    "/tickets/{number}/sla",
    tags=["ticket reads"],
    summary="A ticket's SLA clocks: targets, elapsed business time, due instants, status",
    response_model=s.TicketSla,
)
def ticket_sla(number: Number, read: TicketReads, now: NowQuery = None) -> dict[str, Any]:
    at = read.instant(now)
    with read.rows("sla", ticket=number) as rows:
        read.ticket_row(sla.find_clocks(rows, number), number)
        return sla.ticket_sla(rows, number, at)


@router.get(
    "/tickets/{number}/hours",
    tags=["ticket reads"],
    summary="Work logged on a ticket and not yet posted to the hour ledger",
    response_model=list[s.PendingHours],
)
def pending_hours(
    number: Number, read: Annotated[Reads, Depends(reads(*HOUR_READERS))]
) -> list[s.PendingHours]:
    with read.rows("hours", ticket=number) as rows:
        entries = hours.pending_hours(rows, read.ledger.ticket(number).id)
    return [
        s.PendingHours(
            entry_id=e.entry_id,
            started_at=e.started_at,
            minutes=e.duration.total_seconds() / 60,
            category=e.category.value,
            customer_caused=e.customer_caused,
            off_hours_minutes=e.off_hours.total_seconds() / 60,
        )
        for e in entries
    ]


# The auditors' replay, straight from the log (no projection): what a
# requester reads of it leaves out internal comments, as /events does.

CHRONOLOGY_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "model": s.ChronologyView,
        "description": "every event in order, its changes, and the SLA clocks and hours after it",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
AT = "2026-10-05T12:00:00+00:00"
LATER = "at most a year after the ledger's clock"


def readable_events(read: Reads, number: str) -> list[Any]:
    events = replay.ticket_events(read.ledger, number)
    read.check_customer(events[0].customer, TicketNotFoundError(f"no ticket {number}"))
    return events


@router.get(
    "/tickets/{number}/chronology",
    tags=["ticket reads"],
    summary="A ticket's chronology: each event's changes, SLA clocks and hours, as JSON or CSV",
    responses=CHRONOLOGY_CONTENT,
    response_model=None,
)
def get_chronology(
    number: Number,
    read: TicketReads,
    format: Annotated[Literal["json", "csv"], Query(examples=["csv"])] = "json",
) -> Response:
    public = read.caller.role is Role.REQUESTER
    found = replay.ticket_chronology(read.ledger, number, public=public)
    read.check_customer(found.customer, TicketNotFoundError(f"no ticket {number}"))
    if read.caller.role is Role.REQUESTER:
        found = found.as_seen_by_requester()
    if format == "csv":
        return Response(found.to_csv(), media_type="text/csv; charset=utf-8")
    return JSONResponse(found.to_json())


@router.get(
    "/tickets/{number}/as-of",
    tags=["ticket reads"],
    summary="A ticket's state, SLA figures and hours at a version, or as recorded or "
    "as occurred by an instant",
    response_model=s.TicketAsOf,
)
def get_as_of(
    number: Number,
    read: TicketReads,
    version: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**31,
            examples=[3],
            description="the first N events; SLA at the N-th event's occurred time",
        ),
    ] = None,
    recorded_by: Annotated[
        s.Instant | None,
        Query(examples=[AT], description=f"what the ledger had recorded by then; {LATER}"),
    ] = None,
    occurred_by: Annotated[
        s.Instant | None,
        Query(examples=[AT], description=f"what had happened by then, as known now; {LATER}"),
    ] = None,
) -> dict[str, Any]:
    events = readable_events(read, number)
    if [version, recorded_by, occurred_by].count(None) != 2:
        raise ApiProblem(
            422,
            "as_of_needs_one_question",
            "ask with exactly one of version, recorded_by, occurred_by",
        )
    found = answer(
        read.ledger,
        events,
        public=read.caller.role is Role.REQUESTER,
        version=version,
        recorded_by=None if recorded_by is None else read.instant(recorded_by),
        occurred_by=None if occurred_by is None else read.instant(occurred_by),
    )
    if read.caller.role is Role.REQUESTER:
        found = found.as_seen_by_requester()
    return found.to_json()


__all__ = ["SUPERVISORS", "router"]
