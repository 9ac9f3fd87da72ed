"""Who an address is (domain/addresses.py): a revoked person cannot get back
in under a disguise of the same mailbox, and a look-alike is refused."""

from __future__ import annotations

import pytest

from tests.domain.support import on_contract, signed
from tests.support import at, focco_terms
from ticketledger.domain.addresses import address_identity, stored_identity
from ticketledger.domain.contract import Contract
from ticketledger.domain.errors import InvalidCommandError

REVOKED = "joao.mendes@moveisserra.com.br"
MONDAY = at("2026-10-05 12:00")
DISGUISES = [
    "joao.mendes+x@moveisserra.com.br",
    "Joao.Mendes+suporte@MoveisSerra.COM.BR",
    '"joao.mendes"@moveisserra.com.br',
    "joao.\u200bmendes@moveisserra.com.br",  # a zero-width space
    "joao.men\u00addes@moveisserra.com.br",  # a soft hyphen
    "\uff4aoao.mendes@moveisserra.com.br",  # a fullwidth j
    " joao.mendes@moveisserra.com.br. ",
    "joao.mendes@MOVEISSERRA.com.br\ufeff",  # a byte-order mark
]
LOOK_ALIKES = [
    "j\u043eao.mendes@moveisserra.com.br",  # a Cyrillic o among Latin letters
    "joao.m\u0435ndes@moveisserra.com.br",  # a Cyrillic e
    "j\u03bfao.mendes@moveisserra.com.br",  # a Greek omicron
]
UNDELIVERABLE = [
    "joao mendes@moveisserra.com.br",
    "joao\x07@moveisserra.com.br",
    "joao..mendes@moveisserra.com.br",
    "joao(mendes)@moveisserra.com.br",
    "+x@moveisserra.com.br",
    "joao@moveis_serra.com.br",
    "joao@localhost",
]


def revoked_inside_the_domain() -> Contract:
    contract = signed(focco_terms())
    on_contract(
        contract, MONDAY, lambda c: c.authorise_requester("@moveisserra.com.br", "a", MONDAY)
    )
    on_contract(contract, MONDAY, lambda c: c.revoke_requester(REVOKED, "left", "a", MONDAY))
    return contract


@pytest.mark.parametrize("disguise", DISGUISES)
def test_a_revoked_person_under_a_disguise_of_the_same_mailbox_is_still_revoked(
    disguise: str,
) -> None:
    assert address_identity(disguise) == REVOKED
    contract = revoked_inside_the_domain()
    assert not contract.state.is_authorised(disguise)
    assert contract.state.is_authorised("ana.paula+vendas@moveisserra.com.br")


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_an_address_mixing_scripts_in_its_local_part_is_refused(look_alike: str) -> None:
    with pytest.raises(InvalidCommandError, match="mixes scripts"):
        address_identity(look_alike)
    with pytest.raises(InvalidCommandError):
        revoked_inside_the_domain().state.is_authorised(look_alike)


@pytest.mark.parametrize("address", UNDELIVERABLE)
def test_an_address_no_mail_system_would_accept_is_refused(address: str) -> None:
    with pytest.raises(InvalidCommandError):
        address_identity(address)


def test_one_script_other_than_latin_and_an_international_domain_are_addresses() -> None:
    assert address_identity("Мария@Пример.рф") == "мария@xn--e1afmkfd.xn--p1ai"
    assert address_identity("José.Núñez@Empresa.com.ar") == "josé.núñez@empresa.com.ar"
    assert address_identity("@MoveisSerra.com.br") == "@moveisserra.com.br"


def test_an_authorisation_with_a_tag_authorises_the_person_and_revoking_it_revokes_them() -> None:
    contract = signed(focco_terms())
    on_contract(contract, MONDAY, lambda c: c.authorise_requester("ana+x@acme.com", "a", MONDAY))
    assert contract.state.is_authorised("ana@acme.com")
    on_contract(contract, MONDAY, lambda c: c.revoke_requester("ANA@acme.com", "left", "a", MONDAY))
    assert not contract.state.is_authorised("ana+y@acme.com")


def test_an_address_an_old_event_holds_folds_to_its_identity_without_a_refusal() -> None:
    assert stored_identity("Ana+X@Acme.com") == "ana@acme.com"
    assert stored_identity("j\u043eao@acme.com") == "j\u043eao@acme.com"
