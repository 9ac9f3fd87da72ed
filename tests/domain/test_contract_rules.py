"""The Contract's rules: who may open tickets, whether the desk serves the
customer at all, which warranty is in force, and the one off-hours exception.

- Seed 000/001: tickets open only for the senders and domains the contract
  frees ("remetentes e domínios liberados"); plants turn operators over fast,
  so one person can be revoked inside an authorised domain.
- Seed 004: a customer whose support lapsed or went unpaid gets no service.
- Seed 000: warranty of works counts from the signed hand-over, warranty of
  material from the invoice date, for the period in the contract.
- Seed 003: without the 24x7 contract one off-hours service is granted as an
  exception; the next is refused until the customer adheres to it.

The contract is signed on 2026-01-01, midnight in Caxias do Sul (03:00 UTC);
focco_terms' warranties: works from 2026-03-01 for 12 months, material from
2025-01-10 for 12 months.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from tests.domain.support import SIGNED_AT, on_contract, signed
from tests.support import at, focco_terms, neotel_extended_terms
from ticketledger.domain.contract import Contract
from ticketledger.domain.errors import (
    ContractEndedError,
    ContractNotStartedError,
    ContractSuspendedError,
    InvalidCommandError,
    InvalidTransitionError,
    NothingChangedError,
    OffHoursExceptionUsedError,
    RequesterNotAuthorisedError,
    WarrantyNotCoveredError,
)
from ticketledger.domain.vocabulary import ContractStanding, Kind

FIRST = UUID("00000000-0000-4000-8000-0000000000a1")
SECOND_TICKET = UUID("00000000-0000-4000-8000-0000000000a2")
THIRD = UUID("00000000-0000-4000-8000-0000000000a3")
MONDAY = at("2026-10-05 12:00")  # 09:00 in Caxias do Sul
MICROSECOND = timedelta(microseconds=1)


def authorise(requester: str) -> Callable[[Contract], None]:
    return lambda c: c.authorise_requester(requester, "admin", SIGNED_AT)


def authorised(*requesters: str) -> Contract:
    """A contract signed with focco_terms that authorised these requesters, in order."""
    contract = signed(focco_terms())
    for requester in requesters:
        on_contract(contract, SIGNED_AT, authorise(requester))
    return contract


def local(text: str) -> datetime:
    """A wall-clock time in Caxias do Sul (UTC-3 all of 2026 and 2027), as UTC."""
    return at(text) + timedelta(hours=3)


# Who may open tickets.


def test_an_authorised_address_may_open_tickets_and_its_neighbour_may_not() -> None:
    contract = authorised("ana@serra.com.br")
    assert contract.state.is_authorised("ana@serra.com.br")
    assert contract.state.is_authorised("  Ana@Serra.COM.br ")
    assert not contract.state.is_authorised("bia@serra.com.br")
    with pytest.raises(RequesterNotAuthorisedError, match=re.escape("bia@serra.com.br")):
        contract.check_authorised("bia@serra.com.br")
    contract.check_authorised("ana@serra.com.br")


def test_an_authorised_domain_admits_its_addresses_and_no_lookalike_domain() -> None:
    contract = authorised("@serra.com.br")
    assert contract.state.is_authorised("ana@serra.com.br")
    assert contract.state.is_authorised("new.operator@SERRA.com.br")
    for stranger in ("ana@plant.serra.com.br", "ana@serra.com.br.example", "ana@gmail.com"):
        assert not contract.state.is_authorised(stranger), stranger
        with pytest.raises(RequesterNotAuthorisedError):
            contract.check_authorised(stranger)


def test_authorising_records_the_address_lower_cased_once() -> None:
    contract = signed(focco_terms())
    recorded = on_contract(
        contract, MONDAY, lambda c: c.authorise_requester(" Boss@Other.com", "admin", MONDAY)
    )
    assert [(type(e), e.requester) for e in recorded] == [
        (Contract.RequesterAuthorised, "boss@other.com")
    ]
    with pytest.raises(NothingChangedError):
        on_contract(
            contract, MONDAY, lambda c: c.authorise_requester("boss@other.com", "a", MONDAY)
        )
    with pytest.raises(InvalidCommandError):
        on_contract(
            contract, MONDAY, lambda c: c.authorise_requester("not an address", "a", MONDAY)
        )


def test_revoking_one_address_inside_an_authorised_domain_denies_just_that_person() -> None:
    contract = authorised("@serra.com.br")
    recorded = on_contract(
        contract, MONDAY, lambda c: c.revoke_requester("ana@serra.com.br", "left", "admin", MONDAY)
    )
    assert [(type(e), e.requester) for e in recorded] == [
        (Contract.RequesterRevoked, "ana@serra.com.br")
    ]
    assert not contract.state.is_authorised("ana@serra.com.br")
    assert contract.state.is_authorised("bia@serra.com.br")
    with pytest.raises(RequesterNotAuthorisedError):
        contract.check_authorised("ANA@serra.com.br")


def test_revoking_an_address_authorised_both_itself_and_through_its_domain_denies_it() -> None:
    """Ana was authorised by name before the whole domain was; when she leaves,
    revoking her must deny her, not only strike out her own line."""
    contract = authorised("ana@serra.com.br", "@serra.com.br")
    on_contract(
        contract, MONDAY, lambda c: c.revoke_requester("ana@serra.com.br", "left", "admin", MONDAY)
    )
    assert not contract.state.is_authorised("ana@serra.com.br")
    assert contract.state.is_authorised("bia@serra.com.br")


def test_a_revoked_address_authorised_again_may_open_tickets_again() -> None:
    contract = authorised("@serra.com.br")
    on_contract(
        contract, MONDAY, lambda c: c.revoke_requester("ana@serra.com.br", "left", "a", MONDAY)
    )
    on_contract(contract, MONDAY, lambda c: c.authorise_requester("ana@serra.com.br", "a", MONDAY))
    assert contract.state.is_authorised("ana@serra.com.br")


def test_revoking_a_whole_domain_denies_all_its_addresses() -> None:
    contract = authorised("@serra.com.br", "boss@other.com")
    on_contract(
        contract, MONDAY, lambda c: c.revoke_requester("@serra.com.br", "sold", "a", MONDAY)
    )
    assert not contract.state.is_authorised("ana@serra.com.br")
    assert contract.state.is_authorised("boss@other.com")


def test_revoking_someone_who_was_never_authorised_changes_nothing() -> None:
    contract = authorised("@serra.com.br")
    with pytest.raises(NothingChangedError):
        on_contract(contract, MONDAY, lambda c: c.revoke_requester("x@gmail.com", "?", "a", MONDAY))
    assert contract.state.is_authorised("ana@serra.com.br")


# Suspended or ended: no service from that instant on.


def test_a_suspended_contract_serves_nothing_from_the_instant_of_the_suspension() -> None:
    contract = signed(focco_terms())
    recorded = on_contract(
        contract, MONDAY, lambda c: c.suspend("invoice unpaid", "billing", MONDAY)
    )
    assert [type(e) for e in recorded] == [Contract.Suspended]
    assert contract.state.standing is ContractStanding.SUSPENDED
    contract.check_serves(MONDAY - MICROSECOND)  # work done before it still counts
    for instant in (MONDAY, MONDAY + timedelta(days=3), None):
        with pytest.raises(ContractSuspendedError):
            contract.check_serves(instant)


def test_a_reinstated_contract_serves_again_from_the_reinstatement() -> None:
    contract = signed(focco_terms())
    paid = MONDAY + timedelta(days=2)
    on_contract(contract, MONDAY, lambda c: c.suspend("unpaid", "billing", MONDAY))
    on_contract(contract, paid, lambda c: c.reinstate("paid", "billing", paid))
    contract.check_serves()
    contract.check_serves(paid)
    contract.check_serves(MONDAY - MICROSECOND)
    with pytest.raises(ContractSuspendedError):
        contract.check_serves(paid - MICROSECOND)


def test_a_suspended_contract_is_not_suspended_again_and_an_active_one_not_reinstated() -> None:
    contract = signed(focco_terms())
    with pytest.raises(InvalidTransitionError):
        on_contract(contract, MONDAY, lambda c: c.reinstate("?", "billing", MONDAY))
    on_contract(contract, MONDAY, lambda c: c.suspend("unpaid", "billing", MONDAY))
    with pytest.raises(ContractSuspendedError):
        on_contract(contract, MONDAY, lambda c: c.suspend("again", "billing", MONDAY))


def test_an_ended_contract_serves_nothing_from_its_end_and_is_never_reinstated() -> None:
    contract = signed(focco_terms())
    recorded = on_contract(contract, MONDAY, lambda c: c.end("not renewed", "admin", MONDAY))
    assert [type(e) for e in recorded] == [Contract.Ended]
    contract.check_serves(MONDAY - MICROSECOND)
    for instant in (MONDAY, None):
        with pytest.raises(ContractEndedError):
            contract.check_serves(instant)
    later = MONDAY + timedelta(days=1)
    for command in (
        lambda c: c.reinstate("oops", "admin", later),
        lambda c: c.end("again", "admin", later),
        lambda c: c.suspend("unpaid", "billing", later),
    ):
        with pytest.raises(ContractEndedError):
            on_contract(contract, later, command)
    assert isinstance(contract.pending_events[-1], Contract.Ended)


def test_a_suspended_contract_that_ends_serves_nothing_for_either_reason() -> None:
    contract = signed(focco_terms())
    ends = MONDAY + timedelta(days=5)
    on_contract(contract, MONDAY, lambda c: c.suspend("unpaid", "billing", MONDAY))
    on_contract(contract, ends, lambda c: c.end("never paid", "admin", ends))
    with pytest.raises(ContractSuspendedError):
        contract.check_serves(ends - MICROSECOND)
    with pytest.raises(ContractEndedError):
        contract.check_serves(ends)


# Warranties: works from the hand-over, material from the invoice.


def test_a_warranty_of_works_is_in_force_from_the_hand_over_for_its_months_in_local_days() -> None:
    contract = signed(focco_terms())
    works = Kind.WARRANTY_OF_WORKS
    contract.check_warranty(works, local("2026-03-01 00:00"))
    contract.check_warranty(works, local("2027-02-28 23:59"))
    # 02:59 UTC on 1 March is still 28 February in Caxias do Sul.
    for outside in (local("2026-02-28 23:59"), local("2027-03-01 00:00")):
        with pytest.raises(WarrantyNotCoveredError, match="works"):
            contract.check_warranty(works, outside)


def test_a_warranty_of_material_is_in_force_from_the_invoice_date_for_its_months() -> None:
    contract = signed(focco_terms())
    material = Kind.WARRANTY_OF_MATERIAL
    contract.check_warranty(material, local("2026-01-09 23:59"))
    with pytest.raises(WarrantyNotCoveredError, match="material"):
        contract.check_warranty(material, local("2026-01-10 00:00"))


def test_each_warranty_kind_counts_from_its_own_date() -> None:
    contract = signed(
        focco_terms(
            warranties=[
                {"kind": "works", "starts_on": "2026-06-15", "months": 6, "scope": "line 3"},
                {"kind": "material", "starts_on": "2026-05-20", "months": 6},
            ]
        )
    )
    june_first, november_25 = local("2026-06-01 12:00"), local("2026-11-25 12:00")
    contract.check_warranty(Kind.WARRANTY_OF_MATERIAL, june_first)
    with pytest.raises(WarrantyNotCoveredError):
        contract.check_warranty(Kind.WARRANTY_OF_WORKS, june_first)
    contract.check_warranty(Kind.WARRANTY_OF_WORKS, november_25)
    with pytest.raises(WarrantyNotCoveredError):
        contract.check_warranty(Kind.WARRANTY_OF_MATERIAL, november_25)


def test_a_contract_without_warranties_refuses_both_warranty_kinds() -> None:
    contract = signed(focco_terms(warranties=[]))
    for kind in (Kind.WARRANTY_OF_WORKS, Kind.WARRANTY_OF_MATERIAL):
        with pytest.raises(WarrantyNotCoveredError):
            contract.check_warranty(kind, MONDAY)


def test_kinds_that_are_no_warranty_need_none() -> None:
    contract = signed(focco_terms(warranties=[]))
    for kind in Kind:
        if kind.warranty is None:
            contract.check_warranty(kind, MONDAY)


def test_no_warranty_is_in_force_before_the_contract_starts() -> None:
    contract = signed(
        focco_terms(warranties=[{"kind": "works", "starts_on": "2025-06-01", "months": 24}])
    )
    with pytest.raises(ContractNotStartedError):
        contract.check_warranty(Kind.WARRANTY_OF_WORKS, local("2025-12-31 23:59"))
    contract.check_warranty(Kind.WARRANTY_OF_WORKS, local("2026-01-01 00:00"))


# The one off-hours exception (seed 003).


def allow(
    ticket_id: UUID, number: str, instant: datetime = MONDAY
) -> tuple[Callable[[Contract], None], list[bool]]:
    """The go-ahead for off-hours work on a ticket, and where its answer lands."""
    results: list[bool] = []

    def command(contract: Contract) -> None:
        results.append(contract.allow_off_hours(ticket_id, number, "carla", instant))

    return command, results


def test_the_first_off_hours_service_without_the_24x7_addon_is_granted_as_the_exception() -> None:
    contract = signed(focco_terms())
    command, results = allow(FIRST, "2026-000001")
    recorded = on_contract(contract, MONDAY, command)
    assert results == [True]
    assert [(type(e), e.ticket_id, e.ticket_number, e.by) for e in recorded] == [
        (Contract.OffHoursExceptionGranted, FIRST, "2026-000001", "carla")
    ]
    assert contract.state.off_hours_exception_tickets == (FIRST,)


def test_the_same_ticket_again_is_still_the_exception_and_records_nothing_more() -> None:
    contract = signed(focco_terms())
    on_contract(contract, MONDAY, allow(FIRST, "2026-000001")[0])
    later = MONDAY + timedelta(days=1)
    command, results = allow(FIRST, "2026-000001", later)
    assert on_contract(contract, later, command) == []
    assert results == [True]
    assert contract.state.off_hours_exception_tickets == (FIRST,)


def test_the_next_tickets_off_hours_service_is_refused_once_the_exception_is_used() -> None:
    contract = signed(focco_terms())
    on_contract(contract, MONDAY, allow(FIRST, "2026-000001")[0])
    later = MONDAY + timedelta(days=1)
    version = contract.version
    with pytest.raises(OffHoursExceptionUsedError, match="24x7"):
        on_contract(contract, later, allow(SECOND_TICKET, "2026-000002", later)[0])
    assert (contract.version, contract.state.off_hours_exception_tickets) == (version, (FIRST,))


def test_with_the_24x7_addon_off_hours_service_is_no_exception_and_records_nothing() -> None:
    contract = signed(focco_terms(coverage="24x7", addon_24x7_share="0.30"))
    assert contract.state.terms.has_24x7_addon
    for ticket_id, number in ((FIRST, "2026-000001"), (SECOND_TICKET, "2026-000002")):
        command, results = allow(ticket_id, number)
        assert on_contract(contract, MONDAY, command) == []
        assert results == [False]
    assert contract.state.off_hours_exception_tickets == ()


def test_24x7_coverage_without_the_addon_price_is_not_limited_to_one_exception_either() -> None:
    contract = signed(focco_terms(coverage="24x7"))
    for ticket_id in (FIRST, SECOND_TICKET, THIRD):
        command, results = allow(ticket_id, "n")
        assert (on_contract(contract, MONDAY, command), results) == ([], [False])


def test_a_pay_per_use_customer_is_never_refused_off_hours_service() -> None:
    contract = signed(focco_terms(agreement="pay_per_use", monthly_fee="0", monthly_hours="0"))
    for ticket_id in (FIRST, SECOND_TICKET):
        command, results = allow(ticket_id, "n")
        assert (on_contract(contract, MONDAY, command), results) == ([], [False])


def test_a_contract_may_grant_more_than_one_off_hours_exception() -> None:
    contract = signed(focco_terms(off_hours_exceptions=2))
    for ticket_id in (FIRST, SECOND_TICKET):
        command, results = allow(ticket_id, "n")
        on_contract(contract, MONDAY, command)
        assert results == [True]
    with pytest.raises(OffHoursExceptionUsedError, match="2 off-hours"):
        on_contract(contract, MONDAY, allow(THIRD, "n")[0])


def test_extended_coverage_without_the_addon_still_grants_only_one_exception() -> None:
    contract = signed(neotel_extended_terms())
    on_contract(contract, MONDAY, allow(FIRST, "n")[0])
    with pytest.raises(OffHoursExceptionUsedError):
        on_contract(contract, MONDAY, allow(SECOND_TICKET, "n")[0])


def test_a_suspended_contract_grants_no_off_hours_service() -> None:
    contract = signed(focco_terms())
    on_contract(contract, MONDAY, lambda c: c.suspend("unpaid", "billing", MONDAY))
    with pytest.raises(ContractSuspendedError):
        on_contract(contract, MONDAY, allow(FIRST, "n")[0])
    assert contract.state.off_hours_exception_tickets == ()
