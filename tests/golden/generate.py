"""Writes tests/golden/events_v1.json: stored event rows of every event class, as
the ledger wrote them. Run once per new schema version and commit the file; the
tests only ever read it, so old rows must keep decoding.

    .venv/bin/python -m tests.golden.generate
"""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support import ManualClock, at, focco_terms
from ticketledger.domain.billing import compute_statement
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
from ticketledger.service.ledger import TicketLedger

FIXTURE = Path(__file__).with_name("events_v1.json")


def history(ledger: TicketLedger, clock: ManualClock) -> dict[str, Any]:
    step = timedelta(minutes=7)
    contract = ledger.sign_contract(focco_terms(), by="admin").aggregate_id
    ledger.authorise_requester(contract, "@serra.com.br", by="admin")
    ledger.authorise_requester(contract, "temp@serra.com", by="admin")
    ledger.revoke_requester(contract, "temp@serra.com", reason="left the company", by="admin")
    ledger.change_plan(
        contract,
        focco_terms(monthly_hours="30"),
        effective_on=at("2026-11-01").date(),
        reason="more hours",
        by="admin",
    )

    def opened(subject: str, priority: Priority = Priority.HIGH) -> str:
        clock.advance(step)
        return (
            ledger.open_ticket(
                contract_id=contract,
                requester="ana@serra.com.br",
                channel=Channel.EMAIL,
                kind=Kind.INCIDENT,
                priority=priority,
                subject=subject,
                description="details",
            ).number
            or ""
        )

    main, other, cancelled = opened("PLC down"), opened("Report slow"), opened("Duplicate")
    actions = [
        lambda: ledger.assign(main, "carla", by="lead"),
        lambda: ledger.reply_as_agent(main, "looking into it", by="carla"),
        lambda: ledger.reclassify(
            main, priority=Priority.CRITICAL, reason="plant stopped", by="lead"
        ),
        lambda: ledger.escalate(main, reason="needs level 2", by="carla"),
        lambda: ledger.comment(main, "checked I/O", visibility=Visibility.INTERNAL, by="carla"),
        lambda: ledger.wait_on_customer(main, reason="need the form", by="carla"),
        lambda: ledger.reply_as_requester(main, "form attached", by="ana@serra.com.br"),
        lambda: ledger.wait_on_third_party(main, third_party="ISP", reason="link", by="carla"),
        lambda: ledger.resume(main, reason="link back", by="carla"),
        lambda: ledger.record_failed_contact(
            main, channel=Channel.PHONE, note="no answer", by="carla"
        ),
        lambda: ledger.authorise_off_hours_work(
            main, authorised_by="boss@serra.com.br", by="carla"
        ),
        lambda: ledger.log_work(
            main,
            agent="carla",
            started_at=clock() - timedelta(minutes=40),
            duration=timedelta(minutes=30),
            category=WorkCategory.SUPPORT,
            customer_caused=True,
            note="replaced fuse",
        ),
        lambda: ledger.resolve_ticket(main, resolution="fuse replaced", by="carla"),
        lambda: ledger.reject_resolution(main, reason="stopped again", by="ana@serra.com.br"),
        lambda: ledger.resolve_ticket(main, resolution="PSU replaced", by="carla"),
        lambda: ledger.reopen_ticket(main, reason="noise on line 2", by="carla"),
        lambda: ledger.resolve_ticket(main, resolution="shielding fixed", by="carla"),
        lambda: ledger.accept_resolution(main, comment="ok", by="ana@serra.com.br"),
        lambda: ledger.rate_ticket(main, score=5, comment="fast", by="ana@serra.com.br"),
        lambda: ledger.correct_work(
            main,
            next(iter(ledger.ticket(main).work)),
            duration=timedelta(minutes=20),
            reason="timesheet",
            by="billing",
        ),
        lambda: ledger.link_tickets(other, main, link_kind=LinkKind.FOLLOWS_UP, by="carla"),
        lambda: ledger.cancel_ticket(
            cancelled, reason=CancellationReason.DUPLICATE, duplicate_of=other, by="carla"
        ),
        lambda: ledger.resolve_ticket(other, resolution="index rebuilt", by="carla"),
    ]
    for act in actions:
        clock.advance(step)
        act()
    clock.advance(timedelta(days=8))
    ledger.close_ticket(other, reason=ClosureReason.ACCEPTANCE_DEEMED, by="desk")
    held = ledger.open_ticket(
        contract_id=contract,
        requester="x@gmail.com",
        channel=Channel.EMAIL,
        kind=Kind.QUESTION,
        priority=Priority.LOW,
        subject="access",
    ).aggregate_id
    dropped = ledger.open_ticket(
        contract_id=contract,
        requester="y@gmail.com",
        channel=Channel.EMAIL,
        kind=Kind.QUESTION,
        priority=Priority.LOW,
        subject="spam",
    ).aggregate_id
    ledger.authorise_requester(contract, "x@gmail.com", by="admin")
    ledger.release_held_request(held, by="dispatcher")
    ledger.discard_held_request(dropped, reason="spam", by="dispatcher")
    september = compute_statement(
        contract_id=str(contract),
        month="2026-09",
        terms=ledger.contract(contract).terms_for_month("2026-09"),
        posted=[],
    )
    ledger.issue_statement(
        contract,
        "2026-09",
        through_position=ledger.recorder.max_notification_id() or 0,
        total=september.total,
        currency=september.currency,
        digest=september.digest(),
        by="billing",
    )
    ledger.suspend_contract(contract, reason="unpaid", by="billing")
    ledger.reinstate_contract(contract, reason="paid", by="billing")
    ledger.end_contract(contract, reason="not renewed", by="admin")
    main_ticket = ledger.ticket(main)
    return {
        "contract_id": str(contract),
        "main_number": main,
        "main_status": main_ticket.status.value,
        "main_work_minutes": [
            w.duration // timedelta(minutes=1) for w in main_ticket.work.values()
        ],
    }


def main() -> None:
    clock = ManualClock(at("2026-10-05 12:00"))
    with tempfile.TemporaryDirectory() as folder:
        ledger = TicketLedger(database_url=f"sqlite:///{folder}/golden.db", clock=clock)
        facts = history(ledger, clock)
        rows = [
            {
                "originator_id": str(n.originator_id),
                "originator_version": n.originator_version,
                "topic": n.topic,
                "state": n.state.decode("utf-8"),
            }
            for n in ledger.recorder.select_notifications(start=1, limit=10_000)
        ]
        ledger.close()
    FIXTURE.write_text(json.dumps({"facts": facts, "rows": rows}, indent=1, ensure_ascii=False))
    print(f"wrote {len(rows)} rows to {FIXTURE}")


if __name__ == "__main__":
    main()
