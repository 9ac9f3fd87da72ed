"""A keyed command's outcome is recorded in its events' own transaction: after
a crash at any instant, its key either finds that outcome or finds nothing
written, so a retry answers the original result or applies the command once."""

from __future__ import annotations

import pytest

from tests.poison import HEALTHY_REQUESTER, open_healthy_ticket
from ticketledger.domain.errors import TicketNotResolvedError
from ticketledger.service.commands import AcceptResolution, Comment
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.outcomes import AlreadyAppliedError, RequestKey

KEY = RequestKey("key-of-the-agent", "call-1", "fingerprint-of-the-body")


def test_a_keyed_command_records_its_outcome_with_its_events(ledger: TicketLedger) -> None:
    _, number = open_healthy_ticket(ledger)
    assert ledger.outcome_of(KEY) is None
    with ledger.keyed(KEY):
        result = ledger.handle(Comment(ticket=number, text="called", by="diego"))
    stored = ledger.outcome_of(KEY)
    assert stored is not None
    assert (stored.fingerprint, stored.result) == (KEY.fingerprint, result)
    assert result.position == ledger.recorder.max_notification_id()


def test_a_second_attempt_with_the_key_gets_the_first_outcome_and_writes_nothing(
    ledger: TicketLedger,
) -> None:
    _, number = open_healthy_ticket(ledger)
    with ledger.keyed(KEY):
        first = ledger.handle(Comment(ticket=number, text="called", by="diego"))
    head = ledger.recorder.max_notification_id()
    with pytest.raises(AlreadyAppliedError) as again, ledger.keyed(KEY):
        ledger.handle(Comment(ticket=number, text="called", by="diego"))
    assert again.value.outcome.result == first
    assert ledger.recorder.max_notification_id() == head
    assert ledger.ticket(number).version == first.version


def test_a_refused_keyed_command_records_no_outcome(ledger: TicketLedger) -> None:
    _, number = open_healthy_ticket(ledger)
    with pytest.raises(TicketNotResolvedError), ledger.keyed(KEY):
        ledger.handle(AcceptResolution(ticket=number, by=HEALTHY_REQUESTER))
    assert ledger.outcome_of(KEY) is None


def test_commands_without_a_key_and_after_the_keyed_one_record_nothing_more(
    ledger: TicketLedger,
) -> None:
    _, number = open_healthy_ticket(ledger)
    with ledger.keyed(KEY):
        first = ledger.handle(Comment(ticket=number, text="called", by="diego"))
        # Only the first save under the key is its command's outcome.
        ledger.handle(Comment(ticket=number, text="and again", by="diego"))
    ledger.handle(Comment(ticket=number, text="unkeyed", by="diego"))
    stored = ledger.outcome_of(KEY)
    assert stored is not None and stored.result == first
    assert ledger.ticket(number).version == first.version + 2
