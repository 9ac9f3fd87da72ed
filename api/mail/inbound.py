"""A received message as the desk reads it: who sent it, which of our messages
it answers, its text (HTML turned into text, charsets as declared), the reply
without the quoted history, its attachments by SHA-256, and whether a machine
sent it. Reading never fails: what cannot be read is named in `problems`, and
the message is then kept for triage, never lost.

The standard library's `email` package parses (its `default` policy, which
records a broken structure as defects instead of raising); inscriptis lays
HTML out as text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from ticketledger.api.mail.reply_text import Verdict, trimmed_reply, verdict_of

# A ticket number as the ledger issues them (domain/numbering.py): year-sequence.
TICKET_NUMBER = re.compile(r"(?<![\d-])(\d{4}-\d{6})(?![\d-])")
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# Our own notices carry this header; a message that does came back to us.
LOOP_HEADER = "X-Ticketledger-Loop"
# Charsets that mail programs declare for what is really Windows-1252, as
# browsers read them (WHATWG): the same letters, and the quotes and dashes too.
READ_AS_WINDOWS_1252 = frozenset({"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"})


@dataclass(frozen=True)
class Limits:
    """What a message may bring: larger attachments are refused by name."""

    attachment_bytes: int = 10 * 2**20
    attachments: int = 20


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int
    sha256: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Inbound:
    message_id: str | None  # without its angle brackets
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: str  # the From address as written; "" when there is none
    sender_name: str
    subject: str
    sent_at: datetime | None
    text: str  # the whole body as text: what is kept
    reply: str  # the body without quoted history and signature: what is shown
    attachments: tuple[Attachment, ...]
    refused_attachments: tuple[str, ...]
    automatic: str | None  # why a machine sent it; None from a person
    problems: tuple[str, ...]

    @property
    def verdict(self) -> Verdict | None:
        """An explicit acceptance or rejection, only in a person's reply."""
        return None if self.automatic else verdict_of(self.reply)

    def ticket_numbers(self, own_domains: Iterable[str]) -> tuple[str, ...]:
        """The tickets this message refers to: of our own messages it answers
        first (In-Reply-To, then References, newest first), then the subject.
        Our notices' Message-IDs begin with their ticket's number
        (`<2026-000145.….@our.domain>`), so the reference survives a subject
        the requester rewrote."""
        domains = {d.lower() for d in own_domains}
        found: list[str] = []
        for message_id in (*self.in_reply_to, *reversed(self.references)):
            local, _, domain = message_id.rpartition("@")
            number = TICKET_NUMBER.match(local)
            if domain.lower() in domains and number and number[1] not in found:
                found.append(number[1])
        found.extend(n for n in TICKET_NUMBER.findall(self.subject) if n not in found)
        return tuple(found)


def read_message(raw: bytes, limits: Limits | None = None) -> Inbound:
    """The message in `raw` (RFC 5322 bytes), read as far as it can be."""
    limits = limits or Limits()
    problems: list[str] = []
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    sender_name, sender = from_address(message, problems)
    text = body_text(message, problems)
    attachments, refused = attachments_of(message, limits, problems)
    problems.extend(defects_of(message))
    return Inbound(
        message_id=first_id(header(message, "Message-ID")),
        in_reply_to=ids(header(message, "In-Reply-To")),
        references=ids(header(message, "References")),
        sender=sender,
        sender_name=sender_name,
        subject=" ".join(header(message, "Subject").split()),
        sent_at=sent_at(message),
        text=text,
        reply=trimmed_reply(text),
        attachments=attachments,
        refused_attachments=refused,
        automatic=automatic(message, sender),
        problems=tuple(dict.fromkeys(problems)),
    )


# Headers.


