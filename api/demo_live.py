"""The demo's scripted tickets and statements, timed from the moment it is
loaded, so a person looking at it finds what a desk lives with: a breached
clock, clocks at risk, a ticket waiting on its customer, a resolution
awaiting acceptance, off-hours work authorised and billed last month, last
month ready to bill and the month before issued (api/demo.py loads them with
the rest of the history)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from ticketledger.api.demo import DESK_STEP, DemoSpan, Step, Story
from ticketledger.domain.calendar import BusinessCalendar
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import Agreement, Channel, Kind, Priority, WorkCategory
from ticketledger.service.commands import (
    AcceptResolution,
    Assign,
    AuthoriseOffHoursWork,
    LogWork,
    OpenTicket,
    ReplyAsAgent,
    ResolveTicket,
    WaitOnCustomer,
)
from ticketledger.service.ledger import TicketLedger

Contracts = list[tuple[UUID, ContractTerms, list[str]]]
VALE_SUL, RIO_NOVO, LEILOES, SERRA, ANDINO = 0, 1, 2, 3, 4
# Who asks, by contract: each an address the contract authorises.
ASKERS = {
    VALE_SUL: "joao.mendes@valesul.coop.br",
    LEILOES: "ana.ribeiro@leiloesnorte.com.br",
    SERRA: "compras@moveisserra.com.br",
    ANDINO: "pilar.rojas@andino.com.ar",
}


def business_before(calendar: BusinessCalendar, end: datetime, duration: timedelta) -> datetime:
    """The instant `duration` of business time before `end`, to the minute."""
    low, high = end - timedelta(days=60), end
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if calendar.business_time_between(middle, end) > duration:
            low = middle
        else:
            high = middle
    return high.replace(second=0, microsecond=0)


def story_on(
    contracts: Contracts, index: int, number: int, priority: Priority, kind: Kind
) -> Story:
    _, terms, _ = contracts[index]
    return Story(number, index, terms, ASKERS[index], priority, kind, random.Random(number))


def opening(contracts: Contracts, story: Story, subject: str, description: str) -> Any:
    contract_id = contracts[story.contract][0]

    def open_it(ledger: TicketLedger, _: UUID) -> Any:
        return ledger.handle(
            OpenTicket(
                contract_id=contract_id,
                requester=story.requester,
                channel=Channel.WEB,
                kind=story.kind,
                priority=story.priority,
                subject=subject,
                description=description,
            )
        )

    return open_it


def opened_at(story: Story, at: datetime, contracts: Contracts, subject: str, text: str) -> None:
    story.cursor = at - timedelta(minutes=1)
    story.at(at, opening(contracts, story, subject, text))


def do(command: Callable[[UUID], Any]) -> Callable[[TicketLedger, UUID], Any]:
    return lambda ledger, ticket: ledger.handle(command(ticket))


def breached(contracts: Contracts, span: DemoSpan, number: int) -> Story:
    """No first response, well past its target."""
    story = story_on(contracts, SERRA, number, Priority.HIGH, Kind.INCIDENT)
    target = story.terms.sla[Priority.HIGH].first_response
    at = business_before(story.serving, span.end, target * 1.4)
    opened_at(
        story,
        at,
        contracts,
        "Label printer on line 2 prints blank labels",
        "Since the morning shift every label comes out blank; we are writing them by hand.",
    )
    story.at(
        at + timedelta(minutes=5),
        do(lambda t: Assign(ticket=t, assignee="diego.pereira", by="dispatcher")),
    )
    return story


def at_risk(contracts: Contracts, span: DemoSpan, number: int, index: int, share: float) -> Story:
    """Its first response due soon: past the share the contract calls at risk."""
    story = story_on(contracts, index, number, Priority.MEDIUM, Kind.QUESTION)
    target = story.terms.sla[Priority.MEDIUM].first_response
    at = business_before(story.serving, span.end, target * share)
    opened_at(
        story,
        at,
        contracts,
        "How do we export last month's report to a spreadsheet?",
        "We need it for the board meeting.",
    )
    return story


def taken_up(story: Story, agent: str, answer: str) -> None:
    """The dispatcher assigns the ticket; the agent answers the requester."""
    story.at(
        story.later(timedelta(minutes=20)),
        do(lambda t: Assign(ticket=t, assignee=agent, by="dispatcher")),
    )
    story.at(
        story.later(timedelta(minutes=30)),
        do(lambda t: ReplyAsAgent(ticket=t, message=answer, by=agent)),
    )


def worked(story: Story, agent: str, start: datetime, minutes: int, note: str) -> None:
    """Support work from `start`, logged as it ends."""
    duration = timedelta(minutes=minutes)
    story.at(
        start + duration,
        do(
            lambda t: LogWork(
                ticket=t,
                agent=agent,
                started_at=start,
                duration=duration,
                category=WorkCategory.SUPPORT,
                customer_caused=False,
                note=note,
            )
        ),
    )


def waiting(contracts: Contracts, span: DemoSpan, number: int) -> Story:
    story = story_on(contracts, VALE_SUL, number, Priority.MEDIUM, Kind.SERVICE_REQUEST)
    at = business_before(story.serving, span.end, timedelta(hours=6))
    opened_at(
        story,
        at,
        contracts,
        "Create users for the new shift supervisors",
        "Three new supervisors start on Monday.",
    )
    agent = "carla.souza"
    taken_up(story, agent, "Please send their names and e-mail addresses.")
    story.at(
        story.later(timedelta(minutes=5)),
        do(lambda t: WaitOnCustomer(ticket=t, reason="waiting for the list of users", by=agent)),
    )
    return story


def awaiting_acceptance(contracts: Contracts, span: DemoSpan, number: int) -> Story:
    story = story_on(contracts, SERRA, number, Priority.LOW, Kind.QUESTION)
    at = business_before(story.serving, span.end, timedelta(hours=12))
    opened_at(
        story,
        at,
        contracts,
        "How to reprint an invoice batch?",
        "The printer jammed halfway through yesterday's batch.",
    )
    agent = "carla.souza"
    taken_up(story, agent, "Looking at it now.")
    worked(story, agent, story.later(timedelta(minutes=30)), 45, "remote session")
    story.at(
        business_before(story.serving, span.end, timedelta(hours=3)),
        do(
            lambda t: ResolveTicket(
                ticket=t,
                resolution="Menu Invoices > Batches > Reprint; the batch is reprinted.",
                by=agent,
            )
        ),
    )
    return story


def off_hours_last_month(contracts: Contracts, span: DemoSpan, number: int) -> Story:
    """Work after business hours, authorised by the customer beforehand, in a
    ticket accepted last month: billed at the off-hours rate."""
    story = story_on(contracts, ANDINO, number, Priority.HIGH, Kind.INCIDENT)
    zone = ZoneInfo(story.terms.timezone)
    day = weekday_of_last_month(span.end.astimezone(zone).date())

    def local(hour: int, minute: int = 0, later: int = 0) -> datetime:
        return datetime.combine(day + timedelta(days=later), time(hour, minute), zone)

    opened_at(
        story,
        local(10),
        contracts,
        "Dialler loses calls after the evening update",
        "Calls drop when the evening campaign starts.",
    )
    agent = "lucia.fernandez"
    story.at(local(10, 20), do(lambda t: Assign(ticket=t, assignee=agent, by="dispatcher")))
    story.at(
        local(10, 40),
        do(
            lambda t: ReplyAsAgent(
                ticket=t, message="We need to test during the evening campaign.", by=agent
            )
        ),
    )
    story.at(
        local(17, 30),
        do(
            lambda t: AuthoriseOffHoursWork(
                ticket=t, authorised_by=story.requester, note="go ahead tonight", by=agent
            )
        ),
    )
    worked(story, agent, local(19, 30), 90, "tested with the campaign")
    story.at(
        local(21, 15),
        do(
            lambda t: ResolveTicket(
                ticket=t, resolution="Dialler pool resized; calls hold.", by=agent
            )
        ),
    )
    story.at(
        local(10, later=1),
        do(lambda t: AcceptResolution(ticket=t, comment="Funciona.", by=story.requester)),
    )
    return story


def weekday_of_last_month(today: date) -> date:
    """The 12th of last month, or the first Monday to Thursday after it."""
    first = today.replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=12)
    while last_month.weekday() > 3:
        last_month += timedelta(days=1)
    return last_month


def statements(contracts: Contracts, span: DemoSpan) -> list[Step]:
    """On the 3rd of last month, billing issued the month before for each
    help-desk contract; last month waits to be issued."""
    first = span.end.date().replace(day=1)
    issued_on = (first - timedelta(days=1)).replace(day=3)
    month = (issued_on.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    at = datetime.combine(issued_on, time(13, 0), span.end.tzinfo)
    if at < span.start:
        return []
    chosen = [c for c, terms, _ in contracts if terms.agreement is Agreement.HELP_DESK]

    def issue(ledger: TicketLedger, _: UUID) -> Any:
        from ticketledger.api.statements import issue_month
        from ticketledger.projections.catalog import all_projections
        from ticketledger.projections.runner import Projector

        projector = Projector(ledger, all_projections())
        try:
            return [issue_month(projector, str(c), month, "billing") for c in chosen]
        finally:
            projector.stop()

    return [Step(at, 0, DESK_STEP, issue)]


def plan_live(contracts: Contracts, span: DemoSpan, first: int) -> tuple[list[Story], list[Step]]:
    """The scripted tickets (as stories numbered from `first`) and the desk's
    own steps."""
    stories = [
        breached(contracts, span, first),
        at_risk(contracts, span, first + 1, ANDINO, 0.9),
        at_risk(contracts, span, first + 2, LEILOES, 0.85),
        waiting(contracts, span, first + 3),
        awaiting_acceptance(contracts, span, first + 4),
        off_hours_last_month(contracts, span, first + 5),
    ]
    return stories, statements(contracts, span)
