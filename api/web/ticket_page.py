"""A ticket as its page shows it, to the desk or to its requester, and the
commands its forms give: each form names the version the page was read at,
so a change made meanwhile is shown, never overwritten.

A form's command runs through the API's own route function (api/http), with
the person as the caller and the form's own key as its Idempotency-Key: a
form sent twice (a double click, a reload) is applied once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from ticketledger.api.access import Role
from ticketledger.api.http.deps import Commands, Idempotency
from ticketledger.api.http.problems import ApiProblem, status_of
from ticketledger.api.web.render import (
    body_of,
    done_sentence,
    field_errors,
    page,
    see_other,
    sentence,
)
from ticketledger.api.web.visits import PageRefusal, Visit
from ticketledger.domain.errors import DomainError
from ticketledger.domain.ticket import Ticket, public_events, public_version
from ticketledger.domain.vocabulary import (
    CancellationReason,
    ClosureReason,
    Kind,
    LinkKind,
    Priority,
    Status,
    WorkCategory,
)
from ticketledger.projections import sla
from ticketledger.projections.runner import FollowerFailingError
from ticketledger.replay import chronology as replay

log = logging.getLogger(__name__)
# How often a second sending of a form asks again while the first still runs.
IN_USE_TRIES = 25
# Fields every form carries that are not the command's.
FORM_FIELDS = ("csrf", "version", "form_key")
# What the forms offer to choose from.
CHOICES = {
    "kinds": [k.value for k in Kind],
    "priorities": [p.value for p in Priority],
    "statuses": [x.value for x in Status if not x.is_final and x is not Status.RESOLVED],
    "categories": [c.value for c in WorkCategory],
    "closures": [c.value for c in ClosureReason],
    "cancellations": [c.value for c in CancellationReason],
    "link_kinds": [k.value for k in LinkKind],
}


@dataclass(frozen=True)
class Action:
    """A form's command: the API body it fills, the API route that runs it,
    the roles that route admits (called directly, a route does not check
    them: the API's dependency does, so the form does it here), and how its
    fields are read from the form; `zoned`: they hold times typed in the
    contract's zone, which is then looked up for them."""

    body: type[BaseModel]
    route: Callable[..., JSONResponse]
    roles: tuple[Role, ...]
    read: Callable[[dict[str, Any], str], dict[str, Any]] = field(default=lambda f, zone: f)
    zoned: bool = False


@dataclass(frozen=True)
class Message:
    """One entry of the thread: who said what, when, and to whom."""

    version: int
    occurred_at: datetime
    by: str
    kind: str
    text: str
    internal: bool
    attachments: tuple[Any, ...]


# The events a thread shows: the field holding their text, and what they are.
THREAD: dict[type, tuple[str, str]] = {
    Ticket.Opened: ("description", "Opening"),
    Ticket.AgentReplied: ("message", "Reply from the desk"),
    Ticket.RequesterReplied: ("message", "Reply from the requester"),
    Ticket.Commented: ("text", "Comment"),
    Ticket.Resolved: ("resolution", "Resolution"),
}


# What each step of a ticket's history was, in words a requester reads in
# their language (the desk reads the auditors' full sentences instead).
STEP_WORDS = {
    "Ticket.Opened": "Ticket opened",
    "Ticket.Reclassified": "Reclassified",
    "Ticket.Assigned": "Assigned to an agent",
    "Ticket.Escalated": "Escalated",
    "Ticket.AgentReplied": "The desk replied",
    "Ticket.RequesterReplied": "You replied",
    "Ticket.Commented": "Comment",
    "Ticket.WaitingOnCustomer": "Waiting for your answer",
    "Ticket.WaitingOnThirdParty": "Waiting on a third party",
    "Ticket.Resumed": "Work resumed",
    "Ticket.ContactAttemptFailed": "We could not reach you",
    "Ticket.WorkLogged": "Work logged",
    "Ticket.WorkCorrected": "Work corrected",
    "Ticket.OffHoursWorkAuthorised": "Off-hours work authorised",
    "Ticket.Resolved": "Resolved: waiting for your acceptance",
    "Ticket.AcceptanceGiven": "Resolution accepted",
    "Ticket.AcceptanceRejected": "Resolution rejected",
    "Ticket.Reopened": "Reopened",
    "Ticket.Closed": "Closed",
    "Ticket.Cancelled": "Cancelled",
    "Ticket.Rated": "Rated",
    "Ticket.RequesterNoticeSent": "Reminder sent to you",
    "Ticket.SlaWarningSent": "The desk was warned of a deadline",
    "Ticket.NoticeMailed": "E-mail sent to you",
    "Ticket.Linked": "Linked to another ticket",
}


def message_of(event: Any) -> Message | None:
    found = THREAD.get(type(event))
    if found is None:
        return None
    name, kind = found
    internal = isinstance(event, Ticket.Commented) and event.visibility.value == "internal"
    return Message(
        version=event.originator_version,
        occurred_at=event.occurred_at,
        by=event.by,
        kind=kind,
        text=str(getattr(event, name)),
        internal=internal,
        attachments=tuple(getattr(event, "attachments", ())),
    )


def ticket_context(visit: Visit, number: str) -> dict[str, Any]:
    """What a ticket's page shows: to a requester, its public history only."""
    read = visit.reads()
    public = visit.role is Role.REQUESTER
    ticket = read.ticket(number)
    terms = read.ledger.contract(ticket.state.contract_id).state.terms
    events = list(read.ledger.events_of(ticket.id))
    shown = public_events(events) if public else events
    version = public_version(events) if public else ticket.version
    found = replay.ticket_chronology(read.ledger, number, public=public)
    if public:
        found = found.as_seen_by_requester()
    now = read.instant(None)
    # The clocks are the SLA projection's: read once it holds the ticket's
    # last event, so a page never shows clocks older than its ticket.
    read.after = max(read.ledger.log_positions(ticket.id, ticket.version - 1).values())
    with read.rows("sla", ticket=number) as rows:
        clocks = sla.ticket_sla(rows, number, now)
    return {
        "number": number,
        "ticket": ticket.state,
        "version": version,
        "zone": terms.timezone,
        "terms": terms,
        "messages": [m for m in map(message_of, shown) if m is not None],
        "steps": list(reversed(found.steps)),
        "step_words": STEP_WORDS,
        "last_step": found.steps[-1] if found.steps else None,
        "clocks": clocks,
        "work": list(ticket.state.work.values()),
        "now": now,
    }


def form_fields(form: FormData) -> dict[str, Any]:
    """The command's fields: blank ones left out, so a body's defaults hold."""
    given: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name in FORM_FIELDS or not isinstance(value, str):
            continue
        if value.strip() != "":
            given[name] = value
    return given


def local_instant(text: str, zone: str) -> str:
    """A time typed in a page (no zone, as a browser's datetime-local sends
    it), read in the contract's zone, as the API takes it (aware ISO 8601)."""
    naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        return naive.isoformat()
    return naive.replace(tzinfo=ZoneInfo(zone)).isoformat()


def form_version(form: FormData) -> int | None:
    value = form.get("version")
    if not isinstance(value, str) or not value.isdigit():
        return None
    return int(value)


def fingerprint(request: Request, form: FormData) -> str:
    # Files are named by their hash in the command itself; the form's text decides.
    seen = "\n".join(
        f"{name}={value}"
        for name, value in sorted(form.multi_items(), key=lambda item: item[0])
        if name != "csrf" and isinstance(value, str)
    )
    return hashlib.sha256(f"{request.url.path}\n{seen}".encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What a form's command came to: done, or refused with a sentence."""

    status: int
    code: str | None = None
    detail: str = ""
    errors: tuple[str, ...] = ()
    # What the command wrote (the API's `Accepted`), when it was done.
    answer: Mapping[str, Any] = field(default_factory=dict)


def give(
    visit: Visit,
    request: Request,
    action: Action,
    form: FormData,
    *args: Any,
    zone: str = "UTC",
) -> Outcome:
    """Runs the form's command as the API route would, for this person."""
    words = visit.words
    if visit.role not in action.roles:
        return Outcome(403, "forbidden_for_role")
    try:
        body = action.body(**action.read(form_fields(form), zone))
    except (ValidationError, ValueError) as error:
        errors = field_errors(words, error) if isinstance(error, ValidationError) else [str(error)]
        return Outcome(422, "invalid_form", errors=tuple(errors))
    key = form.get("form_key")
    retry = None
    if isinstance(key, str) and 8 <= len(key) <= 64 and key.isascii():
        retry = Idempotency(f"form-{key}", fingerprint(request, form))
    do = Commands(
        visit.services, visit.person.principal, form_version(form), retry, request.url.path
    )
    try:
        response = answered(lambda: action.route(*args, body, do))
    except DomainError as error:
        return Outcome(status_of(error), error.code, error.message)
    except ApiProblem as problem:
        return Outcome(problem.status, problem.code, problem.detail)
    if response.status_code >= 400:
        found = body_of(response)
        return Outcome(response.status_code, str(found.get("code")), str(found.get("detail")))
    answer = body_of(response)
    shown_after(visit, int(answer.get("position") or 0))
    return Outcome(response.status_code, answer=answer)


def answered(run: Callable[[], JSONResponse]) -> JSONResponse:
    """The route's answer; while the same form's first sending still runs (a
    double click), waits for it, so the second gets the first's answer."""
    for _ in range(IN_USE_TRIES):
        try:
            return run()
        except ApiProblem as problem:
            if problem.code != "idempotency_key_in_use":
                raise
        time.sleep(0.2)
    return run()


def shown_after(visit: Visit, position: int) -> None:
    """The page after a form shows what it wrote: its lists are the
    projections', which are waited for (a few seconds at most; past that,
    what was written stands and the page catches up at the next reload)."""
    services = visit.services
    try:
        services.query_projector.wait(position, None, services.wait_seconds)
    except (TimeoutError, FollowerFailingError):  # /health reports a lagging projection
        log.warning("pages: projections did not reach %s in time", position)


def new_form_key() -> str:
    return uuid4().hex


def form_page(
    request: Request,
    visit: Visit,
    template: str,
    *,
    status: int = 200,
    outcome: Outcome | None = None,
    **context: Any,
) -> Response:
    """A page of forms for a signed-in person: each form gets the session's
    token and a key of its own; after a refused form, its sentence."""
    problem = None
    if outcome is not None and outcome.code is not None:
        problem = sentence(visit.words, outcome.code, outcome.detail)
    return page(
        request,
        template,
        visit.words,
        status=status,
        visit=visit,
        csrf=visit.csrf,
        form_key=new_form_key(),
        problem=problem,
        errors=outcome.errors if outcome else (),
        **context,
    )


def show_ticket(
    request: Request,
    visit: Visit,
    number: str,
    template: str,
    *,
    status: int = 200,
    done: str | None = None,
    outcome: Outcome | None = None,
    kept: Mapping[str, Any] | None = None,
    action: str | None = None,
) -> Response:
    """The ticket's page; after a refused form, with its sentence and what
    was typed kept in the form that was sent."""
    return form_page(
        request,
        visit,
        template,
        status=status,
        outcome=outcome,
        done=done_sentence(visit.words, done) if done else None,
        kept=dict(kept or {}),
        failed_action=action,
        changed_meanwhile=outcome is not None and outcome.code == "version_mismatch",
        **CHOICES,
        **ticket_context(visit, number),
    )


def after_form(
    request: Request,
    visit: Visit,
    number: str,
    action: str,
    outcome: Outcome,
    form: FormData,
    template: str,
    back: str,
) -> Response:
    if outcome.code is None:
        return see_other(f"{back}?done={action}")
    return show_ticket(
        request,
        visit,
        number,
        template,
        status=outcome.status,
        outcome=outcome,
        kept=form_fields(form),
        action=action,
    )


def ticket_form(
    request: Request,
    visit: Visit,
    number: str,
    action: str,
    actions: Mapping[str, Action],
    form: FormData,
    template: str,
    back: str,
) -> Response:
    """A ticket page's form: its command, then the ticket again (after a
    refusal, with the sentence and what was typed)."""
    found = actions.get(action)
    if found is None:
        raise PageRefusal(404, "not_found")
    zone = zone_of(visit, number) if found.zoned else "UTC"
    outcome = give(visit, request, found, form, number, zone=zone)
    return after_form(request, visit, number, action, outcome, form, template, back)


def zone_of(visit: Visit, number: str) -> str:
    """The ticket's contract's time zone, which times typed in its forms are in."""
    read = visit.reads()
    ticket = read.ticket(number)
    return read.ledger.contract(ticket.state.contract_id).state.terms.timezone
