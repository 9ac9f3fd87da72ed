"""The time-driven rules as the desk sees them: the deadlines projection (a
rebuild equals the incremental rows, and the rows are the ledger's own
deadlines), upcoming deadlines per agent and customer, `ticketledger tick` and
`ticketledger deadlines`, GET /deadlines and the API's background ticker,
escalation on a breach, and the rules' steps in a ticket's chronology; on
SQLite and PostgreSQL.

The manual clock starts on Monday 5 October 2026, 12:00 UTC, 09:00 in Caxias
do Sul (UTC-3), whose business hours (seed 003) are 08:00-12:00 and
13:30-18:00, that is 11:00-15:00 and 16:30-21:00 UTC: 7.5 business hours are
left on Monday, 8.5 on a full weekday. A high-priority ticket has 4 h to
respond and 16 h to resolve, a critical one 2 h and 8 h; a clock is at risk at
80 % of its target and breached one microsecond of business time past it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.api_support import KEYS, OTHER, OWN, Api, running
from tests.conftest import LedgerFactory
from tests.support import ManualClock, at, focco_terms
from ticketledger.api.access import AccessStore
from ticketledger.api.cli.main import app as cli
from ticketledger.api.http.app import create_app
from ticketledger.api.http.deps import Services
from ticketledger.api.jobs.ticker import Ticker
from ticketledger.domain.deadlines import RULES_ACTOR, Rule, deadlines
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    Notice,
    Priority,
    SlaClockName,
    SlaThreshold,
)
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.deadlines import DeadlinesProjection, upcoming, watch_from
from ticketledger.projections.runner import Projector
from ticketledger.replay.chronology import ticket_chronology
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseRequester,
    CancelTicket,
    ChangePlan,
    OpenTicket,
    Reclassify,
    RecordFailedContact,
    ReplyAsAgent,
    ResolveTicket,
    SignContract,
    WaitOnCustomer,
)
from ticketledger.service.ledger import TicketLedger

runner = CliRunner()
NAME = DeadlinesProjection.name
REQUESTER = "ana@serra.com.br"
SERRA = "Metalúrgica Serra"
MOVEIS = "Móveis Serra Gaúcha"
MOVEIS_REQUESTER = "bruno@moveis.com.br"
US = timedelta(microseconds=1)

Listed = list[tuple[str, str, datetime]]  # (number, rule, due at), as the projection lists them


# ----------------------------------------------------------------------- helpers


def sign(ledger: TicketLedger, **overrides: Any) -> UUID:
    """A contract on seed 003's terms (with `overrides`) whose requesters are
    everyone at the customer's domain."""
    terms = focco_terms(**overrides)
    contract = ledger.handle(SignContract(terms=terms, by="admin")).aggregate_id
    domain = "@moveis.com.br" if terms["customer"] == MOVEIS else "@serra.com.br"
    ledger.handle(AuthoriseRequester(contract_id=contract, requester=domain, by="admin"))
    return contract


def open_ticket(
    ledger: TicketLedger,
    contract: UUID,
    priority: Priority = Priority.HIGH,
    requester: str = REQUESTER,
) -> str:
    opened = ledger.handle(
        OpenTicket(
            contract_id=contract,
            requester=requester,
            channel=Channel.PHONE,
            kind=Kind.INCIDENT,
            priority=priority,
            subject=f"Line 2 stopped ({priority.value})",
        )
    )
    assert opened.number is not None and not opened.held
    return opened.number


def ticket_id(ledger: TicketLedger, number: str) -> UUID:
    return ledger.ticket(number).id


def history(ledger: TicketLedger, number: str) -> list[Any]:
    return list(ledger.events_of(ticket_id(ledger, number)))


def by_rules(ledger: TicketLedger, number: str) -> list[Any]:
    return [e for e in history(ledger, number) if e.by == RULES_ACTOR]


def ledger_deadlines(ledger: TicketLedger, number: str) -> list[tuple[str, datetime]]:
    """What domain/deadlines.py says is still to come on the ticket, from its events."""
    watch, terms = ledger.watch(number)
    return [(d.rule.value, d.due_at) for d in deadlines(watch, terms)]


def listed(entries: list[dict[str, Any]]) -> Listed:
    return [(e["number"], e["rule"], datetime.fromisoformat(e["due_at"])) for e in entries]


def projected(projector: Projector, **query: Any) -> Listed:
    projector.catch_up([NAME])
    with projector.reading(NAME) as rows:
        return listed(upcoming(rows, limit=10_000, **query))


def expected(ledger: TicketLedger, numbers: list[str]) -> Listed:
    """The tickets' deadlines from the ledger, in the projection's order: due
    instant, then rule, then ticket number."""
    found = [
        (number, rule, due) for number in numbers for rule, due in ledger_deadlines(ledger, number)
    ]
    return sorted(found, key=lambda e: (e[2], Rule(e[1]).rank, e[0]))


