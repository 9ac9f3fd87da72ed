"""Contract, triage and report routes: one command or one read each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from ticketledger.api.access import Role
from ticketledger.api.http import schemas as s
from ticketledger.api.http.deps import (
    BILLING_READERS,
    DESK,
    EVERYONE,
    SUPERVISORS,
    Commands,
    NowQuery,
    Reads,
    commands,
    reads,
)
from ticketledger.api.http.problems import COMMON_RESPONSES
from ticketledger.api.statements import entry_line, issue_month
from ticketledger.domain.billing import Statement
from ticketledger.domain.errors import HeldRequestNotFoundError
from ticketledger.domain.vocabulary import Kind, Status
from ticketledger.projections import deadlines, hours, quarantine, queues, sla, triage
from ticketledger.service import commands as c

router = APIRouter(responses=COMMON_RESPONSES)
Route = Callable[..., JSONResponse]
ContractId = Annotated[UUID, Path(examples=["0b6f8a8e-3c55-4f2e-9a43-5d8f8a1e2c10"])]
HeldId = Annotated[UUID, Path(examples=["3d0f5c1e-7a2b-4c8d-9e6f-1a2b3c4d5e6f"])]
Month = Annotated[str, Path(pattern=s.MONTH_PATTERN, examples=["2026-10"])]
AdminCommands = Annotated[Commands, Depends(commands(Role.ADMIN))]
DeskCommands = Annotated[Commands, Depends(commands(*DESK))]
ACCEPTED: dict[int | str, dict[str, Any]] = {200: {"model": s.Accepted}}


def contract_command(path: str, summary: str) -> Callable[[Route], Route]:
    return router.post(path, tags=["contracts"], summary=summary, responses=ACCEPTED)


# Contracts.


@router.post(
    "/contracts",
    tags=["contracts"],
    summary="Sign a contract",
    responses={201: {"model": s.Accepted, "description": "signed"}},
)
def sign_contract(body: s.SignContract, do: AdminCommands) -> JSONResponse:
    return do.handle(
        c.SignContract(terms=body.terms, by=do.by, occurred_at=body.occurred_at),
        status=201,
    )


@contract_command("/contracts/{contract_id}/authorised-requesters", "Authorise a requester")
def authorise_requester(
    contract_id: ContractId, body: s.AuthoriseRequester, do: AdminCommands
) -> JSONResponse:
    return do.on(contract_id, c.AuthoriseRequester, body.occurred_at, requester=body.requester)


@contract_command("/contracts/{contract_id}/revoked-requesters", "Revoke a requester")
def revoke_requester(
    contract_id: ContractId, body: s.RevokeRequester, do: AdminCommands
) -> JSONResponse:
    return do.on(
        contract_id,
        c.RevokeRequester,
        body.occurred_at,
        requester=body.requester,
        reason=body.reason,
    )


@contract_command("/contracts/{contract_id}/plan-changes", "Change the plan from a date")
def change_plan(contract_id: ContractId, body: s.ChangePlan, do: AdminCommands) -> JSONResponse:
    return do.on(
        contract_id,
        c.ChangePlan,
        body.occurred_at,
        terms=body.terms,
        effective_on=body.effective_on,
        reason=body.reason,
    )


@contract_command("/contracts/{contract_id}/suspension", "Suspend the contract")
def suspend(contract_id: ContractId, body: s.ContractDecision, do: AdminCommands) -> JSONResponse:
    return do.on(contract_id, c.SuspendContract, body.occurred_at, reason=body.reason)


@contract_command("/contracts/{contract_id}/reinstatement", "Reinstate a suspended contract")
def reinstate(contract_id: ContractId, body: s.ContractDecision, do: AdminCommands) -> JSONResponse:
    return do.on(contract_id, c.ReinstateContract, body.occurred_at, reason=body.reason)


@contract_command("/contracts/{contract_id}/ending", "End the contract")
def end(contract_id: ContractId, body: s.ContractDecision, do: AdminCommands) -> JSONResponse:
    return do.on(contract_id, c.EndContract, body.occurred_at, reason=body.reason)


@router.get(
    "/contracts",
    tags=["contracts"],
    summary="Contracts, with their customer and state",
    response_model=list[s.ContractSummary],
)
def list_contracts(read: Annotated[Reads, Depends(reads(*EVERYONE))]) -> list[dict[str, Any]]:
    with read.rows("ticket_state") as rows:
        found = rows.all("SELECT * FROM {contracts} ORDER BY customer, contract_id")
        found = quarantine.visible(found, rows)
    return [row for row in found if read.caller.sees_customer(row["customer"])]


@router.get(
    "/contracts/{contract_id}",
    tags=["contracts"],
    summary="A contract: terms in force, plan history, authorised requesters; ETag is its version",
    response_model=s.ContractView,
)
def get_contract(
    contract_id: ContractId, read: Annotated[Reads, Depends(reads(*EVERYONE))]
) -> JSONResponse:
    contract = read.contract(contract_id)
    view = s.ContractView(
        contract_id=contract.id,
        customer=contract.state.customer,
        state=contract.state.standing.value,
        version=contract.version,
        terms=contract.state.terms,
        plan_history=[
            s.PlanPeriod(effective_on=day, plan=terms.plan)
            for day, terms in contract.state.terms_history
        ],
        authorised_requesters=sorted(contract.state.authorised_requesters),
        issued_months=sorted(contract.state.issued_months),
    )
    return JSONResponse(view.model_dump(mode="json"), headers={"ETag": f'"{contract.version}"'})


# Triage.


@router.post(
    "/held-requests/{held_id}/release",
    tags=["triage"],
    summary="Open the held request as a ticket, once its sender is authorised",
    responses={201: {"model": s.Accepted}},
)
def release_held(
    held_id: HeldId,
    do: DeskCommands,
    contract_id: Annotated[
        UUID | None,
        Query(
            description="the contract to open it on: needed when the request was held "
            "with no contract, and refused when it names another than the one it was held for"
        ),
    ] = None,
) -> JSONResponse:
    do.ledger.held_request(held_id)
    return do.handle(
        c.ReleaseHeldRequest(
            held_id=held_id, contract_id=contract_id, by=do.by, expected_version=do.version
        ),
        status=201,
    )


@router.post(
    "/held-requests/{held_id}/discard",
    tags=["triage"],
    summary="Discard a held request",
    responses=ACCEPTED,
)
def discard_held(held_id: HeldId, body: s.DiscardHeld, do: DeskCommands) -> JSONResponse:
    return do.handle(
        c.DiscardHeldRequest(
            held_id=held_id,
            reason=body.reason,
            by=do.by,
            occurred_at=body.occurred_at,
            expected_version=do.version,
        )
    )


@router.get(
    "/held-requests",
    tags=["triage"],
    summary="Requests held for triage, oldest first: those still held, or those decided",
    response_model=list[s.HeldRequestEntry],
)
def list_held(
    read: Annotated[Reads, Depends(reads(*SUPERVISORS))],
    state: Annotated[
        Literal["held", "released", "discarded", "all"],
        Query(description="which ones: those still held (the default), decided, or all"),
    ] = "held",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    wanted = None if state == "all" else state
    with read.rows(triage.TriageProjection.name) as rows:
        return quarantine.visible(triage.held_requests(rows, wanted, limit), rows)


@router.get(
    "/held-requests/{held_id}",
    tags=["triage"],
    summary="A held request and what became of it",
    response_model=s.HeldRequestView,
)
def get_held(
    held_id: HeldId, read: Annotated[Reads, Depends(reads(*SUPERVISORS))]
) -> s.HeldRequestView:
    held = read.ledger.held_request(held_id)
    if held.held_at is None:
        raise HeldRequestNotFoundError(f"no held request {held_id}")
    return s.HeldRequestView(
        held_id=held.id,
        contract_id=held.contract_id,
        requester=held.requester,
        channel=held.channel.value,
        kind=held.kind.value,
        priority=held.priority.value,
        subject=held.subject,
        reason=held.reason,
        held_at=held.held_at,
        ticket_id=held.ticket_id,
        discarded=held.discarded,
        version=held.version,
    )


# Reports.


@router.get(
    "/queue",
    tags=["reports"],
    summary="The work queue: contract customers first, then priority, then SLA due",
    response_model=list[s.QueueEntry],
)
def work_queue(
    read: Annotated[Reads, Depends(reads(*SUPERVISORS))],
    assignee: Annotated[s.SearchText | None, Query()] = None,
    level: Annotated[int | None, Query(ge=1, le=9)] = None,
    customer: Annotated[s.SearchText | None, Query()] = None,
    status: Status | None = None,
    kind: Kind | None = None,
) -> list[dict[str, Any]]:
    with read.rows("queues") as rows:
        found = queues.work_queue(
            rows,
            assignee=assignee,
            level=level,
            customer=customer,
            status=None if status is None else status.value,
            kind=None if kind is None else kind.value,
        )
        return quarantine.visible(found, rows)


@router.get(
    "/deadlines",
    tags=["reports"],
    summary="Upcoming deadlines: SLA warnings, notices and automatic closures, earliest first",
    response_model=list[s.DeadlineEntry],
)
def upcoming_deadlines(
    read: Annotated[Reads, Depends(reads(*SUPERVISORS))],
    agent: Annotated[s.SearchText | None, Query(description="one agent's tickets")] = None,
    customer: Annotated[s.SearchText | None, Query(description="one customer's tickets")] = None,
    until: Annotated[s.Instant | None, Query(description="deadlines up to this instant")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    with read.rows(deadlines.DeadlinesProjection.name) as rows:
        found = deadlines.upcoming(rows, agent=agent, customer=customer, until=until, limit=limit)
        return quarantine.visible(found, rows)


@router.get(
    "/queue/off-hours",
    tags=["reports"],
    summary="Critical tickets whose contract's extended or 24x7 coverage is on now",
    response_model=list[s.QueueEntry],
)
def off_hours_queue(
    read: Annotated[Reads, Depends(reads(*SUPERVISORS))], now: NowQuery = None
) -> list[dict[str, Any]]:
    at = read.instant(now)
    with read.rows("queues") as rows:
        return quarantine.visible(queues.off_hours_queue(rows, at), rows)


@router.get(
    "/contracts/{contract_id}/sla/{month}",
    tags=["reports"],
    summary="SLA compliance in a month, per priority: met, breached, median and p90",
    response_model=s.SlaReport,
)
def sla_report(
    contract_id: ContractId,
    month: Month,
    read: Annotated[Reads, Depends(reads(*SUPERVISORS))],
    now: NowQuery = None,
) -> dict[str, Any]:
    read.contract(contract_id)
    at = read.instant(now)
    report = read.settled(
        "sla",
        lambda rows: sla.contract_month_report(rows, str(contract_id), month, at),
        contract=contract_id,
    )
    return report.to_json()


STATEMENT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Statement,
        "description": "the statement; an issued month's exactly as frozen (ETag: its sha256)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/contracts/{contract_id}/statements/{month}",
    tags=["reports"],
    summary="A monthly statement, as canonical JSON or CSV",
    responses=STATEMENT_CONTENT,
    response_model=None,
)
def get_statement(
    contract_id: ContractId,
    month: Month,
    read: Annotated[Reads, Depends(reads(*BILLING_READERS))],
    format: Literal["json", "csv"] = "json",
) -> Response:
    read.contract(contract_id)
    shown = read.settled(
        "hours", lambda rows: hours.statement(rows, str(contract_id), month), contract=contract_id
    )
    headers = {"ETag": f'"{shown.digest()}"'}
    if format == "csv":
        return Response(shown.to_csv(), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(shown.canonical_json(), media_type="application/json", headers=headers)


@router.get(
    "/contracts/{contract_id}/statements/{month}/entries",
    tags=["reports"],
    summary="The hour ledger of a month: every posted entry and adjustment",
    response_model=list[s.HourEntry],
)
def statement_entries(
    contract_id: ContractId,
    month: Month,
    read: Annotated[Reads, Depends(reads(*BILLING_READERS))],
) -> list[dict[str, Any]]:
    read.contract(contract_id)
    found = read.settled(
        "hours",
        lambda rows: hours.ledger_entries(rows, str(contract_id), month),
        contract=contract_id,
    )
    return [entry_line(entry) for entry in found]


@router.post(
    "/contracts/{contract_id}/statements/{month}/issue",
    tags=["reports"],
    summary="Issue a month: its statement is frozen and never rewritten",
    responses=ACCEPTED,
)
def issue_statement(
    contract_id: ContractId,
    month: Month,
    do: Annotated[Commands, Depends(commands(Role.ADMIN, Role.BILLING))],
) -> JSONResponse:
    projector = do.services.projector
    do.ledger.contract(contract_id)
    # Only the issue itself runs under the idempotency key; the frozen statement
    # is read back with after=<position>.
    return do.run(lambda: issue_month(projector, str(contract_id), month, do.by, do.version))
