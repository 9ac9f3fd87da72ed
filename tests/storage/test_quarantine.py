"""A projection never stops for everyone because of one aggregate: an event it
cannot apply quarantines that ticket or contract in that projection, every
other event keeps flowing, and a rebuild after a fix clears it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.poison import (
    POISONED_REQUESTER,
    open_healthy_ticket,
    open_on,
    open_poisoned_ticket,
    sign,
)
from tests.support import ManualClock, focco_terms
from ticketledger.domain.errors import SlaTargetUnreachableError
from ticketledger.domain.numbering import ticket_id_for
from ticketledger.projections import quarantine
from ticketledger.projections.base import ContractChange
from ticketledger.projections.queues import QueueProjection
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import Rows
from ticketledger.service import ledger as ledger_module
from ticketledger.service.commands import Escalate, ReplyAsAgent
from ticketledger.service.ledger import TicketLedger

CLOCKED = ("sla", "queues", "deadlines")


def held(projector: Projector, name: str) -> dict[str, quarantine.Quarantined]:
    return {e.aggregate_id: e for e in projector.processor(name).quarantined()}


def test_a_ticket_no_calendar_can_serve_is_quarantined_and_every_other_event_flows(
    ledger: TicketLedger, projector: Projector, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract_id, poisoned = open_poisoned_ticket(ledger, monkeypatch)
    _, healthy = open_healthy_ticket(ledger)
    projector.catch_up()
    head = ledger.recorder.max_notification_id()
    ticket_id = str(ticket_id_for(poisoned))
    for name in projector.projections:
        assert projector.position(name) == head
        if name in CLOCKED:
            entry = held(projector, name)[ticket_id]
            assert (entry.contract_id, entry.topic) == (
                str(contract_id),
                "ticketledger:Ticket.Opened",
            )
            assert (
                entry.error.startswith("SlaTargetUnreachableError") or "100000 days" in entry.error
            )
        else:
            assert held(projector, name) == {}
    with projector.reading("sla") as rows:
        found = rows.all("SELECT number FROM {tickets}")
    assert [row["number"] for row in found] == [healthy]


def test_the_poisoned_page_commits_the_events_before_and_after_the_bad_one(
    ledger: TicketLedger, projector: Projector, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, before = open_healthy_ticket(ledger)
    open_poisoned_ticket(ledger, monkeypatch)
    _, after = open_healthy_ticket(ledger)
    assert projector.processor("queues").process_page() == ledger.recorder.max_notification_id()
    with projector.reading("queues") as rows:
        numbers = sorted(row["number"] for row in rows.all("SELECT number FROM {tickets}"))
    assert numbers == [before, after]


def test_later_events_of_a_quarantined_ticket_pass_by_and_are_counted(
    ledger: TicketLedger,
    projector: Projector,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, poisoned = open_poisoned_ticket(ledger, monkeypatch)
    projector.catch_up()
    clock.advance(timedelta(minutes=5))
    with monkeypatch.context() as older:
        # The ledger that stored the ticket did not run its clocks either.
        older.setattr(TicketLedger, "_folded_ticket", lambda s, ref: (s.ticket(ref), None, None))
        older.setattr(ledger_module, "deadline_rules", lambda: lambda *a: None)
        ledger.handle(ReplyAsAgent(ticket=poisoned, message="Looking at it", by="diego"))
        ledger.handle(Escalate(ticket=poisoned, reason="needs a specialist", by="diego"))
    projector.catch_up()
    entry = held(projector, "sla")[str(ticket_id_for(poisoned))]
    assert entry.skipped == 2
    assert entry.last_position == ledger.recorder.max_notification_id()


def test_a_command_on_a_ticket_its_calendar_cannot_serve_is_refused_as_a_conflict(
    ledger: TicketLedger, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract_id, poisoned = open_poisoned_ticket(ledger, monkeypatch)
    head = ledger.recorder.max_notification_id()
    clock.advance(timedelta(minutes=5))
    with pytest.raises(SlaTargetUnreachableError):
        ledger.handle(ReplyAsAgent(ticket=poisoned, message="Looking at it", by="diego"))
    with pytest.raises(SlaTargetUnreachableError):
        open_on(ledger, contract_id, POISONED_REQUESTER)
    assert ledger.recorder.max_notification_id() == head


def failing_for(customer: str) -> Any:
    original = QueueProjection.contract_changed

    def contract_changed(self: QueueProjection, change: ContractChange, rows: Rows) -> None:
        if change.after.customer == customer:
            raise RuntimeError("a defect met by this contract alone")
        original(self, change, rows)

    return contract_changed


def test_tickets_of_a_quarantined_contract_are_held_with_it_and_a_rebuild_after_the_fix_clears_both(
    ledger: TicketLedger, projector: Projector, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as defect:
        defect.setattr(QueueProjection, "contract_changed", failing_for("Andino"))
        andino = sign(ledger, focco_terms(customer="Andino"), "pablo@andino.example")
        number = open_on(ledger, andino, "pablo@andino.example")
        _, healthy = open_healthy_ticket(ledger)
        projector.catch_up()
        entries = held(projector, "queues")
        assert set(entries) == {str(andino), str(ticket_id_for(number))}
        assert "its contract" in entries[str(ticket_id_for(number))].error
        assert "RuntimeError: a defect met by this contract alone" in entries[str(andino)].error
    projector.rebuild("queues")
    assert held(projector, "queues") == {}
    with projector.reading("queues") as rows:
        numbers = sorted(row["number"] for row in rows.all("SELECT number FROM {tickets}"))
    assert numbers == sorted([number, healthy])


def test_reads_of_a_held_ticket_or_contract_are_refused_and_lists_leave_them_out(
    ledger: TicketLedger, projector: Projector, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract_id, poisoned = open_poisoned_ticket(ledger, monkeypatch)
    healthy_contract, healthy = open_healthy_ticket(ledger)
    projector.catch_up()
    poisoned_id = ticket_id_for(poisoned)
    with projector.reading("sla") as rows:
        assert not rows.holds_none, "the read learns with the pointer that something is held"
        with pytest.raises(quarantine.ProjectionQuarantinedError) as refused:
            quarantine.check_ticket(rows, "sla", poisoned_id, lambda: contract_id)
        assert refused.value.projection == "sla"
        with pytest.raises(quarantine.ProjectionQuarantinedError):
            quarantine.check_contract(rows, "sla", contract_id)
        quarantine.check_ticket(rows, "sla", ticket_id_for(healthy), lambda: healthy_contract)
        quarantine.check_contract(rows, "sla", healthy_contract)
        listed = [{"ticket_id": str(poisoned_id)}, {"ticket_id": str(ticket_id_for(healthy))}]
        assert quarantine.visible(listed, rows) == listed[1:]


def test_a_rebuild_of_every_projection_in_one_pass_quarantines_what_each_would_alone(
    ledger: TicketLedger, projector: Projector, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_poisoned_ticket(ledger, monkeypatch)
    open_healthy_ticket(ledger)
    projector.catch_up()
    alone = {name: set(held(projector, name)) for name in projector.projections}
    generations = projector.rebuild_together(list(projector.projections))
    head = ledger.recorder.max_notification_id()
    assert set(generations.values()) == {2}
    assert {name: set(held(projector, name)) for name in projector.projections} == alone
    assert {projector.position(name) for name in projector.projections} == {head}


def test_an_event_that_cannot_be_decoded_is_quarantined_by_every_projection_of_a_pass(
    ledger: TicketLedger, projector: Projector, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, healthy = open_healthy_ticket(ledger)
    ledger.handle(ReplyAsAgent(ticket=healthy, message="On it.", by="carla"))
    _, other = open_healthy_ticket(ledger)
    unreadable = ledger.recorder.max_notification_id() or 0
    decode = ledger.mapper.to_domain_event

    def failing(notification: Any) -> Any:
        if notification.id == unreadable:
            raise ValueError("a stored event this release cannot read")
        return decode(notification)

    monkeypatch.setattr(ledger.mapper, "to_domain_event", failing)
    projector.rebuild_together(list(projector.projections))
    for name in projector.projections:
        entries = held(projector, name)
        assert set(entries) == {str(ticket_id_for(other))}, name
        assert "a stored event this release cannot read" in entries[str(ticket_id_for(other))].error
        assert projector.position(name) == unreadable
