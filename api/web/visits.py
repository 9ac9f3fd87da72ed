"""Who is looking at a page: the signed-in person's session, the form token
every form must send back (CSRF), and the language the page answers in.

A page for a signed-in person takes `Visit` from `visitor(*roles)`; a form
post also takes `checked_form`, which refuses a post whose form token is not
the session's, or whose Origin is another site's, before anything runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ticketledger.api.access import Role
from ticketledger.api.http.deps import Reads, Services, services
from ticketledger.api.people import Person, Session
from ticketledger.api.web.words import Words, language_of

SESSION_COOKIE = "tl_session"
# Forms shown before signing in carry this cookie's value (double submit).
FORM_COOKIE = "tl_form"


class PageRefusal(Exception):
    """Answered as a page, not as a problem: a sign-in to go to, or a sentence."""

    def __init__(self, status: int, code: str, redirect: str | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.redirect = status, code, redirect


@dataclass(frozen=True)
class Visit:
    """A signed-in person's request."""

    person: Person
    session: Session
    token: str
    words: Words
    services: Services

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def role(self) -> Role:
        return self.person.role

    def reads(self) -> Reads:
        """A read as this person, what they may see and nothing waited for."""
        return Reads(self.services, self.person.principal, None)


def people_of(request: Request) -> Any:
    return services(request).people


def visitor(*roles: Role) -> Callable[..., Awaitable[Visit]]:
    """A dependency for pages these roles may see: anyone not signed in is
    sent to sign in and back; another role gets a page saying it may not."""

    async def visiting(request: Request) -> Visit:
        token = request.cookies.get(SESSION_COOKIE)
        session = None
        if token:
            session = await run_in_threadpool(people_of(request).session, token)
        if token is None or session is None:
            back = quote(return_to(request), safe="")
            raise PageRefusal(303, "sign_in", f"/sign-in?next={back}")
        if session.person.role not in roles:
            raise PageRefusal(403, "forbidden_for_role")
        words = Words(session.person.language)
        return Visit(session.person, session, token, words, services(request))

    return visiting


def return_to(request: Request) -> str:
    """The page to come back to after signing in: the one asked for; for a
    form's post or a piece of a page (a table, a stream), the page it was on."""
    path = request.url.path
    if request.method != "GET":
        return path.rsplit("/", 1)[0] or "/"
    if "part" in request.query_params or path.endswith("/changes"):
        return path.removesuffix("/changes") or "/"
    return path + (f"?{request.url.query}" if request.url.query else "")


def same_origin(request: Request) -> bool:
    """A browser names the page a post comes from; another site's is refused.
    This site is the Host asked for, or the public address configured (a proxy
    may ask with a Host of its own)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    ours = {request.headers.get("host", ""), urlsplit(services(request).public_url).netloc}
    return origin.split("://", 1)[-1] in ours


async def form_of(request: Request) -> FormData:
    try:
        return await request.form(max_files=10, max_fields=100)
    except Exception as error:  # a malformed multipart body: a sentence, not a 500
        raise PageRefusal(400, "malformed_form") from error


def check_token(given: Any, expected: str) -> None:
    """The form's token is the one expected; no token expected (no cookie) is
    a refusal too, or an empty token would match it."""
    if not expected or not isinstance(given, str) or not secrets.compare_digest(given, expected):
        raise PageRefusal(403, "form_expired")


async def checked_form(request: Request) -> FormData:
    """The posted form of a signed-in person, once its token is the session's."""
    if not same_origin(request):
        raise PageRefusal(403, "form_expired")
    form = await form_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(people_of(request).session, token) if token else None
    if session is None:
        raise PageRefusal(303, "sign_in", "/sign-in")
    check_token(form.get("csrf"), session.csrf)
    return form


async def anonymous_form(request: Request) -> FormData:
    """A form posted before signing in: its token is its own cookie's."""
    if not same_origin(request):
        raise PageRefusal(403, "form_expired")
    form = await form_of(request)
    check_token(form.get("csrf"), request.cookies.get(FORM_COOKIE) or "")
    return form


def secure(request: Request) -> bool:
    """Cookies are Secure when the browser came over TLS (directly or through
    a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.lower() == "https"


def browser_words(request: Request) -> Words:
    return Words(language_of(request.headers.get("accept-language", "")))


def words_of(services: Services, cookies: dict[str, str], accept_language: str) -> Words:
    """The signed-in person's language, else the browser's: an error page
    speaks as the pages around it do."""
    token = cookies.get(SESSION_COOKIE)
    session = services.people.session(token) if token else None
    if session is not None:
        return Words(session.person.language)
    return Words(language_of(accept_language))
