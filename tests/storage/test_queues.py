"""Work queues: contract customers first, then priority, then SLA due, then
number; filters; the off-hours queue. On SQLite and PostgreSQL. Local times
are UTC-3 (Brazil and Argentina in 2026)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.storage.test_sla import AGENT, local, open_at, sign
from tests.support import ManualClock, at, focco_terms, neotel_extended_terms
from ticketledger.domain.vocabulary import Kind, Priority
from ticketledger.projections.queues import off_hours_queue, render_queue, work_queue
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import stamp
from ticketledger.service.commands import (
    Assign,
    Escalate,
    Reclassify,
    ReplyAsAgent,
    ResolveTicket,
    SuspendContract,
    WaitOnCustomer,
)
from ticketledger.service.ledger import TicketLedger


@pytest.fixture
def late_clock(clock: ManualClock) -> ManualClock:
    clock.set(at("2026-11-25 12:00"))
    return clock


def queue(projector: Projector, **filters: Any) -> list[dict[str, Any]]:
    projector.catch_up()
    with projector.reading("queues") as rows:
        return work_queue(rows, **filters)


def numbers(entries: list[dict[str, Any]]) -> list[str]:
    return [e["number"] for e in entries]


def desk_history(ledger: TicketLedger) -> dict[str, str]:
    """Tuesday 2026-10-06 at three customers: Metalúrgica Serra (help desk,
    08-12 and 13:30-18), a pay-per-use workshop and a contract suspended later."""
    serra = sign(ledger, focco_terms(), "@serra.com.br")
    walk_in = sign(
        ledger,
        focco_terms(
            customer="Oficina Avulsa",
            plan="avulso",
            agreement="pay_per_use",
            monthly_fee="0",
            monthly_hours="0",
        ),
        "@avulsa.com.br",
    )
    unpaid = sign(ledger, focco_terms(customer="Caloteira"), "@calote.com.br")
    s, w, u = "a@serra.com.br", "a@avulsa.com.br", "a@calote.com.br"

    def ticket(contract: UUID, when: str, priority: Priority, who: str, **kw: Any) -> str:
        return open_at(ledger, contract, local(f"2026-10-06 {when}"), priority, who, **kw)

    t = {
        "serra_low": ticket(serra, "08:00", Priority.LOW, s, kind=Kind.QUESTION),
        "serra_resolved": ticket(serra, "08:00", Priority.MEDIUM, s),
        "walk_in_critical": ticket(walk_in, "08:00", Priority.CRITICAL, w),
        "unpaid_critical": ticket(unpaid, "08:15", Priority.CRITICAL, u),
        "serra_waiting": ticket(serra, "08:30", Priority.HIGH, s),
        "serra_high_early": ticket(serra, "09:00", Priority.HIGH, s),
        "serra_high_late": ticket(serra, "10:00", Priority.HIGH, s),
        "serra_critical": ticket(serra, "11:00", Priority.CRITICAL, s),
    }
    ledger.handle(
        ResolveTicket(
            ticket=t["serra_resolved"],
            resolution="ok",
            by=AGENT,
            occurred_at=local("2026-10-06 09:00"),
        )
    )
    ledger.handle(
        WaitOnCustomer(
            ticket=t["serra_waiting"], reason="?", by=AGENT, occurred_at=local("2026-10-06 09:00")
        )
    )
    ledger.handle(
        Assign(
            ticket=t["serra_high_early"],
            assignee="bruno",
            by=AGENT,
            occurred_at=local("2026-10-06 09:10"),
        )
    )
    ledger.handle(
        ReplyAsAgent(
            ticket=t["serra_high_late"],
            message="seen",
            by=AGENT,
            occurred_at=local("2026-10-06 10:30"),
        )
    )
    ledger.handle(
        Escalate(
            ticket=t["serra_high_late"],
            reason="PLC",
            by=AGENT,
            occurred_at=local("2026-10-06 10:40"),
        )
    )
    ledger.handle(
        SuspendContract(
            contract_id=unpaid, reason="unpaid", by="admin", occurred_at=local("2026-10-06 12:00")
        )
    )
    return t


def test_the_queue_puts_active_contracts_first_then_priority_then_sla_due_then_number(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    t = desk_history(ledger)
    found = queue(projector)
    # Serra (active help desk) first. Critical 11:00 + 2 h (lunch 12-13:30) ->
    # 14:30. Highs: 09:00 + 4 h first response -> 14:30; the 10:00 one was
    # answered, so its 16 h resolution (2:00 + 4:30 Tue, 8:30 Wed, 1:00 Thu) is
    # due Thursday 09:00; the waiting one has no due instant and comes last of
    # the highs. Then the pay-per-use and the suspended customers, both
    # critical, by due: 08:00 + 2 h = 10:00 before 08:15 + 2 h = 10:15.
    assert numbers(found) == [
        t["serra_critical"],
        t["serra_high_early"],
        t["serra_high_late"],
        t["serra_waiting"],
        t["serra_low"],
        t["walk_in_critical"],
        t["unpaid_critical"],
    ]
    due = {e["number"]: e["sla_due_at"] for e in found}
    assert due[t["serra_critical"]] == stamp(local("2026-10-06 14:30"))
    assert due[t["serra_high_early"]] == stamp(local("2026-10-06 14:30"))
    assert due[t["serra_high_late"]] == stamp(local("2026-10-08 09:00"))
    assert due[t["serra_waiting"]] is None
    assert [e["contract_service"] for e in found[-3:]] == [True, False, False]
    assert t["serra_critical"] in render_queue(found)


def test_the_queue_filters_by_assignee_level_customer_status_and_kind(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    t = desk_history(ledger)
    assert numbers(queue(projector, assignee="bruno")) == [t["serra_high_early"]]
    assert numbers(queue(projector, level=2)) == [t["serra_high_late"]]
    assert numbers(queue(projector, customer="Oficina Avulsa")) == [t["walk_in_critical"]]
    assert numbers(queue(projector, status="waiting_on_customer")) == [t["serra_waiting"]]
    assert numbers(queue(projector, kind="question")) == [t["serra_low"]]
    assert queue(projector, status="resolved") == []


def test_the_queue_rows_after_a_rebuild_equal_the_rows_built_incrementally(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    desk_history(ledger)
    projector.catch_up()
    incremental = projector.processor("queues").dump()
    projector.rebuild("queues")
    assert projector.processor("queues").dump() == incremental
    assert len(incremental["tickets"]) == 8  # the resolved one stays, out of the queue
    assert len(incremental["contracts"]) == 3


def test_the_off_hours_queue_holds_critical_tickets_whose_coverage_is_on_now(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    andino = sign(ledger, neotel_extended_terms(), "@andino.com.ar")
    serra = sign(ledger, focco_terms(), "@serra.com.br")
    saturday = local("2026-10-17 10:00")
    critical = open_at(ledger, andino, saturday, Priority.CRITICAL, "a@andino.com.ar")
    open_at(ledger, andino, saturday, Priority.HIGH, "a@andino.com.ar")
    open_at(ledger, serra, saturday, Priority.CRITICAL, "a@serra.com.br")
    unpaid = sign(ledger, {**neotel_extended_terms(), "customer": "Moroso"}, "@moroso.com.ar")
    open_at(ledger, unpaid, saturday, Priority.CRITICAL, "a@moroso.com.ar")
    ledger.handle(
        SuspendContract(contract_id=unpaid, reason="unpaid", by="admin", occurred_at=saturday)
    )
    projector.catch_up()
    with projector.reading("queues") as rows:
        # Saturday 11:00: Andino's extended coverage (Mon-Sat 05-21) is on;
        # Serra has standard coverage; the high ticket waits for Monday; the
        # suspended contract gets no service.
        assert numbers(off_hours_queue(rows, local("2026-10-17 11:00"))) == [critical]
        # Saturday 21:30 and Sunday: no coverage anywhere.
        assert off_hours_queue(rows, local("2026-10-17 21:30")) == []
        assert off_hours_queue(rows, local("2026-10-18 11:00")) == []


def test_a_priority_change_moves_the_ticket_by_its_new_due_instant(
    ledger: TicketLedger, late_clock: ManualClock, projector: Projector
) -> None:
    # Focco: Mon-Fri 08-12 and 13:30-18 (8.5 h a day). A medium ticket opened on
    # Tuesday 2026-10-06 at 08:00 is due its first response 24 business hours on:
    # Tue 8.5 + Wed 8.5 = 17 h, Thu needs 7 h more: 08-12 (4 h) and 13:30-16:30.
    serra = sign(ledger, focco_terms(), "@serra.com.br")
    number = open_at(ledger, serra, local("2026-10-06 08:00"), Priority.MEDIUM, "a@serra.com.br")
    [entry] = queue(projector)
    assert entry["sla_due_at"] == stamp(local("2026-10-08 16:30"))
    # Raised to high at 09:00: 1 h spent of the 4 h high target; 3 h remain: 09:00-12:00.
    ledger.handle(
        Reclassify(
            ticket=number,
            priority=Priority.HIGH,
            reason="line stopping",
            by=AGENT,
            occurred_at=local("2026-10-06 09:00"),
        )
    )
    [entry] = queue(projector)
    assert (entry["priority"], entry["sla_due_at"]) == ("high", stamp(local("2026-10-06 12:00")))
