"""A year of a large desk, built in bulk: the figures at scale (an opening
after 100,000 tickets this year, a rebuild of a million events) need logs that
the ledger's one-command-at-a-time path would take hours to write.

The events are the domain's own: every ticket opens through the year's
numbering (gap-free, from 1), and lives the way a help-desk ticket does on
the demo's 24x7 help-desk contract: opened by its requester, answered by an
agent, a few minutes of work logged, resolved, and accepted (which posts its
hours). Each batch of tickets is saved with the numbering in one transaction
through the ledger's own recorder: hash chains, digests and log order are the
ledger's, as if the commands had run one by one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4

from bench.dataset import AGENT, REQUESTER, Desk, SteppingClock
from ticketledger.api.demo_contracts import FOCCO_GLT_24X7
from ticketledger.domain.contract import Contract
from ticketledger.domain.coverage import split_work
from ticketledger.domain.events import recording_clock
from ticketledger.domain.numbering import TicketNumbering
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Channel, Kind, Priority, WorkCategory
from ticketledger.service.commands import AuthoriseRequester, SignContract
from ticketledger.service.handlers import opened
from ticketledger.service.ledger import TicketLedger

YEAR = 2026
SIGNED = datetime(YEAR - 1, 12, 1, 12, 0, tzinfo=UTC)
FIRST_DAY = date(YEAR, 1, 5)
LAST_DAY = date(YEAR, 12, 18)
# The contract's business hours in UTC (08:00 to 12:00 and 13:30 to 18:00 in
# São Paulo): tickets open and are worked inside them, so that their work
# needs no off-hours authorisation.
WINDOWS = ((time(11, 0), time(15, 0)), (time(16, 30), time(21, 0)))
STEP = timedelta(seconds=10)
LIFE = STEP * 4
BATCH = 500  # tickets saved per transaction
EVENTS_PER_TICKET = 6  # its numbering's event, then five of its own


@dataclass
class Year:
    """The desk's year: when its next tickets open, `spacing` apart inside the
    contract's business hours."""

    terms: ContractTerms
    tickets: int

    def __post_init__(self) -> None:
        windows = list(self.windows())
        room = sum((end - start - LIFE for start, end in windows), timedelta(0))
        self.spacing = room / max(1, self.tickets)
        if self.spacing <= LIFE:
            raise ValueError(f"{self.tickets} tickets do not fit one year's business hours")
        self.slots = self.openings(windows)

    def windows(self) -> Iterator[tuple[datetime, datetime]]:
        calendar = self.terms.business_calendar
        day = FIRST_DAY
        while day <= LAST_DAY:
            for opens, closes in WINDOWS:
                start = datetime.combine(day, opens, UTC)
                end = datetime.combine(day, closes, UTC)
                if calendar.business_time_between(start, end) == end - start:
                    yield start, end
            day += timedelta(days=1)

    def openings(self, windows: list[tuple[datetime, datetime]]) -> Iterator[datetime]:
        for start, end in windows:
            at = start
            while at + LIFE <= end:
                yield at
                at += self.spacing


def bulk_desk(url: str, tickets: int, planned: int | None = None) -> tuple[Desk, Year]:
    """A ledger whose year has `tickets` tickets, each with a short life, laid
    out for `planned` tickets in all (the year can be extended up to them)."""
    clock = SteppingClock(SIGNED)
    ledger = TicketLedger(database_url=url, clock=clock)
    contract_id = ledger.handle(SignContract(terms=FOCCO_GLT_24X7, by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract_id, requester=REQUESTER, by="admin"))
    desk = Desk(ledger, clock, contract_id, 0, 0)
    year = Year(
        ledger.contract(contract_id).state.terms_at(
            datetime.combine(FIRST_DAY, WINDOWS[0][0], UTC)
        ),
        planned or tickets,
    )
    extend(desk, year, tickets)
    return desk, year


def extend(desk: Desk, year: Year, tickets: int) -> None:
    """Opens `tickets` more tickets this year, in batches."""
    ledger, clock = desk.ledger, desk.clock
    contract = ledger.contract(desk.contract_id)
    numbering = ledger.numbering(YEAR)
    made = 0
    while made < tickets:
        batch = min(BATCH, tickets - made)
        with recording_clock(clock):
            lives = []
            for _ in range(batch):
                clock.now = next(year.slots)
                if numbering is None:
                    numbering = TicketNumbering.start(YEAR, AGENT, clock.now)
                lives.append(life(contract, numbering, clock))
            assert numbering is not None
            ledger.save(numbering, *lives)
        made += batch
    desk.tickets += tickets
    desk.events = ledger.recorder.max_notification_id() or 0


def life(contract: Contract, numbering: TicketNumbering, clock: SteppingClock) -> Ticket:
    request = dict(
        requester=REQUESTER,
        channel=Channel.EMAIL,
        kind=Kind.INCIDENT,
        priority=Priority.MEDIUM,
        subject="Line 2 PLC does not start",
        description="The PLC of line 2 shows a red light since this morning.",
    )
    ticket = opened(contract, request, REQUESTER, clock.now, numbering)
    ticket.reply_as_agent("We are on it.", AGENT, step(clock))
    started = clock.now
    worked = step(clock) - started
    terms = contract.state.terms_at(started)
    ticket.log_work(
        entry_id=uuid4(),
        agent=AGENT,
        started_at=started,
        duration=worked,
        category=WorkCategory.SUPPORT,
        customer_caused=False,
        split=split_work(terms, ticket.state.priority, started, worked),
        note="firmware reloaded",
        by=AGENT,
        occurred_at=clock.now,
    )
    ticket.resolve("Firmware reloaded; the line runs.", AGENT, step(clock))
    ticket.accept("Thanks, it runs.", REQUESTER, step(clock))
    return ticket


def step(clock: SteppingClock) -> datetime:
    clock.now += STEP
    return clock.now
