"""The web pages people use: agents, requesters, billing and auditors.

Server-rendered Jinja2 templates, enhanced by htmx where a browser runs it and
whole without it. Pages run the API's own route functions as the signed-in
person (api/web/ticket_page.py), so a rule or a refusal is the API's.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketledger.api.web import audit, billing, desk, pages, portal
from ticketledger.api.web.render import HERE, PAGE_HEADERS, sentence, templates
from ticketledger.api.web.visits import PageRefusal, words_of
from ticketledger.api.web.words import Words, language_of

log = logging.getLogger(__name__)
# Paths that are pages: a problem there is answered as a page with a sentence.
PAGE_PATHS = ("/sign-in", "/sign-out", "/desk", "/portal", "/billing", "/audit")


def install_pages(app: FastAPI) -> None:
    for router in (pages.router, desk.router, portal.router, billing.router, audit.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(PageRefusal)
    async def refused(request: Request, refusal: PageRefusal) -> Response:
        return await pages.refusal_page(request, refusal)

    app.add_middleware(ProblemPages)


def is_page(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in PAGE_PATHS)


class ProblemPages:
    """Turns a problem document answered on a page's path (a domain error, a
    refused key, a 404, a database outage) into an error page holding its
    sentence: a person never reads JSON or a stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = b""
        started = False

        async def sending(message: Message) -> None:
            nonlocal start, body, started
            if message["type"] == "http.response.start":
                started = True
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"application/problem+json"):
                    start = message
                    return
            elif start is not None and message["type"] == "http.response.body":
                body += message.get("body", b"")
                if message.get("more_body"):
                    return
                await self.send_page(scope, start, body, send)
                return
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if started:
                raise  # past the page's head (a stream, a background task): nothing to answer
            # The app's own handler logs it; a person reads a sentence.
            log.exception("unexpected error on the page %s", scope["path"])
            problem = {"code": "server_error", "detail": ""}
            failed: Message = {"type": "http.response.start", "status": 500, "headers": []}
            await self.send_page(scope, failed, json.dumps(problem).encode(), send)

    async def send_page(self, scope: Scope, start: Message, body: bytes, send: Send) -> None:
        problem: dict[str, Any] = json.loads(body or b"{}")
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers") or []}
        words = await self.words(scope)
        html = templates.get_template("error.html").render(
            _=words,
            w=words,
            lang=words.language,
            message=sentence(words, str(problem.get("code")), str(problem.get("detail", ""))),
            code=problem.get("code"),
        )
        kept = {k: v for k, v in headers.items() if k in ("retry-after", "www-authenticate")}
        response = Response(
            html,
            status_code=int(start["status"]),
            media_type="text/html",
            headers={**PAGE_HEADERS, **kept},
        )
        await response(scope, receive_nothing, send)

    async def words(self, scope: Scope) -> Words:
        request = Request(scope)
        try:
            return await run_in_threadpool(
                words_of,
                request.app.state.services,
                dict(request.cookies),
                request.headers.get("accept-language", ""),
            )
        except Exception:  # the database that failed the page may fail this too
            return Words(language_of(request.headers.get("accept-language", "")))


async def receive_nothing() -> Message:
    return {"type": "http.disconnect"}
