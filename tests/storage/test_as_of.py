"""A ticket as of a version, as recorded by an instant and as occurred by it,
on SQLite and PostgreSQL: a late-logged call checked by hand, the contract as
recorded, random histories against a replay by hand, the `as-of` command
and the HTTP route. Seed 003's calendar: 08:00-12:00 and 13:30-18:00 in
Caxias do Sul, three hours behind UTC; Monday 5 October 2026."""

from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from tests import strategies as ts
from tests.api_support import Api
from tests.support import SEED_004_SLA, ManualClock, at, focco_terms
from ticketledger.api.cli.main import app
from ticketledger.domain import sla
from ticketledger.domain.contract import Contract
from ticketledger.domain.errors import DomainError
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    Priority,
    WorkCategory,
)
from ticketledger.projections import hours as hours_projection
from ticketledger.projections import sla as sla_projection
from ticketledger.projections.runner import Projector
from ticketledger.replay.as_of import as_occurred_by, as_recorded_by, at_version, ticket_as_of
from ticketledger.replay.chronology import POSTING_EVENTS, chronology, instant_text, ticket_fields
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseOffHoursWork,
    AuthoriseRequester,
    CancelTicket,
    ChangePlan,
    CloseTicket,
    Comment,
    CorrectWork,
    Escalate,
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

runner = CliRunner()
NOON = at("2026-10-05 12:00")


def open_ticket(ledger: TicketLedger, priority: Priority = Priority.HIGH) -> tuple[str, UUID]:
    contract = ledger.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="@serra.com.br", by="admin"))
    return open_ticket_on(ledger, contract, priority)


def open_ticket_on(
    ledger: TicketLedger, contract: UUID, priority: Priority = Priority.HIGH
) -> tuple[str, UUID]:
    opened = ledger.handle(
        OpenTicket(
            contract_id=contract,
            requester="ana@serra.com.br",
            channel=Channel.PHONE,
            kind=Kind.INCIDENT,
            priority=priority,
            subject="Line 2 PLC does not start",
        )
    )
    assert opened.number is not None
    return opened.number, contract


def late_call(ledger: TicketLedger, clock: ManualClock) -> str:
    """Opened at 07:00 local (10:00 UTC), before business hours; the agent's
    call at 08:00 local (11:00 UTC) is recorded at 12:00 local (15:00 UTC)."""
    clock.set(at("2026-10-05 10:00"))
    number, _ = open_ticket(ledger)
    clock.set(at("2026-10-05 15:00"))
    ledger.handle(
        ReplyAsAgent(
            ticket=number,
            message="called: restart the PLC",
            by="carla",
            occurred_at=at("2026-10-05 11:00"),
        )
    )
    return number


