"""The e-mail that carries a requester's one-time link to sign in to the
portal, in the person's language, through the same relay as the notices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ticketledger.api.mail.inbound import LOOP_HEADER
from ticketledger.api.mail.notices import Sender, environment


@dataclass(frozen=True)
class LinkMail:
    """How links leave: the relay's send, who they come from, and the site's
    own address (configured, never taken from a request's Host header, which
    a stranger could set to their own site)."""

    send: Callable[[EmailMessage], None]
    sender: Sender
    public_url: str

    def url(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/sign-in/link/{token}"

    def message(self, to: str, language: str, token: str, minutes: int) -> EmailMessage:
        text = (
            environment()
            .get_template(f"{language}/sign_in_link.txt")
            .render(url=self.url(token), minutes=minutes)
        )
        subject, _, body = text.partition("\n\n")
        message = EmailMessage()
        message["From"] = Address(display_name=self.sender.name, addr_spec=self.sender.address)
        message["To"] = to
        message["Subject"] = subject.strip()
        message["Date"] = format_datetime(datetime.now().astimezone())
        message["Message-ID"] = make_msgid(domain=self.sender.domain)
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message[LOOP_HEADER] = self.sender.domain
        message.set_content(body.strip() + "\n")
        message["Content-Language"] = language
        return message