def header(message: Message, name: str) -> str:
    """A header's text, decoded; "" when absent or undecodable."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):
        return ""
    return "" if value is None else str(value)


def ids(value: str) -> tuple[str, ...]:
    return tuple(MESSAGE_ID.findall(value))


def first_id(value: str) -> str | None:
    found = ids(value)
    if found:
        return found[0]
    bare = value.strip()
    return bare or None


def from_address(message: Message, problems: list[str]) -> tuple[str, str]:
    pairs = [(name, address) for name, address in getaddresses([header(message, "From")])]
    addresses = [(name, address) for name, address in pairs if "@" in address]
    if not addresses:
        problems.append("no sender address in From")
        return "", ""
    if len(addresses) > 1:
        problems.append("more than one address in From: the first is the sender")
    name, address = addresses[0]
    return name.strip(), address.strip()


def sent_at(message: Message) -> datetime | None:
    try:
        when = parsedate_to_datetime(header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


# Defects that leave part of a message unread. Others (a lenient base64, a
# missing closing boundary, an mbox From_ line) are read past, as mail
# programs do, and would hold a person's ordinary message for nothing.
UNREAD = frozenset(
    {
        "NoBoundaryInMultipartDefect",
        "StartBoundaryNotFoundDefect",
        "MultipartInvariantViolationDefect",
        "MissingHeaderBodySeparatorDefect",
        "FirstHeaderLineIsContinuationDefect",
    }
)


def defects_of(message: Message) -> list[str]:
    return [
        f"broken message structure: {type(defect).__name__}"
        for part in message.walk()
        for defect in part.defects
        if type(defect).__name__ in UNREAD
    ]


# Why a machine sent it (RFC 3834 and what mail programs do besides).


AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply")
ROBOT_SENDERS = frozenset({"mailer-daemon", "postmaster"})


def automatic(message: Message, sender: str) -> str | None:
    """Why this message is a machine's and must open nothing and be answered
    by nothing; None when a person sent it."""
    submitted = header(message, "Auto-Submitted").split(";")[0].strip().lower()
    precedence = header(message, "Precedence").strip().lower()
    reasons = (
        (bool(submitted) and submitted != "no", f"Auto-Submitted: {submitted}"),
        (precedence in {"bulk", "list", "junk", "auto_reply"}, f"Precedence: {precedence}"),
        (bool(header(message, "X-Auto-Response-Suppress")), "X-Auto-Response-Suppress"),
        (any(header(message, h) for h in AUTO_HEADERS), "an auto-reply header"),
        (bool(header(message, "List-Id") or header(message, "List-Unsubscribe")), "a list"),
        (header(message, "Return-Path").strip() == "<>", "a null sender (a bounce)"),
        (sender.split("@")[0].lower() in ROBOT_SENDERS, f"sent by {sender}"),
        (message.get_content_type() == "multipart/report", "a delivery report"),
        (bool(header(message, LOOP_HEADER)), "our own notice came back (a loop)"),
    )
    return next((reason for found, reason in reasons if found), None)


# The body.


def body_text(message: EmailMessage, problems: list[str]) -> str:
    """The plain-text body, or the HTML one laid out as text."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, ValueError, IndexError):
        part = None
    if part is None:
        if message.get_content_maintype() != "multipart":
            part = message
        else:
            problems.append("no text or HTML body")
            # A multipart without its boundary still holds its body, whole.
            unparsed = message.get_payload(decode=True)
            return tidy(unparsed.decode("utf-8", "replace")) if isinstance(unparsed, bytes) else ""
    content = decoded(part, problems)
    if part.get_content_type() == "text/html":
        content = html_text(content)
    return tidy(content)


def decoded(part: Message, problems: list[str]) -> str:
    """The part's text in its declared charset (Windows-1252 for what is
    declared Latin-1 or ASCII, as mail programs mean it)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = (part.get_content_charset() or "us-ascii").lower()
    charset = "windows-1252" if declared in READ_AS_WINDOWS_1252 else declared
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        problems.append(f"unknown charset {declared}: read as Windows-1252")
        return payload.decode("windows-1252", errors="replace")


def html_text(html: str) -> str:
    # Imported when an HTML-only message comes: it loads lxml, which no
    # other command needs at start.
    from inscriptis import get_text

    text: Any = get_text(html)
    return str(text)


def tidy(text: str) -> str:
    """Lines without the indentation layout gave them, at most one blank line
    between paragraphs."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()


# Attachments.


def attachments_of(
    message: EmailMessage, limits: Limits, problems: list[str]
) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    kept: list[Attachment] = []
    refused: list[str] = []
    for part in message.iter_attachments():
        name = part.get_filename() or f"attachment-{len(kept) + len(refused) + 1}"
        payload = attachment_bytes(part)
        if payload is None:
            problems.append(f"attachment {name} could not be decoded")
            continue
        if len(payload) > limits.attachment_bytes:
            refused.append(f"{name}: {len(payload)} bytes, over {limits.attachment_bytes}")
        elif len(kept) >= limits.attachments:
            refused.append(f"{name}: more than {limits.attachments} attachments")
        else:
            digest = hashlib.sha256(payload).hexdigest()
            kept.append(Attachment(name, part.get_content_type(), len(payload), digest, payload))
    return tuple(kept), tuple(refused)


def attachment_bytes(part: EmailMessage) -> bytes | None:
    """The attachment as stored: a forwarded message whole, as its own bytes."""
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        messages = [
            m for m in (inner if isinstance(inner, list) else [inner]) if isinstance(m, Message)
        ]
        try:
            return b"".join(m.as_bytes() for m in messages) or None
        except (ValueError, LookupError, TypeError, IndexError):
            return None
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else None