def test_a_late_logged_call_is_absent_as_recorded_by_noon_and_present_as_occurred_by_noon(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    number = late_call(ledger, clock)
    known = ticket_as_of(ledger, number, recorded_by=NOON)
    true = ticket_as_of(ledger, number, occurred_by=NOON)
    # What the ledger knew at noon UTC (09:00 local): an unanswered ticket
    # with one business hour of its 4 h spent, due when the morning ends.
    assert (known.version, known.state["status"], known.state["first_response_at"]) == (
        1,
        "new",
        None,
    )
    assert known.sla.evaluated_at == NOON
    assert known.sla.first_response.to_json() == {
        "state": "running",
        "calendar": "business",
        "target_seconds": "14400",
        "elapsed_seconds": "3600",
        "paused_seconds": "0",
        "remaining_seconds": "10800",
        "due_at": "2026-10-05T15:00:00+00:00",
        "status": "on_track",
    }
    # What was true at noon: answered at 08:00 local, when business hours
    # began, so no business time was spent and the target was met.
    assert (true.version, true.state["status"], true.state["first_response_at"]) == (
        2,
        "open",
        "2026-10-05T11:00:00+00:00",
    )
    assert true.state["agent_replies"] == 1
    first = true.sla.first_response
    assert (first.state, first.elapsed, first.status, first.due_at) == (
        "stopped",
        timedelta(0),
        "met",
        None,
    )
    # The resolution clock is the same either way: 16 h from 08:00 local
    # Monday run out at 17:00 local Tuesday.
    for seen in (known, true):
        resolution = seen.sla.resolution
        assert (resolution.elapsed, resolution.due_at) == (
            timedelta(hours=1),
            at("2026-10-06 20:00"),
        )
    # By 15:00 UTC the ledger knows the call too; its clocks are read then.
    later = ticket_as_of(ledger, number, recorded_by=at("2026-10-05 15:00"))
    assert later.state == true.state
    assert later.sla.resolution.elapsed == timedelta(hours=4)


def test_no_as_of_answer_moves_when_a_plan_change_effective_earlier_is_recorded_later(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    number, contract = open_ticket(ledger)
    questions: list[dict[str, Any]] = [
        {"version": 1},
        {"recorded_by": NOON},
        {"occurred_by": NOON},
    ]
    before = [ticket_as_of(ledger, number, **q).to_json() for q in questions]
    clock.advance(timedelta(hours=1))
    quicker = {
        **SEED_004_SLA,
        Priority.HIGH.value: {"first_response": "PT1H", "resolution": "PT8H"},
    }
    ledger.handle(
        ChangePlan(
            contract_id=contract,
            terms=focco_terms(sla=quicker),
            effective_on=date(2026, 10, 5),  # the ticket's own day
            reason="quicker",
            by="a",
        )
    )
    # Each answer reads the contract as logged before the ticket's events, as
    # the SLA projection and billing do: the ticket runs under its opening's terms.
    for question, seen in zip(questions, before, strict=True):
        answer = ticket_as_of(ledger, number, **question)
        assert answer.to_json() == seen
        assert answer.contract_version == 2
        assert answer.sla.first_response.target == timedelta(hours=4)
    later, _ = open_ticket_on(ledger, contract)
    assert ticket_as_of(ledger, later, version=1).contract_version == 3
    assert ticket_as_of(ledger, later, version=1).sla.first_response.target == timedelta(hours=1)


def test_a_question_before_the_ticket_or_past_its_last_version_names_what_is_missing(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    number = late_call(ledger, clock)
    events = list(ledger.events_of(ledger.ticket(number).id))
    contract = ledger.contract(events[0].contract_id)
    before = at("2026-10-05 09:59")
    for ask, message in (
        (lambda: at_version(events, contract, 3), f"ticket {number} has versions 1 to 2, not 3"),
        (lambda: at_version(events, contract, 0), f"ticket {number} has versions 1 to 2, not 0"),
        (
            lambda: as_recorded_by(events, contract, before),
            f"ticket {number} was not recorded yet at 2026-10-05T09:59:00+00:00",
        ),
        (
            lambda: as_occurred_by(events, contract, before),
            f"ticket {number} was not open yet at 2026-10-05T09:59:00+00:00",
        ),
    ):
        try:
            ask()
        except DomainError as error:
            assert (error.code, error.message) == ("ticket_not_found", message)
        else:
            raise AssertionError(f"no error: {message}")


# Random histories.


def play(ledger: TicketLedger, number: str, step: ts.HistoryStep, now: Any) -> None:
    """Runs one step; a command the rules refuse changes nothing and is skipped."""
    when = now - timedelta(minutes=step.late)
    choice, by = step.choice, {"by": "carla", "occurred_at": when}
    minutes = timedelta(minutes=15 * (choice + 1))
    commands = {
        "assign": lambda: ledger.handle(
            Assign(ticket=number, assignee=["carla", "dave"][choice % 2], **by)
        ),
        "reclassify": lambda: ledger.handle(
            Reclassify(ticket=number, priority=list(Priority)[choice], reason="impact", **by)
        ),
        "escalate": lambda: ledger.handle(Escalate(ticket=number, reason="hard", **by)),
        "agent_reply": lambda: ledger.handle(ReplyAsAgent(ticket=number, message="on it", **by)),
        "requester_reply": lambda: ledger.handle(
            ReplyAsRequester(ticket=number, message="thanks", **by)
        ),
        "comment": lambda: ledger.handle(Comment(ticket=number, text="note", **by)),
        "wait_on_customer": lambda: ledger.handle(
            WaitOnCustomer(ticket=number, reason="log", **by)
        ),
        "wait_on_third_party": lambda: ledger.handle(
            WaitOnThirdParty(ticket=number, third_party="ISP", reason="link", **by)
        ),
        "resume": lambda: ledger.handle(Resume(ticket=number, reason="back", **by)),
        "failed_contact": lambda: ledger.handle(
            RecordFailedContact(ticket=number, channel=Channel.PHONE, **by)
        ),
        "log_work": lambda: ledger.handle(
            LogWork(
                ticket=number,
                agent="carla",
                started_at=when - minutes,
                duration=minutes,
                category=list(WorkCategory)[choice],
                customer_caused=choice == 3,
                occurred_at=when,
            )
        ),
        "correct_work": lambda: correct(ledger, number, choice, by),
        "authorise_off_hours": lambda: ledger.handle(
            AuthoriseOffHoursWork(ticket=number, authorised_by="boss@serra.com.br", **by)
        ),
        "resolve": lambda: ledger.handle(ResolveTicket(ticket=number, resolution="fixed", **by)),
        "accept": lambda: ledger.handle(AcceptResolution(ticket=number, **by)),
        "reject": lambda: ledger.handle(
            RejectResolution(ticket=number, reason="still broken", **by)
        ),
        "reopen": lambda: ledger.handle(ReopenTicket(ticket=number, reason="again", **by)),
        "close": lambda: ledger.handle(
            CloseTicket(ticket=number, reason=list(ClosureReason)[choice + 1], **by)
        ),
        # Rarely: a cancellation ends the history.
        "cancel": lambda: (
            choice == 0
            and ledger.handle(
                CancelTicket(ticket=number, reason=CancellationReason.OPENED_BY_MISTAKE, **by)
            )
        ),
        "rate": lambda: ledger.handle(RateTicket(ticket=number, score=choice + 2, **by)),
    }
    with contextlib.suppress(DomainError):
        commands[step.command]()


def correct(ledger: TicketLedger, number: str, choice: int, by: dict[str, Any]) -> Any:
    entries = sorted(ledger.ticket(number).state.work)
    if not entries:
        return None
    entry = entries[choice % len(entries)]
    duration = timedelta(minutes=15 * choice)  # 0 voids the entry
    return ledger.handle(
        CorrectWork(ticket=number, entry_id=entry, duration=duration, reason="review", **by)
    )


def assert_as_of_version_is_the_replay_by_hand(
    events: list[Any], contract: Contract, n: int, ledger: TicketLedger
) -> None:
    mine = at_version(events, contract, n)
    ticket = None
    for event in events[:n]:
        ticket = event.mutate(ticket)
    assert ticket is not None
    assert vars(ticket) == vars(ledger.ticket(ticket.id, version=n))
    assert mine.version == ticket.version == n
    assert mine.state == ticket_fields(ticket.state)
    assert (mine.state["status"], mine.state["priority"], mine.state["level"]) == (
        ticket.state.status.value,
        ticket.state.priority.value,
        ticket.state.level,
    )
    # The clocks, kept by hand with the domain's SLA rules.
    opened = events[0]
    terms = contract.state.terms_at(opened.occurred_at)
    clocks = sla.open_clocks(terms, opened.priority, opened.occurred_at)
    for event in events[1:n]:
        clocks = sla.on_event(clocks, terms, event)
    when = events[n - 1].occurred_at
    assert mine.sla.evaluated_at == when
    for figures, clock in (
        (mine.sla.first_response, clocks.first_response),
        (mine.sla.resolution, clocks.resolution),
    ):
        moved = sla.advance(clock, terms, when)
        assert (figures.state, figures.target, figures.elapsed, figures.paused) == (
            clock.state.value,
            clock.target,
            moved.elapsed,
            moved.paused,
        )
        assert figures.status == sla.status_at(clock, terms, when).value
    # Hours: all pending until the first acceptance, closure or cancellation.
    worked = sum((w.duration for w in ticket.state.work.values()), timedelta(0))
    posted = any(isinstance(e, POSTING_EVENTS) for e in events[:n])
    assert (mine.hours.pending, mine.hours.posted) == (
        (timedelta(0), worked) if posted else (worked, timedelta(0))
    )


def assert_both_instants_select_a_prefix(events: list[Any], contract: Contract, n: int) -> None:
    """The events that occurred, and those recorded, by event n's instants are
    the ticket's first events, and the as-of answers stop after them."""
    occurred = [e for e in events if e.occurred_at <= events[n - 1].occurred_at]
    recorded = [e for e in events if e.timestamp <= events[n - 1].timestamp]
    for chosen in (occurred, recorded):
        assert chosen == events[: len(chosen)]
        assert len(chosen) >= n
    assert as_occurred_by(events, contract, events[n - 1].occurred_at).version == len(occurred)
    assert as_recorded_by(events, contract, events[n - 1].timestamp).version == len(recorded)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=ts.ticket_histories())
def test_the_state_as_of_version_n_equals_replaying_the_first_n_events_by_hand(
    ledger: TicketLedger, clock: ManualClock, projector: Projector, history: ts.TicketHistory
) -> None:
    clock.advance(timedelta(days=1))
    number, contract_id = open_ticket(ledger, history.priority)
    for step in history.steps:
        play(ledger, number, step, clock.advance(timedelta(minutes=step.minutes_later)))
    if history.settles:
        for command in ("resolve", "accept"):
            play(
                ledger,
                number,
                ts.HistoryStep(command, 10, 0, 0),
                clock.advance(timedelta(minutes=10)),
            )
    events = list(ledger.events_of(ledger.ticket(number).id))
    contract = ledger.contract(contract_id)
    steps_replayed = chronology(events, contract).steps
    for n in range(1, len(events) + 1):
        assert_as_of_version_is_the_replay_by_hand(events, contract, n, ledger)
        assert_both_instants_select_a_prefix(events, contract, n)
        mine = at_version(events, contract, n)
        assert (mine.sla, mine.hours) == (steps_replayed[n - 1].sla, steps_replayed[n - 1].hours)
    assert_now_matches_the_projections(projector, ledger, number, events, contract)


def assert_now_matches_the_projections(
    projector: Projector, ledger: TicketLedger, number: str, events: list[Any], contract: Contract
) -> None:
    """Everything that occurred by now is the whole history: its SLA figures
    are the SLA projection's, its pending hours the hours projection's."""
    now = ledger.clock()
    mine = as_occurred_by(events, contract, now)
    projector.catch_up(["sla", "hours"])
    with projector.reading("sla") as rows:
        projected = sla_projection.ticket_sla(rows, number, now)
    for name in ("first_response", "resolution"):
        figures, view = getattr(mine.sla, name), projected[name]
        assert (figures.state, figures.status) == (view["state"], view["status"])
        assert figures.elapsed.total_seconds() == view["elapsed_seconds"]
        assert figures.paused.total_seconds() == view["paused_seconds"]
        if figures.state == "running":
            assert instant_text(figures.due_at) == view["due_at"]
    with projector.reading("hours") as rows:
        pending = hours_projection.pending_hours(rows, events[0].originator_id)
    assert sum((e.duration for e in pending), timedelta(0)) == mine.hours.pending


# The command and the route.


def test_as_of_prints_the_state_at_a_version_or_instant_and_refuses_a_bad_question(
    ledger: TicketLedger, clock: ManualClock, database_url: str
) -> None:
    number = late_call(ledger, clock)
    db = ("--database-url", database_url)
    shown = runner.invoke(app, ["as-of", number, "--occurred-by", "2026-10-05T09:00-03:00", *db])
    assert shown.exit_code == 0, shown.output
    assert "as occurred by 2026-10-05T12:00:00+00:00: version 2" in shown.stdout
    assert "met: stopped, 0:00 of 4:00 spent" in shown.stdout
    as_json = runner.invoke(app, ["as-of", number, "--version", "1", "--json", *db])
    assert json.loads(as_json.stdout) == ticket_as_of(ledger, number, version=1).to_json()
    recorded = runner.invoke(app, ["as-of", number, "--recorded-by", "2026-10-05T12:00Z", *db])
    assert "as recorded by 2026-10-05T12:00:00+00:00: version 1" in recorded.stdout
    for arguments, message in (
        ([], "give exactly one of --version, --recorded-by, --occurred-by"),
        (["--version", "1", "--occurred-by", "2026-10-05T12:00Z"], "give exactly one of"),
        (["--occurred-by", "2026-10-05T12:00"], "--occurred-by needs a UTC offset"),
        (["--version", "7"], f"ticket {number} has versions 1 to 2, not 7"),
    ):
        refused = runner.invoke(app, ["as-of", number, *arguments, *db])
        assert refused.exit_code == 1
        assert refused.stderr.startswith(f"error: {message}")


def test_the_as_of_route_answers_each_question_and_refuses_none_or_two(api: Api) -> None:
    api.clock.set(at("2026-10-05 10:00"))
    api.sign_contracts()
    number = api.open()["number"]
    api.clock.set(at("2026-10-05 15:00"))
    call = {"message": "called: restart the PLC", "occurred_at": "2026-10-05T08:00:00-03:00"}
    api.ok(api.post("agent", f"/tickets/{number}/replies", call))
    path = f"/tickets/{number}/as-of"
    known = api.ok(api.get("auditor", path, recorded_by="2026-10-05T12:00:00Z"))
    true = api.ok(api.get("requester", path, occurred_by="2026-10-05T12:00:00Z"))
    assert (known["version"], known["state"]["status"]) == (1, "new")
    assert known["sla"]["first_response"]["remaining_seconds"] == "10800"
    assert (true["version"], true["state"]["first_response_at"]) == (2, "2026-10-05T11:00:00+00:00")
    assert "comments" not in true["state"]  # a requester never counts internal notes
    assert api.ok(api.get("agent", path, version=2))["state"] == {**true["state"], "comments": 0}
    for params in ({}, {"version": 1, "occurred_by": "2026-10-05T12:00:00Z"}):
        refused = api.get("auditor", path, **params)
        assert (refused.status_code, refused.json()["code"]) == (422, "as_of_needs_one_question")
    missing = api.get("auditor", path, version=3)
    assert (missing.status_code, missing.json()["code"]) == (404, "ticket_not_found")
    far = api.get("auditor", path, occurred_by="2028-01-01T00:00:00Z")
    assert (far.status_code, far.json()["code"]) == (422, "now_out_of_range")
    other = api.get("other_requester", path, version=1)
    assert other.status_code == 404
