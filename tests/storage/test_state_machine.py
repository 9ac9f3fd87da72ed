"""Random command sequences against the ledger and a plain model: every command
either applies, or raises the domain error the model predicts with nothing
written; and the ticket reloaded from storage equals the one in memory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests import strategies as ts
from tests.support import ManualClock, at, focco_terms
from tests.ticket_model import ErrorType, TicketModel
from ticketledger.domain import errors
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
    Priority,
)
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseOffHoursWork,
    AuthoriseRequester,
    CancelTicket,
    CloseTicket,
    Comment,
    CorrectWork,
    Escalate,
    LinkTickets,
    LogWork,
    OpenTicket,
    RateTicket,
    Reclassify,
    RecordFailedContact,
    RejectResolution,
    ReopenTicket,
    ReplyAsAgent,
    ReplyAsRequester,
    ResolveTicket,
    Resume,
    SignContract,
    WaitOnCustomer,
    WaitOnThirdParty,
)
from ticketledger.service.ledger import TicketLedger


class CapturingLedger(TicketLedger):
    """Keeps the aggregates of the last save, to compare them with storage."""

    name = TicketLedger.name  # the same events table, not one named after this class

    last_saved: dict[UUID, Aggregate]

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        self.last_saved = {o.id: o for o in objs if isinstance(o, Aggregate)}
        return recordings


# The machine checks commands against the plain model; the time-driven rules
# have their own property and boundary tests (test_deadlines.py). Under these
# terms no rule falls due within a history (at most ~50 steps of up to 4 days:
# 200 days, where 89 days of business time take about a year), so the model
# need not predict SLA warnings; a third-party closure stays due.
QUIET_RULES: dict[str, Any] = {
    "sla": {p.value: {"first_response": "P89D", "resolution": "P90D"} for p in Priority},
    "closure": {
        "acceptance": "P365D",
        "customer_silence": "P365D",
        "contact_attempts_minimum_age": "P365D",
    },
}


class LedgerMachine(RuleBasedStateMachine):
    database_url = ""
    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(at("2026-10-05 11:00"))
        self.ledger = CapturingLedger(database_url=self.database_url, clock=self.clock)
        self.reader = TicketLedger(database_url=self.database_url, clock=self.clock)
        self.models: dict[UUID, TicketModel] = {}
        self.exception_ticket: UUID | None = None
        self.work_started: dict[UUID, datetime] = {}
        self.contract_id = UUID(int=0)
        self.terms = ContractTerms.model_validate(focco_terms(**QUIET_RULES))

    def teardown(self) -> None:
        self.ledger.close()
        self.reader.close()

    @initialize()
    def sign_contract(self) -> None:
        result = self.ledger.handle(
            SignContract(terms=self.terms, by="admin", occurred_at=at("2026-01-01 03:00"))
        )
        self.contract_id = result.aggregate_id
        self.ledger.handle(
            AuthoriseRequester(contract_id=self.contract_id, requester="@serra.com.br", by="admin")
        )

    # The harness.

    def attempt(
        self,
        ticket_id: UUID,
        expected: ErrorType,
        command: Callable[[], Any],
        effect: Callable[[TicketModel], None],
    ) -> None:
        position = self.ledger.recorder.max_notification_id()
        before = vars(self.reader.ticket(ticket_id))
        if expected is not None:
            with pytest.raises(expected):
                command()
            assert self.ledger.recorder.max_notification_id() == position
            assert vars(self.reader.ticket(ticket_id)) == before
            return
        command()
        effect(self.models[ticket_id])
        self.models[ticket_id].last_at = self.clock()
        in_memory = self.ledger.last_saved[ticket_id]
        assert vars(self.reader.ticket(ticket_id)) == vars(in_memory)

    @invariant()
    def tickets_match_the_model(self) -> None:
        for ticket_id, model in self.models.items():
            ticket = self.reader.ticket(ticket_id)
            assert ticket.state.status.value == model.status
            assert (ticket.state.level, ticket.state.priority.value, ticket.state.assignee) == (
                model.level,
                model.priority,
                model.assignee,
            )
            assert ticket.state.failed_contact_attempts == model.attempts
            assert (ticket.state.rating is not None) == model.rated
            assert {
                e: (w.duration, w.customer_caused) for e, w in ticket.state.work.items()
            } == model.work

    # Rules.

    @rule(minutes=st.integers(1, 4 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule(target=tickets, authorised=st.booleans(), kind=ts.ticket_kinds, priority=ts.priorities)
    def open_ticket(self, authorised: bool, kind: Kind, priority: Priority) -> Any:
        requester = "ana@serra.com.br" if authorised else "someone@elsewhere.org"
        position = self.ledger.recorder.max_notification_id()
        command = lambda: self.ledger.handle(
            OpenTicket(
                contract_id=self.contract_id,
                requester=requester,
                channel=Channel.EMAIL,
                kind=kind,
                priority=priority,
                subject="Line stopped",
            )
        )
        if authorised and kind is Kind.WARRANTY_OF_MATERIAL:
            with pytest.raises(errors.WarrantyNotCoveredError):
                command()
            assert self.ledger.recorder.max_notification_id() == position
            return multiple()
        result = command()
        if result.held:
            assert self.reader.held_request(result.aggregate_id).requester == requester
            return multiple()
        now = self.clock()
        self.models[result.aggregate_id] = TicketModel(
            opened_at=now, last_at=now, priority=priority.value, kind=kind.value
        )
        assert vars(self.reader.ticket(result.aggregate_id)) == vars(
            self.ledger.last_saved[result.aggregate_id]
        )
        return result.aggregate_id

    @rule(ticket=tickets, assignee=st.sampled_from(["carla", "dave"]))
    def assign(self, ticket: UUID, assignee: str) -> None:
        model = self.models[ticket]
        expected = model.final_error() or (
            errors.NothingChangedError if model.assignee == assignee else None
        )

        def effect(m: TicketModel) -> None:
            m.assignee = assignee
            m.take_up()

        self.attempt(
            ticket,
            expected,
            lambda: self.ledger.handle(Assign(ticket=ticket, assignee=assignee, by="lead")),
            effect,
        )

    @rule(ticket=tickets, minutes_back=st.integers(1, 90))
    def backdated_comment(self, ticket: UUID, minutes_back: int) -> None:
        model = self.models[ticket]
        occurred = self.clock() - timedelta(minutes=minutes_back)
        out_of_order = errors.OccurredOutOfOrderError if occurred < model.last_at else None
        expected = model.final_error() or out_of_order

        def effect(m: TicketModel) -> None:
            m.comments += 1

        command = lambda: self.ledger.handle(
            Comment(ticket=ticket, text="called", by="carla", occurred_at=occurred)
        )
        self.attempt(ticket, expected, command, effect)
        if expected is None:
            model.last_at = occurred

    @rule(ticket=tickets, priority=st.sampled_from(list(Priority)), level=st.integers(1, 4))
    def reclassify(self, ticket: UUID, priority: Priority, level: int) -> None:
        model = self.models[ticket]
        unchanged = (priority.value, level) == (model.priority, model.level)
        expected = (
            model.final_error()
            or (errors.InvalidCommandError if level > 3 else None)
            or (errors.NothingChangedError if unchanged else None)
        )

        def effect(m: TicketModel) -> None:
            m.priority, m.level = priority.value, level

        command = lambda: self.ledger.handle(
            Reclassify(ticket=ticket, priority=priority, level=level, reason="impact", by="lead")
        )
        self.attempt(ticket, expected, command, effect)

    @rule(ticket=tickets)
    def escalate(self, ticket: UUID) -> None:
        model = self.models[ticket]
        expected = model.active_error() or (errors.HighestLevelError if model.level >= 3 else None)

        def effect(m: TicketModel) -> None:
            m.level += 1

        self.attempt(
            ticket,
            expected,
            lambda: self.ledger.handle(Escalate(ticket=ticket, reason="complex", by="carla")),
            effect,
        )

    @rule(ticket=tickets, by_agent=st.booleans())
    def reply(self, ticket: UUID, by_agent: bool) -> None:
        model = self.models[ticket]

        def effect(m: TicketModel) -> None:
            if by_agent:
                m.first_response_at = m.first_response_at or self.clock()
                m.take_up()
                return
            m.attempts = 0
            if m.status == "waiting_on_customer":
                m.status, m.waiting_since = "open", None
            elif m.status == "resolved":
                m.reopen()

        command = (
            (lambda: self.ledger.handle(ReplyAsAgent(ticket=ticket, message="on it", by="carla")))
            if by_agent
            else (
                lambda: self.ledger.handle(
                    ReplyAsRequester(ticket=ticket, message="thanks", by="ana@serra.com.br")
                )
            )
        )
        self.attempt(ticket, model.final_error(), command, effect)

    @rule(ticket=tickets, on_customer=st.booleans())
    def wait(self, ticket: UUID, on_customer: bool) -> None:
        model = self.models[ticket]
        status = "waiting_on_customer" if on_customer else "waiting_on_third_party"
        expected = model.active_error() or (
            errors.AlreadyWaitingError if model.status == status else None
        )
        command = (
            (lambda: self.ledger.handle(WaitOnCustomer(ticket=ticket, reason="form", by="carla")))
            if on_customer
            else (
                lambda: self.ledger.handle(
                    WaitOnThirdParty(
                        ticket=ticket, third_party="ISP", reason="link down", by="carla"
                    )
                )
            )
        )
        self.attempt(ticket, expected, command, lambda m: m.wait(status, self.clock()))

    @rule(ticket=tickets)
    def resume(self, ticket: UUID) -> None:
        model = self.models[ticket]
        waiting = model.status in ("waiting_on_customer", "waiting_on_third_party")
        expected = model.active_error() or (None if waiting else errors.TicketNotWaitingError)

        def effect(m: TicketModel) -> None:
            m.status, m.waiting_since = "open", None

        self.attempt(
            ticket,
            expected,
            lambda: self.ledger.handle(Resume(ticket=ticket, reason="back", by="carla")),
            effect,
        )

    @rule(ticket=tickets)
    def fail_to_contact(self, ticket: UUID) -> None:
        model = self.models[ticket]

        def effect(m: TicketModel) -> None:
            m.attempts += 1

        command = lambda: self.ledger.handle(
            RecordFailedContact(ticket=ticket, channel=Channel.PHONE, by="carla")
        )
        self.attempt(ticket, model.active_error(), command, effect)

    @rule(ticket=tickets, minutes=st.integers(5, 600), gap=st.integers(0, 3000))
    def log_work(self, ticket: UUID, minutes: int, gap: int) -> None:
        model = self.models[ticket]
        duration = timedelta(minutes=minutes)
        started = self.clock() - duration - timedelta(minutes=gap)
        business = self.terms.business_calendar.business_time_between(started, started + duration)
        billable_off_hours = duration > business
        authorised = any(a <= started for a in model.authorisations)
        expected = (
            model.final_error()
            or (errors.InvalidCommandError if started < model.opened_at else None)
            or (
                errors.OffHoursNotAuthorisedError if billable_off_hours and not authorised else None
            )
        )
        entry_id = ts.fresh_uuid()

        def effect(m: TicketModel) -> None:
            m.work[entry_id] = (duration, False)
            self.work_started[entry_id] = started
            m.take_up()

        command = lambda: self.ledger.handle(
            LogWork(
                ticket=ticket,
                agent="carla",
                started_at=started,
                duration=duration,
                entry_id=entry_id,
            )
        )
        self.attempt(ticket, expected, command, effect)

    @precondition(lambda self: any(m.work for m in self.models.values()))
    @rule(data=st.data(), minutes=st.sampled_from([0, 15, 30, 60, 90]), caused=st.booleans())
    def correct_work(self, data: st.DataObject, minutes: int, caused: bool) -> None:
        ticket = data.draw(st.sampled_from(sorted(t for t, m in self.models.items() if m.work)))
        model = self.models[ticket]
        entry = data.draw(st.sampled_from(sorted(model.work)))
        duration = timedelta(minutes=minutes)
        started = self.work_started[entry]
        more_off_hours = self.off_hours(started, duration) > self.off_hours(
            started, model.work[entry][0]
        )
        authorised = any(a <= started for a in model.authorisations)
        expected = (
            (errors.InvalidCommandError if started + duration > self.clock() else None)
            or (errors.OffHoursNotAuthorisedError if more_off_hours and not authorised else None)
            or (errors.NothingChangedError if model.work[entry] == (duration, caused) else None)
        )

        def effect(m: TicketModel) -> None:
            m.work[entry] = (duration, caused)

        command = lambda: self.ledger.handle(
            CorrectWork(
                ticket=ticket,
                entry_id=entry,
                duration=duration,
                customer_caused=caused,
                reason="review",
                by="billing",
            )
        )
        self.attempt(ticket, expected, command, effect)

    def off_hours(self, started: datetime, duration: timedelta) -> timedelta:
        """Billable off-hours time of work: the contract's coverage is standard."""
        calendar = self.terms.business_calendar
        return duration - calendar.business_time_between(started, started + duration)

    @rule(ticket=tickets)
    def authorise_off_hours(self, ticket: UUID) -> None:
        model = self.models[ticket]
        used = self.exception_ticket not in (None, ticket)
        expected = model.final_error() or (errors.OffHoursExceptionUsedError if used else None)

        def effect(m: TicketModel) -> None:
            m.authorisations.append(self.clock())
            self.exception_ticket = ticket

        command = lambda: self.ledger.handle(
            AuthoriseOffHoursWork(ticket=ticket, authorised_by="boss@serra.com.br", by="carla")
        )
        self.attempt(ticket, expected, command, effect)

    @rule(ticket=tickets)
    def resolve(self, ticket: UUID) -> None:
        def effect(m: TicketModel) -> None:
            m.status, m.resolved_at, m.waiting_since = "resolved", self.clock(), None
            m.attempts = 0  # a resolution ends the stretch failed contacts count in

        command = lambda: self.ledger.handle(
            ResolveTicket(ticket=ticket, resolution="fixed", by="carla")
        )
        self.attempt(ticket, self.models[ticket].active_error(), command, effect)

    @rule(ticket=tickets, answer=st.sampled_from(["accept", "reject", "reopen"]))
    def answer_resolution(self, ticket: UUID, answer: str) -> None:
        model = self.models[ticket]
        commands = {
            "accept": lambda: self.ledger.handle(
                AcceptResolution(ticket=ticket, by="ana@serra.com.br")
            ),
            "reject": lambda: self.ledger.handle(
                RejectResolution(ticket=ticket, reason="no", by="ana@serra.com.br")
            ),
            "reopen": lambda: self.ledger.handle(
                ReopenTicket(ticket=ticket, reason="again", by="carla")
            ),
        }

        def effect(m: TicketModel) -> None:
            if answer == "accept":
                m.close("accepted", self.clock())
            else:
                m.reopen()
            if answer == "reject":
                m.attempts = 0  # the requester answered

        self.attempt(ticket, model.resolved_error(), commands[answer], effect)

    @rule(
        ticket=tickets,
        reason=st.sampled_from([r for r in ClosureReason if r is not ClosureReason.ACCEPTED]),
    )
    def close(self, ticket: UUID, reason: ClosureReason) -> None:
        model = self.models[ticket]
        expected = model.close_error(reason.value, self.clock(), self.terms.closure)
        command = lambda: self.ledger.handle(CloseTicket(ticket=ticket, reason=reason, by="desk"))
        self.attempt(ticket, expected, command, lambda m: m.close(reason.value, self.clock()))

    @rule(ticket=tickets, roll=st.integers(0, 7))
    def cancel(self, ticket: UUID, roll: int) -> None:
        if roll:  # cancelling is rare, or it would end most histories early
            return

        def effect(m: TicketModel) -> None:
            m.status, m.waiting_since = "cancelled", None

        command = lambda: self.ledger.handle(
            CancelTicket(ticket=ticket, reason=CancellationReason.OPENED_BY_MISTAKE, by="carla")
        )
        self.attempt(ticket, self.models[ticket].active_error(), command, effect)

    @rule(ticket=tickets, score=st.integers(1, 5))
    def rate(self, ticket: UUID, score: int) -> None:
        def effect(m: TicketModel) -> None:
            m.rated = True

        command = lambda: self.ledger.handle(
            RateTicket(ticket=ticket, score=score, by="ana@serra.com.br")
        )
        self.attempt(ticket, self.models[ticket].rate_error(), command, effect)

    @rule(ticket=tickets, other=tickets)
    def link(self, ticket: UUID, other: UUID) -> None:
        model = self.models[ticket]
        expected = (
            model.final_error()
            or (errors.InvalidLinkError if ticket == other else None)
            or (errors.NothingChangedError if other in model.links else None)
        )

        def effect(m: TicketModel) -> None:
            m.links.add(other)

        command = lambda: self.ledger.handle(
            LinkTickets(ticket=ticket, other=other, link_kind=LinkKind.RELATES_TO, by="carla")
        )
        self.attempt(ticket, expected, command, effect)


def test_random_command_sequences_apply_or_refuse_with_nothing_written(database_url: str) -> None:
    LedgerMachine.database_url = database_url
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=60,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
