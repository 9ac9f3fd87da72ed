"""An e-mail notice as the requester receives it: rendered from the templates
of the contract's language (templates/<language>/<notice>.txt: the subject on
the first line, then the body), threaded on the ticket, marked as sent by a
machine so that mail programs and other desks do not answer it.

Every notice of a ticket carries the ticket's number in its subject and at
the start of its Message-ID (`<2026-000145.3.reply@desk.example>`, the form
api/mail/inbound.py reads back), and refers to the ticket's first notice (and
to the requester's own message that opened it, when one did), so replies
thread onto the ticket whatever the requester's mail program keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as local_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ticketledger.api.mail.inbound import LOOP_HEADER
from ticketledger.domain.vocabulary import ClosureReason, Language, MailNotice

TEMPLATES = Path(__file__).parent / "templates"
LOCALES = {Language.PT_BR: "pt_BR", Language.ES: "es", Language.EN: "en"}
CLOSURE_WORDS: dict[Language, dict[ClosureReason, str]] = {
    Language.PT_BR: {
        ClosureReason.ACCEPTED: "solução aceita",
        ClosureReason.ACCEPTANCE_DEEMED: "aceite tácito, sem resposta no prazo",
        ClosureReason.CUSTOMER_UNRESPONSIVE: "sem retorno do cliente no prazo",
        ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED: "tentativas de contato esgotadas",
        ClosureReason.THIRD_PARTY: "aguardando terceiro além do prazo",
    },
    Language.ES: {
        ClosureReason.ACCEPTED: "solución aceptada",
        ClosureReason.ACCEPTANCE_DEEMED: "aceptación tácita, sin respuesta en el plazo",
        ClosureReason.CUSTOMER_UNRESPONSIVE: "sin respuesta del cliente en el plazo",
        ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED: "intentos de contacto agotados",
        ClosureReason.THIRD_PARTY: "a la espera de un tercero más allá del plazo",
    },
    Language.EN: {
        ClosureReason.ACCEPTED: "solution accepted",
        ClosureReason.ACCEPTANCE_DEEMED: "acceptance deemed: no answer in time",
        ClosureReason.CUSTOMER_UNRESPONSIVE: "no answer from you in time",
        ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED: "contact attempts exhausted",
        ClosureReason.THIRD_PARTY: "waiting on a third party beyond the limit",
    },
}


@dataclass(frozen=True)
class Notice:
    """What one notice says, and to whom, before it is a message."""

    notice: MailNotice
    number: str
    about_version: int
    recipient: str
    subject: str
    language: Language
    timezone: str
    # The event's own words: a reply, a reason, a resolution.
    text: str = ""
    closure: ClosureReason | None = None
    closes_at: datetime | None = None
    # The requester's message that opened the ticket, when one did.
    opened_by_message: str | None = None


@dataclass(frozen=True)
class Sender:
    """Who notices come from, and the domain of their Message-IDs."""

    address: str
    domain: str
    name: str = ""


@cache
def environment() -> Environment:
    # Plain text: nothing to escape; a missing variable is a defect, not a blank.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def message_id(number: str, about_version: int, notice: MailNotice, domain: str) -> str:
    """Without its angle brackets, as stored in NoticeMailed."""
    return f"{number}.{about_version}.{notice.value}@{domain}"


def thread_root(number: str, domain: str) -> str:
    """The ticket's first notice: every later one refers to it."""
    return message_id(number, 1, MailNotice.OPENED, domain)


def rendered(notice: Notice) -> tuple[str, str]:
    """The subject line and the body, in the notice's language."""
    template = environment().get_template(f"{notice.language.value}/{notice.notice.value}.txt")
    text = template.render(
        number=notice.number,
        subject=notice.subject,
        text=words_of(notice),
        closes_at=local_instant(notice),
    )
    subject, _, body = text.partition("\n\n")
    return subject.strip(), body


def words_of(notice: Notice) -> str:
    if notice.closure is not None:
        return CLOSURE_WORDS[notice.language][notice.closure]
    return notice.text


def local_instant(notice: Notice) -> str:
    if notice.closes_at is None:
        return ""
    return local_datetime(
        notice.closes_at,
        format="long",
        tzinfo=ZoneInfo(notice.timezone),
        locale=LOCALES[notice.language],
    )


def message_of(notice: Notice, sender: Sender, sent_at: datetime) -> EmailMessage:
    subject, body = rendered(notice)
    own_id = message_id(notice.number, notice.about_version, notice.notice, sender.domain)
    root = thread_root(notice.number, sender.domain)
    earlier = [i for i in (notice.opened_by_message, root) if i and i != own_id]
    message = EmailMessage()
    message["From"] = Address(display_name=sender.name, addr_spec=sender.address)
    message["To"] = notice.recipient
    message["Subject"] = f"[{notice.number}] {subject}"
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{own_id}>"
    if earlier:
        message["In-Reply-To"] = f"<{earlier[-1]}>"
        message["References"] = " ".join(f"<{i}>" for i in earlier)
    # RFC 3834: a machine's message, which nobody's machine should answer.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message[LOOP_HEADER] = sender.domain
    message.set_content(body)
    # After the content: setting it replaces every Content- header.
    message["Content-Language"] = notice.language.value
    return message
