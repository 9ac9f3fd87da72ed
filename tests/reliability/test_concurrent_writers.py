"""Many writers at once through the application service: threads of one
process (whose saves share commits) and threads of other processes, sending
random commands to tickets they share and to tickets of their own, openings
among them. Every acknowledged command is stored exactly once, each
aggregate's versions run without a gap, `verify` and `audit-projections` find
nothing. The seed is printed, and TICKETLEDGER_CONCURRENCY_SEED replays it."""

from __future__ import annotations

import multiprocessing
import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import UUID

from tests.poison import HEALTHY_REQUESTER, open_healthy_ticket, open_on
from ticketledger.domain import errors
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Channel, Kind, Priority, Visibility
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.replay import integrity
from ticketledger.replay.projection_audit import audit_projections
from ticketledger.service.commands import Assign, Comment, OpenTicket, ReplyAsAgent
from ticketledger.service.ledger import TicketLedger

THREADS = 6
PROCESSES = 2
COMMANDS = 12  # per thread
REFUSALS = (errors.VersionMismatchError, errors.KeptChangingError)


@dataclass(frozen=True)
class Plan:
    database_url: str
    contract_id: UUID
    shared: tuple[str, ...]
    seed: int
    name: str


@dataclass(frozen=True)
class Acknowledged:
    aggregate_id: UUID
    version: int
    tag: str


def act(ledger: TicketLedger, plan: Plan, writer: int) -> tuple[list[Acknowledged], Counter[str]]:
    """One writer's random commands: comments and replies on a shared ticket or
    on one it opened, some with the version it last read, assignments and
    openings. Returns what was acknowledged, and how many were refused."""
    pick = random.Random(f"{plan.seed}-{plan.name}-{writer}")
    own: list[str] = []
    done: list[Acknowledged] = []
    refused: Counter[str] = Counter()
    for n in range(COMMANDS):
        tag = f"{plan.name}-{writer}-{n}"
        number = pick.choice([*plan.shared, *own]) if own and pick.random() < 0.5 else None
        number = number or pick.choice(plan.shared)
        choice = pick.random()
        try:
            if choice < 0.2:
                opened = ledger.handle(opening(plan.contract_id, tag))
                assert opened.number is not None
                own.append(opened.number)
                done.append(Acknowledged(opened.aggregate_id, opened.version, tag))
                continue
            if choice < 0.6:
                command: Comment | ReplyAsAgent | Assign = Comment(
                    ticket=number,
                    text=tag,
                    visibility=Visibility.INTERNAL,
                    by="carla",
                    expected_version=ledger.ticket(number).version if choice < 0.35 else None,
                )
            elif choice < 0.85:
                command = ReplyAsAgent(ticket=number, message=tag, by="carla")
            else:
                command = Assign(ticket=number, assignee=f"agent-{tag}", by="lead")
            result = ledger.handle(command)
            done.append(Acknowledged(result.aggregate_id, result.version, tag))
        except REFUSALS as error:
            refused[type(error).__name__] += 1
    return done, refused


def opening(contract_id: UUID, tag: str) -> OpenTicket:
    return OpenTicket(
        contract_id=contract_id,
        requester=HEALTHY_REQUESTER,
        channel=Channel.EMAIL,
        kind=Kind.INCIDENT,
        priority=Priority.MEDIUM,
        subject=tag,
    )


def writers(plan: Plan) -> tuple[list[Acknowledged], Counter[str]]:
    """THREADS writers on one ledger: their saves share its commits."""
    ledger = TicketLedger(database_url=plan.database_url)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(lambda w: act(ledger, plan, w), range(THREADS)))
    finally:
        ledger.close()
    done = [a for found, _ in results for a in found]
    refused = sum((r for _, r in results), Counter[str]())
    return done, refused


def tag_of(event: object) -> str | None:
    if isinstance(event, Ticket.Commented):
        return event.text
    if isinstance(event, Ticket.AgentReplied):
        return event.message
    if isinstance(event, Ticket.Assigned):
        return event.assignee.removeprefix("agent-")
    if isinstance(event, Ticket.Opened):
        return event.subject
    return None


def test_writers_in_threads_and_processes_store_every_acknowledged_command_once(
    ledger: TicketLedger, database_url: str
) -> None:
    seed = int(os.environ.get("TICKETLEDGER_CONCURRENCY_SEED") or random.randrange(10**6))
    contract_id, first = open_healthy_ticket(ledger)
    shared = (first, open_on(ledger, contract_id, HEALTHY_REQUESTER))
    plans = [Plan(database_url, contract_id, shared, seed, f"p{p}") for p in range(PROCESSES + 1)]
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(PROCESSES) as pool:
        elsewhere = pool.map_async(writers, plans[1:])
        here = writers(plans[0])
        results = [here, *elsewhere.get(timeout=300)]

    acknowledged = [a for done, _ in results for a in done]
    writer_names = {plan.name for plan in plans}
    refused = sum((r for _, r in results), Counter[str]())
    stored: Counter[str] = Counter()
    by_aggregate: dict[object, list[int]] = {}
    for notification in ledger.recorder.select_notifications(start=1, limit=1_000_000):
        by_aggregate.setdefault(notification.originator_id, []).append(
            notification.originator_version
        )
    for aggregate_id in {a.aggregate_id for a in acknowledged}:
        for event in ledger.events_of(aggregate_id):
            tag = tag_of(event)
            if tag is not None and tag.split("-")[0] in writer_names:
                stored[tag] += 1
    print(
        f"seed {seed}: acknowledged {len(acknowledged)}, refused {dict(refused)}, "
        f"events {sum(len(v) for v in by_aggregate.values())}"
    )
    assert len(acknowledged) > THREADS * COMMANDS, f"seed {seed}: too few commands went through"
    assert all(stored[a.tag] == 1 for a in acknowledged), f"seed {seed}"
    assert sum(stored.values()) == len(acknowledged), f"seed {seed}: an unacknowledged write"
    assert all(v == list(range(1, len(v) + 1)) for v in by_aggregate.values()), f"seed {seed}"
    for a in acknowledged:
        event = list(ledger.events_of(a.aggregate_id))[a.version - 1]
        assert tag_of(event) == a.tag, f"seed {seed}: {a} is not the event at its version"
    assert integrity.verify(ledger).ok
    projector = Projector(ledger, all_projections())
    projector.catch_up()
    audits = audit_projections(projector)
    assert all(audit.complete for audit in audits), [
        (a.name, a.differences[:3], a.quarantined) for a in audits if not a.complete
    ]
