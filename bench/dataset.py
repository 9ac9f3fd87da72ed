"""The data sets the figures run on: the demo desk (its contracts and its
tickets' lives, from opening to acceptance) scaled to a number of tickets, a
ticket with a long history beside tickets with a short one, and a small desk
that has opened ten tickets this year."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from ticketledger.api.demo import TICKETS_PER_CONTRACT, SimulatedClock, load_demo
from ticketledger.api.demo_contracts import FOCCO_GLT_24X7
from ticketledger.domain.vocabulary import Channel, Kind, Priority, Visibility
from ticketledger.service.commands import (
    AuthoriseRequester,
    Comment,
    LogWork,
    OpenTicket,
    ReplyAsAgent,
    SignContract,
)
from ticketledger.service.ledger import TicketLedger

# A Monday morning in Caxias do Sul, inside the desk's business hours, where the
# benchmark's own commands happen (work logged then needs no authorisation).
MONDAY_MORNING = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HISTORY_ENDS = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
REQUESTER = "ana.ribeiro@moveisserra.com.br"
AGENT = "carla.souza"
WORK = timedelta(minutes=1)
MORNING_ENDS = time(14, 50)  # UTC: 11:50 in Caxias do Sul
# The demo's help-desk contracts open this many tickets each at scale 1 (the
# demo's own count); the scale is the desk's count of tickets over the number
# at scale 1.
DEMO_TICKETS = 310


class SteppingClock(SimulatedClock):
    """Moves a millisecond at every reading: every command is later than the
    one before, and a benchmark's thousands of commands stay inside one
    morning's business hours."""

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def pass_work(self) -> datetime:
        """Lets a minute of work pass, from the next business morning on if the
        morning is over (the desk lunches at 12:00 in Caxias do Sul)."""
        if (self.now + WORK).time() >= MORNING_ENDS:
            next_day = self.now.date() + timedelta(days=1)
            while next_day.weekday() >= 5:
                next_day += timedelta(days=1)
            self.now = datetime.combine(next_day, MONDAY_MORNING.timetz())
        started = self.now
        self.now += WORK
        return started


@dataclass
class Desk:
    """A ledger on a data set, and where its figures act."""

    ledger: TicketLedger
    clock: SteppingClock
    contract_id: UUID
    tickets: int
    events: int
    long_ticket: str = ""
    long_events: int = 0
    short_tickets: list[str] = field(default_factory=list)

    def open(self) -> str:
        opened = self.ledger.handle(
            OpenTicket(
                contract_id=self.contract_id,
                requester=REQUESTER,
                channel=Channel.PHONE,
                kind=Kind.INCIDENT,
                priority=Priority.MEDIUM,
                subject="Line 2 PLC does not start",
                by=AGENT,
            )
        )
        assert opened.number is not None
        return opened.number

    def reply(self, number: str) -> None:
        self.ledger.handle(ReplyAsAgent(ticket=number, message="We are on it.", by=AGENT))

    def comment(self, number: str) -> None:
        text = "PLC firmware suspected"
        self.ledger.handle(
            Comment(ticket=number, text=text, visibility=Visibility.INTERNAL, by=AGENT)
        )

    def log_work(self, number: str) -> None:
        """A minute's work from now, logged once the minute has passed: the
        desk's morning moves a minute per entry."""
        started = self.clock.pass_work()
        self.ledger.handle(
            LogWork(ticket=number, agent=AGENT, started_at=started, duration=WORK, by=AGENT)
        )

    def ticket_with_events(self, count: int) -> str:
        """A ticket opened on this desk with `count` events in its history."""
        number = self.open()
        for _ in range(count - 1):
            self.comment(number)
        return number

    def with_long_ticket(self, events: int) -> Desk:
        self.long_ticket, self.long_events = self.ticket_with_events(events), events
        return self

    def close(self) -> None:
        self.ledger.close()


def demo_desk(url: str, tickets: int) -> Desk:
    """The demo desk with about `tickets` tickets, and a ticket of 1,000 events."""
    clock = SteppingClock(MONDAY_MORNING)
    ledger = TicketLedger(database_url=url, clock=clock)
    per_contract = max(1, round(TICKETS_PER_CONTRACT * tickets / DEMO_TICKETS))
    # The demo's history as first written, whatever the day: figures compare
    # across runs (the scripted tickets of a live demo are left out).
    report = load_demo(
        ledger, clock, tickets_per_contract=per_contract, end=HISTORY_ENDS, live=False
    )
    clock.now = MONDAY_MORNING
    focco = report.contracts[3]
    opened = sum(len(ledger.ticket_ids(year)) for year in (2026,))
    return Desk(ledger, clock, focco, opened, report.events)


def small_desk(url: str, tickets: int = 10) -> Desk:
    """A desk that has opened `tickets` tickets this year, on the same contract."""
    clock = SteppingClock(MONDAY_MORNING - timedelta(hours=1))
    ledger = TicketLedger(database_url=url, clock=clock)
    contract_id = ledger.handle(SignContract(terms=FOCCO_GLT_24X7, by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract_id, requester=REQUESTER, by="admin"))
    desk = Desk(ledger, clock, contract_id, 0, 0)
    for _ in range(tickets):
        desk.open()
    clock.now = MONDAY_MORNING
    desk.tickets = tickets
    desk.events = ledger.recorder.max_notification_id() or 0
    return desk
