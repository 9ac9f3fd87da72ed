"""Errors as RFC 9457 problem details, mapped in one place.

Every domain error keeps its stable `code`; the HTTP status follows its family:
a missing thing is 404, a state that forbids the command is 409, a stale
`If-Match` is 412, a command that cannot make sense is 422.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketledger.domain.errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    VersionMismatchError,
)
from ticketledger.projections.quarantine import TRANSIENT, ProjectionQuarantinedError
from ticketledger.projections.runner import FollowerFailingError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://ticketledger.dev/problems/"
# Far above any valid body (the longest texts are 10,000 characters), so only
# what no command could need is refused unread.
MAX_BODY_BYTES = 1024 * 1024
log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2


class Problem(BaseModel):
    """RFC 9457 problem details; `code` is stable and machine-readable."""

    type: str = Field(examples=[TYPE_BASE + "ticket_closed"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["ticket 2026-000012 is closed"])
    code: str = Field(examples=["ticket_closed"])
    instance: str | None = Field(default=None, examples=["/tickets/2026-000012/replies"])
    errors: list[dict[str, Any]] | None = None


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": Problem, "description": TITLES[status], "content": {PROBLEM_JSON: {}}}
        for status in statuses
    }


# What each operation can answer, so clients and schemathesis know each shape:
# every operation the refusals of keys, roles, bad input and an unavailable
# database; a command also those of its headers, its body and its rules.
COMMON_RESPONSES = problem_responses(401, 403, 404, 422, 503)
COMMAND_RESPONSES = problem_responses(400, 409, 412, 413)
WAITING_RESPONSES = problem_responses(409)


class ApiProblem(Exception):
    """A refusal made by the HTTP layer itself (authentication, roles, headers)."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def status_of(error: DomainError) -> int:
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, VersionMismatchError):
        return 412
    if isinstance(error, ConflictError):
        return 409
    # InvalidCommandError and anything else: a command that cannot make sense.
    return 422


def problem_body(
    status: int, code: str, detail: str, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
    }
    return {**body, **extra}


def problem_response(
    status: int,
    code: str,
    detail: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, detail, instance, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def domain_problem(error: DomainError, instance: str | None = None) -> dict[str, Any]:
    return problem_body(status_of(error), error.code, error.message, instance)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain(request: Request, error: DomainError) -> JSONResponse:
        return problem_response(status_of(error), error.code, error.message, request.url.path)

    @app.exception_handler(ApiProblem)
    async def api(request: Request, error: ApiProblem) -> JSONResponse:
        return problem_response(
            error.status, error.code, error.detail, request.url.path, error.headers
        )

    @app.exception_handler(ProjectionQuarantinedError)
    async def quarantined(request: Request, error: ProjectionQuarantinedError) -> JSONResponse:
        # The record's error text stays with the operator (health, CLI).
        detail = (
            f"the {error.projection} projection cannot answer for this now: it stopped "
            "following it at an event it could not apply; the operator sees it in /health"
        )
        return problem_response(
            503, "projection_quarantined", detail, request.url.path, projection=error.projection
        )

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
        return problem_response(
            503,
            "database_unavailable",
            "the ledger's database does not answer now; retry shortly (a command retried "
            "with its Idempotency-Key is applied once)",
            request.url.path,
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for transient in TRANSIENT:
        app.add_exception_handler(transient, unavailable)

    @app.exception_handler(FollowerFailingError)
    async def stalled(request: Request, error: FollowerFailingError) -> JSONResponse:
        return problem_response(
            503,
            "projection_unavailable",
            f"the {error.projection} projection cannot follow the log now; retry shortly",
            request.url.path,
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in error.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem_response(
            422, "invalid_request", detail or "invalid request", request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = TITLES.get(error.status_code, "error").lower().replace(" ", "_")
        return problem_response(
            error.status_code, code, str(error.detail), request.url.path, dict(error.headers or {})
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "internal_error", "the ledger failed unexpectedly", request.url.path
        )


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, whether announced by
    Content-Length or streamed. It reads the (small) body before the app does,
    so the refusal comes from here and not from the app's body parser."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self.refuse(scope, receive, send)
            return
        received = await self.read(receive)
        if received is None:
            await self.refuse(scope, receive, send)
            return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)

    async def read(self, receive: Receive) -> list[Message] | None:
        """The request's messages, or None once the body passes the limit."""
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.limit:
                return None
            if not message.get("more_body"):
                return messages

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "body_too_large", f"request bodies are limited to {self.limit} bytes"
        )
        await response(scope, receive, send)


class AllowedMethods:
    """Answers OPTIONS with every method the path takes: routers answer for
    the first route that matches the path alone, which names only its own."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        methods = {"OPTIONS"}
        for route in self.routes:
            match, _ = route.matches({**scope, "method": "GET"})
            if match is not Match.NONE:
                methods |= set(getattr(route, "methods", None) or ())
        if methods == {"OPTIONS"}:
            await self.app(scope, receive, send)  # no such path: the app's own 404
            return
        allow = ", ".join(sorted(methods))
        response = Response(status_code=204, headers={"Allow": allow})
        await response(scope, receive, send)
