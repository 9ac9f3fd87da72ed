"""A ticket's chronology: what each event changed, the SLA clocks and the hours
after it, from the ledger and from the pure function alike, on SQLite and
PostgreSQL. The figures are worked out by hand from the seed 003 calendar:
08:00-12:00 and 13:30-18:00 in Caxias do Sul (UTC-3), Monday 5 October 2026."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from tests.api_support import Api
from tests.conftest import LedgerFactory
from tests.support import SEED_004_SLA, ManualClock, at, focco_terms, rows_read
from ticketledger.api.cli.main import app
from ticketledger.domain.billing import Buckets
from ticketledger.domain.errors import TicketNotFoundError
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.projections import hours as hours_projection
from ticketledger.projections import sla as sla_projection
from ticketledger.projections.runner import Projector
from ticketledger.replay import bundle
from ticketledger.replay import chronology as chronology_module
from ticketledger.replay.chronology import (
    Change,
    Chronology,
    chronology,
    logged_contract,
    shown,
    ticket_chronology,
)
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseRequester,
    ChangePlan,
    Comment,
    CorrectWork,
    LogWork,
    OpenTicket,
    RateTicket,
    Reclassify,
    ReplyAsAgent,
    ReplyAsRequester,
    ResolveTicket,
    SignContract,
    WaitOnCustomer,
)
from ticketledger.service.ledger import TicketLedger

runner = CliRunner()


@dataclass
class History:
    number: str
    ticket_id: UUID
    contract_id: UUID
    positions: list[int]  # the log position each command answered, version by version


def desk_history(ledger: TicketLedger, clock: ManualClock) -> History:
    """A high-priority incident raised to critical, answered, parked on the
    customer for two hours, worked twice, resolved and accepted (UTC times;
    local is three hours earlier)."""
    contract = ledger.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="@serra.com.br", by="admin"))
    clock.set(at("2026-10-05 12:00"))
    opened = ledger.handle(
        OpenTicket(
            contract_id=contract,
            requester="ana@serra.com.br",
            channel=Channel.PHONE,
            kind=Kind.INCIDENT,
            priority=Priority.HIGH,
            subject="Line 2 PLC does not start",
        )
    )
    number = opened.number
    assert number is not None
    steps = [
        ("12:30", lambda: ledger.handle(Assign(ticket=number, assignee="carla", by="lead"))),
        (
            "13:00",
            lambda: ledger.handle(
                Reclassify(
                    ticket=number, priority=Priority.CRITICAL, reason="factory stopped", by="lead"
                )
            ),
        ),
        ("13:10", lambda: ledger.handle(ReplyAsAgent(ticket=number, message="On it", by="carla"))),
        (
            "13:20",
            lambda: ledger.handle(WaitOnCustomer(ticket=number, reason="need the log", by="carla")),
        ),
        (
            "15:20",
            lambda: ledger.handle(
                ReplyAsRequester(ticket=number, message="log sent", by="ana@serra.com.br")
            ),
        ),
        ("15:50", lambda: work(ledger, number, "12:30", 80)),
        ("15:50", lambda: ledger.handle(Comment(ticket=number, text="DBA away", by="carla"))),
        ("17:20", lambda: work(ledger, number, "16:40", 30)),
        (
            "17:30",
            lambda: ledger.handle(ResolveTicket(ticket=number, resolution="restarted", by="carla")),
        ),
        ("18:00", lambda: ledger.handle(AcceptResolution(ticket=number, by="ana@serra.com.br"))),
    ]
    positions = [opened.position]
    for when, command in steps:
        clock.set(at(f"2026-10-05 {when}"))
        positions.append(command().position)
    return History(number, opened.aggregate_id, contract, positions)


def work(ledger: TicketLedger, number: str, start: str, minutes: int) -> Any:
    return ledger.handle(
        LogWork(
            ticket=number,
            agent="carla",
            started_at=at(f"2026-10-05 {start}"),
            duration=timedelta(minutes=minutes),
        )
    )


def step(found: Chronology, version: int) -> Any:
    return found.steps[version - 1]


def test_a_reclassification_and_an_assignment_show_each_changed_field_before_and_after(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    found = ticket_chronology(ledger, desk_history(ledger, clock).number)
    assigned, reclassified = step(found, 2), step(found, 3)
    assert (assigned.event, assigned.by) == ("Ticket.Assigned", "lead")
    assert assigned.changes == (Change("status", "new", "open"), Change("assignee", None, "carla"))
    assert assigned.summary == "lead assigned it to carla"
    assert reclassified.changes == (Change("priority", "high", "critical"),)
    assert "priority high -> critical" in reclassified.summary
    assert "factory stopped" in reclassified.summary
    # The new target applies at once: 1 h spent of critical's 2 h, not of high's 4 h.
    first = reclassified.sla.first_response
    assert (first.target, first.elapsed, first.due_at) == (
        timedelta(hours=2),
        timedelta(hours=1),
        at("2026-10-05 14:00"),
    )


def test_the_resolution_clock_pauses_while_waiting_on_the_customer_and_runs_on_after(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    found = ticket_chronology(ledger, desk_history(ledger, clock).number)
    answered, waiting, resumed = step(found, 4), step(found, 5), step(found, 6)
    # 09:00-10:10 local: the first response came after 1:10 of its 2 h.
    assert answered.sla.first_response.state == "stopped"
    assert answered.sla.first_response.status == "met"
    # 6:50 left at 10:10: 1:50 to noon, 4:30 in the afternoon, 0:30 on Tuesday.
    assert answered.sla.resolution.due_at == at("2026-10-06 11:30")
    paused = waiting.sla.resolution
    assert (paused.state, paused.status, paused.due_at) == ("paused", "paused", None)
    assert (paused.elapsed, paused.remaining) == (timedelta(minutes=80), timedelta(minutes=400))
    # The answer came at 12:20 local: 10:20-12:00 was paused business time, and
    # the due instant moves by exactly that 1:40.
    running = resumed.sla.resolution
    assert (running.state, running.status) == ("running", "on_track")
    assert (running.elapsed, running.paused) == (timedelta(minutes=80), timedelta(minutes=100))
    assert running.due_at == at("2026-10-06 13:10")
    assert resumed.changes[0] == Change("status", "waiting_on_customer", "open")
    resolved = step(found, 10).sla.resolution
    assert (resolved.state, resolved.status) == ("stopped", "met")
    assert resolved.elapsed == timedelta(minutes=140)  # and 13:30-14:30 local after lunch


def test_hours_stay_pending_as_work_is_logged_and_post_at_acceptance(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    found = ticket_chronology(ledger, desk_history(ledger, clock).number)
    pending = [s.hours.pending for s in found.steps]
    minutes = [p // timedelta(minutes=1) for p in pending]
    assert minutes == [0, 0, 0, 0, 0, 0, 80, 80, 110, 110, 0]
    assert [s.hours.posted // timedelta(minutes=1) for s in found.steps][-1] == 110
    accepted = step(found, 11)
    # Rounded up to seed 003's 15 minutes each: 1:30 + 0:30, all in business hours.
    assert accepted.hours.posted_buckets.consumed == timedelta(hours=2)
    assert accepted.hours.to_json()["posted_seconds"] == "6600"
    assert Change("closure_reason", None, "accepted") in accepted.changes
    assert step(found, 7).changes == (
        Change("work_entries", 0, 1),
        Change("work_seconds", "0", "4800"),
    )


def test_the_json_and_csv_forms_parse_and_agree_step_by_step(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    found = ticket_chronology(ledger, desk_history(ledger, clock).number)
    document = found.to_json()
    assert json.loads(json.dumps(document)) == document  # plain JSON types only
    rows = list(csv.DictReader(io.StringIO(found.to_csv())))
    assert len(rows) == len(document["steps"]) == 11
    for row, entry in zip(rows, document["steps"], strict=True):
        for name in ("version", "position", "recorded_at", "occurred_at", "by", "event"):
            assert row[name] == str(entry[name])
        assert row["summary"] == entry["summary"]
        changes = [
            f"{c['field']}: {shown(c['before'])} -> {shown(c['after'])}" for c in entry["changes"]
        ]
        assert row["changes"] == "; ".join(changes)
        for prefix, clock_name in (("fr", "first_response"), ("res", "resolution")):
            for name, value in entry["sla"][clock_name].items():
                assert row[f"{prefix}_{name}"] == (value or "")
        assert row["pending_seconds"] == entry["hours"]["pending_seconds"]
        assert row["posted_seconds"] == entry["hours"]["posted_seconds"]


def test_the_pure_function_on_events_read_back_equals_the_ledgers_chronology(
    ledger: TicketLedger, clock: ManualClock, make_ledger: LedgerFactory
) -> None:
    history = desk_history(ledger, clock)
    reader = make_ledger()
    events = list(reader.events_of(history.ticket_id))
    contract = reader.contract(history.contract_id)
    positions = reader.log_positions(history.ticket_id)
    assert [positions[v] for v in range(1, 12)] == history.positions
    recomputed = chronology(events, contract, positions=positions)
    assert recomputed == ticket_chronology(ledger, history.number)
    assert [s.position for s in recomputed.steps] == history.positions
    assert recomputed.to_json() == ticket_chronology(ledger, history.number).to_json()


def test_a_requester_reads_the_chronology_without_internal_comments_or_their_count(
    ledger: TicketLedger, clock: ManualClock
) -> None:
    found = ticket_chronology(ledger, desk_history(ledger, clock).number)
    seen = found.as_seen_by_requester()
    assert [s.version for s in found.steps if s.event == "Ticket.Commented"] == [8]
    assert [s.version for s in seen.steps] == [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]
    assert "DBA away" not in json.dumps(seen.to_json()) + seen.to_csv() + seen.render_table()
    assert all(c.field != "comments" for s in seen.steps for c in s.changes)


def test_replay_prints_the_chronology_as_a_table_json_or_csv(
    ledger: TicketLedger, clock: ManualClock, database_url: str
) -> None:
    number = desk_history(ledger, clock).number
    expected = ticket_chronology(ledger, number)
    db = ("--database-url", database_url)
    as_json = runner.invoke(app, ["replay", number, "--format", "json", *db])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == expected.to_json()
    as_csv = runner.invoke(app, ["replay", number, "--format", "csv", *db])
    assert as_csv.stdout == expected.to_csv()
    table = runner.invoke(app, ["replay", number, *db])
    assert table.exit_code == 0
    assert "priority: high -> critical" in table.stdout
    assert "paused 1:20/8:00 paused" in table.stdout


def test_replay_of_an_unknown_ticket_or_format_fails_with_a_clear_message(
    ledger: TicketLedger, database_url: str
) -> None:
    db = ("--database-url", database_url)
    unknown = runner.invoke(app, ["replay", "2026-000404", *db])
    assert (unknown.exit_code, unknown.stderr.strip()) == (1, "error: no ticket 2026-000404")
    bad = runner.invoke(app, ["replay", "2026-000404", "--format", "xml", *db])
    assert (bad.exit_code, bad.stderr.strip()) == (1, "error: --format is table, json or csv")


def test_the_chronology_route_serves_json_and_csv_and_hides_internal_notes_from_requesters(
    api: Api,
) -> None:
    api.sign_contracts()
    number = api.open()["number"]
    api.clock.advance(timedelta(minutes=30))
    raised = {"priority": "critical", "reason": "factory stopped"}
    api.ok(api.post("agent", f"/tickets/{number}/reclassification", raised))
    note = {"text": "DBA is on holiday", "visibility": "internal"}
    api.ok(api.post("agent", f"/tickets/{number}/comments", note))
    public = {"text": "We call you at 14:00", "visibility": "public"}
    api.ok(api.post("agent", f"/tickets/{number}/comments", public))
    path = f"/tickets/{number}/chronology"
    full = api.ok(api.get("auditor", path))
    assert full == ticket_chronology(api.ledger, number).to_json()
    assert [s["version"] for s in full["steps"]] == [1, 2, 3, 4]
    assert full["steps"][1]["changes"] == [
        {"field": "priority", "before": "high", "after": "critical"}
    ]
    assert full["steps"][1]["sla"]["first_response"]["target_seconds"] == "7200"
    seen = api.get("requester", path)
    assert seen.status_code == 200 and "DBA" not in seen.text
    # The requester's history is numbered without the note: no gap betrays it.
    assert [s["version"] for s in seen.json()["steps"]] == [1, 2, 3]
    assert [s["position"] for s in seen.json()["steps"]] == [
        full["steps"][i]["position"] for i in (0, 1, 3)
    ]
    assert "We call you at 14:00" in seen.json()["steps"][-1]["summary"]
    assert all(c["field"] != "comments" for s in seen.json()["steps"] for c in s["changes"])
    as_csv = api.get("requester", path, format="csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert [r["version"] for r in csv.DictReader(io.StringIO(as_csv.text))] == ["1", "2", "3"]
    assert "DBA" not in as_csv.text
    assert api.get("other_requester", path).status_code == 404
    assert api.get("billing", path).status_code == 403
    typo = api.get("auditor", path, fromat="csv")
    assert (typo.status_code, typo.json()["code"]) == (422, "unknown_parameter")


def from_scratch(reader: TicketLedger, history: History) -> Chronology:
    """The chronology the pure function folds from every stored event, by nobody's cache."""
    return chronology(
        list(reader.events_of(history.ticket_id)),
        logged_contract(reader, history.contract_id),
        positions=reader.log_positions(history.ticket_id),
    )


