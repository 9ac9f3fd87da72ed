"""Signing in and out, the home page each role lands on, and error pages."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ticketledger.api.access import Role
from ticketledger.api.http.deps import services as services_of
from ticketledger.api.people import (
    LINK_MINUTES,
    SignedIn,
    SignInRefusedError,
    TooManyAttemptsError,
)
from ticketledger.api.web.render import error_page, page, see_other
from ticketledger.api.web.visits import (
    FORM_COOKIE,
    SESSION_COOKIE,
    PageRefusal,
    anonymous_form,
    browser_words,
    checked_form,
    people_of,
    secure,
    words_of,
)
from ticketledger.api.web.words import Words

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
HOMES = {
    Role.ADMIN: "/desk",
    Role.AGENT: "/desk",
    Role.REQUESTER: "/portal",
    Role.BILLING: "/billing",
    Role.AUDITOR: "/audit",
}
NextQuery = Annotated[str, Query(max_length=2000)]


def safe_next(target: str) -> str:
    """Only a path of this site: never another site after signing in."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/")
async def home(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(people_of(request).session, token) if token else None
    if session is None:
        return see_other("/sign-in")
    return see_other(HOMES[session.person.role])


@router.get("/sign-in")
def sign_in_page(request: Request, next: NextQuery = "/") -> Response:
    return sign_in_form(request, browser_words(request), safe_next(next))


def sign_in_form(
    request: Request, words: Words, target: str, status: int = 200, error: str | None = None
) -> Response:
    return anonymous_page(request, "sign_in.html", words, status, next=target, error=error)


def anonymous_page(
    request: Request, template: str, words: Words, status: int = 200, **context: object
) -> Response:
    """A page of forms for someone not signed in: their token is the form
    cookie's (double submit), set here when the browser has none yet."""
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, template, words, status, csrf=token, **context)
    response.set_cookie(
        FORM_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/"
    )
    return response


@router.post("/sign-in")
async def sign_in(request: Request, form: Annotated[FormData, Depends(anonymous_form)]) -> Response:
    words = browser_words(request)
    target = safe_next(str(form.get("next") or "/"))
    login, password = str(form.get("login") or ""), str(form.get("password") or "")
    address = request.client.host if request.client else "unknown"
    people = people_of(request)
    try:
        signed = await run_in_threadpool(people.sign_in, login, password, address)
    except TooManyAttemptsError as refused:
        minutes = max(1, int(refused.retry_after.total_seconds() // 60) + 1)
        message = words(
            "Too many failed sign-ins. Try again in {minutes} minutes.", minutes=minutes
        )
        response = sign_in_form(request, words, target, 429, message)
        response.headers["Retry-After"] = str(int(refused.retry_after.total_seconds()) + 1)
        return response
    except SignInRefusedError:
        return sign_in_form(request, words, target, 401, words("Wrong e-mail or password."))
    landing = target if target != "/" else HOMES[signed.session.person.role]
    return signed_in_at(request, signed, landing)


def signed_in_at(request: Request, signed: SignedIn, landing: str) -> Response:
    response = see_other(landing)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
        max_age=12 * 3600,
    )
    response.delete_cookie(FORM_COOKIE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(people_of(request).sign_out, token)
    response = see_other("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# A requester's one-time link by e-mail.


@router.get("/sign-in/link")
def link_request_page(request: Request) -> Response:
    return link_form(request, browser_words(request))


def link_form(request: Request, words: Words, sent_to: str | None = None) -> Response:
    return anonymous_page(request, "sign_in_link.html", words, sent_to=sent_to)


@router.post("/sign-in/link")
async def link_request(
    request: Request, form: Annotated[FormData, Depends(anonymous_form)]
) -> Response:
    """Mails a link when the address is an active requester's; the answer is
    the same whether it is or not, and comes before anything is looked up or
    mailed (a background task), so neither its words nor its time reveal an
    account."""
    login = str(form.get("login") or "").strip()[:300]
    response = link_form(request, browser_words(request), sent_to=login or "-")
    response.background = BackgroundTask(mail_link, services_of(request), login)
    return response


def mail_link(services: Any, login: str) -> None:
    try:
        made = services.people.create_link(login)
    except Exception:  # after the page answered: the operator's log, not the asker's page
        log.exception("a sign-in link for %s could not be made", login)
        return
    if made is None:
        return
    person, token = made
    if services.link_mail is None:
        log.warning("no relay is set: the sign-in link for %s was not mailed", person.login)
        return
    mail = services.link_mail
    try:
        mail.send(mail.message(person.login, person.language, token, LINK_MINUTES))
    except Exception:  # the relay's failure is the operator's to see, not the asker's
        log.exception("the sign-in link for %s could not be mailed", person.login)


@router.get("/sign-in/link/{token}")
def link_page(request: Request, token: Annotated[str, Path(max_length=100)]) -> Response:
    """A button, not the sign-in itself: mail scanners open links on their
    own, and would use the link up before the person could."""
    return anonymous_page(request, "sign_in_with_link.html", browser_words(request), token=token)


@router.post("/sign-in/link/{token}")
async def sign_in_with_link(
    request: Request,
    token: Annotated[str, Path(max_length=100)],
    form: Annotated[FormData, Depends(anonymous_form)],
) -> Response:
    signed = await run_in_threadpool(people_of(request).use_link, token)
    if signed is None:
        return error_page(request, browser_words(request), 410, "link_used")
    return signed_in_at(request, signed, HOMES[signed.session.person.role])


async def refusal_page(request: Request, refusal: PageRefusal) -> Response:
    if refusal.redirect is not None:
        return see_other(refusal.redirect)
    words = await run_in_threadpool(
        words_of,
        services_of(request),
        dict(request.cookies),
        request.headers.get("accept-language", ""),
    )
    return error_page(request, words, refusal.status, refusal.code)
