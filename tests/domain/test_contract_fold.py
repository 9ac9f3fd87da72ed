"""Every contract event means something in exactly one place: the contract's
fold, `evolve` in domain/contract.py. The aggregate holds what it gives, the
projections keep what it gives (tests/storage/test_fold_agreement.py), and a
new event class without a meaning there fails here and is refused at run time.

The contract is signed on 2026-01-01, midnight in Caxias do Sul (03:00 UTC)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from tests.domain.support import SIGNED_AT, event_classes, on_contract, signed
from tests.support import at, focco_terms
from ticketledger.domain.contract import Contract, changed, evolve, fold
from ticketledger.domain.contract_state import ContractState
from ticketledger.domain.errors import (
    ContractNotFoundError,
    ContractNotStartedError,
    UnknownEventError,
)
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import ContractStanding

TICKET = UUID("00000000-0000-4000-8000-0000000000a1")
DIGEST = "0" * 64


EVENT_CLASSES = event_classes(Contract.Created, Contract.Event)


def test_the_events_found_are_those_the_contract_names() -> None:
    named = {v for v in vars(Contract).values() if isinstance(v, type) and v in EVENT_CLASSES}
    assert named == set(EVENT_CLASSES)
    assert {Contract.Signed, Contract.PlanChanged, Contract.StatementIssued} <= named


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__qualname__)
def test_every_contract_event_class_has_its_own_meaning_in_the_fold(
    event_class: type[Any],
) -> None:
    if event_class is Contract.Signed:
        return  # the signing starts the state: `signed`, through evolve(None, ...)
    assert changed.dispatch(event_class) is not changed.dispatch(object)


class Forgotten(Contract.Event):
    """A contract event someone added without giving it a meaning anywhere."""

    TOPIC = "ticketledger:tests.ForgottenContractEvent"
    note: str


def test_a_contract_event_without_a_meaning_is_refused_by_the_fold_not_ignored() -> None:
    contract = signed(focco_terms())
    # The library's metaclass makes events dataclasses; mypy sees only the bases.
    event_class: Any = Forgotten
    event = event_class(
        originator_id=contract.id,
        originator_version=2,
        timestamp=SIGNED_AT,
        occurred_at=SIGNED_AT,
        by="admin",
        note="?",
    )
    with pytest.raises(UnknownEventError, match="Forgotten"):
        evolve(contract.state, event)


def lived(contract: Contract) -> Contract:
    """Every kind of contract event, once or more, in a plausible order."""
    later = focco_terms(monthly_hours="30")
    steps: list[tuple[Any, Any]] = [
        (SIGNED_AT, lambda c: c.authorise_requester("@serra.com.br", "admin", SIGNED_AT)),
        (SIGNED_AT, lambda c: c.revoke_requester("ana@serra.com.br", "left", "admin", SIGNED_AT)),
        (
            at("2026-02-02 12:00"),
            lambda c: c.change_plan(
                ContractTerms.model_validate(later),
                date(2026, 6, 1),
                "more hours",
                "admin",
                at("2026-02-02 12:00"),
            ),
        ),
        (
            at("2026-02-03 12:00"),
            lambda c: c.allow_off_hours(TICKET, "2026-000001", "carla", at("2026-02-03 12:00")),
        ),
        (
            at("2026-03-02 12:00"),
            lambda c: c.issue_statement(
                month="2026-02",
                through_position=9,
                total=Decimal("5000.00"),
                currency="BRL",
                digest=DIGEST,
                by="billing",
                occurred_at=at("2026-03-02 12:00"),
            ),
        ),
        (at("2026-04-01 12:00"), lambda c: c.suspend("unpaid", "billing", at("2026-04-01 12:00"))),
        (at("2026-04-02 12:00"), lambda c: c.reinstate("paid", "billing", at("2026-04-02 12:00"))),
        (at("2026-05-01 12:00"), lambda c: c.end("not renewed", "admin", at("2026-05-01 12:00"))),
    ]
    for instant, command in steps:
        on_contract(contract, instant, command)
    return contract


def test_a_contract_that_lived_every_event_holds_exactly_the_state_the_fold_gives() -> None:
    contract = lived(signed(focco_terms()))
    kinds = {type(e) for e in contract.pending_events}
    assert kinds == set(EVENT_CLASSES)
    assert contract.state == fold(contract.pending_events)


def test_what_the_fold_gives_after_every_kind_of_event() -> None:
    state = lived(signed(focco_terms())).state
    assert isinstance(state, ContractState)
    assert state.authorised_requesters == {"@serra.com.br"}
    assert state.denied_addresses == {"ana@serra.com.br"}
    assert [day for day, _ in state.terms_history] == [date(2026, 1, 1), date(2026, 6, 1)]
    assert state.terms_on(date(2026, 5, 31)).monthly_hours == 20
    assert state.terms_on(date(2026, 6, 1)).monthly_hours == 30
    assert state.off_hours_exception_tickets == (TICKET,)
    assert state.issued_months == {"2026-02"}
    assert state.standing is ContractStanding.ENDED
    assert [s for _, s in state.standing_changes] == [
        ContractStanding.SUSPENDED,
        ContractStanding.ACTIVE,
        ContractStanding.ENDED,
    ]
    assert state.last_occurred_at == at("2026-05-01 12:00")


def test_a_later_plan_change_supersedes_the_changes_scheduled_on_or_after_its_date() -> None:
    contract = signed(focco_terms())
    now = at("2026-02-02 12:00")
    for hours, day in (
        ("30", date(2026, 6, 1)),
        ("40", date(2026, 8, 1)),
        ("25", date(2026, 6, 1)),
    ):
        terms = ContractTerms.model_validate(focco_terms(monthly_hours=hours))
        contract.change_plan(terms, day, "more hours", "admin", now)
    history = [(day, t.monthly_hours) for day, t in contract.state.terms_history]
    assert history == [(date(2026, 1, 1), Decimal(20)), (date(2026, 6, 1), Decimal(25))]


def test_a_contract_history_that_does_not_begin_with_its_signing_is_refused() -> None:
    contract = signed(focco_terms())
    on_contract(contract, SIGNED_AT, lambda c: c.authorise_requester("@x.com", "a", SIGNED_AT))
    with pytest.raises(ContractNotFoundError, match="begin with its signing"):
        fold(contract.pending_events[1:])


def test_the_folded_state_is_never_changed_by_a_later_event() -> None:
    contract = signed(focco_terms())
    before = contract.state
    on_contract(contract, SIGNED_AT, lambda c: c.authorise_requester("@x.com", "a", SIGNED_AT))
    assert before.authorised_requesters == frozenset()
    assert contract.state.authorised_requesters == {"@x.com"}


def test_the_desk_does_not_serve_a_contract_before_its_first_local_day() -> None:
    """Starting 2027-01-01 in Caxias do Sul: 02:59 UTC that day is still 2026
    there, 03:00 UTC is its first minute."""
    contract = signed(focco_terms(starts_on="2027-01-01"), at=at("2026-10-05 12:00"))
    for instant in (at("2026-10-05 12:00"), at("2027-01-01 02:59")):
        with pytest.raises(ContractNotStartedError, match="starts on 2027-01-01"):
            contract.check_serves(instant)
    contract.check_serves(at("2027-01-01 03:00"))
    contract.check_serves(at("2027-01-01 03:00") + timedelta(days=40))
