"""A year's numbering is read from its latest snapshot and the numbers issued
since, so an opening reads as few events with a year of tickets behind it as
on the year's first day; the numbers stay gap-free, and a snapshot that cannot
be written costs a later opening some reading, never the opening that saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from tests.poison import HEALTHY_REQUESTER, open_healthy_ticket, open_on
from tests.support import rows_read
from ticketledger.domain.numbering import format_number, numbering_id, ticket_id_for
from ticketledger.service.ledger import NUMBERING_SNAPSHOT_INTERVAL, TicketLedger

YEARS_OPENINGS = 3 * NUMBERING_SNAPSHOT_INTERVAL + 7


def test_an_opening_reads_no_more_of_the_numbering_after_many_tickets_than_on_the_first(
    ledger: TicketLedger, make_ledger: Callable[[], TicketLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    contract_id, _ = open_healthy_ticket(ledger)
    read = rows_read(ledger, monkeypatch, numbering_id(2026))
    open_on(ledger, contract_id, HEALTHY_REQUESTER)
    on_the_first_day = read["events"]
    for _ in range(YEARS_OPENINGS):
        open_on(ledger, contract_id, HEALTHY_REQUESTER)
    read.clear()
    number = open_on(ledger, contract_id, HEALTHY_REQUESTER)
    assert number == format_number(2026, YEARS_OPENINGS + 3)
    assert 0 < read["events"] <= on_the_first_day
    # A process that has read nothing of the year starts from its latest snapshot.
    fresh = make_ledger()
    cold = rows_read(fresh, monkeypatch, numbering_id(2026))
    assert open_on(fresh, contract_id, HEALTHY_REQUESTER) == format_number(2026, YEARS_OPENINGS + 4)
    assert 0 < cold["events"] < NUMBERING_SNAPSHOT_INTERVAL


def test_the_years_tickets_are_every_number_issued_in_order(ledger: TicketLedger) -> None:
    contract_id, _ = open_healthy_ticket(ledger)
    numbers = [open_on(ledger, contract_id, HEALTHY_REQUESTER) for _ in range(YEARS_OPENINGS)]
    ids = ledger.ticket_ids(2026)
    assert ids == [ticket_id_for(format_number(2026, n)) for n in range(1, len(ids) + 1)]
    assert [ledger.ticket(i).state.number for i in ids[1:]] == numbers


def test_an_opening_whose_snapshot_cannot_be_written_is_stored_once_and_answered(
    ledger: TicketLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract_id, _ = open_healthy_ticket(ledger)
    assert ledger.snapshots is not None

    def database_gone(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("the database went away")

    monkeypatch.setattr(ledger.snapshots, "put", database_gone)
    numbers = [open_on(ledger, contract_id, HEALTHY_REQUESTER) for _ in range(YEARS_OPENINGS)]
    assert numbers == [format_number(2026, n) for n in range(2, YEARS_OPENINGS + 2)]
    assert len(ledger.ticket_ids(2026)) == YEARS_OPENINGS + 1
