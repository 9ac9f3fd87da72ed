"""A notice as the requester receives it: in the contract's language, with the
ticket's number in its subject, threaded on the ticket, marked automatic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketledger.api.mail.inbound import read_message
from ticketledger.api.mail.notices import Notice, Sender, message_of, rendered
from ticketledger.domain.vocabulary import ClosureReason, Language, MailNotice

DESK = Sender(address="soporte@desk.example", domain="desk.example", name="Soporte")
SENT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def notice(kind: MailNotice, language: Language = Language.ES, **fields: object) -> Notice:
    given: dict[str, object] = {
        "notice": kind,
        "number": "2026-000145",
        "about_version": 7,
        "recipient": "pablo@andino.com.ar",
        "subject": "La impresora no imprime",
        "language": language,
        "timezone": "America/Argentina/Buenos_Aires",
        "text": "Se cambió el cabezal.",
        **fields,
    }
    return Notice(**given)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", list(Language), ids=lambda lang: lang.value)
@pytest.mark.parametrize("kind", list(MailNotice), ids=lambda kind: kind.value)
def test_every_notice_has_a_subject_and_a_body_in_every_language(
    kind: MailNotice, language: Language
) -> None:
    closing = {"closure": ClosureReason.CUSTOMER_UNRESPONSIVE} if kind is MailNotice.CLOSED else {}
    subject, body = rendered(
        notice(
            kind,
            language,
            closes_at=SENT if kind is MailNotice.CLOSURE_PENDING else None,
            **closing,
        )
    )
    assert subject.endswith("La impresora no imprime") and "\n" not in subject
    assert "2026-000145" in body and "{{" not in body


def test_a_resolution_asks_for_acceptance_in_spanish_with_the_keywords_the_desk_reads() -> None:
    message = message_of(notice(MailNotice.RESOLVED), DESK, SENT)
    assert message["Subject"] == (
        "[2026-000145] Ticket resuelto, confirme la aceptación: La impresora no imprime"
    )
    body = message.get_content()
    assert "Se cambió el cabezal." in body and "ACEPTO" in body and "RECHAZO" in body
    assert message["Content-Language"] == "es"
    assert message["Auto-Submitted"] == "auto-generated"


def test_a_later_notice_threads_on_the_requesters_message_and_the_tickets_first_notice() -> None:
    message = message_of(
        notice(MailNotice.REPLY, opened_by_message="abc@andino.com.ar"), DESK, SENT
    )
    assert message["Message-ID"] == "<2026-000145.7.reply@desk.example>"
    assert message["In-Reply-To"] == "<2026-000145.1.opened@desk.example>"
    assert message["References"] == "<abc@andino.com.ar> <2026-000145.1.opened@desk.example>"


def test_the_closure_notice_gives_the_instant_in_the_contracts_zone_and_language() -> None:
    pending = notice(MailNotice.CLOSURE_PENDING, Language.PT_BR, closes_at=SENT)
    _, body = rendered(pending)
    assert "12:00:00" in body  # 15:00 UTC in Buenos Aires
    assert "dezembro" in body


def test_a_requester_answering_a_notice_is_read_back_onto_its_ticket() -> None:
    """What the desk sends, answered, refers to the ticket it came from."""
    sent = message_of(notice(MailNotice.RESOLVED), DESK, SENT)
    answer = (
        "From: pablo@andino.com.ar\r\nTo: soporte@desk.example\r\n"
        f"Subject: Re: {sent['Subject']}\r\nIn-Reply-To: {sent['Message-ID']}\r\n"
        "Message-ID: <r1@andino.com.ar>\r\n\r\nAcepto\r\n"
    ).encode()
    read = read_message(answer)
    assert read.ticket_numbers(("desk.example",)) == ("2026-000145",)
    assert read.verdict is not None and read.verdict.value == "accepted"
    assert read_message(bytes(sent)).automatic is not None  # our own notice, come back
