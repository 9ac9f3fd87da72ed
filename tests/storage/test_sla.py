"""SLA clocks and the monthly compliance report, hand-computed from the seeds,
on SQLite and PostgreSQL. Local times are written in comments; America/Sao_Paulo
and Argentina are UTC-3 all of 2026 (no DST), so local + 3 h = UTC."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from tests.support import ManualClock, at, focco_terms, neotel_extended_terms
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    Priority,
)
from ticketledger.projections.queues import work_queue
from ticketledger.projections.runner import Projector
from ticketledger.projections.sla import contract_month_report, nearest_rank, ticket_sla
from ticketledger.service.commands import (
    AuthoriseRequester,
    CancelTicket,
    CloseTicket,
    OpenTicket,
    Reclassify,
    RejectResolution,
    ReplyAsAgent,
    ResolveTicket,
    Resume,
    SignContract,
    WaitOnCustomer,
    WaitOnThirdParty,
)
from ticketledger.service.ledger import TicketLedger

AGENT = "agent@desk"


def local(text: str) -> datetime:
    """A local wall-clock time in UTC-3 (both seed zones in 2026) as UTC."""
    return at(text) + timedelta(hours=3)


def tek_terms(**overrides: Any) -> dict[str, Any]:
    """Seed 001: Mon-Fri 08:00-10:45 and 13:00-17:30, holidays of Brazil (MG)."""
    return focco_terms(
        customer="Tek Cliente",
        business_hours={
            "windows": {d: [("08:00", "10:45"), ("13:00", "17:30")] for d in range(5)},
            "holidays_country": "BR",
            "holidays_subdivision": "MG",
        },
        **overrides,
    )


def sign(ledger: TicketLedger, terms: dict[str, Any], domain: str) -> UUID:
    contract_id = ledger.handle(
        SignContract(terms=terms, by="admin", occurred_at=at("2026-01-01 03:00"))
    ).aggregate_id
    ledger.handle(
        AuthoriseRequester(
            contract_id=contract_id,
            requester=domain,
            by="admin",
            occurred_at=at("2026-01-01 03:00"),
        )
    )
    return contract_id


def open_at(
    ledger: TicketLedger,
    contract_id: UUID,
    when: datetime,
    priority: Priority,
    requester: str,
    kind: Kind = Kind.INCIDENT,
) -> str:
    result = ledger.handle(
        OpenTicket(
            contract_id=contract_id,
            requester=requester,
            channel=Channel.EMAIL,
            kind=kind,
            priority=priority,
            subject="Line stopped",
            occurred_at=when,
        )
    )
    assert result.number is not None
    return result.number


def sla_of(projector: Projector, number: str, now: datetime) -> dict[str, Any]:
    projector.catch_up()
    with projector.reading("sla") as rows:
        return ticket_sla(rows, number, now)


@pytest.fixture
def late_clock(clock: ManualClock) -> ManualClock:
    """The ledger records everything well after it happened (occurred_at given)."""
    clock.set(at("2026-11-25 12:00"))
    return clock


H = 3600.0


def test_a_critical_ticket_on_extended_coverage_is_due_across_the_weekend_in_coverage_hours(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, neotel_extended_terms(), "@andino.com.ar")
    # Saturday 2026-10-17 20:30 local: coverage Mon-Sat 05-21 gives 30 min on
    # Saturday, none on Sunday, so the 2 h first response is due Monday
    # 05:00 + 1:30 = 06:30; 80 % (96 min) is reached at 05:00 + 66 min = 06:06.
    # The 8 h resolution: 0:30 + 7:30 from Monday 05:00 = 12:30.
    opened = local("2026-10-17 20:30")
    critical = open_at(ledger, contract, opened, Priority.CRITICAL, "ops@andino.com.ar")
    # A high ticket opened at the same instant waits for business hours
    # (Mon-Fri 08-19): 4 h first response from Monday 08:00 is due 12:00, at
    # risk after 3:12 at 11:12.
    high = open_at(ledger, contract, opened, Priority.HIGH, "ops@andino.com.ar")

    now = local("2026-10-19 06:00")
    found = sla_of(projector, critical, now)
    assert found["first_response"]["calendar"] == "coverage"
    assert found["first_response"]["due_at"] == local("2026-10-19 06:30").isoformat()
    assert found["first_response"]["at_risk_at"] == local("2026-10-19 06:06").isoformat()
    assert found["resolution"]["due_at"] == local("2026-10-19 12:30").isoformat()
    # 30 min on Saturday + 60 min on Monday by 06:00: on track, under 96 min.
    assert found["first_response"]["elapsed_seconds"] == 1.5 * H
    assert found["first_response"]["status"] == "on_track"
    assert sla_of(projector, critical, local("2026-10-19 06:10"))["first_response"]["status"] == (
        "at_risk"
    )

    other = sla_of(projector, high, now)["first_response"]
    assert other["calendar"] == "business"
    assert other["due_at"] == local("2026-10-19 12:00").isoformat()
    assert other["at_risk_at"] == local("2026-10-19 11:12").isoformat()
    assert other["elapsed_seconds"] == 0.0


def test_a_medium_ticket_is_due_after_24_business_hours_of_two_windows_skipping_finados(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, tek_terms(), "@tek.com.br")
    # 7:15 business hours a day (2:45 + 4:30). Opened Friday 2026-10-30 16:00:
    # Friday 1:30; Monday 2026-11-02 is Finados (a national holiday in BR-MG);
    # Tuesday, Wednesday, Thursday 7:15 each: 1:30 + 21:45 = 23:15 by Thursday's
    # close, so the last 0:45 falls on Friday 2026-11-06: due 08:45.
    # At risk after 19:12: 1:30 + 7:15 + 7:15 = 16:00 by Wednesday, then
    # Thursday 2:45 (08:00-10:45) and 0:27 from 13:00: 13:27.
    number = open_at(ledger, contract, local("2026-10-30 16:00"), Priority.MEDIUM, "a@tek.com.br")
    found = sla_of(projector, number, local("2026-11-03 12:00"))["first_response"]
    assert found["target_seconds"] == 24 * H
    assert found["due_at"] == local("2026-11-06 08:45").isoformat()
    assert found["at_risk_at"] == local("2026-11-05 13:27").isoformat()
    # By Tuesday 12:00: Friday 1:30 + Tuesday 2:45 (the 10:45-13:00 gap counts nothing).
    assert found["elapsed_seconds"] == 4.25 * H


def test_waiting_on_the_customer_pauses_the_clock_and_moves_the_due_instant_by_the_paused_time(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    # Focco (seed 003): Mon-Fri 08:00-12:00 and 13:30-18:00 (8:30 a day).
    # High: 16 h resolution. Opened Tuesday 2026-10-06 09:00, due at open:
    # Tuesday 7:30 + Wednesday 8:30 = 16:00 at Wednesday 18:00.
    number = open_at(ledger, contract, local("2026-10-06 09:00"), Priority.HIGH, "a@serra.com.br")
    before = sla_of(projector, number, local("2026-10-06 09:30"))["resolution"]
    assert before["due_at"] == local("2026-10-07 18:00").isoformat()

    ledger.handle(
        ReplyAsAgent(
            ticket=number, message="looking", by=AGENT, occurred_at=local("2026-10-06 09:30")
        )
    )
    ledger.handle(
        WaitOnCustomer(
            ticket=number, reason="logs?", by=AGENT, occurred_at=local("2026-10-06 10:00")
        )
    )
    paused = sla_of(projector, number, local("2026-10-06 11:00"))["resolution"]
    assert (paused["status"], paused["due_at"], paused["elapsed_seconds"]) == ("paused", None, H)
    assert paused["paused_seconds"] == H

    ledger.handle(
        Resume(ticket=number, reason="logs sent", by=AGENT, occurred_at=local("2026-10-06 14:30"))
    )
    after = sla_of(projector, number, local("2026-10-06 14:30"))["resolution"]
    # Paused 10:00-12:00 and 13:30-14:30: 3 business hours; the lunch gap is not
    # business time. Remaining 15 h from Tuesday 14:30: 3:30 + 8:30 + 3:00, due
    # Thursday 11:00, exactly 3 business hours after the first due instant.
    assert after["paused_seconds"] == 3 * H
    assert after["elapsed_seconds"] == H
    assert after["due_at"] == local("2026-10-08 11:00").isoformat()
    assert after["status"] == "on_track"


def test_a_priority_change_keeps_elapsed_and_paused_time_and_may_breach_at_once(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    # Medium (24 h / 72 h), opened Tuesday 2026-10-06 08:00; waits 10:00-13:30
    # (paused 2 h: 10:00-12:00); reclassified high (4 h / 16 h) at 16:00 with
    # elapsed 2:00 + 2:30 = 4:30.
    number = open_at(ledger, contract, local("2026-10-06 08:00"), Priority.MEDIUM, "a@serra.com.br")
    ledger.handle(
        WaitOnCustomer(ticket=number, reason="?", by=AGENT, occurred_at=local("2026-10-06 10:00"))
    )
    ledger.handle(
        Resume(ticket=number, reason="ok", by=AGENT, occurred_at=local("2026-10-06 13:30"))
    )
    ledger.handle(
        Reclassify(
            ticket=number,
            priority=Priority.HIGH,
            reason="whole line down",
            by=AGENT,
            occurred_at=local("2026-10-06 16:00"),
        )
    )
    found = sla_of(projector, number, local("2026-10-06 16:30"))
    first, resolution = found["first_response"], found["resolution"]
    assert found["priority"] == "high"
    assert (first["target_seconds"], resolution["target_seconds"]) == (4 * H, 16 * H)
    # 4:30 already exceeds the new 4 h first response: breached as of the
    # reclassification, not earlier.
    assert first["due_at"] == local("2026-10-06 16:00").isoformat()
    assert first["status"] == "breached"
    assert (first["paused_seconds"], resolution["paused_seconds"]) == (2 * H, 2 * H)
    assert resolution["elapsed_seconds"] == 5 * H  # 4:30 + 0:30 since 16:00
    # 11:30 left of 16 h from Tuesday 16:00: 2:00 + Wednesday 8:30 + 1:00 on
    # Thursday: Thursday 09:00 (it was 72 h away as a medium ticket).
    assert resolution["due_at"] == local("2026-10-08 09:00").isoformat()


def test_a_first_response_at_the_target_is_met_one_minute_later_breached_and_at_80_percent_at_risk(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    # Critical on standard coverage runs on business hours: 2 h first response.
    opened = local("2026-10-06 09:00")
    on_time = open_at(ledger, contract, opened, Priority.CRITICAL, "a@serra.com.br")
    late = open_at(ledger, contract, opened, Priority.CRITICAL, "a@serra.com.br")
    # 80 % of 2 h is 96 min: 10:36.
    assert sla_of(projector, on_time, local("2026-10-06 10:35"))["first_response"]["status"] == (
        "on_track"
    )
    assert sla_of(projector, on_time, local("2026-10-06 10:36"))["first_response"]["status"] == (
        "at_risk"
    )
    ledger.handle(
        ReplyAsAgent(
            ticket=on_time, message="on it", by=AGENT, occurred_at=local("2026-10-06 11:00")
        )
    )
    ledger.handle(
        ReplyAsAgent(ticket=late, message="on it", by=AGENT, occurred_at=local("2026-10-06 11:01"))
    )
    later = local("2026-10-06 12:00")
    assert sla_of(projector, on_time, later)["first_response"]["status"] == "met"
    assert sla_of(projector, late, later)["first_response"]["status"] == "breached"
    assert sla_of(projector, late, later)["first_response"]["elapsed_seconds"] == 2 * H + 60
    assert sla_of(projector, late, later)["resolution"]["status"] == "on_track"


def test_a_reopened_ticket_runs_its_resolution_clock_on_from_where_it_stopped(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    number = open_at(ledger, contract, local("2026-10-06 09:00"), Priority.HIGH, "a@serra.com.br")
    ledger.handle(
        ResolveTicket(
            ticket=number, resolution="done", by=AGENT, occurred_at=local("2026-10-06 10:00")
        )
    )
    stopped = sla_of(projector, number, local("2026-10-06 11:00"))
    # Resolving with no reply before stops the first response clock too.
    assert stopped["first_response"]["status"] == stopped["resolution"]["status"] == "met"
    ledger.handle(
        RejectResolution(
            ticket=number,
            reason="still broken",
            by="a@serra.com.br",
            occurred_at=local("2026-10-06 15:00"),
        )
    )
    # 1 h before the stop + 0:30 since the rejection; the hours in between do not count.
    found = sla_of(projector, number, local("2026-10-06 15:30"))["resolution"]
    assert (found["elapsed_seconds"], found["status"]) == (1.5 * H, "on_track")


def test_a_critical_ticket_lowered_to_high_keeps_its_coverage_time_and_waits_for_business_hours(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, neotel_extended_terms(), "@andino.com.ar")
    # Critical on Saturday 2026-10-17 10:00 runs on coverage hours: 1 h by 11:00.
    number = open_at(
        ledger, contract, local("2026-10-17 10:00"), Priority.CRITICAL, "a@andino.com.ar"
    )
    ledger.handle(
        Reclassify(
            ticket=number,
            priority=Priority.HIGH,
            reason="a workaround",
            by=AGENT,
            occurred_at=local("2026-10-17 11:00"),
        )
    )
    # From 11:00 the ticket is high and on business hours (Mon-Fri 08-19): the
    # 1 h stays; nothing accrues on the weekend. First response 4 h: 3 h left
    # from Monday 08:00 -> 11:00. Resolution 16 h: 15 h left, 11 on Monday and
    # 4 on Tuesday -> Tuesday 12:00.
    found = sla_of(projector, number, local("2026-10-18 15:00"))
    first, resolution = found["first_response"], found["resolution"]
    assert (first["calendar"], first["elapsed_seconds"]) == ("business", H)
    assert first["due_at"] == local("2026-10-19 11:00").isoformat()
    assert resolution["due_at"] == local("2026-10-20 12:00").isoformat()


def test_a_ticket_reclassified_while_resolved_takes_the_new_target_when_reopened(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    # Medium, opened Tuesday 2026-10-06 09:00, resolved 10:00 (1 h of 72 h),
    # raised to high (16 h) while resolved, rejected at 14:00: 15 h left from
    # Tuesday 14:00 = 4:00 Tuesday + 8:30 Wednesday + 2:30 Thursday -> 10:30.
    r = "a@serra.com.br"
    number = open_at(ledger, contract, local("2026-10-06 09:00"), Priority.MEDIUM, r)
    ledger.handle(
        ResolveTicket(
            ticket=number, resolution="done", by=AGENT, occurred_at=local("2026-10-06 10:00")
        )
    )
    ledger.handle(
        Reclassify(
            ticket=number,
            priority=Priority.HIGH,
            reason="recurs",
            by=AGENT,
            occurred_at=local("2026-10-06 11:00"),
        )
    )
    resolved = sla_of(projector, number, local("2026-10-06 12:00"))["resolution"]
    assert (resolved["target_seconds"], resolved["status"]) == (72 * H, "met")
    ledger.handle(
        RejectResolution(ticket=number, reason="back", by=r, occurred_at=local("2026-10-06 14:00"))
    )
    found = sla_of(projector, number, local("2026-10-06 14:00"))["resolution"]
    assert (found["target_seconds"], found["elapsed_seconds"]) == (16 * H, H)
    assert found["due_at"] == local("2026-10-08 10:30").isoformat()


def test_a_ticket_closed_while_waiting_on_a_third_party_stops_its_clocks_with_the_wait_paused(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    # High, opened Tuesday 2026-10-06 09:00, answered 09:30, waits on the
    # supplier from 10:00 (1 h of resolution spent) and is closed for it on
    # Wednesday 10:00. Paused: Tuesday 10-12 and 13:30-18 (6:30) + Wednesday
    # 08-10 (2:00) = 8:30 of business time.
    number = open_at(ledger, contract, local("2026-10-06 09:00"), Priority.HIGH, "a@serra.com.br")
    ledger.handle(
        ReplyAsAgent(ticket=number, message="seen", by=AGENT, occurred_at=local("2026-10-06 09:30"))
    )
    ledger.handle(
        WaitOnThirdParty(
            ticket=number,
            third_party="PLC maker",
            reason="firmware",
            by=AGENT,
            occurred_at=local("2026-10-06 10:00"),
        )
    )
    ledger.handle(
        CloseTicket(
            ticket=number,
            reason=ClosureReason.THIRD_PARTY,
            by=AGENT,
            occurred_at=local("2026-10-07 10:00"),
        )
    )
    found = sla_of(projector, number, local("2026-10-09 12:00"))["resolution"]
    assert (found["elapsed_seconds"], found["paused_seconds"]) == (H, 8.5 * H)
    assert (found["state"], found["status"]) == ("stopped", "met")
    assert found["stopped_at"] == local("2026-10-07 10:00").isoformat()
    with projector.reading("queues") as rows:
        assert work_queue(rows) == []


def test_nearest_rank_percentiles_take_the_smallest_value_covering_the_share() -> None:
    values = [timedelta(hours=h) for h in (4, 1, 3, 2)]
    assert nearest_rank(values, 50) == timedelta(hours=2)  # rank ceil(2.0) = 2
    assert nearest_rank(values, 90) == timedelta(hours=4)  # rank ceil(3.6) = 4
    assert nearest_rank([], 50) is None


def report_history(ledger: TicketLedger, contract: UUID) -> None:
    """Focco, October 2026 (Monday 10-12 is a national holiday). High: 4 h / 16 h."""
    r = "a@serra.com.br"

    def ticket(opened: str, priority: Priority, reply: str, resolve: str | None) -> str:
        number = open_at(ledger, contract, local(opened), priority, r)
        ledger.handle(ReplyAsAgent(ticket=number, message="hi", by=AGENT, occurred_at=local(reply)))
        if resolve:
            ledger.handle(
                ResolveTicket(ticket=number, resolution="ok", by=AGENT, occurred_at=local(resolve))
            )
        return number

    # first response / resolution, in business hours:
    ticket("2026-10-06 09:00", Priority.HIGH, "2026-10-06 10:00", "2026-10-06 12:00")  # 1 / 3
    ticket("2026-10-07 09:00", Priority.HIGH, "2026-10-07 09:30", "2026-10-07 17:00")  # .5 / 6.5
    # 3.5 / 17: Thu 7:30 + Fri 8:30 + (Mon holiday) + Tue 1:00.
    ticket("2026-10-08 09:00", Priority.HIGH, "2026-10-08 14:00", "2026-10-13 09:00")
    ticket("2026-10-09 09:00", Priority.HIGH, "2026-10-09 14:30", "2026-10-09 17:00")  # 4 / 6.5
    # 4.5 (breached) and never resolved: 16 h ran out Wednesday 10-14 17:00.
    ticket("2026-10-13 08:00", Priority.HIGH, "2026-10-13 14:00", None)
    ticket("2026-10-20 09:00", Priority.MEDIUM, "2026-10-20 10:00", "2026-10-20 11:00")  # 1 / 2
    cancelled = open_at(ledger, contract, local("2026-10-21 09:00"), Priority.CRITICAL, r)
    ledger.handle(
        CancelTicket(
            ticket=cancelled,
            reason=CancellationReason.OPENED_BY_MISTAKE,
            by=AGENT,
            occurred_at=local("2026-10-21 15:00"),
        )
    )


def test_the_monthly_report_gives_compliance_median_and_p90_per_priority_and_in_total(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    report_history(ledger, contract)
    projector.catch_up()
    with projector.reading("sla") as rows:
        report = contract_month_report(rows, str(contract), "2026-10", at("2026-11-25 12:00"))
    by = {row.priority: row for row in report.rows}
    high, total, critical = by["high"], by["total"], by["critical"]
    # High first responses 0.5, 1, 3.5, 4, 4.5 h: 4 met of 5 = 80.0 %; median
    # rank ceil(2.5) = 3 -> 3.5 h; p90 rank ceil(4.5) = 5 -> 4.5 h.
    f = high.first_response
    assert (f.completed, f.met, f.breached, f.compliance) == (5, 4, 1, Decimal("80.0"))
    assert (f.median, f.p90) == (timedelta(hours=3.5), timedelta(hours=4.5))
    # High resolutions 3, 6.5, 6.5, 17 h: 3 of 4 = 75.0 %; median rank 2 ->
    # 6.5 h; p90 rank ceil(3.6) = 4 -> 17 h; one still running, breached.
    s = high.resolution
    assert (s.completed, s.met, s.breached, s.compliance) == (4, 3, 1, Decimal("75.0"))
    assert (s.median, s.p90, s.running_breached) == (
        timedelta(hours=6.5),
        timedelta(hours=17),
        1,
    )
    # Totals add the medium ticket (1 h / 2 h): first response 5 of 6 = 83.3 %,
    # median rank 3 of 0.5, 1, 1, 3.5, 4, 4.5 -> 1 h; resolution 4 of 5 = 80.0 %,
    # median rank 3 of 2, 3, 6.5, 6.5, 17 -> 6.5 h, p90 rank 5 -> 17 h.
    assert (total.first_response.compliance, total.first_response.median) == (
        Decimal("83.3"),
        timedelta(hours=1),
    )
    assert (total.resolution.compliance, total.resolution.p90) == (
        Decimal("80.0"),
        timedelta(hours=17),
    )
    # The cancelled critical ticket counts nowhere.
    assert critical.first_response.completed == critical.resolution.completed == 0
    assert critical.first_response.compliance is None
    assert report.to_json()["priorities"][1]["first_response"]["compliance_percent"] == "80.0"
    assert "83.3" in report.render_table()

    # November has none of these clocks stopping, only the one still running late.
    with projector.reading("sla") as rows:
        november = contract_month_report(rows, contract, "2026-11", at("2026-11-25 12:00"))
    assert november.rows[-1].resolution.completed == 0
    assert november.rows[-1].resolution.running_breached == 1
    with projector.reading("sla") as rows, pytest.raises(KeyError, match="no contract"):
        contract_month_report(rows, "not-a-contract", "2026-10", at("2026-11-25 12:00"))


def test_the_sla_rows_after_a_rebuild_equal_the_rows_built_incrementally(
    ledger: TicketLedger, projector: Projector, late_clock: ManualClock
) -> None:
    contract = sign(ledger, focco_terms(), "@serra.com.br")
    projector.catch_up()
    report_history(ledger, contract)
    projector.catch_up()
    incremental = projector.processor("sla").dump()
    projector.rebuild("sla")
    assert projector.processor("sla").dump() == incremental
    assert len(incremental["tickets"]) == 7
