"""The application service: imperative commands over contracts and tickets.

It is the only caller of `save()`. Each command sets the injected recording
clock, loads what it needs, lets the aggregates decide, and saves every new
event of the command in one transaction. A concurrent writer makes the save
fail as a whole; the command is then run again on fresh state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    LRUCache,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, RecordConflictError
from pydantic import ValidationError

from ticketledger.domain.contract import Contract
from ticketledger.domain.coverage import split_work
from ticketledger.domain.deadlines import Watch, apply_due, watch_of
from ticketledger.domain.errors import (
    ConflictError,
    ContractNotFoundError,
    DomainError,
    HeldRequestNotFoundError,
    InvalidContractTermsError,
    TicketNotFoundError,
    VersionMismatchError,
    WarrantyNotCoveredError,
)
from ticketledger.domain.events import (
    Clock,
    check_aware,
    recording_clock,
    system_clock,
)
from ticketledger.domain.numbering import TicketNumbering, numbering_id, ticket_id_for
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.triage import HeldRequest
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
    Priority,
    Visibility,
    WorkCategory,
)
from ticketledger.service.storage import log_positions, persistence_env
from ticketledger.service.transcodings import register_ledger_transcodings

TicketRef = UUID | str
A = TypeVar("A", bound=Aggregate)
MAX_ATTEMPTS = 20
GOVERNING_TERMS_CACHED = 1024


@dataclass(frozen=True)
class CommandResult:
    """What a command wrote: the aggregate's new version and the log position of
    its last event, so a reader can wait for projections to catch up."""

    aggregate_id: UUID
    version: int
    position: int
    number: str | None = None
    held: bool = False


class TicketLedger(Application[UUID]):
    name = "TicketLedger"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        database_url: str | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.clock = clock
        # A ticket's governing terms never change once it is open; keeping them
        # also keeps their calendars, which are costly to build.
        self._governing: LRUCache[UUID, ContractTerms] = LRUCache(GOVERNING_TERMS_CACHED)
        self._contracts_seen: LRUCache[tuple[UUID, int], Contract] = LRUCache(
            GOVERNING_TERMS_CACHED
        )
        super().__init__(env={**persistence_env(database_url), **(env or {})})

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    # Reading aggregates.

    def ticket(self, ref: TicketRef, version: int | None = None) -> Ticket:
        return self._get_ticket(ref, version, project_aggregate)

    def _get_ticket(self, ref: TicketRef, version: int | None, projector: Any) -> Ticket:
        ticket_id = ref if isinstance(ref, UUID) else ticket_id_for(ref)
        message = f"no ticket {ref}"
        return self._get(ticket_id, Ticket, TicketNotFoundError, message, version, projector)

    def _ticket_with_history(self, ref: TicketRef) -> tuple[Ticket, list[Any]]:
        """The ticket and the events it was built from, read once."""
        history: list[Any] = []

        def keeping(initial: Any, events: Any) -> Any:
            history.extend(events)
            return project_aggregate(initial, history)

        return self._get_ticket(ref, None, keeping), history

    def contract(self, contract_id: UUID, version: int | None = None) -> Contract:
        message = f"no contract {contract_id}"
        return self._get(contract_id, Contract, ContractNotFoundError, message, version)

    def held_request(self, held_id: UUID) -> HeldRequest:
        message = f"no held request {held_id}"
        return self._get(held_id, HeldRequest, HeldRequestNotFoundError, message, None)

    def ticket_ids(self, year: int) -> list[UUID]:
        try:
            numbering: object = self.repository.get(numbering_id(year))
        except AggregateNotFoundError:
            return []
        assert isinstance(numbering, TicketNumbering)
        return list(numbering.issued)

    def _get(
        self,
        aggregate_id: UUID,
        kind: type[A],
        error: type[Exception],
        message: str,
        version: int | None,
        projector: Any = project_aggregate,
    ) -> A:
        try:
            aggregate: object = self.repository.get(
                aggregate_id, version=version, projector_func=projector
            )
        except AggregateNotFoundError:
            raise error(message) from None
        if not isinstance(aggregate, kind):
            raise error(message)
        return aggregate

    # The command machinery.

    def _run(self, decide: Callable[[], list[Aggregate]]) -> list[Any]:
        """Runs one command: decide with the injected clock, save atomically,
        and run it again on fresh state when a concurrent writer got there first."""
        for _ in range(MAX_ATTEMPTS):
            with recording_clock(self.clock):
                changed = decide()
            try:
                return self.save(*changed)
            except RecordConflictError:
                continue
        raise ConflictError("the ticket kept changing under this command; try again")

    def _now(self, occurred_at: datetime | None) -> datetime:
        return self.clock() if occurred_at is None else check_aware(occurred_at, "occurred_at")

    @staticmethod
    def _check_version(aggregate: Aggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatchError(
                f"expected version {expected_version}, but it is at version {aggregate.version}"
            )

    @staticmethod
    def _position(recordings: list[Any]) -> int:
        return max(int(r.notification.id) for r in recordings)

    def _result(self, aggregate: Aggregate, recordings: list[Any], **extra: Any) -> CommandResult:
        return CommandResult(aggregate.id, aggregate.version, self._position(recordings), **extra)

    def _opened_result(self, recordings: list[Any]) -> CommandResult:
        """The result of a command that opened a ticket among other writes."""
        opened = next(
            r.domain_event for r in recordings if isinstance(r.domain_event, Ticket.Opened)
        )
        return CommandResult(
            opened.originator_id,
            opened.originator_version,
            self._position(recordings),
            number=opened.number,
        )

    def _on_ticket(
        self,
        ref: TicketRef,
        expected_version: int | None,
        occurred_at: datetime | None,
        act: Callable[[Ticket, datetime], list[Aggregate] | None],
    ) -> CommandResult:
        holder: dict[str, Any] = {}

        def decide() -> list[Aggregate]:
            ticket, history = self._ticket_with_history(ref)
            holder.update(ticket=ticket, due=False)
            self._check_version(ticket, expected_version)
            at = holder["at"] = self._now(occurred_at)
            self._apply_due_rules(ticket, history, at)
            holder["due"] = bool(ticket.pending_events)
            others = act(ticket, at) or []
            return [ticket, *others]

        try:
            recordings = self._run(decide)
        except DomainError:
            # The command writes nothing, but what time had already done stands:
            # a reply refused because the ticket closed at its deadline leaves
            # that closure recorded, as the ticker would have.
            if holder.get("due"):
                with suppress(DomainError):  # the refusal is the answer, whatever this gives
                    self.apply_due_rules(ref, now=holder["at"])
            raise
        return self._result(holder["ticket"], recordings, number=holder["ticket"].state.number)

    # Time-driven rules.

    def apply_due_rules(
        self, ref: TicketRef, *, now: datetime | None = None
    ) -> CommandResult | None:
        """Records every time-driven consequence due on the ticket by `now`, each
        at its own due instant; None when nothing was due. Running it again, or
        in two processes at once, writes each consequence once: a concurrent
        writer makes the save fail, and the rerun finds the consequence done."""
        holder: dict[str, Ticket] = {}

        def decide() -> list[Aggregate]:
            ticket, history = self._ticket_with_history(ref)
            holder["ticket"] = ticket
            self._apply_due_rules(ticket, history, self._now(now))
            return [ticket]

        recordings = self._run(decide)
        if not recordings:
            return None
        return self._result(holder["ticket"], recordings, number=holder["ticket"].state.number)

    def watch(self, ref: TicketRef) -> tuple[Watch, ContractTerms]:
        """What the rules know of the ticket, and the terms it is governed by."""
        return self._watched(*self._ticket_with_history(ref))

    def _watched(self, ticket: Ticket, history: list[Any]) -> tuple[Watch, ContractTerms]:
        terms = self.governing_terms(ticket)
        return watch_of(history, terms), terms

    def _apply_due_rules(self, ticket: Ticket, history: list[Any], now: datetime) -> None:
        watch, terms = self._watched(ticket, history)
        apply_due(ticket, watch, terms, now)

    def governing_terms(self, ticket: Ticket) -> ContractTerms:
        """The terms in force when the ticket opened, under the contract as the
        log held it then (its events before the ticket's opening): a plan change
        recorded later, even one effective from an earlier date, does not move
        a running ticket's deadlines. The SLA and deadlines projections fix a
        ticket's terms at its opening in log order the same way."""
        assert ticket.state.contract_id is not None and ticket.state.opened_at is not None
        try:
            return self._governing.get(ticket.id)
        except KeyError:
            pass
        opened_position = self.log_positions(ticket.id).get(1)
        contract_positions = self.log_positions(ticket.state.contract_id)
        known = sum(
            1
            for position in contract_positions.values()
            if opened_position is None or position < opened_position
        )
        terms = self._contract_at(ticket.state.contract_id, known).terms_at(ticket.state.opened_at)
        self._governing.put(ticket.id, terms)
        return terms

    def _contract_at(self, contract_id: UUID, version: int) -> Contract:
        """The contract at a version, shared by every ticket that opened under
        it, so their terms (and calendars) are built once."""
        key = (contract_id, version)
        try:
            return self._contracts_seen.get(key)
        except KeyError:
            pass
        built = self.contract(contract_id, version=version or None)
        self._contracts_seen.put(key, built)
        return built

    def log_positions(self, aggregate_id: UUID) -> dict[int, int]:
        """Each of the aggregate's stored events' log position, by version."""
        return log_positions(self.recorder, aggregate_id)

    def _on_contract(
        self,
        contract_id: UUID,
        expected_version: int | None,
        act: Callable[[Contract], None],
    ) -> CommandResult:
        holder: dict[str, Contract] = {}

        def decide() -> list[Aggregate]:
            contract = holder["contract"] = self.contract(contract_id)
            self._check_version(contract, expected_version)
            act(contract)
            return [contract]

        recordings = self._run(decide)
        return self._result(holder["contract"], recordings)

    # Contracts.

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

    def sign_contract(
        self,
        terms: ContractTerms | Mapping[str, Any],
        *,
        by: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        valid = self.validate_terms(terms)
        holder: list[Contract] = []

        def decide() -> list[Aggregate]:
            holder[:] = [Contract.sign(valid, by, self._now(occurred_at))]
            return [holder[0]]

        recordings = self._run(decide)
        return self._result(holder[0], recordings)

    def authorise_requester(
        self,
        contract_id: UUID,
        requester: str,
        *,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.authorise_requester(requester, by, self._now(occurred_at)),
        )

    def revoke_requester(
        self,
        contract_id: UUID,
        requester: str,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.revoke_requester(requester, reason, by, self._now(occurred_at)),
        )

    def change_plan(
        self,
        contract_id: UUID,
        terms: ContractTerms | Mapping[str, Any],
        *,
        effective_on: Any,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        valid = self.validate_terms(terms)
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.change_plan(valid, effective_on, reason, by, self._now(occurred_at)),
        )

    def suspend_contract(
        self,
        contract_id: UUID,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.suspend(reason, by, self._now(occurred_at)),
        )

    def reinstate_contract(
        self,
        contract_id: UUID,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.reinstate(reason, by, self._now(occurred_at)),
        )

    def end_contract(
        self,
        contract_id: UUID,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_contract(
            contract_id, expected_version, lambda c: c.end(reason, by, self._now(occurred_at))
        )

    def issue_statement(
        self,
        contract_id: UUID,
        month: str,
        *,
        through_position: int,
        total: Decimal,
        currency: str,
        digest: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Freezes a month: the caller read the statement from the hours
        projection up to `through_position` and names its total and digest."""
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.issue_statement(
                month=month,
                through_position=through_position,
                total=total,
                currency=currency,
                digest=digest,
                by=by,
                occurred_at=self._now(occurred_at),
            ),
        )

    # Opening tickets.

    def open_ticket(
        self,
        *,
        contract_id: UUID,
        requester: str,
        channel: Channel,
        kind: Kind,
        priority: Priority,
        subject: str,
        description: str = "",
        by: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Opens a ticket for an authorised requester; holds anyone else's request
        for triage (the result then says held=True and names the held request)."""
        request: dict[str, Any] = dict(
            requester=requester,
            channel=channel,
            kind=kind,
            priority=priority,
            subject=subject,
            description=description,
        )
        actor = by or requester
        held: list[HeldRequest] = []

        def decide() -> list[Aggregate]:
            at = self._now(occurred_at)
            contract = self.contract(contract_id)
            contract.check_serves(at)
            if contract.is_authorised(requester):
                return self._open(contract, request, actor, at)
            reason = f"{requester} is not authorised by {contract.customer}"
            held[:] = [
                HeldRequest.hold(
                    contract_id=contract_id, reason=reason, by=actor, occurred_at=at, **request
                )
            ]
            return [held[0]]

        recordings = self._run(decide)
        if held:
            return self._result(held[0], recordings, held=True)
        return self._opened_result(recordings)

    def _open(
        self, contract: Contract, request: dict[str, Any], by: str, at: datetime
    ) -> list[Aggregate]:
        terms = contract.terms_at(at)
        self._check_warranty(contract, terms, request["kind"], at)
        numbering = self._numbering(by, at)
        number, ticket_id = numbering.issue(by, at)
        ticket = Ticket.open(
            ticket_id=ticket_id,
            number=number,
            contract_id=contract.id,
            customer=contract.customer,
            by=by,
            occurred_at=at,
            **request,
        )
        return [numbering, ticket]

    def _numbering(self, by: str, at: datetime) -> TicketNumbering:
        """Numbers follow the year the ledger recorded the opening in (UTC)."""
        year = self.clock().year
        try:
            stored: object = self.repository.get(numbering_id(year))
        except AggregateNotFoundError:
            return TicketNumbering.start(year, by, at)
        assert isinstance(stored, TicketNumbering)
        return stored

    @staticmethod
    def _check_warranty(
        contract: Contract, terms: ContractTerms, kind: Kind, opened_at: datetime
    ) -> None:
        warranty_kind = kind.warranty
        if warranty_kind is None:
            return
        day = contract.local_date(opened_at)
        if terms.warranty_for(warranty_kind, day) is None:
            raise WarrantyNotCoveredError(
                f"{contract.customer} has no {warranty_kind.value} warranty in force on {day}"
            )

    def release_held_request(
        self,
        held_id: UUID,
        *,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Opens the held request once its sender has been authorised."""

        def decide() -> list[Aggregate]:
            at = self._now(occurred_at)
            held = self.held_request(held_id)
            self._check_version(held, expected_version)
            held.check_undecided()
            assert held.contract_id is not None
            contract = self.contract(held.contract_id)
            contract.check_serves()
            contract.check_authorised(held.requester)
            request = dict(
                requester=held.requester,
                channel=held.channel,
                kind=held.kind,
                priority=held.priority,
                subject=held.subject,
                description=held.description,
            )
            numbering, ticket = self._open(contract, request, by, at)
            assert isinstance(ticket, Ticket)
            held.release(ticket.id, ticket.state.number, by, at)
            return [numbering, ticket, held]

        recordings = self._run(decide)
        return self._opened_result(recordings)

    def discard_held_request(
        self,
        held_id: UUID,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        holder: list[HeldRequest] = []

        def decide() -> list[Aggregate]:
            holder[:] = [self.held_request(held_id)]
            self._check_version(holder[0], expected_version)
            holder[0].discard(reason, by, self._now(occurred_at))
            return [holder[0]]

        recordings = self._run(decide)
        return self._result(holder[0], recordings, held=True)

    # Ticket commands.

    def reclassify(
        self,
        ticket: TicketRef,
        *,
        kind: Kind | None = None,
        priority: Priority | None = None,
        level: int | None = None,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        def act(t: Ticket, at: datetime) -> None:
            if kind is not None and kind.warranty is not None:
                contract = self._contract_of(t)
                assert t.state.opened_at is not None
                self._check_warranty(
                    contract, contract.terms_at(t.state.opened_at), kind, t.state.opened_at
                )
            t.reclassify(
                kind=kind, priority=priority, level=level, reason=reason, by=by, occurred_at=at
            )

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def assign(
        self,
        ticket: TicketRef,
        assignee: str,
        *,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket, expected_version, occurred_at, lambda t, at: t.assign(assignee, by, at)
        )

    def escalate(
        self,
        ticket: TicketRef,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket, expected_version, occurred_at, lambda t, at: t.escalate(reason, by, at)
        )

    def reply_as_agent(
        self,
        ticket: TicketRef,
        message: str,
        *,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket, expected_version, occurred_at, lambda t, at: t.reply_as_agent(message, by, at)
        )

    def reply_as_requester(
        self,
        ticket: TicketRef,
        message: str,
        *,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket,
            expected_version,
            occurred_at,
            lambda t, at: t.reply_as_requester(message, by, at),
        )

    def comment(
        self,
        ticket: TicketRef,
        text: str,
        *,
        visibility: Visibility = Visibility.INTERNAL,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket,
            expected_version,
            occurred_at,
            lambda t, at: t.comment(text, visibility, by, at),
        )

    def wait_on_customer(
        self,
        ticket: TicketRef,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket,
            expected_version,
            occurred_at,
            lambda t, at: t.wait_on_customer(reason, by, at),
        )

    def wait_on_third_party(
        self,
        ticket: TicketRef,
        *,
        third_party: str,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket,
            expected_version,
            occurred_at,
            lambda t, at: t.wait_on_third_party(third_party, reason, by, at),
        )

    def resume(
        self,
        ticket: TicketRef,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket, expected_version, occurred_at, lambda t, at: t.resume(reason, by, at)
        )

    def record_failed_contact(
        self,
        ticket: TicketRef,
        *,
        channel: Channel,
        note: str = "",
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket,
            expected_version,
            occurred_at,
            lambda t, at: t.record_failed_contact(channel, note, by, at),
        )

    def log_work(
        self,
        ticket: TicketRef,
        *,
        agent: str,
        started_at: datetime,
        duration: timedelta,
        category: WorkCategory = WorkCategory.SUPPORT,
        customer_caused: bool = False,
        note: str = "",
        entry_id: UUID | None = None,
        by: str | None = None,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        new_entry = entry_id or uuid4()
        check_aware(started_at, "started_at")

        def act(t: Ticket, at: datetime) -> None:
            contract = self._contract_of(t)
            contract.check_serves(started_at)
            split = split_work(
                contract.terms_at(started_at), t.state.priority, started_at, duration
            )
            t.log_work(
                entry_id=new_entry,
                agent=agent,
                started_at=started_at,
                duration=duration,
                category=category,
                customer_caused=customer_caused,
                split=split,
                note=note,
                by=by or agent,
                occurred_at=at,
            )

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def correct_work(
        self,
        ticket: TicketRef,
        entry_id: UUID,
        *,
        duration: timedelta,
        category: WorkCategory | None = None,
        customer_caused: bool | None = None,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        def act(t: Ticket, at: datetime) -> None:
            entry = t.entry(entry_id)
            contract = self._contract_of(t)
            terms = contract.terms_at(entry.started_at)
            # Priced at the priority the work was done under, not today's.
            split = split_work(terms, entry.priority, entry.started_at, duration)
            t.correct_work(
                entry_id=entry_id,
                duration=duration,
                category=category or entry.category,
                customer_caused=entry.customer_caused
                if customer_caused is None
                else customer_caused,
                split=split,
                reason=reason,
                by=by,
                occurred_at=at,
            )

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def authorise_off_hours_work(
        self,
        ticket: TicketRef,
        *,
        authorised_by: str,
        note: str = "",
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The customer's go-ahead for off-hours work. Without the 24x7 add-on it
        also spends the contract's off-hours exception (seed 003)."""

        def act(t: Ticket, at: datetime) -> list[Aggregate]:
            t.check_not_final()
            contract = self._contract_of(t)
            contract.check_serves(at)
            terms = contract.terms_at(at)
            as_exception = terms.off_hours_exception_limit is not None
            if as_exception:
                contract.grant_off_hours_exception(t.id, t.state.number, by, at)
            t.authorise_off_hours_work(
                authorisation_id=uuid4(),
                authorised_by=authorised_by,
                note=note,
                as_exception=as_exception,
                by=by,
                occurred_at=at,
            )
            return [contract]

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def resolve_ticket(
        self,
        ticket: TicketRef,
        *,
        resolution: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket, expected_version, occurred_at, lambda t, at: t.resolve(resolution, by, at)
        )

    def accept_resolution(
        self,
        ticket: TicketRef,
        *,
        comment: str = "",
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket, expected_version, occurred_at, lambda t, at: t.accept(comment, by, at)
        )

    def reject_resolution(
        self,
        ticket: TicketRef,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        def act(t: Ticket, at: datetime) -> None:
            self._contract_of(t).check_serves(at)
            t.reject(reason, by, at)

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def reopen_ticket(
        self,
        ticket: TicketRef,
        *,
        reason: str,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        def act(t: Ticket, at: datetime) -> None:
            self._contract_of(t).check_serves(at)
            t.reopen_ticket(reason, by, at)

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def close_ticket(
        self,
        ticket: TicketRef,
        *,
        reason: ClosureReason,
        note: str = "",
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        def act(t: Ticket, at: datetime) -> None:
            t.close(reason, self.governing_terms(t).closure, note, by, at)

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def cancel_ticket(
        self,
        ticket: TicketRef,
        *,
        reason: CancellationReason,
        duplicate_of: TicketRef | None = None,
        note: str = "",
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        def act(t: Ticket, at: datetime) -> None:
            original = None if duplicate_of is None else self.ticket(duplicate_of)
            t.cancel(reason, original, note, by, at)

        return self._on_ticket(ticket, expected_version, occurred_at, act)

    def rate_ticket(
        self,
        ticket: TicketRef,
        *,
        score: int,
        comment: str = "",
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket, expected_version, occurred_at, lambda t, at: t.rate(score, comment, by, at)
        )

    def link_tickets(
        self,
        ticket: TicketRef,
        other: TicketRef,
        *,
        link_kind: LinkKind = LinkKind.RELATES_TO,
        by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_ticket(
            ticket,
            expected_version,
            occurred_at,
            lambda t, at: t.link(self.ticket(other), link_kind, by, at),
        )

    def _contract_of(self, ticket: Ticket) -> Contract:
        assert ticket.state.contract_id is not None
        return self.contract(ticket.state.contract_id)

    def events_of(self, aggregate_id: UUID) -> Iterator[Any]:
        return iter(self.events.get(aggregate_id))
