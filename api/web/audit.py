"""Auditors: a ticket's chronology (both times, the actor, each change, the
SLA clocks and hours after each step), its state as of a version or an
instant, the log's verification with its findings, the digests, and the
bundles an auditor checks offline. Everything here is read from the log
itself, as `ticketledger replay`, `as-of`, `verify` and `bundle` read it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ticketledger.api.access import Role
from ticketledger.api.http import schemas as s
from ticketledger.api.http.deps import Reads
from ticketledger.api.web.render import page, see_other
from ticketledger.api.web.visits import PageRefusal, Visit, visitor
from ticketledger.domain.errors import DomainError
from ticketledger.replay import bundle, integrity
from ticketledger.replay import chronology as replay
from ticketledger.replay.as_of import answer

router = APIRouter(include_in_schema=False)
AUDITORS = (Role.AUDITOR, Role.ADMIN)
AuditVisit = Annotated[Visit, Depends(visitor(*AUDITORS))]
Number = Annotated[str, Path(pattern=s.NUMBER_PATTERN)]
Moment = Annotated[str | None, Query(max_length=40)]


@router.get("/audit")
def audit_home(request: Request, visit: AuditVisit, number: str | None = None) -> Response:
    if number:
        found = number.strip()
        return see_other(f"/audit/tickets/{found}")
    stored = integrity.stored_digests(visit.reads().ledger)
    return page(request, "audit.html", visit.words, visit=visit, csrf=visit.csrf, digests=stored)


@router.get("/audit/verify")
def verify_page(request: Request, visit: AuditVisit) -> Response:
    ledger = visit.reads().ledger
    report = integrity.verify(ledger)
    stored = integrity.stored_digests(ledger)
    return page(
        request,
        "audit.html",
        visit.words,
        status=200 if report.ok else 409,
        visit=visit,
        csrf=visit.csrf,
        digests=stored,
        report=report,
    )


@router.get("/audit/digests.json")
def digests_download(visit: AuditVisit) -> Response:
    stored = integrity.stored_digests(visit.reads().ledger)
    return download(integrity.digests_document(stored), "digests.json", "application/json")


@router.get("/audit/tickets/{number}")
def chronology_page(
    request: Request,
    number: Number,
    visit: AuditVisit,
    version: Annotated[int | None, Query(ge=1, le=2**31)] = None,
    recorded_by: Moment = None,
    occurred_by: Moment = None,
) -> Response:
    read = visit.reads()
    found = replay.ticket_chronology(read.ledger, number)
    zone = read.ledger.contract(found.contract_id).state.terms.timezone
    asked = as_of(read, number, zone, version, recorded_by, occurred_by)
    return page(
        request,
        "audit_ticket.html",
        visit.words,
        status=422 if isinstance(asked, str) else 200,
        visit=visit,
        csrf=visit.csrf,
        number=number,
        chronology=found,
        zone=zone,
        as_of=asked if not isinstance(asked, str) else None,
        as_of_problem=asked if isinstance(asked, str) else None,
        asked={"version": version, "recorded_by": recorded_by, "occurred_by": occurred_by},
    )


def as_of(
    read: Reads,
    number: str,
    zone: str,
    version: int | None,
    recorded_by: str | None,
    occurred_by: str | None,
) -> Any:
    """The ticket as of the one question asked, or a sentence saying why not;
    None when nothing was asked. Instants typed without a zone are the contract's."""
    given = {k: v for k, v in (("r", recorded_by), ("o", occurred_by)) if v}
    if version is None and not given:
        return None
    try:
        instants = {k: instant_in(v, zone) for k, v in given.items()}
        events = replay.ticket_events(read.ledger, number)
        return answer(
            read.ledger,
            events,
            version=version,
            recorded_by=instants.get("r"),
            occurred_by=instants.get("o"),
        )
    except ValueError as error:
        return str(error)
    except DomainError as error:
        return error.message


def instant_in(text: str, zone: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time such as 2026-10-05T12:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed


@router.get("/audit/tickets/{number}/chronology.csv")
def chronology_csv(number: Number, visit: AuditVisit) -> Response:
    found = replay.ticket_chronology(visit.reads().ledger, number)
    return download(found.to_csv(), f"chronology-{number}.csv", "text/csv; charset=utf-8")


@router.get("/audit/tickets/{number}/chronology.json")
def chronology_json(number: Number, visit: AuditVisit) -> Response:
    found = replay.ticket_chronology(visit.reads().ledger, number)
    text = json.dumps(found.to_json(), indent=2, ensure_ascii=False)
    return download(text, f"chronology-{number}.json", "application/json")


@router.get("/audit/tickets/{number}/bundle.json")
def ticket_bundle(number: Number, visit: AuditVisit) -> Response:
    text = bundle.export_ticket(visit.reads().ledger, number, visit.person.name)
    return download(text, f"bundle-{number}.json", "application/json")


@router.get("/audit/statement-bundle.json")
def statement_bundle(
    visit: AuditVisit,
    contract: UUID,
    month: Annotated[str, Query(pattern=s.MONTH_PATTERN)],
) -> Response:
    read = visit.reads()
    read.contract(contract)
    text = bundle.export_statement(read.ledger, contract, month, visit.person.name)
    return download(text, f"bundle-{contract}-{month}.json", "application/json")


def download(text: str, name: str, media_type: str) -> Response:
    if "/" in name or "\\" in name:
        raise PageRefusal(400, "malformed_form")
    return Response(
        text,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
