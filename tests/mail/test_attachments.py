"""Files that come by e-mail, on SQLite and PostgreSQL: the ticket's events name
them (name, type, size, SHA-256), their content is kept outside the events,
and the API serves it back, as a download, to those who may read the ticket."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path
from urllib.parse import quote
from uuid import UUID

from tests.api_support import OWN, Api
from ticketledger.api.mail.inbound import Limits
from ticketledger.api.mail.receive import LedgerDesk, MailSettings, MailStore, Received, receive
from ticketledger.domain.ticket import Ticket

CORPUS = Path(__file__).parent / "corpus"
# The corpus message, sent by the requester the API's test keys know.
MESSAGE = (
    (CORPUS / "attachments.eml")
    .read_bytes()
    .replace(b"ana.ribeiro@moveisserra.com.br", b"ana@serra.com.br")
)


def delivered(api: Api, limits: Limits | None = None, raw: bytes = MESSAGE) -> Received:
    api.sign_contracts()
    desk = LedgerDesk(api.ledger, lambda: [UUID(api.contracts[OWN])])
    settings = MailSettings(domains=("desk.example",), limits=limits or Limits())
    return receive(api.ledger, MailStore(api.ledger), desk, raw, settings)


def test_the_files_of_a_message_are_named_in_its_ticket_and_served_to_its_readers(
    api: Api,
) -> None:
    opened = delivered(api)
    assert opened.outcome == "opened" and opened.number is not None
    (event, *_) = api.ledger.events_after(api.ledger.ticket(opened.number).id, None)
    assert isinstance(event, Ticket.Opened)
    pdf, png = event.attachments
    assert (pdf.name, pdf.content_type, pdf.size) == ("nota 1234.pdf", "application/pdf", 51)
    path = f"/tickets/{opened.number}/attachments/{pdf.sha256}"
    for reader in ("agent", "auditor", "requester"):
        served = api.get(reader, path)
        assert served.status_code == 200, (reader, served.text)
        assert sha256(served.content).hexdigest() == pdf.sha256
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == (
        f"attachment; filename=\"nota 1234.pdf\"; filename*=UTF-8''{quote('nota 1234.pdf')}"
    )
    assert served.headers["x-content-type-options"] == "nosniff"
    assert api.get("other_requester", path).status_code == 404
    assert api.get(None, path).status_code == 401
    other = f"/tickets/{opened.number}/attachments/{'0' * 64}"
    assert api.get("agent", other).json()["code"] == "attachment_not_found"
    assert api.get("agent", f"/tickets/{opened.number}/attachments/nota.pdf").status_code == 422
    (view, *_) = api.ok(api.get("requester", f"/tickets/{opened.number}/events"))
    assert [a["name"] for a in view["data"]["attachments"]] == ["nota 1234.pdf", "tela de erro.png"]
    image = api.get("agent", f"/tickets/{opened.number}/attachments/{png.sha256}")
    assert image.headers["content-type"] == "image/png"
    assert sha256(image.content).hexdigest() == png.sha256


def test_a_file_over_the_limit_is_not_kept_and_the_ticket_says_so(api: Api) -> None:
    opened = delivered(api, Limits(attachment_bytes=60))
    assert opened.number is not None
    ticket = api.ledger.ticket(opened.number)
    (event, *_) = api.ledger.events_after(ticket.id, None)
    assert [a.name for a in event.attachments] == ["nota 1234.pdf"]
    assert ticket.state.description.endswith(
        "(attachments not kept: tela de erro.png: 66 bytes, over 60)"
    )


def test_a_file_name_with_control_characters_or_no_ascii_is_served_safely(api: Api) -> None:
    # RFC 2231, as mail programs write a name that is not ASCII.
    strange = MESSAGE.replace(
        b'filename="nota 1234.pdf"', b"filename*=utf-8''c%C3%A1lculo%0D%0AX%3A%20y.pdf"
    )
    opened = delivered(api, raw=strange).number
    assert opened is not None
    (event, *_) = api.ledger.events_after(api.ledger.ticket(opened).id, None)
    pdf = event.attachments[0]
    assert pdf.name == "cálculo  X: y.pdf"
    served = api.get("agent", f"/tickets/{opened}/attachments/{pdf.sha256}")
    assert served.headers["content-disposition"] == (
        'attachment; filename="c_lculo  X: y.pdf"; '
        f"filename*=UTF-8''{quote('cálculo  X: y.pdf', safe='')}"
    )
