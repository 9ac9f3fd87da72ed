"""kill -9 of `ticketledger mail send` while it sends, and of `serve` running
the sender: after restarts every notice owed reaches the relay, each is
recorded on its ticket once, and a notice is handed over twice only when the
sender died between the relay's acceptance and the record, at most once per
kill, with the same Message-ID. Real processes and a real SMTP sink on
127.0.0.1; loops bounded in time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from tests.mail.test_mail_cli import serra_desk
from tests.mail.test_outbound import Sink, serving
from tests.reliability.pg_cluster import free_port
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.service.commands import OpenTicket, ReplyAsAgent
from ticketledger.service.ledger import TicketLedger

CLI = "from ticketledger.api.cli.main import main; main()"
TICKETS = 20
KILLS = 3
SEED = int(os.environ.get("TICKETLEDGER_MAIL_CRASH_SEED", str(random.randrange(10**6))))


class SlowSink(Sink):
    """A relay that takes its time over each message: kills land mid-send."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        import asyncio

        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    kept = SlowSink()
    with serving(kept) as port:
        yield kept, port


def owed_desk(database_url: str) -> tuple[TicketLedger, list[str]]:
    """Tickets opened by the system's clock (notices are owed only while
    recent), each with a public reply: two notices each."""
    ledger = TicketLedger(database_url=database_url)
    contract = serra_desk(ledger, Projector(ledger, all_projections()))
    numbers = []
    for n in range(TICKETS):
        opened = ledger.handle(
            OpenTicket(
                contract_id=contract,
                requester=f"user{n}@moveisserra.com.br",
                channel=Channel.EMAIL,
                kind=Kind.INCIDENT,
                priority=Priority.MEDIUM,
                subject=f"Pedido {n}",
                description="texto",
                by="carla",
            )
        )
        assert opened.number is not None
        ledger.handle(ReplyAsAgent(ticket=opened.number, message=f"resposta {n}", by="carla"))
        numbers.append(opened.number)
    return ledger, numbers


def sender(database_url: str, relay_port: int, *command: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TICKETLEDGER_DATABASE_URL": database_url,
        "TICKETLEDGER_SMTP_RELAY": f"smtp://127.0.0.1:{relay_port}",
        "TICKETLEDGER_MAIL_CLAIM_SECONDS": "1",
        "TICKETLEDGER_MAIL_SEND_SECONDS": "0.1",
        "TICKETLEDGER_TICK_SECONDS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    "command",
    [("mail", "send", "--every", "0.1"), ("serve", "--port", "0")],
    ids=["mail-send", "serve"],
)
def test_every_notice_reaches_the_relay_and_is_recorded_once_across_kill_9(
    database_url: str, sink: tuple[Sink, int], command: tuple[str, ...]
) -> None:
    kept, port = sink
    ledger, numbers = owed_desk(database_url)
    owed = 2 * TICKETS
    chance = random.Random(SEED)
    if command[0] == "serve":
        command = ("serve", "--port", str(free_port()))
    try:
        left_owed = [kill_mid_send(database_url, port, command, kept, chance) for _ in range(KILLS)]
        # Each kill found notices still owed: it interrupted the sending.
        assert all(0 < left < owed for left in left_owed), f"seed {SEED}: {left_owed}"
        process = sender(database_url, port, *command)
        delivered = lambda: len({m["Message-ID"] for m in kept.messages})
        assert until(lambda: delivered() == owed, 90), f"seed {SEED}: {delivered()} of {owed}"
        recorded = lambda: sum(len(mailed(ledger, n)) for n in numbers)
        assert until(lambda: recorded() == owed, 30), f"seed {SEED}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    copies = Counter(m["Message-ID"] for m in kept.messages)
    assert sum(copies.values()) - len(copies) <= KILLS, f"seed {SEED}: {copies}"
    for number in numbers:
        ids = [f"<{e.message_id}>" for e in mailed(ledger, number)]
        assert len(ids) == len(set(ids)) == 2 and set(ids) <= set(copies)
    ledger.close()


def kill_mid_send(
    database_url: str, port: int, command: tuple[str, ...], kept: Sink, chance: random.Random
) -> int:
    """Starts a sender, kills it a random moment after its first message, and
    returns how many notices had not reached the relay yet."""
    process = sender(database_url, port, *command)
    before = len(kept.messages)
    assert until(lambda: len(kept.messages) > before, 60), f"seed {SEED}: none sent"
    time.sleep(chance.uniform(0, 0.15))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return 2 * TICKETS - len({m["Message-ID"] for m in kept.messages})


def mailed(ledger: TicketLedger, number: str) -> list[Ticket.NoticeMailed]:
    events = ledger.events_after(ledger.ticket(number).id, None)
    return [e for e in events if isinstance(e, Ticket.NoticeMailed)]
