"""The application service: the ledger that commands go through.

It is the only caller of `save()`. `handle(command)` finds the command's one
handler (service/handlers.py), which gets what it needs, lets the aggregates
decide, and saves every new event of the command in one transaction. A
concurrent writer makes the save fail as a whole; the command is then decided
again on fresh state. Before any command on a ticket, the rules that time has
made due are applied in the same save (domain/deadlines.py).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    LRUCache,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, PersistenceError, RecordConflictError
from pydantic import ValidationError

from ticketledger.domain.errors import (
    ContractNotFoundError,
    DomainError,
    HeldRequestNotFoundError,
    InvalidContractTermsError,
    KeptChangingError,
    TicketNotFoundError,
    VersionMismatchError,
)
from ticketledger.domain.events import (
    Clock,
    check_aware,
    check_not_ahead,
    recording_clock,
    system_clock,
)
from ticketledger.domain.numbering import TicketNumbering, numbering_id, ticket_id_for
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket
from ticketledger.service.outcomes import (
    AlreadyAppliedError,
    CommandResult,
    Decision,
    OutcomeDraft,
    RequestKey,
    StoredOutcome,
)
from ticketledger.service.storage import (
    DEFAULT_STORAGE,
    StorageOptions,
    log_positions,
    logged_before_opening,
    persistence_env,
)
from ticketledger.service.transcodings import register_ledger_transcodings

# A query such as `ticketledger show` reads one ticket: contracts, the
# time-driven rules, triage and the kept folds load with the first command or
# read that needs them.
if TYPE_CHECKING:
    from ticketledger.domain.contract import Contract
    from ticketledger.domain.deadlines import Watch
    from ticketledger.domain.triage import HeldRequest
    from ticketledger.service.commands import Command, TicketRef
    from ticketledger.service.folds import TicketFolds

A = TypeVar("A", bound=Aggregate)
# The retry key of the command being handled in this thread, if it has one.
_REQUEST: ContextVar[RequestKey | None] = ContextVar("ticketledger_request", default=None)
MAX_ATTEMPTS = 20
CONFLICT_PAUSE_SECONDS = 0.002
GOVERNING_TERMS_CACHED = 1024
# The library's cache of aggregates read through the repository (contracts,
# numberings, tickets read whole), each brought forward at every read by the
# events stored since, by any process, and copied for the reader.
AGGREGATES_CACHED = 256
READ_TURNS = 64
# Every so many numbers issued, the year's numbering is snapshotted: an opening
# then reads at most this many events, whatever the year's count of tickets.
NUMBERING_SNAPSHOT_INTERVAL = 20
log = logging.getLogger(__name__)


Decide = Callable[[], Decision]
TicketAct = Callable[[Ticket, datetime], tuple[Aggregate, ...]]


def outcome_of(decision: Decision, request: RequestKey | None) -> dict[str, OutcomeDraft]:
    """The save's keyword for a keyed command: its recorder writes the outcome."""
    if request is None:
        return {}
    subject = decision.subject
    draft = OutcomeDraft(request, subject.id, subject.version, decision.number, decision.held)
    return {"outcome": draft}


def deadline_rules() -> Callable[[Ticket, Watch, ContractTerms, datetime], Watch]:
    """domain/deadlines.py's `apply_due`, loaded with the first command."""
    from ticketledger.domain.deadlines import apply_due

    return apply_due


