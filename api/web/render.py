"""Pages from templates: the Jinja2 environment, what every page is given,
the headers every page carries, and the page an error becomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from ticketledger.api.web.words import Words

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
# Pages load scripts and styles from this site only: a message a requester
# wrote cannot run in an agent's browser even if it slipped past escaping.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(
    request: Request, name: str, words: Words, status: int = 200, **context: Any
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        name,
        {"_": words, "w": words, "lang": words.language, **context},
        status_code=status,
        headers=PAGE_HEADERS,
    )
    return response


def see_other(url: str) -> RedirectResponse:
    """After a form: the browser loads the next page with GET (no re-post)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


# Errors as sentences. Each problem code of the API and of the pages has one,
# in the person's language (api/web/catalog.py); a code without one shows the
# problem's own detail, never a stack trace.

SENTENCES = {
    "version_mismatch": "Someone changed this ticket meanwhile. Here it is as it is now; "
    "what you wrote is kept below: check it and send again.",
    "form_expired": "This form has expired or did not come from this site. Reload the page "
    "and try again.",
    "forbidden_for_role": "Your account cannot see or do this.",
    "ticket_not_found": "There is no such ticket, or it is not yours to see.",
    "sign_in_refused": "Wrong e-mail or password.",
    "too_many_attempts": "Too many failed sign-ins. Try again in {minutes} minutes.",
    "not_found": "There is no such page.",
    "body_too_large": "What you sent is too large: send smaller or fewer files.",
    "link_used": "This link was used already or has expired. Ask for a new one on the sign-in "
    "page.",
    "malformed_form": "The form could not be read. Reload the page and try again.",
    "invalid_form": "Some fields need attention.",
    "database_unavailable": "The desk's database does not answer now. Nothing was written; "
    "try again in a moment.",
    "kept_changing": "The ticket kept changing while this was applied. Nothing was written; "
    "try again.",
    "requester_not_authorised": "The sender is not authorised on this contract yet: an admin "
    'authorises them first (or releases with "authorise the sender").',
    "statement_already_issued": "This month was issued already; its statement stands as issued.",
    "month_not_ended": "This month has not ended yet in the contract's time zone; it can be "
    "issued once it has.",
    "held_request_decided": "This request was already released or discarded.",
    "server_error": "Something went wrong on our side. Nothing you sent was lost; "
    "try again in a moment.",
}


# What a page says after a form's command was done.
DONE = {
    "reply": "Your reply was sent.",
    "opened": "Your ticket was opened.",
    "accept": "Thank you: the resolution is accepted.",
    "reject": "The resolution is rejected; the desk takes it up again.",
    "rate": "Thank you for your rating.",
    "release": "Released: the request is now a ticket.",
    "discard": "Discarded, with its reason.",
}


def done_sentence(words: Words, action: str) -> str:
    return words(DONE.get(action, "Done."))


def sentence(words: Words, code: str, detail: str = "", **values: object) -> str:
    known = SENTENCES.get(code)
    if known is None:
        return words("This could not be done: {detail}", detail=detail or code)
    return words(known, **values)


def error_page(
    request: Request,
    words: Words,
    status: int,
    code: str,
    detail: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    response = page(
        request,
        "error.html",
        words,
        status=status,
        message=sentence(words, code, detail),
        code=code,
    )
    response.headers.update(headers or {})
    return response


def body_of(response: Response) -> dict[str, Any]:
    """The JSON an API route answered with: its problem, or what it wrote."""
    found: dict[str, Any] = json.loads(bytes(response.body))
    return found


# Fields whose refusal reads better as a sentence of its own.
FIELD_SENTENCES = {"confirm": "Tick the box to confirm you checked it."}


def field_errors(words: Words, error: ValidationError) -> list[str]:
    """A form's invalid fields, one sentence each."""
    said = []
    for found in error.errors():
        name = ".".join(str(part) for part in found["loc"]) or words("form")
        if name in FIELD_SENTENCES:
            said.append(words(FIELD_SENTENCES[name]))
        else:
            said.append(f"{words(name)}: {found['msg']}")
    return said