def test_a_chronology_read_again_continues_with_only_the_events_another_ledger_stored_since(
    ledger: TicketLedger,
    clock: ManualClock,
    make_ledger: LedgerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = desk_history(ledger, clock)
    ticket_chronology(ledger, history.number)
    theirs = make_ledger()
    theirs.handle(RateTicket(ticket=history.number, score=5, by="ana@serra.com.br"))
    read = rows_read(ledger, monkeypatch, history.ticket_id)
    continued = ticket_chronology(ledger, history.number)
    assert read["events"] == 1 and len(continued.steps) == 12
    assert continued.to_json() == from_scratch(make_ledger(), history).to_json()
    assert ticket_chronology(ledger, history.number) == continued and read["events"] == 1


def change_plan(ledger: TicketLedger, contract_id: UUID, **terms: Any) -> None:
    """A plan change effective from the day the desk history's ticket opened
    (a plan change cannot take effect before the day it is recorded)."""
    ledger.handle(
        ChangePlan(
            contract_id=contract_id,
            terms=focco_terms(**terms),
            effective_on=date(2026, 10, 5),
            reason="new plan",
            by="admin",
        )
    )


# Effective from 1 October, recorded after the ticket opened: quicker targets
# and work rounded up to the hour, where the ticket's day had 15 minutes.
QUICKER = {
    **SEED_004_SLA,
    Priority.CRITICAL.value: {"first_response": "PT1H", "resolution": "PT2H"},
}
HOURLY = {"sla": QUICKER, "rounding_minutes": 60}


def test_a_plan_change_recorded_after_the_opening_moves_no_step_as_billing_and_the_sla_keep_theirs(
    ledger: TicketLedger, clock: ManualClock, make_ledger: LedgerFactory, projector: Projector
) -> None:
    history = desk_history(ledger, clock)
    before = ticket_chronology(ledger, history.number)
    change_plan(ledger, history.contract_id, **HOURLY)
    kept = ticket_chronology(ledger, history.number)
    fresh = make_ledger()
    assert kept.to_json() == before.to_json() == from_scratch(fresh, history).to_json()
    assert ticket_chronology(fresh, history.number).to_json() == before.to_json()
    last = step(kept, 11)
    # Critical's 8 h of seed 004, met after 2:20; the new plan's 2 h would be breached.
    resolution = last.sla.resolution
    assert (resolution.target, resolution.status) == (timedelta(hours=8), "met")
    # 80 and 30 minutes, each rounded up to 15 minutes as on the day they were posted.
    assert last.hours.posted_buckets.consumed == timedelta(minutes=120)
    assert_the_projections_agree(projector, history, last)


def test_work_corrected_after_a_plan_change_is_priced_as_billing_prices_the_adjustment(
    ledger: TicketLedger, clock: ManualClock, make_ledger: LedgerFactory, projector: Projector
) -> None:
    history = desk_history(ledger, clock)
    ticket_chronology(ledger, history.number)
    change_plan(ledger, history.contract_id, **HOURLY)
    work = ledger.ticket(history.number).state.work.values()
    longest = max(work, key=lambda w: w.duration)
    clock.set(at("2026-10-06 12:00"))
    ledger.handle(
        CorrectWork(
            ticket=history.number,
            entry_id=longest.entry_id,
            duration=timedelta(minutes=70),
            reason="timesheet",
            by="billing",
        )
    )
    kept = ticket_chronology(ledger, history.number)
    assert kept.to_json() == from_scratch(make_ledger(), history).to_json()
    # Under the hourly rounding in force at the correction, 80 and 70 minutes
    # both round up to 2:00: the adjustment is zero, and the work stands as it
    # was priced when posted (1:30 + 0:30), not as the new plan would price it
    # all now (2:00 + 1:00).
    last = step(kept, 12)
    assert last.hours.posted == timedelta(minutes=100)
    assert last.hours.posted_buckets.consumed == timedelta(minutes=120)
    assert_the_projections_agree(projector, history, last)
    # An auditor's bundle replays the contract's events in it in the same order.
    document = bundle.export_ticket(ledger, history.number, "auditor")
    assert bundle.verify_bundle(document).ok
    assert json.loads(document)["chronologies"] == [kept.to_json()]


def assert_the_projections_agree(projector: Projector, history: History, last: Any) -> None:
    """The hours billing posted for the ticket, adjustments included, and its
    SLA clocks as the SLA projection keeps them, are the chronology's last step."""
    projector.catch_up(["sla", "hours"])
    with projector.reading("hours") as rows:
        posted = [
            e.buckets
            for e in hours_projection.ledger_entries(rows, history.contract_id, "2026-10")
            if e.ticket_id == str(history.ticket_id)
        ]
    assert sum(posted, Buckets()) == last.hours.posted_buckets
    with projector.reading("sla") as rows:
        view = sla_projection.ticket_sla(rows, history.number, last.occurred_at)
    for name in ("first_response", "resolution"):
        figures, kept = getattr(last.sla, name), view[name]
        assert figures.target.total_seconds() == kept["target_seconds"]
        assert figures.elapsed.total_seconds() == kept["elapsed_seconds"]
        assert (figures.state, figures.status) == (kept["state"], kept["status"])


def test_a_chronology_of_no_ticket_is_refused_however_often_it_is_asked(
    ledger: TicketLedger,
) -> None:
    for _ in range(2):
        with pytest.raises(TicketNotFoundError):
            ticket_chronology(ledger, "2026-000999")


def test_a_chronology_longer_than_a_ledger_keeps_is_folded_whole_each_time(
    ledger: TicketLedger,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chronology_module, "STEPS_KEPT", 5)
    history = desk_history(ledger, clock)
    first = ticket_chronology(ledger, history.number)
    read = rows_read(ledger, monkeypatch, history.ticket_id)
    assert ticket_chronology(ledger, history.number) == first and read["events"] == 11