class TicketLedger(Application[UUID]):
    name = "TicketLedger"
    snapshotting_intervals = {TicketNumbering: NUMBERING_SNAPSHOT_INTERVAL}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        database_url: str | None = None,
        storage: StorageOptions = DEFAULT_STORAGE,
        clock: Clock = system_clock,
        replica: bool = False,
    ) -> None:
        """`replica`: the database is a read-only streaming replica, for
        queries: its primary creates every table, and no command is run here."""
        self.clock = clock
        # A ticket's governing terms never change once it is open; keeping them
        # also keeps their calendars, which are costly to build.
        self._governing: LRUCache[UUID, ContractTerms] = LRUCache(GOVERNING_TERMS_CACHED)
        self._contracts_seen: LRUCache[tuple[UUID, int], Contract] = LRUCache(
            GOVERNING_TERMS_CACHED
        )
        self._kept_folds: TicketFolds | None = None
        self._folds_made = threading.Lock()
        self._issuing = threading.Lock()
        self._kept_reads: dict[str, LRUCache[Any, Any]] = {}
        # The library deep-copies a cached aggregate after releasing the lock it
        # brought it forward under: a reader that brought the same aggregate
        # forward meanwhile could hand another a copy whose version lags its
        # state (a spurious 412). Reads of one aggregate take turns here.
        self._read_turns = [threading.Lock() for _ in range(READ_TURNS)]
        if replica:
            storage = dataclasses.replace(storage, create_tables=False)
        cached = {"AGGREGATE_CACHE_MAXSIZE": str(AGGREGATES_CACHED)}
        super().__init__(env={**persistence_env(database_url, storage), **cached, **(env or {})})

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    # Commands.

    def handle(self, command: Command) -> CommandResult:
        """Runs the command through its one handler, once its instant is known
        not to lie ahead of the ledger's clock: refused before any read."""
        self.now(command.occurred_at)
        # The commands and their handlers load with the first command, not with
        # every query (a `ticketledger show` runs none).
        from ticketledger.service.handlers import COMMAND_HANDLERS

        return COMMAND_HANDLERS[type(command)](self, command)

    @contextmanager
    def keyed(self, request: RequestKey | None) -> Iterator[None]:
        """Commands handled inside run under a client's retry key: the first
        save records the outcome in its events' own transaction, and a command
        whose key an earlier attempt already recorded raises
        AlreadyAppliedError with that outcome, writing nothing more."""
        token = _REQUEST.set(request)
        try:
            yield
        finally:
            _REQUEST.reset(token)

    def outcome_of(self, request: RequestKey) -> StoredOutcome | None:
        """What the command sent with this key wrote, if it wrote anything."""
        find = getattr(self.recorder, "find_outcome", None)
        return None if find is None else find(request.scope, request.key)

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: Any = project_aggregate,
    ) -> None:
        """A snapshot is taken after its command was saved, and is only a
        shortcut for reading: failing to write one must not make a stored
        command look failed (nor, as a conflict, be decided again)."""
        try:
            super().take_snapshot(aggregate_id, version, projector_func)
        except PersistenceError:
            log.warning("no snapshot of %s at version %s", aggregate_id, version, exc_info=True)

    # Reading aggregates.

    def ticket(self, ref: TicketRef, version: int | None = None) -> Ticket:
        return self._get_ticket(ref, version, project_aggregate)

    def _get_ticket(self, ref: TicketRef, version: int | None, projector: Any) -> Ticket:
        ticket_id = ref if isinstance(ref, UUID) else ticket_id_for(ref)
        message = f"no ticket {ref}"
        return self._get(ticket_id, Ticket, TicketNotFoundError, message, version, projector)

    @property
    def _folds(self) -> TicketFolds:
        with self._folds_made:
            if self._kept_folds is None:
                from ticketledger.service.folds import TicketFolds

                self._kept_folds = TicketFolds(self._events_after, self.governing_terms)
            return self._kept_folds

    def _folded_ticket(self, ref: TicketRef) -> tuple[Ticket, Watch, ContractTerms]:
        """The ticket as every stored event leaves it (the command's own to
        change), the rules' watch of it, and its terms."""
        ticket_id = ref if isinstance(ref, UUID) else ticket_id_for(ref)
        found = self._folds.read(ticket_id)
        if found is None:
            raise TicketNotFoundError(f"no ticket {ref}")
        return found

    def _events_after(self, aggregate_id: UUID, version: int | None) -> list[Any]:
        return list(self.events.get(aggregate_id, gt=version))

    def events_after(self, aggregate_id: UUID, version: int | None) -> list[Any]:
        """The aggregate's stored events after `version` (all of them for None)."""
        return self._events_after(aggregate_id, version)

    def kept_reads(self, name: str, size: int) -> LRUCache[Any, Any]:
        """A cache of this ledger's, by name, for a read model above the
        service that continues its fold from where it last read (the replay's
        chronologies), as the ledger does for commands."""
        with self._folds_made:
            return self._kept_reads.setdefault(name, LRUCache(size))

    def contract(self, contract_id: UUID, version: int | None = None) -> Contract:
        from ticketledger.domain.contract import Contract

        message = f"no contract {contract_id}"
        return self._get(contract_id, Contract, ContractNotFoundError, message, version)

    def contract_of(self, ticket: Ticket) -> Contract:
        return self.contract(ticket.state.contract_id)

    def contract_id_of(self, aggregate_id: UUID) -> UUID | None:
        """The contract a ticket was opened on, read off its first stored event
        alone; None for an aggregate whose first event names no contract."""
        first = next(iter(self.events.get(aggregate_id, lte=1)), None)
        contract_id = getattr(first, "contract_id", None)
        return contract_id if isinstance(contract_id, UUID) else None

    def held_request(self, held_id: UUID) -> HeldRequest:
        from ticketledger.domain.triage import HeldRequest

        message = f"no held request {held_id}"
        return self._get(held_id, HeldRequest, HeldRequestNotFoundError, message, None)

    def numbering(self, year: int) -> TicketNumbering | None:
        try:
            numbering: object = self.repository.get(numbering_id(year))
        except AggregateNotFoundError:
            return None
        assert isinstance(numbering, TicketNumbering)
        return numbering

    def ticket_ids(self, year: int) -> list[UUID]:
        numbering = self.numbering(year)
        return [] if numbering is None else numbering.ticket_ids

    def _get(
        self,
        aggregate_id: UUID,
        kind: type[A],
        error: type[Exception],
        message: str,
        version: int | None,
        projector: Any = project_aggregate,
    ) -> A:
        turn = (
            self._read_turns[hash(aggregate_id) % READ_TURNS] if version is None else nullcontext()
        )
        try:
            with turn:
                aggregate: object = self.repository.get(
                    aggregate_id, version=version, projector_func=projector
                )
        except AggregateNotFoundError:
            raise error(message) from None
        if not isinstance(aggregate, kind):
            raise error(message)
        return aggregate

    def events_of(self, aggregate_id: UUID) -> Iterator[Any]:
        return iter(self.events.get(aggregate_id))

    def log_positions(self, aggregate_id: UUID, after: int | None = None) -> dict[int, int]:
        """Each of the aggregate's stored events' log position, by version
        (only those after version `after`, when given)."""
        return log_positions(self.recorder, aggregate_id, after)

    # Deciding and saving: get, call, save.

    def run(self, decide: Decide, *, issues_number: bool = False) -> CommandResult:
        """Decides with the injected clock and saves atomically; decides again on
        fresh state when a concurrent writer got there first. Commands that may
        issue a ticket number take turns in this process: every one of them
        changes the year's numbering, so openings decided side by side (as
        shared commits gather them) would all but one be decided again."""
        with self._issuing if issues_number else nullcontext():
            decision, recordings = self._saved(decide)
        return decision.result(recordings)

    def _saved(self, decide: Decide) -> tuple[Decision, list[Any]]:
        request = _REQUEST.get()
        for attempt in range(MAX_ATTEMPTS):
            if attempt > 1:
                # Writers in other processes that keep meeting on one aggregate
                # step apart, rather than meet again at the next round trip.
                time.sleep(random.uniform(0, CONFLICT_PAUSE_SECONDS * attempt))
            with recording_clock(self.clock):
                decision = decide()
            try:
                recordings = self.save(*decision.changed, **outcome_of(decision, request))
            except RecordConflictError:
                if request is not None and (done := self.outcome_of(request)) is not None:
                    raise AlreadyAppliedError(done) from None
                continue
            _REQUEST.set(None)  # the key's outcome is this first save's
            return decision, recordings
        raise KeptChangingError("the ticket kept changing under this command; try again")

    def now(self, occurred_at: datetime | None) -> datetime:
        """The command's instant, refused before any work when it lies ahead of
        the ledger's clock: what a command costs must not depend on how far
        ahead a client dates it (the due rules would be folded up to then)."""
        return self._instant(self.clock(), occurred_at)

    @staticmethod
    def _instant(recorded: datetime, occurred_at: datetime | None) -> datetime:
        if occurred_at is None:
            return recorded
        return check_not_ahead(check_aware(occurred_at, "occurred_at"), recorded)

    def numbering_then_now(
        self, occurred_at: datetime | None
    ) -> tuple[int, TicketNumbering | None, datetime]:
        """The numbering of the year (UTC) the ledger records an opening in, read
        before that instant is taken, so that no number read was issued after
        it; with the instant the opening occurred at."""
        year = self.clock().year
        while True:
            numbering = self.numbering(year)
            recorded = self.clock()
            if recorded.year == year:  # else the year turned while reading
                return year, numbering, self._instant(recorded, occurred_at)
            year = recorded.year

    @staticmethod
    def check_version(aggregate: Aggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatchError(
                f"expected version {expected_version}, but it is at version {aggregate.version}"
            )

    def on_ticket(
        self,
        ref: TicketRef,
        expected_version: int | None,
        occurred_at: datetime | None,
        act: TicketAct,
    ) -> CommandResult:
        """Runs `act` on the ticket at the command's instant, after the rules
        due by then; `act` returns any other aggregates it changed."""
        at = self.now(occurred_at)

        def decide() -> Decision:
            nonlocal at
            ticket, watch, terms = self._folded_ticket(ref)
            if occurred_at is None:
                # Read first, then "now": every event read was written before
                # this instant, so a command decided again after a concurrent
                # write never lands before that write.
                at = self.now(None)
            self.check_version(ticket, expected_version)
            deadline_rules()(ticket, watch, terms, at)
            others = act(ticket, at)
            return Decision(ticket, (ticket, *others), number=ticket.state.number)

        try:
            return self.run(decide)
        except DomainError:
            # The command writes nothing, but what time had already done stands:
            # a reply refused because the ticket closed at its deadline leaves
            # that closure recorded, as the ticker would have. It is not the
            # command's outcome, so it is saved without the command's key.
            with self.keyed(None), suppress(DomainError):  # the refusal is the answer
                self.apply_due_rules(ref, now=at)
            raise

    def on_contract(
        self,
        contract_id: UUID,
        expected_version: int | None,
        occurred_at: datetime | None,
        act: Callable[[Contract, datetime], None],
    ) -> CommandResult:
        """Runs `act` on the contract at the command's instant, taken after the
        contract is read (as `on_ticket` does)."""

        def decide() -> Decision:
            contract = self.contract(contract_id)
            at = self.now(occurred_at)
            self.check_version(contract, expected_version)
            act(contract, at)
            return Decision(contract, (contract,))

        return self.run(decide)

    # Time-driven rules.

    def apply_due_rules(
        self, ref: TicketRef, *, now: datetime | None = None
    ) -> CommandResult | None:
        """Records every time-driven consequence due on the ticket by `now`, each
        at its own due instant; None when nothing was due. Running it again, or
        in two processes at once, writes each consequence once: a concurrent
        writer makes the save fail, and the rerun finds the consequence done."""
        at = self.now(now)

        def decide() -> Decision:
            ticket, watch, terms = self._folded_ticket(ref)
            deadline_rules()(ticket, watch, terms, at)
            return Decision(ticket, (ticket,), number=ticket.state.number)

        decision, recordings = self._saved(decide)
        return decision.result(recordings) if recordings else None

    def folded(self, ref: TicketRef) -> Ticket:
        """The ticket as every stored event leaves it, continued from the fold
        this ledger keeps for commands (reading only the events stored since):
        what the next command on it acts on, before the rules due then."""
        ticket, _, _ = self._folded_ticket(ref)
        return ticket

    def watch(self, ref: TicketRef) -> tuple[Watch, ContractTerms]:
        """What the rules know of the ticket, and the terms it is governed by."""
        _, watch, terms = self._folded_ticket(ref)
        return watch, terms

    def governing_terms(self, ticket: Ticket) -> ContractTerms:
        """The terms in force when the ticket opened, under the contract as the
        log held it then (its events before the ticket's opening): a plan change
        recorded later, even one effective from an earlier date, does not move
        a running ticket's deadlines. The SLA and deadlines projections fix a
        ticket's terms at its opening in log order the same way."""
        try:
            return self._governing.get(ticket.id)
        except KeyError:
            pass
        state = ticket.state
        known = logged_before_opening(self.recorder, state.contract_id, ticket.id)
        terms = self.contract_at(state.contract_id, known).state.terms_at(state.opened_at)
        self._governing.put(ticket.id, terms)
        return terms

    def contract_at(self, contract_id: UUID, version: int) -> Contract:
        """The contract at a version, shared by every ticket and every replay
        read under it, so its terms (and calendars) are built once."""
        key = (contract_id, version)
        try:
            return self._contracts_seen.get(key)
        except KeyError:
            pass
        built = self.contract(contract_id, version=version or None)
        self._contracts_seen.put(key, built)
        return built

    # Contract terms as clients send them.

    @staticmethod
    def validate_terms(terms: ContractTerms | Mapping[str, Any]) -> ContractTerms:
        if isinstance(terms, ContractTerms):
            return terms
        try:
            return ContractTerms.model_validate(dict(terms))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'terms'}: {e['msg']}"
                for e in error.errors()
            )
            raise InvalidContractTermsError(f"invalid contract terms: {problems}") from None
