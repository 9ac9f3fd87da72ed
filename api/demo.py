"""Demo data: the seed companies' contracts and a few hundred tickets with
realistic lifecycles over several months, replayed in time order on a
simulated clock so recorded and occurred times read like a real desk's.

The history ends at the moment it is loaded (`DemoSpan`): tickets opened in
its last days still run their clocks, and a few scripted ones make sure a
person looking at it finds each thing a desk lives with (`plan_live`): a
breached clock, clocks at risk, a ticket waiting on its customer, a
resolution awaiting acceptance, off-hours work authorised and billed last
month, last month ready to bill and the month before issued. Nothing is dated
after the moment of loading, so the server's ticker finds nothing to do."""

from __future__ import annotations

import calendar
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from ticketledger.api.demo_contracts import DEMO_CONTRACTS
from ticketledger.domain.calendar import BusinessCalendar
from ticketledger.domain.errors import DomainError
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import (
    Agreement,
    CancellationReason,
    Channel,
    Coverage,
    Kind,
    Priority,
    Visibility,
    WorkCategory,
)
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseRequester,
    CancelTicket,
    Comment,
    DiscardHeldRequest,
    Escalate,
    LogWork,
    OpenTicket,
    RateTicket,
    Reclassify,
    RejectResolution,
    ReleaseHeldRequest,
    ReplyAsAgent,
    ReplyAsRequester,
    ResolveTicket,
    SignContract,
    WaitOnCustomer,
)
from ticketledger.service.ledger import TicketLedger

# The history the demo's contracts and plans were written for; a demo loaded
# later is the same history moved by whole months to end at its loading.
WRITTEN_START = datetime(2026, 7, 1, 11, 0, tzinfo=UTC)
HISTORY = datetime(2026, 11, 20, 21, 0, tzinfo=UTC) - WRITTEN_START
TICKETS_PER_CONTRACT = 55
OTHER_TICKETS_PER_CONTRACT = 15  # warranty and pay-per-use contracts see fewer
PRIORITY_WEIGHTS = {Priority.CRITICAL: 6, Priority.HIGH: 20, Priority.MEDIUM: 50, Priority.LOW: 24}
AGENTS = ["carla.souza", "diego.pereira", "lucia.fernandez", "marcos.lima"]
# A step of the desk's own (issuing statements), in no ticket's story.
DESK_STEP = -1
Action = Callable[[TicketLedger, UUID], Any]


