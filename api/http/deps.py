"""What routes depend on: the services, who is calling, and how commands and
reads run.

Routes stay thin: a pydantic body, one command through `Commands.on_ticket`,
`on` or `handle`, or one projection read through `Reads.rows`, and a response
model. Domain errors become problem details in `problems.py`, nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ticketledger.api.access import CLAIM_LEASE, AccessStore, Principal, Role, token_hash
from ticketledger.api.attachments import AttachmentStore
from ticketledger.api.http.problems import (
    MAX_BODY_BYTES,
    PROBLEM_JSON,
    ApiProblem,
    domain_problem,
)
from ticketledger.api.http.schemas import Accepted, Instant
from ticketledger.api.jobs.every import Every
from ticketledger.api.mail.sign_in import LinkMail
from ticketledger.api.people import PeopleStore
from ticketledger.domain.contract import Contract
from ticketledger.domain.errors import (
    ContractNotFoundError,
    DomainError,
    KeptChangingError,
    TicketNotFoundError,
    VersionMismatchError,
)
from ticketledger.domain.numbering import ticket_id_for
from ticketledger.domain.ticket import Ticket, public_version
from ticketledger.projections import quarantine
from ticketledger.projections.runner import Projector
from ticketledger.projections.store import Rows
from ticketledger.service.commands import Command, ContractCommand, TicketCommand
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.outcomes import (
    AlreadyAppliedError,
    CommandResult,
    RequestKey,
    StoredOutcome,
)

WAIT_SECONDS = 5.0
MAX_LOOKAHEAD = timedelta(days=366)
T = TypeVar("T")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
ETAG = re.compile(r'^\s*"?(\d{1,18})"?\s*$')

EVERYONE = (Role.ADMIN, Role.AGENT, Role.REQUESTER, Role.AUDITOR, Role.BILLING)
DESK = (Role.ADMIN, Role.AGENT)
TICKET_READERS = (Role.ADMIN, Role.AGENT, Role.AUDITOR, Role.REQUESTER)
REQUESTER_WRITERS = (Role.ADMIN, Role.AGENT, Role.REQUESTER)
BILLING_READERS = (Role.ADMIN, Role.BILLING, Role.AUDITOR)
SUPERVISORS = (Role.ADMIN, Role.AGENT, Role.AUDITOR)


@dataclass
class Services:
    ledger: TicketLedger
    projector: Projector
    access: AccessStore
    followers: bool = True
    wait_seconds: float = WAIT_SECONDS
    owns_ledger: bool = False
    # Seconds between ticks of the background ticker; None runs none.
    tick_seconds: float | None = None
    body_limit_bytes: int = MAX_BODY_BYTES
    # How long an unanswered idempotency claim holds (api/access.py).
    claim_lease: timedelta = CLAIM_LEASE
    # Where queries read when not here: a streaming replica of the database.
    replica: Replica | None = None
    # The e-mail notices' sender, run beside the ticker (api/mail/outbound.py).
    sender: Every | None = None
    # How requesters' one-time sign-in links are mailed; None: they are not.
    link_mail: LinkMail | None = None
    # Where people reach the pages (TICKETLEDGER_PUBLIC_URL).
    public_url: str = "http://127.0.0.1:8000"

    @cached_property
    def attachments(self) -> AttachmentStore:
        """The files requesters sent, kept beside the primary's events."""
        return AttachmentStore(self.ledger)

    @cached_property
    def people(self) -> PeopleStore:
        """Who signs in to the pages, and their sessions, on the primary."""
        return PeopleStore(self.ledger)

    @property
    def query_ledger(self) -> TicketLedger:
        return self.ledger if self.replica is None else self.replica.ledger

    @property
    def query_projector(self) -> Projector:
        return self.projector if self.replica is None else self.replica.projector


@dataclass(frozen=True)
class Replica:
    """A streaming replica's events and projections, read by queries; commands,
    followers and API keys stay on the primary. What a command wrote reaches
    the replica a moment later: a read given `after=` waits for it there."""

    ledger: TicketLedger
    projector: Projector

    def wait_for_log(self, position: int, seconds: float) -> bool:
        """Whether the replica's log reaches `position` within `seconds`."""
        deadline = time.monotonic() + seconds
        while (self.ledger.recorder.max_notification_id() or 0) < position:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


# Who is calling.

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `ticketledger keys create`, sent as `Authorization: Bearer …`",
)


CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_of(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise ApiProblem(401, "unauthenticated", "send an API key as a bearer token", CHALLENGE)
    return credentials.credentials


def unknown_key() -> ApiProblem:
    return ApiProblem(401, "invalid_api_key", "this API key is unknown or revoked", CHALLENGE)


def refused_role(caller: Principal) -> ApiProblem:
    return ApiProblem(403, "forbidden_for_role", f"{caller.role.value} keys cannot do this")


@dataclass(frozen=True)
class Caller:
    """Who reads or commands. A key this process authenticated before comes
    unconfirmed, with its token's hash: whether it still stands is asked
    before anything is read or written, by a read in its own first statement,
    by a command in the thread that runs it, instead of the query and the
    thread of its own that authenticating costs (README "Performance")."""

    principal: Principal
    unconfirmed: str | None = None


def admit(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting only these roles: any other key gets 403."""

    async def admitted(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        token = token_of(credentials)
        access = services(request).access
        known = access.recall(token)
        if known is not None and known.role in roles:
            return Caller(known, token_hash(token))
        # Unknown here, or refused: decided on the stored key, revoked or not.
        found = await run_in_threadpool(access.authenticate, token)
        if found is None:
            raise unknown_key()
        if found.role not in roles:
            raise refused_role(found)
        return Caller(found)

    return admitted


# Commands.


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: str


IdempotencyKey = Annotated[
    str | None,
    Header(
        description="makes the command safe to retry: the same key and body return the "
        "first response and write nothing more",
        examples=["b3f1c2d4-retry-1"],
        # Documented, not enforced here: the refusal is ours (400), not FastAPI's.
        json_schema_extra={"pattern": IDEMPOTENCY_KEY.pattern},
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        description="the version (ETag) the command expects; a stale one answers 412",
        examples=['"4"'],
        json_schema_extra={"pattern": r'^\s*("?\d{1,18}"?|\*)\s*$'},
    ),
]


async def idempotency(request: Request, idempotency_key: str | None) -> Idempotency | None:
    if idempotency_key is None:
        return None
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise ApiProblem(
            400, "invalid_idempotency_key", "Idempotency-Key is 1 to 255 printable ASCII characters"
        )
    body = await request.body()
    precondition = request.headers.get("if-match", "")
    seen = fingerprint_of(request.method, request.url.path, precondition, body)
    return Idempotency(idempotency_key, seen)


def fingerprint_of(method: str, path: str, precondition: str, body: bytes) -> str:
    """What a request asks, whatever the spacing and key order of its JSON; the
    same body with another precondition is another request."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    request_line = f"{method} {path}\n{precondition}\n"
    return hashlib.sha256(request_line.encode() + canonical).hexdigest()


def expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = ETAG.match(if_match)
    if found is None:
        raise ApiProblem(400, "invalid_if_match", 'If-Match takes one version, e.g. "4"')
    return int(found.group(1))


@dataclass
class Calling:
    """What commands and reads share: the caller, and what it may see."""

    services: Services
    caller: Principal
    # The token hash of a key not yet confirmed to stand (`Caller`).
    unconfirmed: str | None = field(default=None, kw_only=True)

    @property
    def ledger(self) -> TicketLedger:
        self.confirmed()
        return self.services.ledger

    def confirmed(self) -> None:
        """Asks, once, whether the caller's key still stands: 401 if revoked."""
        if self.unconfirmed is not None:
            self._confirm(self.services.access.confirm(self.unconfirmed))

    def _confirm(self, valid: bool | None) -> None:
        if not valid:
            raise unknown_key()
        self.unconfirmed = None

    def check_customer(self, customer: str | None, missing: DomainError) -> None:
        if not self.caller.sees_customer(customer):
            raise missing

    def ticket(self, number: str) -> Ticket:
        """The ticket, if the caller may see it: another customer's is 404."""
        ticket = self.ledger.ticket(number)
        self.check_customer(ticket.state.customer, TicketNotFoundError(f"no ticket {number}"))
        return ticket

    def ticket_row(self, row: dict[str, Any] | None, number: str) -> dict[str, Any]:
        """A projection's row of the ticket, if there is one the caller may see."""
        missing = TicketNotFoundError(f"no ticket {number}")
        if row is None:
            raise missing
        self.check_customer(row["customer"], missing)
        return row

    def contract(self, contract_id: UUID) -> Contract:
        contract = self.ledger.contract(contract_id)
        missing = ContractNotFoundError(f"no contract {contract_id}")
        self.check_customer(contract.state.customer, missing)
        return contract


@dataclass
class Commands(Calling):
    """One command's context: the caller, its preconditions, and its retry key."""

    version: int | None
    retry: Idempotency | None
    path: str

    @property
    def by(self) -> str:
        return self.caller.actor

    def occurred(self, occurred_at: datetime | None) -> datetime | None:
        if occurred_at is not None and self.caller.role is Role.REQUESTER:
            raise ApiProblem(422, "occurred_at_not_allowed", "requesters act now: omit occurred_at")
        return occurred_at

    def on_ticket(
        self,
        number: str,
        command: type[TicketCommand],
        occurred_at: datetime | None,
        **fields: Any,
    ) -> JSONResponse:
        """Gives a command on a ticket the caller may see. Only a requester sees
        less than every ticket, so only its commands load the ticket first."""
        if self.caller.role is not Role.REQUESTER:
            return self.handle(
                command(
                    ticket=number, expected_version=self.version, **self.who(occurred_at), **fields
                )
            )
        expected = self.real_version(self.ticket(number))
        given = command(ticket=number, expected_version=expected, **self.who(occurred_at), **fields)
        return self.run(lambda: self.as_requester(given))

    def real_version(self, ticket: Ticket) -> int | None:
        """A requester's If-Match names the version it sees (of the public
        history): the command then expects the ticket's version now."""
        if self.version is None:
            return None
        seen = public_version(self.ledger.events.get(ticket.id))
        if seen != self.version:
            raise VersionMismatchError(
                f"expected version {self.version}, but it is at version {seen}"
            )
        return ticket.version

    def as_requester(self, command: Command) -> CommandResult:
        try:
            return self.ledger.handle(command)
        except VersionMismatchError:
            # Something landed since the check; its version numbers are the desk's.
            raise VersionMismatchError(
                "the ticket changed as you sent this; read it again"
            ) from None

    def on(
        self,
        contract_id: UUID,
        command: type[ContractCommand],
        occurred_at: datetime | None,
        **fields: Any,
    ) -> JSONResponse:
        """Gives a command on a contract, on the version the caller expects."""
        return self.handle(
            command(
                contract_id=contract_id,
                expected_version=self.version,
                **self.who(occurred_at),
                **fields,
            )
        )

    def who(self, occurred_at: datetime | None) -> dict[str, Any]:
        """Who gives a command and when it happened, as the caller may say."""
        return {"by": self.by, "occurred_at": self.occurred(occurred_at)}

    def handle(self, command: Command, status: int = 200) -> JSONResponse:
        return self.run(lambda: self.ledger.handle(command), status)

    def run(self, command: Callable[[], CommandResult], status: int = 200) -> JSONResponse:
        """Runs the command once per idempotency key; a retry gets the first
        answer. The outcome is recorded with the command's events, so a retry
        after a crash at any instant finds it, or runs the command once."""
        self.confirmed()
        access = self.services.access
        request = None
        if self.retry is not None:
            request = RequestKey(self.caller.key_id, self.retry.key, self.retry.fingerprint)
            lease = self.services.claim_lease
            seen = access.claim(self.caller.key_id, self.retry.key, self.retry.fingerprint, lease)
            if seen is not None:
                return self.replay(seen, request)
        try:
            with self.ledger.keyed(request):
                result = command()
        except AlreadyAppliedError as done:
            return self.replayed(done.outcome, status)
        except KeptChangingError as error:
            # Nothing was written and a retry may succeed: not the key's answer.
            if self.retry is not None:
                access.release(self.caller.key_id, self.retry.key)
            problem = respond(domain_problem(error, self.path), 409)
            problem.headers["Retry-After"] = "1"
            return problem
        except DomainError as error:
            return self.answer(domain_problem(error, self.path), None)
        except BaseException:
            if self.retry is not None:
                access.release(self.caller.key_id, self.retry.key)
            raise
        return self.answer(accepted(self.as_seen(result)), 202 if result.held else status)

    def as_seen(self, result: CommandResult) -> CommandResult:
        """The result with the version its caller sees: a requester counts only
        the public history."""
        if self.caller.role is not Role.REQUESTER:
            return result
        events = self.ledger.events.get(result.aggregate_id, lte=result.version)
        return replace(result, version=public_version(events))

    def answer(self, body: dict[str, Any], status: int | None) -> JSONResponse:
        status = status or int(body["status"])
        if self.retry is not None:
            self.services.access.remember(self.caller.key_id, self.retry.key, status, body)
        return respond(body, status)

    def replay(self, seen: dict[str, Any], request: RequestKey) -> JSONResponse:
        """The answer to a retry whose key is claimed: the one remembered, the
        outcome its command recorded, or 409 while it may still be running."""
        self.check_same_request(str(seen["fingerprint"]))
        if seen["status"] is None:
            done = self.ledger.outcome_of(request)
            if done is None:
                raise ApiProblem(
                    409,
                    "idempotency_key_in_use",
                    "a request with this Idempotency-Key is still running; retry shortly",
                    {"Retry-After": "1"},
                )
            return self.replayed(done, None)
        response = respond(json.loads(seen["response"]), int(seen["status"]))
        response.headers["Idempotent-Replayed"] = "true"
        return response

    def replayed(self, done: StoredOutcome, status: int | None) -> JSONResponse:
        """A recorded outcome, remembered from now on as the key's answer."""
        self.check_same_request(done.fingerprint)
        result = self.as_seen(done.result)
        response = self.answer(accepted(result), 202 if result.held else status or 200)
        response.headers["Idempotent-Replayed"] = "true"
        return response

    def check_same_request(self, fingerprint: str) -> None:
        assert self.retry is not None
        if fingerprint != self.retry.fingerprint:
            raise ApiProblem(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with another request; use a new key",
            )


def accepted(result: CommandResult) -> dict[str, Any]:
    return Accepted(
        id=result.aggregate_id,
        number=result.number,
        version=result.version,
        position=result.position,
        held=result.held,
    ).model_dump(mode="json")


def respond(body: dict[str, Any], status: int) -> JSONResponse:
    if status >= 400:
        return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)
    return JSONResponse(body, status_code=status, headers={"ETag": f'"{body["version"]}"'})


def commands(*roles: Role) -> Callable[..., Awaitable[Commands]]:
    """A dependency giving routes a `Commands` for callers with these roles."""

    async def context(
        request: Request,
        caller: Caller = Depends(admit(*roles)),  # noqa: B008
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Commands:
        # The headers are this dependency's own, not dependencies of theirs:
        # FastAPI resolves every dependency again at every request.
        return Commands(
            services(request),
            caller.principal,
            expected_version(if_match),
            await idempotency(request, idempotency_key),
            request.url.path,
            unconfirmed=caller.unconfirmed,
        )

    return context


# Reads.


@dataclass
class Reads(Calling):
    """One query's context: the caller, and the log position it must see.
    A caller's key that is not yet confirmed (`Caller`) is confirmed before
    anything is read: by the projection read's first statement, or on its
    own before the ledger is."""

    after: int | None
    # The position the replica's log was seen to hold, asked once a read.
    replica_log_holds: int = field(default=0, init=False)

    @property
    def ledger(self) -> TicketLedger:
        """The ledger queries read: a replica's, once it holds `after`."""
        self.confirmed()
        replica = self.services.replica
        if replica is not None and self.after is not None and self.after > self.replica_log_holds:
            self._check_written()
            if not replica.wait_for_log(self.after, self.services.wait_seconds):
                raise lagging("the replica's log", self.after)
            self.replica_log_holds = self.after
        return self.services.query_ledger

    def instant(self, now: datetime | None) -> datetime:
        """The instant a query evaluates at: the ledger's clock unless given.
        Business time is walked day by day, so a year ahead is the limit."""
        today = self.services.ledger.clock()  # the clock, not data: no key to confirm
        if now is None:
            return today
        if now > today + MAX_LOOKAHEAD:
            raise ApiProblem(
                422, "now_out_of_range", "now may lie at most a year after the ledger's clock"
            )
        return now

    def settled(
        self, projection: str, query: Callable[[Rows], T], *, contract: UUID | None = None
    ) -> T:
        """Runs the query; if the projection does not know a contract the log
        holds (signed a moment ago), waits once for the log's head and reruns it."""
        try:
            with self.rows(projection, contract=contract) as rows:
                return query(rows)
        except KeyError:
            head = self.primary_head()
            self.after = max(self.after or 0, head)
        with self.rows(projection, contract=contract) as rows:
            return query(rows)

    @contextmanager
    def rows(
        self, projection: str, *, ticket: str | None = None, contract: UUID | None = None
    ) -> Iterator[Rows]:
        """The projection's rows, once it has reached `after`; reading one
        ticket's or one contract's, refused while the projection holds it in
        quarantine, as its rows may be stale."""
        self.wait_for(projection)
        with self.services.query_projector.reading(projection, self._key_question()) as rows:
            self._check(rows, projection, ticket, contract)
            yield rows

    def one(
        self,
        projection: str,
        query: str,
        params: Mapping[str, Any],
        *,
        ticket: str | None = None,
        contract: UUID | None = None,
    ) -> dict[str, Any] | None:
        """The first row of a query of the projection, as `rows` reads it, in
        one statement with what the read must confirm when it can be."""
        self.wait_for(projection)
        question = self._key_question()
        reading = self.services.query_projector.reading_one(projection, (query, params), question)
        with reading as (rows, found):
            self._check(rows, projection, ticket, contract)
            return found

    def _key_question(self) -> tuple[str, dict[str, str]] | None:
        key = self.unconfirmed
        return None if key is None else self.services.access.still_valid(key)

    def _check(
        self, rows: Rows, projection: str, ticket: str | None, contract: UUID | None
    ) -> None:
        key = self.unconfirmed
        if key is not None:
            if not rows.also:
                self.services.access.forget(key)
            self._confirm(rows.also)
        if ticket is not None:
            ticket_id = ticket_id_for(ticket)
            quarantine.check_ticket(
                rows, projection, ticket_id, lambda: self.ledger.contract_id_of(ticket_id)
            )
        if contract is not None:
            quarantine.check_contract(rows, projection, contract)

    def primary_head(self) -> int:
        """The last position written, on the primary."""
        self.confirmed()
        return self.services.ledger.recorder.max_notification_id() or 0

    def _check_written(self) -> None:
        if self.after is not None and self.after > self.primary_head():
            # Where the log ends is not for every caller to learn. A well-formed
            # position the log has not reached conflicts with its state: 409.
            raise ApiProblem(
                409, "position_not_written", f"position {self.after} is not written yet"
            )

    def wait_for(self, projection: str) -> None:
        if self.after is None:
            return
        self._check_written()
        try:
            self.services.query_projector.wait(self.after, [projection], self.services.wait_seconds)
        except TimeoutError:
            raise lagging(projection, self.after) from None


def lagging(what: str, position: int) -> ApiProblem:
    return ApiProblem(
        503,
        "projection_lagging",
        f"{what} has not reached position {position} yet; retry shortly",
        {"Retry-After": "1"},
    )


def reads(*roles: Role) -> Callable[..., Awaitable[Reads]]:
    async def context(
        request: Request,
        reader: Caller = Depends(admit(*roles)),  # noqa: B008
        after: Annotated[
            int | None,
            Query(
                ge=0,
                le=2**62,
                description="a log position a command returned: wait (at most a few "
                "seconds) until the projections have applied it",
            ),
        ] = None,
    ) -> Reads:
        return Reads(services(request), reader.principal, after, unconfirmed=reader.unconfirmed)

    return context


NowQuery = Annotated[
    Instant | None,
    Query(
        description="evaluate at this instant, aware ISO 8601, at most a year after "
        "the ledger's clock (default: now)"
    ),
]


async def known_query(request: Request) -> None:
    """Refuses query parameters the operation does not take, so a typo such as
    `?stauts=open` is an error rather than a silently unfiltered answer, and a
    parameter given twice, which no operation takes: `?after=1&after=9` would
    otherwise be read as whichever came last."""
    route = request.scope.get("route")
    if not request.scope.get("query_string") or route is None or not hasattr(route, "dependant"):
        return  # most requests: nothing to check
    taken = query_names(route.dependant)
    unknown = sorted(set(request.query_params) - taken)
    if unknown:
        raise ApiProblem(
            422, "unknown_parameter", f"this operation takes no parameter {', '.join(unknown)}"
        )
    given = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, times in given.items() if times > 1)
    if repeated:
        raise ApiProblem(
            422, "repeated_parameter", f"give each parameter once: {', '.join(repeated)}"
        )


def query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for inner in dependant.dependencies:
        names |= query_names(inner)
    return names
