"""Poison in the log, as an older ledger could have stored it: a contract
whose SLA target (P100000D) no business calendar can reach, and a ticket
opened on it before tickets were checked for that."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.support import focco_terms
from ticketledger.domain import sla
from ticketledger.domain.terms import STORED, ContractTerms
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.service.commands import AuthoriseRequester, OpenTicket, SignContract
from ticketledger.service.ledger import TicketLedger

POISONED = "Poisoned Plant"
POISONED_REQUESTER = "rui@poisoned.example"
HEALTHY_REQUESTER = "ana@serra.com.br"


def unreachable_terms() -> ContractTerms:
    """Terms read as a stored event is: the ranges of domain/terms.py unchecked."""
    sla_targets = {
        p: {"first_response": "PT1H", "resolution": "P100000D"} for p in focco_terms()["sla"]
    }
    terms = focco_terms(customer=POISONED, sla=sla_targets)
    return ContractTerms.model_validate(terms, context={STORED: True})


def sign(ledger: TicketLedger, terms: Any, requester: str) -> UUID:
    contract_id = ledger.handle(SignContract(terms=terms, by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract_id, requester=requester, by="admin"))
    return contract_id


def open_on(ledger: TicketLedger, contract_id: UUID, requester: str) -> str:
    opened = ledger.handle(
        OpenTicket(
            contract_id=contract_id,
            requester=requester,
            channel=Channel.PHONE,
            kind=Kind.INCIDENT,
            priority=Priority.HIGH,
            subject="Line 2 stopped",
        )
    )
    assert opened.number is not None
    return opened.number


def open_poisoned_ticket(ledger: TicketLedger, monkeypatch: pytest.MonkeyPatch) -> tuple[UUID, str]:
    """A poisoned contract and a ticket on it, as the log of an older ledger holds them."""
    contract_id = sign(ledger, unreachable_terms(), POISONED_REQUESTER)
    with monkeypatch.context() as older:
        older.setattr(sla, "check_clocks_can_run", lambda *args: None)
        number = open_on(ledger, contract_id, POISONED_REQUESTER)
    return contract_id, number


def open_healthy_ticket(ledger: TicketLedger) -> tuple[UUID, str]:
    contract_id = sign(ledger, focco_terms(), HEALTHY_REQUESTER)
    return contract_id, open_on(ledger, contract_id, HEALTHY_REQUESTER)
