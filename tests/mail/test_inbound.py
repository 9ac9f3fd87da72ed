"""Real-world message shapes (tests/mail/corpus/), each read as the desk reads
it: the sender, the ticket it refers to, the reply without its quoted
history, its attachments, whether a machine sent it, and an explicit verdict.
No database: reading a message is pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketledger.api.mail.inbound import Inbound, Limits, read_message
from ticketledger.api.mail.reply_text import Verdict, trimmed_reply, verdict_of

CORPUS = Path(__file__).parent / "corpus"
OURS = ("desk.example",)


def read(name: str, limits: Limits | None = None) -> Inbound:
    return read_message((CORPUS / name).read_bytes(), limits)


@dataclass(frozen=True)
class Expected:
    sender: str
    reply: str
    tickets: tuple[str, ...] = ()
    automatic: str | None = None
    verdict: Verdict | None = None


PERSON_MESSAGES = {
    "gmail_reply_pt.eml": Expected(
        "ana.ribeiro@moveisserra.com.br",
        "Bom dia,\n\nO log segue abaixo: a máquina reiniciou às 9h.\n\nAna",
        ("2026-000145",),
    ),
    "outlook_reply_es.eml": Expected(
        "jose.munoz@fabricaleon.es",
        "Hola Carla,\n\nEl informe de producción sigue sin abrir en el año fiscal “nuevo”."
        "\n\nSaludos,\nJosé Muñoz",
        ("2026-000212",),
    ),
    "latin1_pt.eml": Expected(
        "paulo.souza@moveisserra.com.br",
        "Bom dia,\n\nNão consigo acessar o relatório de expedição desde ontem “sem motivo”."
        "\nA mensagem é: «acesso negado».\n\nPaulo",
    ),
    "html_only.eml": Expected(
        "marta.gil@fabricaleon.es",
        "Hola,\n\nLa impresora de etiquetas no imprime desde las 8:00.\n\n"
        "* Modelo: ZT410\n* Línea: 3\n\nGracias",
    ),
    "attachments.eml": Expected(
        "ana.ribeiro@moveisserra.com.br", "Segue o PDF da nota e a tela do erro."
    ),
    "forwarded.eml": Expected(
        "ana.ribeiro@moveisserra.com.br", "Vejam o aviso abaixo, chegou hoje cedo."
    ),
    "no_message_id.eml": Expected(
        "ana.ribeiro@moveisserra.com.br", "O ERP pede senha de novo a cada tela."
    ),
    "acceptance_pt.eml": Expected(
        "ana.ribeiro@moveisserra.com.br",
        "Aceito.\n\nObrigada pela ajuda!",
        ("2026-000145",),
        verdict=Verdict.ACCEPTED,
    ),
    "rejection_es.eml": Expected(
        "jose.munoz@fabricaleon.es",
        "No acepto la solución.\nSigue fallando el informe de los lunes.",
        ("2026-000212",),
        verdict=Verdict.REJECTED,
    ),
    "ambiguous_pt.eml": Expected(
        "paulo.souza@moveisserra.com.br",
        "Aceito, mas a VPN ainda cai às vezes.\nNão aceito que fique assim por muito tempo.",
        ("2026-000150",),
    ),
}

MACHINE_MESSAGES = {
    "auto_reply_pt.eml": "Auto-Submitted: auto-replied",
    "outlook_out_of_office.eml": "X-Auto-Response-Suppress",
    "bounce.eml": "a null sender (a bounce)",
    "mailing_list.eml": "Precedence: list",
    "loop.eml": "Auto-Submitted: auto-generated",
}


@pytest.mark.parametrize("name", sorted(PERSON_MESSAGES))
def test_a_persons_message_gives_its_sender_ticket_reply_and_verdict(name: str) -> None:
    found, expected = read(name), PERSON_MESSAGES[name]
    assert (found.sender, found.reply) == (expected.sender, expected.reply)
    assert found.ticket_numbers(OURS) == expected.tickets
    assert (found.automatic, found.verdict) == (None, expected.verdict)
    assert found.problems == ()
    # The whole text is kept: the reply is only what is shown.
    assert expected.reply.split("\n")[0] in found.text


@pytest.mark.parametrize("name", sorted(MACHINE_MESSAGES))
def test_a_machines_message_says_why_and_never_counts_as_a_verdict(name: str) -> None:
    found = read(name)
    assert found.automatic == MACHINE_MESSAGES[name]
    assert found.verdict is None


def test_the_corpus_is_read_whole_by_these_tests() -> None:
    names = {path.name for path in CORPUS.glob("*.eml")}
    assert names == {*PERSON_MESSAGES, *MACHINE_MESSAGES, "broken_mime.eml"}


def test_attachments_are_kept_by_name_type_size_and_sha256() -> None:
    found = read("attachments.eml")
    pdf, png = found.attachments
    assert (pdf.name, pdf.content_type, pdf.size) == ("nota 1234.pdf", "application/pdf", 51)
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.sha256 == sha256(pdf.content)
    assert (png.name, png.content_type) == ("tela de erro.png", "image/png")
    assert png.content.startswith(b"\x89PNG") and png.sha256 == sha256(png.content)


def test_an_attachment_over_the_limit_is_refused_by_name_and_the_rest_kept() -> None:
    found = read("attachments.eml", Limits(attachment_bytes=60))
    assert [a.name for a in found.attachments] == ["nota 1234.pdf"]
    assert found.refused_attachments == ("tela de erro.png: 66 bytes, over 60",)
    fewer = read("attachments.eml", Limits(attachments=1))
    assert fewer.refused_attachments == ("tela de erro.png: more than 1 attachments",)


def test_a_forwarded_message_is_kept_whole_as_an_attachment_and_its_text_in_the_body() -> None:
    found = read("forwarded.eml")
    (forwarded,) = found.attachments
    assert forwarded.content_type == "message/rfc822"
    assert b"Message-ID: <backup-20261008@moveisserra.com.br>" in forwarded.content
    assert "O backup noturno falhou: disco cheio." in found.text


def test_a_message_without_its_boundary_is_read_as_far_as_it_goes_and_names_why() -> None:
    found = read("broken_mime.eml")
    assert "O texto que ninguém delimitou." in found.text
    assert "no text or HTML body" in found.problems
    assert any("NoBoundaryInMultipartDefect" in p for p in found.problems)


def test_ids_subjects_and_senders_are_read_from_encoded_headers() -> None:
    reply = read("outlook_reply_es.eml")
    assert reply.sender_name == "José Muñoz"
    assert reply.subject == "RE: [2026-000212] Informe de producción"
    assert reply.message_id == "AM9PR01MB7458E1@AM9PR01MB7458.eurprd01.prod.outlook.com"
    assert read("no_message_id.eml").message_id is None
    assert read("latin1_pt.eml").subject == "Não consigo acessar o relatório"


def test_a_reference_to_our_message_outranks_the_number_in_the_subject() -> None:
    found = read_message(
        b"From: ana@moveisserra.com.br\r\nSubject: Re: [2026-000999] old subject\r\n"
        b"In-Reply-To: <2026-000145.4.aa@desk.example>\r\n"
        b"References: <2026-000140.1.bb@desk.example> <2026-000145.4.aa@desk.example>\r\n"
        b"\r\nok\r\n"
    )
    assert found.ticket_numbers(OURS) == ("2026-000145", "2026-000140", "2026-000999")
    # Someone else's Message-ID that looks like ours names nothing.
    assert found.ticket_numbers(("other.example",)) == ("2026-000999",)


def test_garbage_is_read_without_an_exception_and_names_the_missing_sender() -> None:
    for raw in (b"", b"\x00\xff\xfe not mail at all", b"From: nobody\r\n\r\n\xff"):
        found = read_message(raw)
        assert found.sender == "" and "no sender address in From" in found.problems


# The reply rules beyond the corpus.


@pytest.mark.parametrize(
    "text",
    [
        "Obrigado!\n\nOn Mon, Oct 5, 2026 at 10:10 AM Suporte <s@desk.example> wrote:\n> hi",
        "Obrigado!\n\nOn 5 Oct 2026, at 10:10, Suporte <s@desk.example> wrote:\n\n> hi",
        "Obrigado!\n\nEl lun, 5 oct 2026 a las 10:10, Soporte (<s@desk.example>)\n"
        "escribió:\n> hola",
        "Obrigado!\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: x",
        "Obrigado!\n\nFrom: Support <s@desk.example>\nSent: Monday, October 5, 2026 10:10 AM\n"
        "To: Ana\nSubject: x\n\nhello",
        "Obrigado!\n\n-----Mensagem original-----\nDe: Suporte\nEnviada em: segunda-feira",
        "Obrigado!\n\n> quoted\n> more\n",
        "Obrigado!\n-- \nAna Ribeiro\nMóveis Serra",
        "Obrigado!\n\nEnviado do meu iPhone",
        "Obrigado!\n\nGet Outlook for Android",
    ],
)
def test_quoted_history_and_signatures_are_trimmed_from_a_reply(text: str) -> None:
    assert trimmed_reply(text) == "Obrigado!"


def test_a_reply_that_answers_between_quoted_lines_is_kept_with_them() -> None:
    text = "> Can you restart it?\nDone, restarted at 9.\n> And the log?\nAttached."
    assert trimmed_reply(text) == text


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("ACEITO", Verdict.ACCEPTED),
        ("Aceito a solução.\nObrigada", Verdict.ACCEPTED),
        ("acepto!", Verdict.ACCEPTED),
        ("I accept the resolution.", Verdict.ACCEPTED),
        ("Não aceito.\nContinua travando.", Verdict.REJECTED),
        ("Rechazo la solución", Verdict.REJECTED),
        ("I do not accept", Verdict.REJECTED),
        ("Aceito\nNão aceito", None),
        ("Aceito que demorou, mas funcionou", None),
        ("Obrigada, funcionou!", None),
        ("", None),
    ],
)
def test_only_a_line_that_is_a_verdict_alone_and_unopposed_counts(
    reply: str, verdict: Verdict | None
) -> None:
    assert verdict_of(reply) is verdict


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# Whatever arrives, reading it never fails.

HEADER_LINES = st.sampled_from(
    [
        b"From: Ana <ana@moveisserra.com.br>",
        b"From: =?utf-8?B?broken?= <>",
        b'Content-Type: multipart/mixed; boundary="b"',
        b"Content-Type: text/html; charset=x-unknown",
        b'Content-Type: text/plain; charset="utf-8"',
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"Subject: =?iso-8859-1?Q?=E9t=E9?=",
        b"In-Reply-To: <2026-000145.1.x@desk.example",
        b"Message-ID: <<>>",
        b"Date: Mon, 99 Foo 2026 25:61:00 +9999",
        b"Auto-Submitted:",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    headers=st.lists(HEADER_LINES, max_size=8),
    body=st.binary(max_size=400),
    parts=st.lists(st.binary(max_size=60), max_size=3),
)
def test_any_bytes_are_read_without_an_exception(
    headers: list[bytes], body: bytes, parts: list[bytes]
) -> None:
    mime = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\n" + p + b"\r\n" for p in parts)
    raw = b"\r\n".join(headers) + b"\r\n\r\n" + body + mime
    found = read_message(raw)
    assert isinstance(found.text, str) and isinstance(found.problems, tuple)
    assert found.reply == trimmed_reply(found.text)


def test_defects_mail_programs_read_past_do_not_count_as_problems() -> None:
    found = read_message(
        b"From Ana Mon Oct  5 10:00:00 2026\r\n"  # an mbox From_ line
        b"From: ana@moveisserra.com.br\r\nSubject: log\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nSegue o log.\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment;"
        b" filename=log.txt\r\nContent-Transfer-Encoding: base64\r\n\r\nbG9n\r\n"
        # ...and no closing boundary.
    )
    assert (found.text, found.problems) == ("Segue o log.", ())
    assert [a.content for a in found.attachments] == [b"log"]
