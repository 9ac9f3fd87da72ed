"""Billing: a contract's monthly statement on screen, its downloads for a
spreadsheet, and issuing a month once billing has confirmed it."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ticketledger.api.access import Role
from ticketledger.api.http import contracts
from ticketledger.api.http import schemas as s
from ticketledger.api.http.deps import BILLING_READERS, Commands, Reads
from ticketledger.api.statements import entry_line
from ticketledger.api.web.render import see_other
from ticketledger.api.web.ticket_page import Action, Outcome, form_page, give
from ticketledger.api.web.visits import PageRefusal, Visit, checked_form, visitor
from ticketledger.domain.billing import Statement
from ticketledger.projections import hours

router = APIRouter(include_in_schema=False)
BillingVisit = Annotated[Visit, Depends(visitor(*BILLING_READERS))]
CheckedForm = Annotated[FormData, Depends(checked_form)]
MonthQuery = Annotated[str | None, Query(pattern=s.MONTH_PATTERN)]
ISSUERS = (Role.ADMIN, Role.BILLING)
# Spreadsheets in Portuguese and Spanish read a decimal comma, and then take
# the semicolon as the column separator.
SEPARATORS = {"point": (".", ","), "comma": (",", ";")}


class Issue(BaseModel):
    """Issuing a month: billing ticks that it checked the statement shown."""

    model_config = ConfigDict(extra="forbid")
    contract_id: UUID
    month: Annotated[str, Field(pattern=s.MONTH_PATTERN)]
    confirm: Literal[True]


def issue(body: Issue, do: Commands) -> JSONResponse:
    return contracts.issue_statement(body.contract_id, body.month, do)


ISSUE = Action(Issue, issue, ISSUERS, lambda f, zone: {**f, "confirm": f.get("confirm") == "on"})


def last_month(today: date) -> str:
    first = today.replace(day=1)
    previous = date.fromordinal(first.toordinal() - 1)
    return f"{previous.year:04d}-{previous.month:02d}"


def signed_contracts(read: Reads) -> list[dict[str, Any]]:
    with read.rows("ticket_state") as rows:
        return rows.all(
            "SELECT contract_id, customer, state FROM {contracts} ORDER BY customer, contract_id"
        )


def month_of(read: Reads, contract_id: UUID, month: str) -> dict[str, Any]:
    """The month's statement (frozen if issued), how it was issued, and its
    posted entries, from one read of the hours projection."""

    def query(rows: Any) -> dict[str, Any]:
        return {
            "statement": hours.statement(rows, str(contract_id), month),
            "issued": hours.issue_record(rows, str(contract_id), month),
            "entries": [entry_line(e) for e in hours.ledger_entries(rows, contract_id, month)],
        }

    read.contract(contract_id)
    found: dict[str, Any] = read.settled("hours", query, contract=contract_id)
    return found


@router.get("/billing")
def billing_page(
    request: Request,
    visit: BillingVisit,
    contract: UUID | None = None,
    month: MonthQuery = None,
    done: str | None = None,
) -> Response:
    return show_billing(request, visit, contract, month, done=done == "issue")


def show_billing(
    request: Request,
    visit: Visit,
    contract: UUID | None,
    month: str | None,
    *,
    done: bool = False,
    status: int = 200,
    outcome: Outcome | None = None,
) -> Response:
    read = visit.reads()
    signed = signed_contracts(read)
    month = month or last_month(read.instant(None).date())
    chosen = contract or (UUID(str(signed[0]["contract_id"])) if signed else None)
    shown = month_of(read, chosen, month) if chosen is not None else None
    return form_page(
        request,
        visit,
        "billing.html",
        status=status,
        outcome=outcome,
        contracts=signed,
        contract_id=chosen,
        month=month,
        shown=shown,
        may_issue=visit.role in ISSUERS,
        done=visit.words("The month is issued: its statement is frozen.") if done else None,
    )


@router.post("/billing/issue")
async def issue_month(request: Request, visit: BillingVisit, form: CheckedForm) -> Response:
    outcome = await run_in_threadpool(give, visit, request, ISSUE, form)
    contract, month = form.get("contract_id"), form.get("month")
    if outcome.code is None:
        return see_other(f"/billing?contract={contract}&month={month}&done=issue")
    try:
        chosen = UUID(str(contract))
    except ValueError:
        raise PageRefusal(422, "malformed_form") from None
    shown_month = str(month) if isinstance(month, str) and len(month) == 7 else None
    return await run_in_threadpool(
        lambda: show_billing(
            request, visit, chosen, shown_month, status=outcome.status, outcome=outcome
        )
    )


# Downloads: one table per file, numbers as numbers (no units in a cell),
# the currency in a column of its own.


@router.get("/billing/{table}.csv")
def table_csv(
    visit: BillingVisit,
    table: Literal["statement", "entries"],
    contract: UUID,
    month: Annotated[str, Query(pattern=s.MONTH_PATTERN)],
    decimal: Literal["point", "comma"] = "point",
) -> Response:
    """The statement's lines, or the month's posted hour entries."""
    read = visit.reads()
    shown = month_of(read, contract, month)
    if table == "statement":
        rows = statement_rows(shown["statement"])
    else:
        rows = [list(ENTRY_COLUMNS)]
        rows += [[entry[c] for c in ENTRY_COLUMNS] for entry in shown["entries"]]
    name = f"{table}-{slug(shown['statement'].customer)}-{month}.csv"
    return csv_download(rows, name, decimal)


ENTRY_COLUMNS = (
    "ticket",
    "kind",
    "origin_month",
    "started_at",
    "category",
    "consumed_hours",
    "off_hours_hours",
    "customer_caused_hours",
    "warranty_hours",
    "amount",
    "reference",
    "entry_id",
)


def statement_rows(statement: Statement) -> list[list[Any]]:
    """The statement's lines: item, hours, rate, amount, currency."""
    header: list[Any] = ["item", "hours", "rate", "amount", "currency"]
    rows = [header]
    for item, hours_text, rate, amount in statement.lines():
        rows.append(
            [
                item,
                number_or_blank(hours_text),
                number_or_blank(rate),
                number_or_blank(amount.removesuffix(f" {statement.currency}")),
                statement.currency if amount else "",
            ]
        )
    return rows


def number_or_blank(text: str) -> Decimal | str:
    return Decimal(text) if text.strip() else ""


def csv_download(rows: list[list[Any]], name: str, decimal: str) -> Response:
    point, separator = SEPARATORS[decimal]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell_text(cell, point) for cell in row])
    # A byte-order mark: spreadsheets then read the file as UTF-8 (accents).
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def cell_text(cell: Any, point: str) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Decimal):
        return format(cell, "f").replace(".", point)
    text = str(cell)
    if point == "," and looks_numeric(text):
        return text.replace(".", ",")
    return text


def looks_numeric(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return "." in text and not text.startswith(".")


def slug(text: str) -> str:
    kept = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in kept.split("-") if part) or "contract"