def per_ticket(entries: Listed) -> dict[str, list[tuple[str, datetime]]]:
    grouped: dict[str, list[tuple[str, datetime]]] = {}
    for number, rule, due in entries:
        grouped.setdefault(number, []).append((rule, due))
    return grouped


def assert_projection_agrees(
    ledger: TicketLedger, projector: Projector, numbers: list[str]
) -> None:
    """The projection lists, ticket by ticket, what the ledger says is to come."""
    from_ledger = {n: found for n in numbers if (found := ledger_deadlines(ledger, n))}
    assert per_ticket(projected(projector)) == from_ledger


def apply_everywhere(ledger: TicketLedger, numbers: list[str]) -> None:
    """What a tick does, ticket by ticket, at the clock's instant."""
    for number in numbers:
        ledger.apply_due_rules(number)


# ----------------------------------------------------------------------- the projection


def varied_history(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> dict[str, str]:
    """Tickets that go every way the rules can take them, with the deadlines
    projection following a phase at a time and agreeing with the ledger after
    each. Returns the numbers by role."""
    contract = sign(ledger)
    t: dict[str, str] = {}

    def step(when: str, command: Callable[[], object]) -> None:
        clock.set(at(when))
        command()

    step("2026-10-05 12:00", lambda: t.update(silent=open_ticket(ledger, contract)))
    step(
        "2026-10-05 12:10",
        lambda: ledger.handle(Assign(ticket=t["silent"], assignee="carla", by="lead")),
    )
    step(
        "2026-10-05 12:20",
        lambda: ledger.handle(ReplyAsAgent(ticket=t["silent"], message="Send the log", by="carla")),
    )
    step(
        "2026-10-05 12:30",
        lambda: ledger.handle(
            WaitOnCustomer(ticket=t["silent"], reason="need the log", by="carla")
        ),
    )
    step(
        "2026-10-05 12:40",
        lambda: t.update(resolved=open_ticket(ledger, contract, Priority.MEDIUM)),
    )
    step(
        "2026-10-05 12:50",
        lambda: ledger.handle(ReplyAsAgent(ticket=t["resolved"], message="On it", by="diego")),
    )
    step(
        "2026-10-05 13:00",
        lambda: ledger.handle(ResolveTicket(ticket=t["resolved"], resolution="ok", by="diego")),
    )
    step(
        "2026-10-05 13:10",
        lambda: t.update(unreachable=open_ticket(ledger, contract, Priority.LOW)),
    )
    for minute in ("13:20", "13:30", "13:40"):
        step(
            f"2026-10-05 {minute}",
            lambda: ledger.handle(
                RecordFailedContact(ticket=t["unreachable"], channel=Channel.PHONE, by="diego")
            ),
        )
    step("2026-10-05 13:50", lambda: t.update(escalating=open_ticket(ledger, contract)))
    step(
        "2026-10-05 14:00",
        lambda: ledger.handle(Assign(ticket=t["escalating"], assignee="carla", by="lead")),
    )
    step(
        "2026-10-05 14:10",
        lambda: t.update(answered=open_ticket(ledger, contract, Priority.CRITICAL)),
    )
    step(
        "2026-10-05 14:15",
        lambda: ledger.handle(Assign(ticket=t["answered"], assignee="diego", by="lead")),
    )
    step(
        "2026-10-05 14:20",
        lambda: ledger.handle(ReplyAsAgent(ticket=t["answered"], message="Connecting", by="diego")),
    )
    step("2026-10-05 14:25", lambda: t.update(mistaken=open_ticket(ledger, contract, Priority.LOW)))
    step(
        "2026-10-05 14:30",
        lambda: ledger.handle(
            CancelTicket(
                ticket=t["mistaken"], reason=CancellationReason.OPENED_BY_MISTAKE, by="lead"
            )
        ),
    )
    step("2026-10-05 14:35", lambda: t.update(accepted=open_ticket(ledger, contract, Priority.LOW)))
    step(
        "2026-10-05 14:40",
        lambda: ledger.handle(ReplyAsAgent(ticket=t["accepted"], message="Done?", by="diego")),
    )
    step(
        "2026-10-05 14:45",
        lambda: ledger.handle(ResolveTicket(ticket=t["accepted"], resolution="ok", by="diego")),
    )
    step(
        "2026-10-05 14:50",
        lambda: ledger.handle(AcceptResolution(ticket=t["accepted"], by=REQUESTER)),
    )
    assert_projection_agrees(ledger, projector, list(t.values()))

    # Tuesday: the first warnings, and the escalating ticket passes to diego.
    step("2026-10-06 12:00", lambda: apply_everywhere(ledger, list(t.values())))
    step(
        "2026-10-06 12:30",
        lambda: ledger.handle(Assign(ticket=t["escalating"], assignee="diego", by="lead")),
    )
    step("2026-10-06 12:40", lambda: t.update(noticed=open_ticket(ledger, contract)))
    step(
        "2026-10-06 12:45",
        lambda: ledger.handle(ReplyAsAgent(ticket=t["noticed"], message="Photo?", by="carla")),
    )
    step(
        "2026-10-07 09:00",
        lambda: ledger.handle(
            WaitOnCustomer(ticket=t["noticed"], reason="need a photo", by="carla")
        ),
    )
    assert_projection_agrees(ledger, projector, list(t.values()))
    # Wednesday afternoon: three failed contacts and 48 h close the unreachable ticket.
    step("2026-10-07 14:00", lambda: apply_everywhere(ledger, list(t.values())))
    assert_projection_agrees(ledger, projector, list(t.values()))
    # Saturday: the silent customer is told; Monday the 12th its ticket closes,
    # the resolved one is deemed accepted, and the other waiting one is told.
    step("2026-10-10 13:00", lambda: apply_everywhere(ledger, list(t.values())))
    step("2026-10-12 13:30", lambda: apply_everywhere(ledger, list(t.values())))
    step("2026-10-12 13:40", lambda: t.update(fresh=open_ticket(ledger, contract)))
    step(
        "2026-10-12 13:50",
        lambda: ledger.handle(Assign(ticket=t["fresh"], assignee="carla", by="lead")),
    )
    return t


def test_the_deadlines_projection_rebuilt_from_zero_equals_its_rows_and_the_ledgers_deadlines(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    t = varied_history(ledger, clock, projector)
    closed = {
        "silent": ClosureReason.CUSTOMER_UNRESPONSIVE,
        "resolved": ClosureReason.ACCEPTANCE_DEEMED,
        "unreachable": ClosureReason.CONTACT_ATTEMPTS_EXHAUSTED,
    }
    for role, reason in closed.items():
        last = history(ledger, t[role])[-1]
        assert isinstance(last, Ticket.Closed), role
        assert (last.reason, last.by) == (reason, RULES_ACTOR)
    assert at("2026-10-07 13:10") == history(ledger, t["unreachable"])[-1].occurred_at
    assert [type(e) for e in by_rules(ledger, t["silent"])] == [
        Ticket.RequesterNoticeSent,
        Ticket.Closed,
    ]
    notices = by_rules(ledger, t["noticed"])
    assert [type(e) for e in notices] == [Ticket.RequesterNoticeSent]
    assert notices[0].occurred_at == at("2026-10-12 09:00")
    warnings = [
        e for e in by_rules(ledger, t["escalating"]) if isinstance(e, Ticket.SlaWarningSent)
    ]
    # Warned carla on Monday; the resolution warnings came after diego took it over.
    assert [(w.clock, w.threshold, w.recipient) for w in warnings] == [
        (SlaClockName.FIRST_RESPONSE, SlaThreshold.AT_RISK, "carla"),
        (SlaClockName.FIRST_RESPONSE, SlaThreshold.BREACHED, "carla"),
        (SlaClockName.RESOLUTION, SlaThreshold.AT_RISK, "diego"),
        (SlaClockName.RESOLUTION, SlaThreshold.BREACHED, "diego"),
    ]
    assert ledger.ticket(t["mistaken"]).state.status.is_final
    assert ledger.ticket(t["accepted"]).state.status.is_final

    shown = per_ticket(projected(projector))  # caught up
    incremental = projector.processor(NAME).dump()
    open_numbers = [t["escalating"], t["answered"], t["noticed"], t["fresh"]]
    # Every SLA warning of the two older open tickets has been given.
    assert (
        ledger_deadlines(ledger, t["escalating"]) == ledger_deadlines(ledger, t["answered"]) == []
    )
    assert shown == {n: ledger_deadlines(ledger, n) for n in (t["noticed"], t["fresh"])}
    assert shown[t["noticed"]] == [(Rule.SILENCE_CLOSURE.value, at("2026-10-14 09:00"))]
    assert [rule for rule, _ in shown[t["fresh"]]] == [r.value for r in list(Rule)[:4]]
    for role in ("silent", "resolved", "unreachable", "mistaken", "accepted"):
        assert ledger_deadlines(ledger, t[role]) == []
    for number in open_numbers:
        watch, _ = ledger.watch(number)
        with projector.reading(NAME) as rows:
            row = rows.get("watches", ticket_id=str(ticket_id(ledger, number)))
        assert row is not None
        assert watch_from(str(row["watch_json"])) == watch

    projector.rebuild(NAME)
    assert projector.processor(NAME).dump() == incremental
    assert per_ticket(projected(projector)) == shown


def test_a_plan_change_recorded_after_a_ticket_opened_does_not_move_its_deadlines(
    ledger: TicketLedger,
    make_ledger: LedgerFactory,
    clock: ManualClock,
    projector: Projector,
) -> None:
    contract = sign(ledger)
    number = open_ticket(ledger, contract)
    clock.advance(timedelta(minutes=10))
    ledger.handle(ReplyAsAgent(ticket=number, message="Restarting the PLC", by="carla"))
    clock.advance(timedelta(minutes=20))
    ledger.handle(ResolveTicket(ticket=number, resolution="restarted", by="carla"))  # 12:30
    projector.catch_up([NAME])
    clock.set(at("2026-10-05 14:00"))  # 11:00 in Caxias do Sul, the opening day
    ledger.handle(
        ChangePlan(
            contract_id=contract,
            terms=focco_terms(closure={"acceptance": "P2D"}),
            effective_on=date(2026, 10, 5),
            reason="acceptance in two days",
            by="admin",
        )
    )
    opened_at = ledger.ticket(number).state.opened_at
    assert opened_at is not None
    assert ledger.contract(contract).state.terms_at(opened_at).closure.acceptance == timedelta(
        days=2
    )
    clock.advance(timedelta(minutes=10))
    later = open_ticket(ledger, contract)  # opens under the new plan
    clock.advance(timedelta(minutes=10))
    ledger.handle(ReplyAsAgent(ticket=later, message="Restarting", by="carla"))
    ledger.handle(ResolveTicket(ticket=later, resolution="restarted", by="carla"))  # 14:20

    deadline = at("2026-10-12 12:30")
    acceptance = Rule.ACCEPTANCE_DEEMED.value
    for reader in (ledger, make_ledger()):  # the second has nothing cached
        assert ledger_deadlines(reader, number) == [(acceptance, deadline)]
        assert ledger_deadlines(reader, later) == [(acceptance, at("2026-10-07 14:20"))]
    assert projected(projector) == [
        (later, acceptance, at("2026-10-07 14:20")),
        (number, acceptance, deadline),
    ]

    clock.set(at("2026-10-07 14:20"))
    assert ledger.apply_due_rules(later) is not None
    clock.set(deadline - timedelta(seconds=1))
    assert ledger.apply_due_rules(number) is None
    assert ledger.ticket(number).state.resolved_at is not None
    assert projected(projector) == [(number, acceptance, deadline)]

    clock.set(deadline)
    assert ledger.apply_due_rules(number) is not None
    closing = history(ledger, number)[-1]
    assert isinstance(closing, Ticket.Closed)
    assert (closing.reason, closing.occurred_at) == (ClosureReason.ACCEPTANCE_DEEMED, deadline)
    assert projected(projector) == []
    incremental = projector.processor(NAME).dump()
    projector.rebuild(NAME)
    assert projector.processor(NAME).dump() == incremental


# ----------------------------------------------------------------------- upcoming deadlines


def desk_of_two_customers(ledger: TicketLedger, clock: ManualClock) -> dict[str, str]:
    """Monday 12:00 UTC: three Serra tickets and one of Móveis Serra Gaúcha
    (same hours), assigned to carla or diego, none answered yet."""
    serra, moveis = sign(ledger), sign(ledger, customer=MOVEIS)
    t = {
        "carla_high": open_ticket(ledger, serra),
        "diego_critical": open_ticket(ledger, serra, Priority.CRITICAL),
        "diego_moveis": open_ticket(ledger, moveis, requester=MOVEIS_REQUESTER),
        "unassigned": open_ticket(ledger, serra, Priority.MEDIUM),
    }
    ledger.handle(Assign(ticket=t["carla_high"], assignee="carla", by="lead"))
    ledger.handle(Assign(ticket=t["diego_critical"], assignee="diego", by="lead"))
    ledger.handle(Assign(ticket=t["diego_moveis"], assignee="diego", by="lead"))
    return t


def test_upcoming_deadlines_per_agent_and_customer_are_filtered_and_earliest_first(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    t = desk_of_two_customers(ledger, clock)
    everything = projected(projector)
    assert everything == expected(ledger, list(t.values()))
    assert len(everything) == 16

    diego = projected(projector, agent="diego")
    assert diego == [e for e in everything if e[0] in (t["diego_critical"], t["diego_moveis"])]
    # Critical: 1 h 36 min and 2 h of business time from 09:00 local; high: 3 h 12 min
    # and 4 h, over the lunch break; both tickets' resolution clocks end later.
    assert diego[:4] == [
        (t["diego_critical"], Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 13:36")),
        (t["diego_critical"], Rule.FIRST_RESPONSE_BREACHED.value, at("2026-10-05 14:00") + US),
        (t["diego_moveis"], Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 16:42")),
        (t["diego_moveis"], Rule.FIRST_RESPONSE_BREACHED.value, at("2026-10-05 17:30") + US),
    ]
    assert projected(projector, agent="diego", until=at("2026-10-05 17:30")) == diego[:3]
    assert projected(projector, customer=MOVEIS) == [
        e for e in everything if e[0] == t["diego_moveis"]
    ]
    assert projected(projector, agent="carla", customer=MOVEIS) == []
    assert [e[0] for e in projected(projector, customer=SERRA)] == [
        e[0] for e in everything if e[0] != t["diego_moveis"]
    ]
    carla = projected(projector, agent="carla")
    assert [e[1] for e in carla] == [r.value for r in list(Rule)[:4]]
    with projector.reading(NAME) as rows:
        assert len(upcoming(rows, limit=3)) == 3
        assert {e["assignee"] for e in upcoming(rows, customer=SERRA)} == {"carla", "diego", None}


def test_rules_due_at_the_same_instant_are_listed_in_rule_order_before_the_ticket_number(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    contract = sign(ledger, closure={"customer_silence_notice": "PT0S"})
    resolved = open_ticket(ledger, contract, Priority.LOW)  # the lower number
    waiting = open_ticket(ledger, contract, Priority.LOW)
    for number in (resolved, waiting):
        ledger.handle(ReplyAsAgent(ticket=number, message="Looking", by="carla"))
    ledger.handle(ResolveTicket(ticket=resolved, resolution="ok", by="carla"))
    ledger.handle(WaitOnCustomer(ticket=waiting, reason="need the log", by="carla"))
    clock.set(at("2026-10-07 15:00"))
    # A low ticket raised to critical has spent more than both its new targets.
    late = open_ticket(ledger, contract, Priority.LOW)
    clock.set(at("2026-10-08 15:00"))
    ledger.handle(
        Reclassify(ticket=late, priority=Priority.CRITICAL, reason="factory stopped", by="lead")
    )

    instant = at("2026-10-08 15:00")
    assert [e[1:] for e in projected(projector, until=instant)] == [
        (rule.value, instant) for rule in list(Rule)[:4]
    ]
    week = at("2026-10-12 12:00")  # the notice comes with the closure: no notice period
    assert [e for e in projected(projector) if e[2] == week] == [
        (waiting, Rule.SILENCE_NOTICE.value, week),
        (waiting, Rule.SILENCE_CLOSURE.value, week),
        (resolved, Rule.ACCEPTANCE_DEEMED.value, week),
    ]
    clock.set(week)
    ledger.apply_due_rules(waiting)
    assert [type(e) for e in by_rules(ledger, waiting)] == [
        Ticket.RequesterNoticeSent,
        Ticket.Closed,
    ]


def test_an_overdue_deadline_stays_listed_until_a_tick_applies_it(
    ledger: TicketLedger, clock: ManualClock, projector: Projector
) -> None:
    t = desk_of_two_customers(ledger, clock)
    clock.set(at("2026-10-05 17:00"))
    overdue = projected(projector, until=clock())
    assert overdue == [
        (t["diego_critical"], Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 13:36")),
        (t["diego_critical"], Rule.FIRST_RESPONSE_BREACHED.value, at("2026-10-05 14:00") + US),
        (t["carla_high"], Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 16:42")),
        (t["diego_moveis"], Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 16:42")),
    ]
    assert projected(projector, agent="diego")[:3] == [overdue[0], overdue[1], overdue[3]]

    report = Ticker(ledger, projector).tick()
    assert report.examined == 3 and not report.refused
    assert {r.number for r in report.applied} == {
        t["carla_high"],
        t["diego_critical"],
        t["diego_moveis"],
    }
    after = projected(projector)
    assert not set(overdue) & set(after)
    assert after == expected(ledger, list(t.values()))
    assert after[0] == (
        t["carla_high"],
        Rule.FIRST_RESPONSE_BREACHED.value,
        at("2026-10-05 17:30") + US,
    )
    assert projected(projector, until=clock()) == []
    assert Ticker(ledger, projector).tick().applied == []


def test_a_tick_goes_on_past_a_ticket_whose_rules_fail_unexpectedly(
    ledger: TicketLedger,
    clock: ManualClock,
    projector: Projector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = desk_of_two_customers(ledger, clock)
    clock.set(at("2026-10-05 17:00"))
    broken = ledger.ticket(t["diego_critical"]).id
    rules = ledger.apply_due_rules

    def apply_due_rules(ref: Any, **options: Any) -> Any:
        if ref == broken:
            raise RuntimeError("a defect met by this ticket alone")
        return rules(ref, **options)

    monkeypatch.setattr(ledger, "apply_due_rules", apply_due_rules)
    report = Ticker(ledger, projector).tick()
    assert report.refused == {str(broken): "RuntimeError: a defect met by this ticket alone"}
    assert {r.number for r in report.applied} == {t["carla_high"], t["diego_moveis"]}


# ----------------------------------------------------------------------- the command line


def invoke(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def seconds(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S%z")


def test_tick_on_the_command_line_applies_what_is_due_once_and_refuses_the_future(
    database_url: str, make_ledger: LedgerFactory
) -> None:
    # The command line's ledger reads the system clock: the history lies in the recent past.
    now = datetime.now(UTC).replace(microsecond=0)
    base = now - timedelta(days=10)
    clock = ManualClock(base)
    ledger = make_ledger(clock=clock)
    contract = sign(ledger)
    resolved = open_ticket(ledger, contract)
    clock.advance(timedelta(minutes=5))
    ledger.handle(ReplyAsAgent(ticket=resolved, message="Restarting", by="carla"))
    clock.advance(timedelta(minutes=5))
    ledger.handle(
        ResolveTicket(ticket=resolved, resolution="restarted", by="carla")
    )  # base + 10 min
    clock.advance(timedelta(minutes=10))
    silent = open_ticket(ledger, contract)
    ledger.handle(ReplyAsAgent(ticket=silent, message="Send the log", by="carla"))
    clock.advance(timedelta(minutes=10))
    ledger.handle(WaitOnCustomer(ticket=silent, reason="need the log", by="carla"))  # base + 30 min
    db = ("--database-url", database_url)

    first = base + timedelta(days=6)  # the notice is due, no closure yet
    shown = json.loads(invoke("tick", "--now", seconds(first), "--json", *db))
    assert datetime.fromisoformat(shown["now"]) == first
    assert shown["tickets_examined"] == 1 and shown["refused"] == {}
    assert [c["number"] for c in shown["tickets_changed"]] == [silent]
    notice = history(ledger, silent)[-1]
    assert isinstance(notice, Ticket.RequesterNoticeSent)
    assert notice.occurred_at == base + timedelta(days=5, minutes=30)

    second = now - timedelta(days=2)
    text = invoke("tick", "--now", seconds(second), *db)
    assert f"tick at {second.isoformat()}: 2 tickets with rules due, 2 changed" in text
    for number in (resolved, silent):
        assert f"{number} now at version {ledger.ticket(number).version}" in text
    closures = {n: history(ledger, n)[-1] for n in (resolved, silent)}
    assert {n: (e.reason, e.occurred_at, e.by) for n, e in closures.items()} == {
        resolved: (
            ClosureReason.ACCEPTANCE_DEEMED,
            base + timedelta(days=7, minutes=10),
            RULES_ACTOR,
        ),
        silent: (
            ClosureReason.CUSTOMER_UNRESPONSIVE,
            base + timedelta(days=7, minutes=30),
            RULES_ACTOR,
        ),
    }

    head = ledger.recorder.max_notification_id()
    again = json.loads(invoke("tick", "--now", seconds(second), "--json", *db))
    assert (again["tickets_examined"], again["tickets_changed"]) == (0, [])
    assert ledger.recorder.max_notification_id() == head

    future = runner.invoke(cli, ["tick", "--now", seconds(now + timedelta(hours=1)), *db])
    assert future.exit_code == 1
    assert "--now lies in the future" in future.output
    naive = runner.invoke(cli, ["tick", "--now", second.strftime("%Y-%m-%dT%H:%M:%S"), *db])
    assert naive.exit_code == 1 and "UTC offset" in naive.output
    assert ledger.recorder.max_notification_id() == head


def test_deadlines_on_the_command_line_lists_one_agents_or_one_customers_deadlines(
    database_url: str, make_ledger: LedgerFactory
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now - timedelta(days=6))
    ledger = make_ledger(clock=clock)
    serra, moveis = sign(ledger), sign(ledger, customer=MOVEIS)
    overdue = open_ticket(ledger, serra)
    ledger.handle(ReplyAsAgent(ticket=overdue, message="Send the log", by="carla"))
    # The notice was due a day ago, the closure a day from now.
    ledger.handle(WaitOnCustomer(ticket=overdue, reason="need the log", by="carla"))
    clock.set(now - timedelta(hours=1))
    carla = open_ticket(ledger, serra, Priority.LOW)
    ledger.handle(Assign(ticket=carla, assignee="carla", by="lead"))
    diego = open_ticket(ledger, moveis, Priority.LOW, requester=MOVEIS_REQUESTER)
    ledger.handle(Assign(ticket=diego, assignee="diego", by="lead"))
    db = ("--database-url", database_url)

    def shown(*query: str) -> Listed:
        return listed(json.loads(invoke("deadlines", *query, "--json", *db)))

    assert shown() == expected(ledger, [overdue, carla, diego])
    assert shown("--agent", "carla") == expected(ledger, [carla])
    assert shown("--agent", "diego") == expected(ledger, [diego])
    assert shown("--customer", MOVEIS) == expected(ledger, [diego])
    assert shown("--customer", SERRA) == expected(ledger, [overdue, carla])
    assert shown("--agent", "nobody") == []
    notice_at = now - timedelta(days=1)
    assert shown("--until", seconds(notice_at)) == [(overdue, Rule.SILENCE_NOTICE.value, notice_at)]
    assert len(shown("--limit", "2")) == 2

    table = invoke("deadlines", "--customer", SERRA, *db).splitlines()
    overdue_line = next(line for line in table if Rule.SILENCE_NOTICE.value in line)
    assert overdue in overdue_line and "overdue" in overdue_line
    later = [line for line in table[1:] if carla in line]
    assert later and all("overdue" not in line and "carla" in line for line in later)
    assert invoke("deadlines", "--agent", "nobody", *db).strip() == "no deadlines"


# ----------------------------------------------------------------------- the HTTP API


def test_get_deadlines_answers_supervisors_with_one_agents_or_customers_deadlines(
    api: Api,
) -> None:
    api.sign_contracts()
    high = api.open()["number"]
    critical = api.open(priority="critical", kind="critical_incident")["number"]
    other = api.open("other_requester", OTHER)["number"]
    positions = [
        api.ok(api.post("agent", f"/tickets/{number}/assignment", {"assignee": agent}))["position"]
        for number, agent in ((high, "diego"), (critical, "carla"), (other, "diego"))
    ]
    after = max(positions)

    def shown(who: str, **params: Any) -> Listed:
        return listed(api.ok(api.get(who, "/deadlines", after=after, **params)))

    everything = expected(api.ledger, [high, critical, other])
    diego = [e for e in everything if e[0] in (high, other)]
    for who in ("admin", "agent", "auditor"):
        assert shown(who) == everything
        assert shown(who, agent="diego") == diego
        assert shown(who, customer=OTHER) == [e for e in everything if e[0] == other]
    # Andino's (Buenos Aires, 08:00-19:00) high ticket: 3 h 12 min and 4 h from 09:00.
    until = "2026-10-05T17:00:00+00:00"
    assert shown("agent", agent="diego", until=until) == [
        (other, Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 15:12")),
        (other, Rule.FIRST_RESPONSE_BREACHED.value, at("2026-10-05 16:00") + US),
        (high, Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 16:42")),
    ]
    assert shown("admin", customer=OWN, agent="carla", limit=1) == [
        (critical, Rule.FIRST_RESPONSE_AT_RISK.value, at("2026-10-05 13:36"))
    ]
    entry = api.ok(api.get("auditor", "/deadlines", after=after, customer=OTHER))[0]
    assert entry == {
        "number": other,
        "ticket_id": str(api.ledger.ticket(other).id),
        "customer": OTHER,
        "assignee": "diego",
        "rule": "first_response_at_risk",
        "due_at": entry["due_at"],
    }
    for who in ("requester", "billing"):
        refused = api.get(who, "/deadlines")
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden_for_role"


def ticking_app(ledger: TicketLedger, every: float) -> FastAPI:
    """tests.api_support.make_app with the background ticker on."""
    access = AccessStore(ledger)
    projector = Projector(ledger, all_projections())
    for who, (role, customer, requester) in KEYS.items():
        access.create_key(role, name=who, customer=customer, requester=requester)
    return create_app(Services(ledger, projector, access, tick_seconds=every))


def wait_until(found: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found():
            return True
        time.sleep(0.05)
    return found()


def test_the_apis_background_ticker_records_a_due_consequence_without_any_request(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    contract = sign(ledger)
    number = open_ticket(ledger, contract)
    ledger.handle(ReplyAsAgent(ticket=number, message="Restarting the PLC", by="carla"))
    ledger.handle(ResolveTicket(ticket=number, resolution="restarted", by="carla"))
    deadline = at("2026-10-12 12:00")

    def closed() -> bool:
        return isinstance(history(ledger, number)[-1], Ticket.Closed)

    with running(ticking_app(ledger, 0.2)):
        clock.set(deadline - timedelta(seconds=1))
        assert not wait_until(closed, timeout=1.0)  # several ticks, nothing due yet
        clock.set(deadline + timedelta(hours=3))
        assert wait_until(closed), "the ticker did not close the ticket within 10 s"
    closing = history(ledger, number)[-1]
    assert (closing.reason, closing.occurred_at, closing.by) == (
        ClosureReason.ACCEPTANCE_DEEMED,
        deadline,
        RULES_ACTOR,
    )
    assert closing.timestamp == deadline + timedelta(hours=3)


# ----------------------------------------------------------------------- escalation on a breach


def breaching_ticket(ledger: TicketLedger, **overrides: Any) -> str:
    number = open_ticket(ledger, sign(ledger, **overrides))  # high, Monday 09:00 local
    ledger.handle(Assign(ticket=number, assignee="carla", by="lead"))
    return number


ESCALATES = {"sla_alerts": {"escalate_on_breach": True}}


def test_a_breach_escalates_at_the_breach_instant_when_the_contract_says_so(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    number = breaching_ticket(ledger, **ESCALATES)
    first_breach = at("2026-10-05 17:30") + US  # 14:30 local: 4 h of business time
    clock.set(at("2026-10-05 18:00"))
    ledger.apply_due_rules(number, now=first_breach - US)
    assert ledger.ticket(number).state.level == 1
    ledger.apply_due_rules(number)
    warning, escalated = by_rules(ledger, number)[-2:]
    assert isinstance(warning, Ticket.SlaWarningSent)
    assert (warning.clock, warning.threshold, warning.recipient) == (
        SlaClockName.FIRST_RESPONSE,
        SlaThreshold.BREACHED,
        "carla",
    )
    assert isinstance(escalated, Ticket.Escalated)
    assert (escalated.from_level, escalated.to_level, escalated.by) == (1, 2, RULES_ACTOR)
    assert "first response SLA breached" in escalated.reason
    assert warning.occurred_at == escalated.occurred_at == first_breach

    # 16 h of business time end on Tuesday at 18:00 local: breached at Wednesday's opening.
    resolution_breach = at("2026-10-07 11:00") + US
    clock.set(at("2026-10-07 12:00"))
    ledger.apply_due_rules(number)
    warning, escalated = by_rules(ledger, number)[-2:]
    assert isinstance(warning, Ticket.SlaWarningSent) and isinstance(escalated, Ticket.Escalated)
    assert (warning.clock, warning.threshold) == (SlaClockName.RESOLUTION, SlaThreshold.BREACHED)
    assert (escalated.from_level, escalated.to_level) == (2, 3)
    assert "resolution SLA breached" in escalated.reason
    assert warning.occurred_at == escalated.occurred_at == resolution_breach
    assert ledger.ticket(number).state.level == 3

    # Raised to critical, both clocks are past their new targets: warned, not escalated.
    ledger.handle(
        Reclassify(ticket=number, priority=Priority.CRITICAL, reason="factory stopped", by="lead")
    )
    ledger.apply_due_rules(number)
    later = by_rules(ledger, number)[-4:]
    assert all(isinstance(e, Ticket.SlaWarningSent) for e in later)
    assert [(e.clock, e.threshold, e.target) for e in later] == [
        (SlaClockName.FIRST_RESPONSE, SlaThreshold.AT_RISK, timedelta(hours=2)),
        (SlaClockName.FIRST_RESPONSE, SlaThreshold.BREACHED, timedelta(hours=2)),
        (SlaClockName.RESOLUTION, SlaThreshold.AT_RISK, timedelta(hours=8)),
        (SlaClockName.RESOLUTION, SlaThreshold.BREACHED, timedelta(hours=8)),
    ]
    escalations = [e for e in history(ledger, number) if isinstance(e, Ticket.Escalated)]
    assert len(escalations) == 2 and ledger.ticket(number).state.level == 3


def test_without_escalation_on_breach_in_the_contract_a_breach_only_warns(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    number = breaching_ticket(ledger)
    clock.set(at("2026-10-07 12:00"))
    ledger.apply_due_rules(number)
    events = by_rules(ledger, number)
    assert [(e.clock, e.threshold) for e in events] == [
        (SlaClockName.FIRST_RESPONSE, SlaThreshold.AT_RISK),
        (SlaClockName.FIRST_RESPONSE, SlaThreshold.BREACHED),
        (SlaClockName.RESOLUTION, SlaThreshold.AT_RISK),
        (SlaClockName.RESOLUTION, SlaThreshold.BREACHED),
    ]
    assert not any(isinstance(e, Ticket.Escalated) for e in history(ledger, number))
    assert ledger.ticket(number).state.level == 1


# ----------------------------------------------------------------------- the chronology


def test_the_chronology_shows_the_rules_warnings_and_notice_as_readable_steps(
    ledger: TicketLedger, clock: ManualClock, database_url: str
) -> None:
    number = open_ticket(ledger, sign(ledger))  # high, unassigned
    clock.set(at("2026-10-05 17:00"))
    ledger.handle(
        Assign(ticket=number, assignee="carla", by="lead")
    )  # the at-risk warning (16:42) goes first
    clock.set(at("2026-10-06 13:00"))
    ledger.handle(
        ReplyAsAgent(ticket=number, message="Send the log", by="carla")
    )  # after the breach
    ledger.handle(WaitOnCustomer(ticket=number, reason="need the log", by="carla"))
    clock.set(at("2026-10-11 13:00"))  # Sunday: five days on
    ledger.apply_due_rules(number)

    steps = [s for s in ticket_chronology(ledger, number).steps if s.by == RULES_ACTOR]
    closes_at = "2026-10-13T13:00:00+00:00"
    assert [(s.event, s.occurred_at, s.summary) for s in steps] == [
        (
            "Ticket.SlaWarningSent",
            at("2026-10-05 16:42"),
            f'{RULES_ACTOR} warned the unassigned queue: "first response SLA at risk: '
            f'80 % of its 4 h target spent (business time)"',
        ),
        (
            "Ticket.SlaWarningSent",
            at("2026-10-05 17:30") + US,
            f'{RULES_ACTOR} warned carla: "first response SLA breached: '
            f'more than its 4 h target spent (business time)"',
        ),
        (
            "Ticket.RequesterNoticeSent",
            at("2026-10-11 13:00"),
            f"{RULES_ACTOR} told {REQUESTER} ({Notice.CLOSURE_PENDING.value}): "
            f'"no answer while the desk waits on the customer; the ticket closes at '
            f'{closes_at} unless the requester answers"',
        ),
    ]

    replayed = json.loads(
        invoke("replay", number, "--format", "json", "--database-url", database_url)
    )
    assert [s["summary"] for s in replayed["steps"] if s["by"] == RULES_ACTOR] == [
        s.summary for s in steps
    ]
    table = invoke("replay", number, "--database-url", database_url)
    assert all(s.summary in table for s in steps)