@dataclass(frozen=True)
class DemoSpan:
    """When the demo's history starts and ends, and by how many whole months
    its contracts' dates move from those written in demo_contracts.py."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime) -> DemoSpan:
        return cls(end - HISTORY, end.replace(second=0, microsecond=0))

    @property
    def months_moved(self) -> int:
        written = WRITTEN_START.year * 12 + WRITTEN_START.month
        return self.start.year * 12 + self.start.month - written


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass(order=True)
class Step:
    at: datetime
    sequence: int
    story: int = field(compare=False)
    action: Action = field(compare=False)


@dataclass
class Story:
    """One ticket's planned life, in its contract's calendars."""

    index: int
    contract: int
    terms: ContractTerms
    requester: str
    priority: Priority
    kind: Kind
    rng: random.Random
    steps: list[Step] = field(default_factory=list)
    cursor: datetime = WRITTEN_START

    @property
    def serving(self) -> BusinessCalendar:
        """Agents work business hours, and critical tickets inside the coverage."""
        covered = (
            self.priority is Priority.CRITICAL and self.terms.coverage is not Coverage.STANDARD
        )
        return self.terms.coverage_calendar if covered else self.terms.business_calendar

    def at(self, instant: datetime, action: Action) -> datetime:
        instant = max(instant, self.cursor + timedelta(minutes=1)).replace(second=0, microsecond=0)
        if instant <= self.cursor:
            instant += timedelta(minutes=1)
        self.cursor = instant
        self.steps.append(Step(instant, len(self.steps), self.index, action))
        return instant

    def later(self, business: timedelta) -> datetime:
        return self.serving.add_business_time(self.cursor, business)

    def fraction(self, target: timedelta, low: float, high: float) -> timedelta:
        return timedelta(seconds=int(target.total_seconds() * self.rng.uniform(low, high)))


def pick_kind(rng: random.Random, terms: ContractTerms, priority: Priority) -> Kind:
    if priority is Priority.CRITICAL:
        return Kind.CRITICAL_INCIDENT
    kinds = [Kind.QUESTION, Kind.SERVICE_REQUEST, Kind.INCIDENT, Kind.INCIDENT, Kind.NEW_FEATURE]
    if terms.warranties and rng.random() < 0.2:
        return rng.choice([Kind.WARRANTY_OF_WORKS, Kind.WARRANTY_OF_MATERIAL])
    if rng.random() < 0.06:
        return rng.choice([Kind.PROJECT, Kind.NEW_REQUIREMENT])
    return rng.choice(kinds)


def opening_instant(
    rng: random.Random, story_terms: ContractTerms, critical: bool, span: DemoSpan
) -> datetime:
    """Mail arrives at any hour; most requests come in during the working day."""
    seconds = (span.end - span.start).total_seconds()
    instant = span.start + timedelta(seconds=rng.uniform(0, seconds))
    if critical or rng.random() < 0.15:
        return instant
    return story_terms.business_calendar.add_business_time(
        instant, timedelta(minutes=rng.randint(1, 90))
    )


def plan_story(story: Story, opened_at: datetime, contract_id: UUID, requester: str) -> None:
    rng, target = story.rng, story.terms.sla[story.priority]
    priority, kind, title = story.priority, story.kind, subject(story)
    channel = Channel.PHONE if priority is Priority.CRITICAL else rng.choice(list(Channel))

    def open_it(ledger: TicketLedger, _: UUID) -> Any:
        return ledger.handle(
            OpenTicket(
                contract_id=contract_id,
                requester=requester,
                channel=channel,
                kind=kind,
                priority=priority,
                subject=title,
                description="Reported by the customer; details in the first message.",
            )
        )

    story.cursor = opened_at - timedelta(minutes=1)
    story.at(opened_at, open_it)
    agent = rng.choice(AGENTS)
    story.at(
        story.later(story.fraction(target.first_response, 0.1, 0.6)),
        lambda led, t: led.handle(Assign(ticket=t, assignee=agent, by="dispatcher")),
    )
    story.at(
        story.later(story.fraction(target.first_response, 0.05, 0.5)),
        lambda led, t: led.handle(
            ReplyAsAgent(ticket=t, message="We are looking into it.", by=agent)
        ),
    )
    if rng.random() < 0.05:
        plan_cancellation(story, agent)
        return
    plan_middle(story, agent)
    plan_resolution(story, agent, target.resolution)


def plan_middle(story: Story, agent: str) -> None:
    rng = story.rng
    if rng.random() < 0.1 and story.priority in (Priority.MEDIUM, Priority.LOW):
        story.at(
            story.later(timedelta(minutes=20)),
            lambda led, t: led.handle(
                Reclassify(
                    ticket=t,
                    priority=Priority.HIGH,
                    reason="more users affected than reported",
                    by=agent,
                )
            ),
        )
        story.priority = Priority.HIGH
    if rng.random() < 0.08:
        story.at(
            story.later(timedelta(minutes=30)),
            lambda led, t: led.handle(Escalate(ticket=t, reason="needs level 2", by=agent)),
        )
    if rng.random() < 0.25:
        story.at(
            story.later(timedelta(minutes=25)),
            lambda led, t: led.handle(
                WaitOnCustomer(ticket=t, reason="waiting for the specification form", by=agent)
            ),
        )
        answer = story.cursor + timedelta(hours=rng.randint(2, 90))
        story.at(
            answer,
            lambda led, t: led.handle(
                ReplyAsRequester(ticket=t, message="Form attached.", by=story.requester)
            ),
        )
    if rng.random() < 0.2:
        story.at(
            story.later(timedelta(minutes=10)),
            lambda led, t: led.handle(
                Comment(
                    ticket=t,
                    text="Checked the logs: same error as last month.",
                    visibility=Visibility.INTERNAL,
                    by=agent,
                )
            ),
        )
    for _ in range(rng.randint(1, 3)):
        plan_work(story, agent)


def plan_work(story: Story, agent: str) -> None:
    rng = story.rng
    start = story.later(timedelta(minutes=rng.randint(5, 240)))
    intervals = story.serving.business_intervals(start, start + timedelta(hours=3))
    if not intervals:
        return
    start = max(start, intervals[0][0])  # a window's end is also where business time stops
    room = intervals[0][1] - start
    duration = min(timedelta(minutes=rng.choice([20, 30, 45, 60, 90, 120])), room)
    if duration < timedelta(minutes=10):
        return
    caused = story.terms.customer == "Móveis Serra Gaúcha" and rng.random() < 0.12
    category = WorkCategory.SUPPORT
    if story.kind is Kind.SERVICE_REQUEST and rng.random() < 0.4:
        category = rng.choice([WorkCategory.TRAINING, WorkCategory.MEETING])
    if story.kind in (Kind.PROJECT, Kind.NEW_REQUIREMENT):
        category = WorkCategory.DEVELOPMENT
    story.at(
        start + duration,
        lambda led, t: led.handle(
            LogWork(
                ticket=t,
                agent=agent,
                started_at=start,
                duration=duration,
                category=category,
                customer_caused=caused,
                note="remote session",
            )
        ),
    )


def plan_resolution(story: Story, agent: str, target: timedelta) -> None:
    rng = story.rng
    story.at(
        story.later(story.fraction(target, 0.05, 0.3)),
        lambda led, t: led.handle(
            ResolveTicket(ticket=t, resolution="Fixed and verified remotely.", by=agent)
        ),
    )
    roll = rng.random()
    if roll < 0.12:
        story.at(
            story.cursor + timedelta(hours=rng.randint(1, 40)),
            lambda led, t: led.handle(
                RejectResolution(
                    ticket=t, reason="The problem came back this morning.", by=story.requester
                )
            ),
        )
        plan_work(story, agent)
        story.at(
            story.later(timedelta(minutes=30)),
            lambda led, t: led.handle(
                ResolveTicket(ticket=t, resolution="Replaced the faulty part.", by=agent)
            ),
        )
    if roll < 0.8:
        story.at(
            story.cursor + timedelta(hours=rng.randint(1, 72)),
            lambda led, t: led.handle(
                AcceptResolution(ticket=t, comment="Works now.", by=story.requester)
            ),
        )
    else:
        # No answer: the ticker passing by a minute later records the closure the
        # rules made at exactly 7 days (acceptance deemed).
        story.at(
            story.cursor + timedelta(days=7, minutes=1),
            lambda led, t: led.apply_due_rules(t),
        )
    if rng.random() < 0.5:
        score = rng.choice([3, 4, 4, 5, 5, 5])
        story.at(
            story.cursor + timedelta(hours=2),
            lambda led, t: led.handle(
                RateTicket(ticket=t, score=score, comment="", by=story.requester)
            ),
        )


def plan_cancellation(story: Story, agent: str) -> None:
    story.at(
        story.later(timedelta(minutes=15)),
        lambda led, t: led.handle(
            CancelTicket(
                ticket=t,
                reason=CancellationReason.OPENED_BY_MISTAKE,
                note="sent to the wrong desk",
                by=agent,
            )
        ),
    )


def subject(story: Story) -> str:
    subjects = {
        Kind.CRITICAL_INCIDENT: "Factory stopped: supervisory station offline",
        Kind.INCIDENT: "Report export fails with a timeout",
        Kind.QUESTION: "How to reprint an invoice batch?",
        Kind.SERVICE_REQUEST: "Create users for the new shift supervisors",
        Kind.PROJECT: "Integrate the weighing station with the ERP",
        Kind.NEW_REQUIREMENT: "Custom monitor for queue abandonment",
        Kind.NEW_FEATURE: "Suggestion: filter auctions by lot status",
        Kind.WARRANTY_OF_WORKS: "Line 3 conveyor interlock trips (warranty)",
        Kind.WARRANTY_OF_MATERIAL: "PLC input card failed (warranty)",
    }
    return subjects[story.kind]


@dataclass
class DemoReport:
    contracts: list[UUID]
    events: int
    refused: Counter[str]
    held: int
    span: DemoSpan | None = None


def load_demo(
    ledger: TicketLedger,
    clock: SimulatedClock,
    seed: int = 2026,
    tickets_per_contract: int = TICKETS_PER_CONTRACT,
    *,
    end: datetime | None = None,
    live: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoReport:
    """The demo desk, its history ending at `end` (default: the clock's now).
    The benchmark scales it by `tickets_per_contract` (a help-desk contract's
    count; the others' shrink in proportion) and leaves out the scripted
    tickets and statements of `live`, which only make a look at it lively."""
    span = DemoSpan.ending(end or clock.now)
    rng = random.Random(seed)
    clock.now = span.start - timedelta(days=200)
    contracts: list[tuple[UUID, ContractTerms, list[str]]] = []
    for spec, requesters in DEMO_CONTRACTS:
        terms = ledger.validate_terms(moved(spec, span.months_moved))
        contract_id = ledger.handle(SignContract(terms=terms, by="admin")).aggregate_id
        for requester in requesters:
            ledger.handle(
                AuthoriseRequester(contract_id=contract_id, requester=requester, by="admin")
            )
        contracts.append((contract_id, terms, requesters))
    stories = plan_stories(rng, contracts, span, tickets_per_contract)
    desk: list[Step] = []
    if live:
        from ticketledger.api.demo_live import plan_live

        more, desk = plan_live(contracts, span, len(stories))
        stories += more
    planned = [step for story in stories for step in story.steps]
    steps = sorted(step for step in planned + desk if step.at <= span.end)
    refused: Counter[str] = Counter()
    ticket_of: dict[int, UUID] = {}
    for done, step in enumerate(steps, start=1):
        clock.now = step.at
        run_step(ledger, step, ticket_of, refused)
        if progress is not None and (done % 100 == 0 or done == len(steps)):
            progress("demo history", done, len(steps))
    held = plan_triage(ledger, clock, contracts[1][0], span)
    # The ticker's last pass: whatever fell due on untouched tickets is recorded.
    clock.now = span.end
    for ticket_id in ticket_of.values():
        ledger.apply_due_rules(ticket_id)
    return DemoReport(
        [c for c, _, _ in contracts],
        ledger.recorder.max_notification_id() or 0,
        refused,
        held,
        span,
    )


def moved(spec: dict[str, Any], months: int) -> dict[str, Any]:
    """A contract's terms with every date (`starts_on`) moved by whole months."""
    if months == 0:
        return spec
    shifted = {k: moved_value(k, v, months) for k, v in spec.items()}
    return shifted


def moved_value(key: str, value: Any, months: int) -> Any:
    if key == "starts_on" and isinstance(value, str):
        return add_months(date.fromisoformat(value), months).isoformat()
    if isinstance(value, list):
        return [moved(v, months) if isinstance(v, dict) else v for v in value]
    return value


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def plan_stories(
    rng: random.Random,
    contracts: list[tuple[UUID, ContractTerms, list[str]]],
    span: DemoSpan,
    per_contract: int = TICKETS_PER_CONTRACT,
) -> list[Story]:
    stories: list[Story] = []
    others = max(1, per_contract * OTHER_TICKETS_PER_CONTRACT // TICKETS_PER_CONTRACT)
    for position, (contract_id, terms, requesters) in enumerate(contracts):
        count = per_contract if terms.agreement is Agreement.HELP_DESK else others
        for _ in range(count):
            priority = rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0]
            requester = person(rng, requesters[0])
            story = Story(
                len(stories),
                position,
                terms,
                requester,
                priority,
                pick_kind(rng, terms, priority),
                random.Random(rng.random()),
            )
            opened = opening_instant(rng, terms, priority is Priority.CRITICAL, span)
            plan_story(story, opened, contract_id, requester)
            stories.append(story)
    return stories


def person(rng: random.Random, authorised: str) -> str:
    if not authorised.startswith("@"):
        return authorised
    return rng.choice(["ana.ribeiro", "joao.mendes", "pilar.rojas", "tomas.vidal"]) + authorised


def run_step(
    ledger: TicketLedger, step: Step, ticket_of: dict[int, UUID], refused: Counter[str]
) -> None:
    if step.sequence > 0 and step.story not in ticket_of:
        return  # the opening was refused, so the rest of the story never happened
    try:
        result = step.action(ledger, ticket_of.get(step.story, UUID(int=0)))
    except DomainError as error:
        refused[error.code] += 1
        return
    if step.story == DESK_STEP:
        return
    if step.sequence == 0 and not result.held:
        ticket_of[step.story] = result.aggregate_id


def plan_triage(
    ledger: TicketLedger, clock: SimulatedClock, contract_id: UUID, span: DemoSpan
) -> int:
    """Requests from senders the contract does not know are held, not opened;
    one is released once the customer vouches for its sender, one discarded,
    two wait for the desk. All of it a few hours before the demo ends."""
    clock.now = span.end - timedelta(hours=3)
    senders = [
        "operador.turno3@hotmail.com",
        "estagiario@rionovo.org",
        "fornecedor@papelaria.com.br",
        "vereador.gabinete@gmail.com",
    ]
    held = [
        ledger.handle(
            OpenTicket(
                contract_id=contract_id,
                requester=sender,
                channel=Channel.EMAIL,
                kind=Kind.QUESTION,
                priority=Priority.LOW,
                subject="Acesso ao sistema",
                description="Preciso de acesso.",
            )
        )
        for sender in senders
    ]
    clock.now = span.end - timedelta(hours=2, minutes=30)
    ledger.handle(AuthoriseRequester(contract_id=contract_id, requester=senders[0], by="admin"))
    ledger.handle(ReleaseHeldRequest(held_id=held[0].aggregate_id, by="dispatcher"))
    ledger.handle(
        DiscardHeldRequest(
            held_id=held[2].aggregate_id, reason="supplier, not a user", by="dispatcher"
        )
    )
    return sum(1 for h in held if h.held)
