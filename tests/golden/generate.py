"""Writes tests/golden/events_vN.json and aggregates_vN.json for the ledger's
current schema version N: stored event rows of every event class as the ledger
writes them, and every aggregate those rows build. Run once per new schema
version and commit both files; the tests only ever read them, so old rows must
keep decoding. An existing fixture is never overwritten.

    .venv/bin/python -m tests.golden.generate
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from hashlib import sha256
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from tests.support import ManualClock, at, focco_terms
from ticketledger.domain.attachments import Attachment
from ticketledger.domain.billing import compute_statement
from ticketledger.domain.contract import Contract
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    Kind,
    LinkKind,
    MailNotice,
    Priority,
    Visibility,
    WorkCategory,
)
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseOffHoursWork,
    AuthoriseRequester,
    CancelTicket,
    ChangePlan,
    Comment,
    CorrectWork,
    DiscardHeldRequest,
    EndContract,
    Escalate,
    IssueStatement,
    LinkTickets,
    LogWork,
    OpenTicket,
    RateTicket,
    Reclassify,
    RecordFailedContact,
    RecordNoticeMailed,
    ReinstateContract,
    RejectResolution,
    ReleaseHeldRequest,
    ReopenTicket,
    ReplyAsAgent,
    ReplyAsRequester,
    ResolveTicket,
    Resume,
    RevokeRequester,
    SignContract,
    SuspendContract,
    WaitOnCustomer,
    WaitOnThirdParty,
)
from ticketledger.service.ledger import TicketLedger

# One more each time any event class gains a class_version or the ledger gains
# event classes: 2 is Ticket.Rated v2; 3 adds the time-driven rules' notices and
# SLA warnings; 4 adds the record of an e-mail notice mailed, a contract's
# language, and the files that came with an opening, a requester's reply and a
# held request.
SCHEMA_VERSION = 4
FOLDER = Path(__file__).parent
FORM = Attachment(
    name="formulário.pdf",
    content_type="application/pdf",
    size=5,
    sha256=sha256(b"%PDF-").hexdigest(),
)
SCREENSHOT = Attachment(
    name="tela.png", content_type="image/png", size=4, sha256=sha256(b"\x89PNG").hexdigest()
)


def events_path(version: int) -> Path:
    return FOLDER / f"events_v{version}.json"


def aggregates_path(version: int) -> Path:
    return FOLDER / f"aggregates_v{version}.json"


def plain(value: Any) -> Any:
    """An aggregate attribute as JSON, so two builds of an aggregate compare
    whole; tuples (NamedTuples too) become lists and sets sorted lists."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal | timedelta):
        return str(value)
    return value


def replayed(events: Iterable[Any]) -> dict[UUID, Any]:
    """Each aggregate the events build, by id."""
    by_aggregate: dict[UUID, list[Any]] = defaultdict(list)
    for event in events:
        by_aggregate[event.originator_id].append(event)
    built = {}
    for aggregate_id, history in by_aggregate.items():
        aggregate = None
        for event in history:
            aggregate = event.mutate(aggregate)
        built[aggregate_id] = aggregate
    return built


