"""Signing in and out, the home page each role lands on, and error pages."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ticketledger.api.access import Role
from ticketledger.api.people import SignInRefusedError, TooManyAttemptsError
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
)
from ticketledger.api.web.words import Words

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
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "sign_in.html", words, status, csrf=token, next=target, error=error)
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


def refusal_page(request: Request, refusal: PageRefusal) -> Response:
    if refusal.redirect is not None:
        return see_other(refusal.redirect)
    return error_page(request, browser_words(request), refusal.status, refusal.code)
