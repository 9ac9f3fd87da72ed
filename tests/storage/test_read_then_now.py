"""A command's instant is taken after it has read what it decides on: when
another writer saves to the same contract or numbering while the command is
reading, the command's event is dated after everything it read, and each
aggregate's events stay in time order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.poison import HEALTHY_REQUESTER, open_on, sign
from tests.support import ManualClock, focco_terms
from ticketledger.domain.numbering import numbering_id
from ticketledger.service.commands import AuthoriseRequester
from ticketledger.service.ledger import TicketLedger

LedgerFactory = Callable[..., TicketLedger]


def with_a_write_while_reading(
    monkeypatch: pytest.MonkeyPatch,
    ledger: TicketLedger,
    reader: str,
    clock: ManualClock,
    write: Callable[[], object],
) -> None:
    """The first time `ledger.<reader>` reads, five minutes pass and `write`
    is saved by another writer before the read completes."""
    read = getattr(ledger, reader)
    done: list[bool] = []

    def reading(*args: Any) -> Any:
        if not done:
            done.append(True)
            clock.advance(timedelta(minutes=5))
            write()
        return read(*args)

    monkeypatch.setattr(ledger, reader, reading)


def in_time_order(ledger: TicketLedger, aggregate_id: Any) -> list[Any]:
    return [event.occurred_at for event in ledger.events_of(aggregate_id)]


def test_a_contract_command_is_dated_after_a_write_it_read(
    make_ledger: LedgerFactory, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, other = make_ledger(), make_ledger()
    contract_id = sign(ledger, focco_terms(), HEALTHY_REQUESTER)
    by_other = AuthoriseRequester(contract_id=contract_id, requester="@b.com.br", by="admin")
    with_a_write_while_reading(
        monkeypatch, ledger, "contract", clock, lambda: other.handle(by_other)
    )
    ledger.handle(AuthoriseRequester(contract_id=contract_id, requester="@c.com.br", by="admin"))
    times = in_time_order(ledger, contract_id)
    assert times == sorted(times) and times[-1] == clock()


def test_an_opening_is_dated_after_a_number_issued_while_it_read(
    make_ledger: LedgerFactory, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, other = make_ledger(), make_ledger()
    contract_id = sign(ledger, focco_terms(), HEALTHY_REQUESTER)
    open_on(ledger, contract_id, HEALTHY_REQUESTER)
    opening = lambda: open_on(other, contract_id, HEALTHY_REQUESTER)
    with_a_write_while_reading(monkeypatch, ledger, "numbering", clock, opening)
    number = open_on(ledger, contract_id, HEALTHY_REQUESTER)
    times = in_time_order(ledger, numbering_id(clock().year))
    assert number.endswith("000003") and times == sorted(times) and times[-1] == clock()
    assert ledger.ticket(number).state.opened_at == clock()
