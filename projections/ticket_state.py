"""Every ticket's current state, one row each, listable and filterable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ticketledger.domain.contract import Contract
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Status
from ticketledger.projections.base import CONTRACT_STATE_ENTERED, DispatchingProjection, handles
from ticketledger.projections.store import Rows, Table, micros, stamp

TICKETS = Table(
    "tickets",
    (
        ("ticket_id", "TEXT"),
        ("number", "TEXT"),
        ("contract_id", "TEXT"),
        ("customer", "TEXT"),
        ("requester", "TEXT"),
        ("channel", "TEXT"),
        ("subject", "TEXT"),
        ("status", "TEXT"),
        ("kind", "TEXT"),
        ("priority", "TEXT"),
        ("priority_rank", "INTEGER"),
        ("level", "INTEGER"),
        ("assignee", "TEXT"),
        ("opened_at", "TEXT"),
        ("first_response_at", "TEXT"),
        ("resolved_at", "TEXT"),
        ("closed_at", "TEXT"),
        ("closure_reason", "TEXT"),
        ("waiting_since", "TEXT"),
        ("agent_replies", "INTEGER"),
        ("requester_replies", "INTEGER"),
        ("comments", "INTEGER"),
        ("failed_contact_attempts", "INTEGER"),
        ("reopen_count", "INTEGER"),
        ("work_entries", "INTEGER"),
        ("work_microseconds", "BIGINT"),
        ("rating", "INTEGER"),
        ("rating_out_of", "INTEGER"),
        ("links", "INTEGER"),
        ("last_activity_at", "TEXT"),
        ("last_activity_by", "TEXT"),
        ("version", "INTEGER"),
        ("position", "BIGINT"),
    ),
    key=("ticket_id",),
    indexes=(("number",), ("customer", "status"), ("assignee", "status"), ("status",)),
)
WORK = Table(
    "work",
    (("ticket_id", "TEXT"), ("entry_id", "TEXT"), ("microseconds", "BIGINT")),
    key=("ticket_id", "entry_id"),
)
CONTRACTS = Table(
    "contracts",
    (("contract_id", "TEXT"), ("customer", "TEXT"), ("state", "TEXT")),
    key=("contract_id",),
)

FILTERS = (
    "status",
    "kind",
    "priority",
    "level",
    "assignee",
    "customer",
    "requester",
    "contract_id",
)


class TicketStateProjection(DispatchingProjection):
    name: ClassVar[str] = "ticket_state"
    tables: ClassVar[tuple[Table, ...]] = (TICKETS, WORK, CONTRACTS)

    @handles(Ticket.Opened)
    def opened(self, event: Ticket.Opened, rows: Rows, position: int) -> None:
        at = stamp(event.occurred_at)
        row: dict[str, Any] = dict.fromkeys(TICKETS.column_names)
        row.update(
            ticket_id=str(event.originator_id),
            number=event.number,
            contract_id=str(event.contract_id),
            customer=event.customer,
            requester=event.requester,
            channel=event.channel.value,
            subject=event.subject,
            status=Status.NEW.value,
            kind=event.kind.value,
            priority=event.priority.value,
            priority_rank=event.priority.rank,
            level=1,
            opened_at=at,
            agent_replies=0,
            requester_replies=0,
            comments=0,
            failed_contact_attempts=0,
            reopen_count=0,
            work_entries=0,
            work_microseconds=0,
            links=0,
        )
        self._touch(row, event, position)
        rows.put("tickets", row)

    @handles(Ticket.Event)
    def changed(self, event: Any, rows: Rows, position: int) -> None:
        row = rows.get("tickets", ticket_id=str(event.originator_id))
        if row is None:
            return
        change = CHANGES.get(type(event))
        if change is not None:
            change(row, event, rows)
        self._touch(row, event, position)
        rows.put("tickets", row)

    @staticmethod
    def _touch(row: dict[str, Any], event: Any, position: int) -> None:
        row["last_activity_at"] = stamp(event.occurred_at)
        row["last_activity_by"] = event.by
        row["version"] = event.originator_version
        row["position"] = position

    @handles(Contract.Signed)
    def signed(self, event: Contract.Signed, rows: Rows, position: int) -> None:
        rows.put(
            "contracts",
            {
                "contract_id": str(event.originator_id),
                "customer": event.terms.customer,
                "state": "active",
            },
        )

    @handles(*CONTRACT_STATE_ENTERED)
    def state_changed(self, event: Any, rows: Rows, position: int) -> None:
        rows.execute(
            "UPDATE {contracts} SET state = :state WHERE contract_id = :id",
            {"state": CONTRACT_STATE_ENTERED[type(event)].value, "id": str(event.originator_id)},
        )


def _status(value: Status, waiting: bool = False) -> Any:
    def change(row: dict[str, Any], event: Any, rows: Rows) -> None:
        row["status"] = value.value
        row["waiting_since"] = stamp(event.occurred_at) if waiting else None

    return change


def _reclassified(row: dict[str, Any], event: Ticket.Reclassified, rows: Rows) -> None:
    row.update(
        kind=event.kind.value,
        priority=event.priority.value,
        priority_rank=event.priority.rank,
        level=event.level,
    )


def _taken_up(row: dict[str, Any]) -> None:
    if row["status"] == Status.NEW.value:
        row["status"] = Status.OPEN.value


def _assigned(row: dict[str, Any], event: Ticket.Assigned, rows: Rows) -> None:
    row["assignee"] = event.assignee
    _taken_up(row)


def _escalated(row: dict[str, Any], event: Ticket.Escalated, rows: Rows) -> None:
    row["level"] = event.to_level


def _agent_replied(row: dict[str, Any], event: Ticket.AgentReplied, rows: Rows) -> None:
    if event.first_response:
        row["first_response_at"] = stamp(event.occurred_at)
    row["agent_replies"] += 1
    _taken_up(row)


def _reopen(row: dict[str, Any]) -> None:
    row.update(status=Status.OPEN.value, resolved_at=None)
    row["reopen_count"] += 1


def _requester_replied(row: dict[str, Any], event: Ticket.RequesterReplied, rows: Rows) -> None:
    row["requester_replies"] += 1
    row["failed_contact_attempts"] = 0
    if event.resumes:
        row.update(status=Status.OPEN.value, waiting_since=None)
    if event.reopens:
        _reopen(row)


def _commented(row: dict[str, Any], event: Any, rows: Rows) -> None:
    row["comments"] += 1


def _contact_failed(row: dict[str, Any], event: Ticket.ContactAttemptFailed, rows: Rows) -> None:
    row["failed_contact_attempts"] = event.attempt


def _work_logged(row: dict[str, Any], event: Ticket.WorkLogged, rows: Rows) -> None:
    _set_work(row, rows, str(event.entry_id), micros(event.duration))
    _taken_up(row)


def _work_corrected(row: dict[str, Any], event: Ticket.WorkCorrected, rows: Rows) -> None:
    _set_work(row, rows, str(event.corrects), micros(event.duration))


def _set_work(row: dict[str, Any], rows: Rows, entry_id: str, microseconds: int) -> None:
    rows.put(
        "work", {"ticket_id": row["ticket_id"], "entry_id": entry_id, "microseconds": microseconds}
    )
    totals = rows.one(
        "SELECT COUNT(*) AS n, SUM(microseconds) AS us FROM {work} "
        "WHERE ticket_id = :t AND microseconds > 0",
        {"t": row["ticket_id"]},
    )
    assert totals is not None
    row["work_entries"], row["work_microseconds"] = int(totals["n"]), int(totals["us"] or 0)


def _resolved(row: dict[str, Any], event: Any, rows: Rows) -> None:
    row.update(
        status=Status.RESOLVED.value, resolved_at=stamp(event.occurred_at), waiting_since=None
    )


def _reopened(row: dict[str, Any], event: Any, rows: Rows) -> None:
    _reopen(row)


def _closed(row: dict[str, Any], event: Any, rows: Rows) -> None:
    reason = event.reason.value if isinstance(event, Ticket.Closed) else "accepted"
    row.update(
        status=Status.CLOSED.value,
        closure_reason=reason,
        closed_at=stamp(event.occurred_at),
        waiting_since=None,
    )


def _cancelled(row: dict[str, Any], event: Ticket.Cancelled, rows: Rows) -> None:
    row.update(
        status=Status.CANCELLED.value, closed_at=stamp(event.occurred_at), waiting_since=None
    )


def _rated(row: dict[str, Any], event: Ticket.Rated, rows: Rows) -> None:
    row["rating"], row["rating_out_of"] = event.score, event.out_of


def _linked(row: dict[str, Any], event: Any, rows: Rows) -> None:
    row["links"] += 1


CHANGES: dict[type, Any] = {
    Ticket.Reclassified: _reclassified,
    Ticket.Assigned: _assigned,
    Ticket.Escalated: _escalated,
    Ticket.AgentReplied: _agent_replied,
    Ticket.RequesterReplied: _requester_replied,
    Ticket.Commented: _commented,
    Ticket.WaitingOnCustomer: _status(Status.WAITING_ON_CUSTOMER, waiting=True),
    Ticket.WaitingOnThirdParty: _status(Status.WAITING_ON_THIRD_PARTY, waiting=True),
    Ticket.Resumed: _status(Status.OPEN),
    Ticket.ContactAttemptFailed: _contact_failed,
    Ticket.WorkLogged: _work_logged,
    Ticket.WorkCorrected: _work_corrected,
    Ticket.Resolved: _resolved,
    Ticket.AcceptanceGiven: _closed,
    Ticket.AcceptanceRejected: _reopened,
    Ticket.Reopened: _reopened,
    Ticket.Closed: _closed,
    Ticket.Cancelled: _cancelled,
    Ticket.Rated: _rated,
    Ticket.Linked: _linked,
}


@dataclass(frozen=True)
class TicketPage:
    tickets: list[dict[str, Any]]
    next_cursor: str | None


def find_ticket(rows: Rows, number: str) -> dict[str, Any] | None:
    return rows.one("SELECT * FROM {tickets} WHERE number = :number", {"number": number})


def list_tickets(
    rows: Rows,
    filters: Mapping[str, Any] | None = None,
    *,
    after: str | None = None,
    limit: int = 50,
) -> TicketPage:
    """Tickets by number, filtered on any of FILTERS; `after` is the last
    number of the previous page (a cursor that stays valid as tickets open)."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    for name, value in (filters or {}).items():
        if name not in FILTERS:
            raise ValueError(f"cannot filter tickets on {name}")
        if value is not None:
            clauses.append(f"{name} = :{name}")
            params[name] = value.value if hasattr(value, "value") else value
    if after is not None:
        clauses.append("number > :after")
        params["after"] = after
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    found = rows.all(f"SELECT * FROM {{tickets}} {where} ORDER BY number LIMIT :limit", params)
    more = len(found) > limit
    page = found[:limit]
    return TicketPage(page, page[-1]["number"] if more and page else None)
