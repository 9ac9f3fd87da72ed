"""What a received message does, decided from the message and what the ledger
says of its sender and the tickets it refers to (a desk held in memory here:
the decision is pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mail.test_inbound import HEADER_LINES, MACHINE_MESSAGES, read
from ticketledger.api.mail.inbound import Inbound, read_message
from ticketledger.api.mail.routing import (
    Accept,
    Ignore,
    Open,
    Reject,
    Reply,
    TicketSeen,
    Triage,
    route,
)
from ticketledger.domain.vocabulary import Status

OURS = ("desk.example",)
SERRA, LEON = uuid4(), uuid4()


@dataclass
class DeskSeen:
    """Contracts by the identities they admit (an address, or @domain), and tickets."""

    admitted: dict[UUID, set[str]] = field(
        default_factory=lambda: {
            SERRA: {"@moveisserra.com.br"},
            LEON: {"@fabricaleon.es"},
        }
    )
    tickets: dict[str, TicketSeen] = field(default_factory=dict)

    def admits(self, contract_id: UUID, sender: str) -> bool:
        identity = sender.lower()
        allowed = self.admitted.get(contract_id, set())
        return identity in allowed or "@" + identity.rpartition("@")[2] in allowed

    def contracts_admitting(self, sender: str) -> Sequence[UUID]:
        return [c for c in self.admitted if self.admits(c, sender)]

    def ticket(self, number: str) -> TicketSeen | None:
        return self.tickets.get(number)

    def with_ticket(self, number: str, contract: UUID, status: Status) -> DeskSeen:
        self.tickets[number] = TicketSeen(number, contract, status)
        return self


def test_an_authorised_senders_new_message_opens_a_ticket_with_its_whole_text() -> None:
    action = route(read("forwarded.eml"), DeskSeen(), OURS)
    assert isinstance(action, Open) and action.contract_id == SERRA
    assert action.subject == "Fwd: Falha no backup"
    assert "O backup noturno falhou: disco cheio." in action.description
    assert action.follows is None


@pytest.mark.parametrize("status", [Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.RESOLVED])
def test_a_reply_on_a_live_ticket_is_the_requesters_reply_without_the_quoted_history(
    status: Status,
) -> None:
    desk = DeskSeen().with_ticket("2026-000145", SERRA, status)
    action = route(read("gmail_reply_pt.eml"), desk, OURS)
    assert action == Reply(
        "2026-000145", "Bom dia,\n\nO log segue abaixo: a máquina reiniciou às 9h.\n\nAna"
    )


def test_an_acceptance_line_on_a_resolved_ticket_accepts_and_elsewhere_is_a_reply() -> None:
    message = read("acceptance_pt.eml")
    resolved = DeskSeen().with_ticket("2026-000145", SERRA, Status.RESOLVED)
    assert route(message, resolved, OURS) == Accept(
        "2026-000145", "Aceito.\n\nObrigada pela ajuda!"
    )
    still_open = DeskSeen().with_ticket("2026-000145", SERRA, Status.OPEN)
    assert isinstance(route(message, still_open, OURS), Reply)


def test_a_rejection_line_on_a_resolved_ticket_rejects_with_the_rest_as_the_reason() -> None:
    desk = DeskSeen().with_ticket("2026-000212", LEON, Status.RESOLVED)
    assert route(read("rejection_es.eml"), desk, OURS) == Reject(
        "2026-000212", "No acepto la solución.\nSigue fallando el informe de los lunes."
    )


def test_an_ambiguous_answer_to_an_acceptance_request_is_a_plain_reply() -> None:
    desk = DeskSeen().with_ticket("2026-000150", SERRA, Status.RESOLVED)
    action = route(read("ambiguous_pt.eml"), desk, OURS)
    assert isinstance(action, Reply) and action.number == "2026-000150"


def test_a_reply_to_a_closed_ticket_opens_a_new_one_that_follows_it() -> None:
    desk = DeskSeen().with_ticket("2026-000145", SERRA, Status.CLOSED)
    action = route(read("gmail_reply_pt.eml"), desk, OURS)
    assert isinstance(action, Open)
    assert (action.contract_id, action.follows) == (SERRA, "2026-000145")


@pytest.mark.parametrize("name", sorted(MACHINE_MESSAGES))
def test_a_machines_message_opens_nothing_and_answers_nothing(name: str) -> None:
    desk = DeskSeen().with_ticket("2026-000145", SERRA, Status.RESOLVED)
    desk.with_ticket("2026-000212", LEON, Status.RESOLVED)
    assert isinstance(route(read(name), desk, OURS), Ignore)


def test_a_message_from_our_own_domain_is_ignored() -> None:
    message = replace(read("no_message_id.eml"), sender="carla@desk.example")
    assert route(message, DeskSeen(), OURS) == Ignore(
        "sent from our own domain (carla@desk.example)"
    )


def test_an_unknown_sender_is_held_and_learns_nothing_of_the_ticket_it_names() -> None:
    desk = DeskSeen().with_ticket("2026-000145", SERRA, Status.OPEN)
    stranger = replace(read("gmail_reply_pt.eml"), sender="someone@elsewhere.example")
    assert route(stranger, desk, OURS) == Triage("refers only to tickets its sender may not see")
    new = replace(read("no_message_id.eml"), sender="someone@elsewhere.example")
    assert route(new, desk, OURS) == Triage("its sender is not authorised on any contract")


def test_a_sender_of_another_customer_cannot_reply_on_a_ticket_by_naming_it() -> None:
    desk = DeskSeen().with_ticket("2026-000145", SERRA, Status.OPEN)
    other = replace(read("gmail_reply_pt.eml"), sender="jose.munoz@fabricaleon.es")
    assert isinstance(route(other, desk, OURS), Triage)


def test_a_sender_authorised_on_two_contracts_is_held_for_triage() -> None:
    desk = DeskSeen()
    desk.admitted[LEON].add("ana.ribeiro@moveisserra.com.br")
    action = route(read("no_message_id.eml"), desk, OURS)
    assert action == Triage("its sender is authorised on 2 contracts")


def test_a_number_that_is_no_ticket_of_ours_does_not_stop_an_opening() -> None:
    message = replace(read("no_message_id.eml"), subject="Pedido 2026-999999 atrasado")
    action = route(message, DeskSeen(), OURS)
    assert isinstance(action, Open) and action.subject == "Pedido 2026-999999 atrasado"


def test_a_message_that_could_not_be_read_whole_is_held_with_what_was_wrong() -> None:
    action = route(read("broken_mime.eml"), DeskSeen(), OURS)
    assert isinstance(action, Triage) and "NoBoundaryInMultipartDefect" in action.reason


@pytest.mark.parametrize("raw", [b"", b"From: nobody\r\n\r\nhi", b"From: <@acme.com>\r\n\r\nhi"])
def test_a_message_with_no_usable_sender_is_held_with_what_was_wrong(raw: bytes) -> None:
    found: Inbound = read_message(raw)
    assert isinstance(route(found, DeskSeen(), OURS), Triage)


@settings(max_examples=200, deadline=None)
@given(headers=st.lists(HEADER_LINES, max_size=8), body=st.binary(max_size=300))
def test_any_message_gets_a_decision_and_never_an_exception(
    headers: list[bytes], body: bytes
) -> None:
    desk = DeskSeen().with_ticket("2026-000145", SERRA, Status.RESOLVED)
    action = route(read_message(b"\r\n".join(headers) + b"\r\n\r\n" + body), desk, OURS)
    assert isinstance(action, Ignore | Triage | Open | Reply | Accept | Reject)