def built_aggregates(events: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Each aggregate the events build, by id, as `plain` attributes."""
    return {str(i): plain(attributes(aggregate)) for i, aggregate in replayed(events).items()}


# A contract's standing was called its state before its events had a fold.
CONTRACT_ATTRIBUTES_AS_RECORDED = {"standing": "state", "standing_changes": "state_changes"}


def attributes(aggregate: Any) -> dict[str, Any]:
    """What an aggregate holds: a ticket's or a contract's folded state reads
    as attributes of its own, by the names the fixtures of every schema
    recorded them under."""
    found = dict(vars(aggregate))
    if isinstance(aggregate, Ticket | Contract):
        state = found.pop("state")
        for f in dataclasses.fields(state):
            name = CONTRACT_ATTRIBUTES_AS_RECORDED.get(f.name, f.name)
            found[name] = getattr(state, f.name)
    return found


def history(ledger: TicketLedger, clock: ManualClock) -> dict[str, Any]:
    step = timedelta(minutes=7)
    contract = ledger.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="@serra.com.br", by="admin"))
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="temp@serra.com", by="admin"))
    ledger.handle(
        RevokeRequester(
            contract_id=contract, requester="temp@serra.com", reason="left the company", by="admin"
        )
    )
    ledger.handle(
        ChangePlan(
            contract_id=contract,
            terms=focco_terms(monthly_hours="30", language="es"),
            effective_on=at("2026-11-01").date(),
            reason="more hours",
            by="admin",
        )
    )

    def opened(subject: str, priority: Priority = Priority.HIGH) -> str:
        clock.advance(step)
        return (
            ledger.handle(
                OpenTicket(
                    contract_id=contract,
                    requester="ana@serra.com.br",
                    channel=Channel.EMAIL,
                    kind=Kind.INCIDENT,
                    priority=priority,
                    subject=subject,
                    description="details",
                )
            ).number
            or ""
        )

    main, other, cancelled = opened("PLC down"), opened("Report slow"), opened("Duplicate")
    quiet, slow = opened("Printer offline", Priority.LOW), opened("Backup failing")
    actions = [
        lambda: ledger.handle(Assign(ticket=main, assignee="carla", by="lead")),
        lambda: ledger.handle(ReplyAsAgent(ticket=main, message="looking into it", by="carla")),
        lambda: ledger.handle(
            RecordNoticeMailed(
                ticket=main,
                notice=MailNotice.REPLY,
                about_version=ledger.ticket(main).version,
                recipient="ana@serra.com.br",
                message_id=f"{main}.3.reply@desk.example",
                by="mailer",
            )
        ),
        lambda: ledger.handle(
            Reclassify(ticket=main, priority=Priority.CRITICAL, reason="plant stopped", by="lead")
        ),
        lambda: ledger.handle(Escalate(ticket=main, reason="needs level 2", by="carla")),
        lambda: ledger.handle(
            Comment(ticket=main, text="checked I/O", visibility=Visibility.INTERNAL, by="carla")
        ),
        lambda: ledger.handle(WaitOnCustomer(ticket=main, reason="need the form", by="carla")),
        lambda: ledger.handle(
            ReplyAsRequester(
                ticket=main,
                message="form attached",
                attachments=(FORM,),
                by="ana@serra.com.br",
            )
        ),
        lambda: ledger.handle(
            WaitOnThirdParty(ticket=main, third_party="ISP", reason="link", by="carla")
        ),
        lambda: ledger.handle(Resume(ticket=main, reason="link back", by="carla")),
        lambda: ledger.handle(
            RecordFailedContact(ticket=main, channel=Channel.PHONE, note="no answer", by="carla")
        ),
        lambda: ledger.handle(
            AuthoriseOffHoursWork(ticket=main, authorised_by="boss@serra.com.br", by="carla")
        ),
        lambda: ledger.handle(
            LogWork(
                ticket=main,
                agent="carla",
                started_at=clock() - timedelta(minutes=40),
                duration=timedelta(minutes=30),
                category=WorkCategory.SUPPORT,
                customer_caused=True,
                note="replaced fuse",
            )
        ),
        lambda: ledger.handle(ResolveTicket(ticket=main, resolution="fuse replaced", by="carla")),
        lambda: ledger.handle(
            RejectResolution(ticket=main, reason="stopped again", by="ana@serra.com.br")
        ),
        lambda: ledger.handle(ResolveTicket(ticket=main, resolution="PSU replaced", by="carla")),
        lambda: ledger.handle(ReopenTicket(ticket=main, reason="noise on line 2", by="carla")),
        lambda: ledger.handle(ResolveTicket(ticket=main, resolution="shielding fixed", by="carla")),
        lambda: ledger.handle(AcceptResolution(ticket=main, comment="ok", by="ana@serra.com.br")),
        lambda: ledger.handle(
            RateTicket(ticket=main, score=5, comment="fast", by="ana@serra.com.br")
        ),
        lambda: ledger.handle(
            CorrectWork(
                ticket=main,
                entry_id=next(iter(ledger.ticket(main).state.work)),
                duration=timedelta(minutes=20),
                reason="timesheet",
                by="billing",
            )
        ),
        lambda: ledger.handle(
            LinkTickets(ticket=other, other=main, link_kind=LinkKind.FOLLOWS_UP, by="carla")
        ),
        lambda: ledger.handle(
            CancelTicket(
                ticket=cancelled,
                reason=CancellationReason.DUPLICATE,
                duplicate_of=other,
                by="carla",
            )
        ),
        lambda: ledger.handle(ResolveTicket(ticket=other, resolution="index rebuilt", by="carla")),
    ]
    actions.append(
        lambda: ledger.handle(WaitOnCustomer(ticket=quiet, reason="which printer?", by="carla"))
    )
    for act in actions:
        clock.advance(step)
        act()
    clock.advance(timedelta(days=8))
    # The time-driven rules: acceptance deemed, a notice then a closure for the
    # silent customer, SLA warnings on the untouched ticket.
    for number in (other, quiet, slow):
        ledger.apply_due_rules(number)
    held = ledger.handle(
        OpenTicket(
            contract_id=contract,
            requester="x@gmail.com",
            channel=Channel.EMAIL,
            kind=Kind.QUESTION,
            priority=Priority.LOW,
            subject="access",
            attachments=(SCREENSHOT,),
        )
    ).aggregate_id
    dropped = ledger.handle(
        OpenTicket(
            contract_id=contract,
            requester="y@gmail.com",
            channel=Channel.EMAIL,
            kind=Kind.QUESTION,
            priority=Priority.LOW,
            subject="spam",
        )
    ).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="x@gmail.com", by="admin"))
    ledger.handle(ReleaseHeldRequest(held_id=held, by="dispatcher"))
    ledger.handle(DiscardHeldRequest(held_id=dropped, reason="spam", by="dispatcher"))
    september = compute_statement(
        contract_id=str(contract),
        month="2026-09",
        terms=ledger.contract(contract).state.terms_for_month("2026-09"),
        posted=[],
    )
    ledger.handle(
        IssueStatement(
            contract_id=contract,
            month="2026-09",
            through_position=ledger.recorder.max_notification_id() or 0,
            total=september.total,
            currency=september.currency,
            digest=september.digest(),
            by="billing",
        )
    )
    ledger.handle(SuspendContract(contract_id=contract, reason="unpaid", by="billing"))
    ledger.handle(ReinstateContract(contract_id=contract, reason="paid", by="billing"))
    ledger.handle(EndContract(contract_id=contract, reason="not renewed", by="admin"))
    main_ticket = ledger.ticket(main)
    return {
        "contract_id": str(contract),
        "main_number": main,
        "main_status": main_ticket.state.status.value,
        "main_work_minutes": [
            w.duration // timedelta(minutes=1) for w in main_ticket.state.work.values()
        ],
    }


def main() -> None:
    written = [events_path(SCHEMA_VERSION), aggregates_path(SCHEMA_VERSION)]
    if any(path.exists() for path in written):
        sys.exit(f"{written[0].name} exists: fixtures are never rewritten; bump SCHEMA_VERSION")
    clock = ManualClock(at("2026-10-05 12:00"))
    with tempfile.TemporaryDirectory() as folder:
        ledger = TicketLedger(database_url=f"sqlite:///{folder}/golden.db", clock=clock)
        facts = history(ledger, clock)
        notifications = ledger.recorder.select_notifications(start=1, limit=10_000)
        rows = [
            {
                "originator_id": str(n.originator_id),
                "originator_version": n.originator_version,
                "topic": n.topic,
                "state": n.state.decode("utf-8"),
            }
            for n in notifications
        ]
        aggregates = built_aggregates(ledger.mapper.to_domain_event(n) for n in notifications)
        ledger.close()
    write(written[0], {"facts": facts, "rows": rows})
    write(written[1], aggregates)
    print(f"wrote {len(rows)} rows to {written[0]} and {len(aggregates)} aggregates")


def write(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
