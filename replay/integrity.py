"""Proof that nothing was altered: every aggregate's hash chain, and digests
over the whole log.

`verify` reads the stored events and the chain links the recorder wrote beside
them, both in log order, and recomputes each link from the event's stored bytes.
It never decodes an event, so an alteration that no longer decodes is found
like any other. Each finding names the event (log position, aggregate, version,
topic) where the record stops matching; the first one is where to look.

A digest is the Merkle root (replay/merkle.py) over the links recomputed from
the events alone, up to a log position. Rewriting an event together with its
link, and every later link of its chain, is invisible to the chain check; it
still changes the root of every digest made after the event, and an auditor who
kept a copy of an old digest (`ticketledger digests --export`) detects it even
if the stored digests were rewritten too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import IntegrityError, Notification

from ticketledger.projections.store import ProjectionStore
from ticketledger.replay.merkle import Frontier
from ticketledger.service.chain import GENESIS, canonical_id, link_hash
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.storage import ImmutablePostgresRecorder, ImmutableSQLiteRecorder

PAGE = 1000


@dataclass(frozen=True)
class StoredLink:
    originator_id: str
    version: int
    position: int
    hash: str


@dataclass(frozen=True)
class Digest:
    """The root over the first `leaves` events of the log, up to `position`."""

    position: int
    leaves: int
    root: str
    made_at: str
    made_by: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Digest:
        return cls(
            position=int(data["position"]),
            leaves=int(data["leaves"]),
            root=str(data["root"]),
            made_at=str(data["made_at"]),
            made_by=str(data["made_by"]),
        )


@dataclass(frozen=True)
class Finding:
    position: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.kind}: {self.message}"


def describe(originator_id: str, version: int, topic: str | None = None) -> str:
    what = f" ({topic})" if topic else ""
    return f"aggregate {originator_id} version {version}{what}"


@dataclass
class Scan:
    """One pass over the log, checking chains and digests as positions pass."""

    digests: list[Digest]
    findings: list[Finding] = field(default_factory=list)
    frontier: Frontier = field(default_factory=Frontier)
    pure: dict[str, str] = field(default_factory=dict)
    stored: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    head: int = 0
    checked: int = 0
    leaves: list[str] | None = None  # every recomputed link in log order, when asked
    wanted: frozenset[str] = frozenset()  # aggregates whose events a bundle collects
    collected: list[tuple[Notification, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.digests = sorted(self.digests, key=lambda d: d.position)

    def event(self, event: Notification, link: StoredLink | None) -> None:
        self.check_digests_before(event.id)
        originator_id = canonical_id(event.originator_id)
        version, topic = event.originator_version, event.topic
        pure = link_hash(
            self.pure.get(originator_id, GENESIS),
            event.id,
            originator_id,
            version,
            topic,
            payload_bytes(event.state),
        )
        self.pure[originator_id] = pure
        self.frontier.append(pure)
        if self.leaves is not None:
            self.leaves.append(pure)
        if originator_id in self.wanted:
            self.collected.append((event, self.frontier.size - 1, pure))
        self.head = event.id
        self.check_link(event, originator_id, link)

    def check_link(self, event: Notification, originator_id: str, link: StoredLink | None) -> None:
        version, what = (
            event.originator_version,
            describe(originator_id, event.originator_version, event.topic),
        )
        if link is None:
            self.found(event.id, "inserted", f"{what} has no chain link: the ledger never wrote it")
            return
        if (link.originator_id, link.version) != (originator_id, version):
            recorded = describe(link.originator_id, link.version)
            self.found(event.id, "moved", f"{what} stands where the chain recorded {recorded}")
            return
        expected_version = self.versions.get(originator_id, 0) + 1
        if version != expected_version:
            missing = f"versions {expected_version}..{version - 1}"
            self.found(event.id, "deleted", f"{missing} are missing before {what}")
        recomputed = link_hash(
            self.stored.get(originator_id, GENESIS),
            event.id,
            originator_id,
            version,
            event.topic,
            payload_bytes(event.state),
        )
        if not isinstance(event.state, bytes | bytearray | memoryview):
            # The ledger writes bytes only: a payload of another type was put there.
            kind = type(event.state).__name__
            self.found(event.id, "altered", f"{what} holds a {kind} payload, not stored bytes")
        elif recomputed != link.hash and version == expected_version:
            self.found(event.id, "altered", f"{what} does not match its chain link")
        self.stored[originator_id], self.versions[originator_id] = link.hash, version

    def orphan(self, link: StoredLink) -> None:
        what = describe(link.originator_id, link.version)
        self.found(link.position, "deleted", f"{what} has a chain link but no event")

    def found(self, position: int, kind: str, message: str) -> None:
        self.findings.append(Finding(position, kind, message))

    def check_digests_before(self, position: int | None) -> None:
        """Checks each digest whose position the log has now passed (all of them
        when `position` is None: the end of the log)."""
        while self.digests and (position is None or self.digests[0].position < position):
            digest = self.digests.pop(0)
            self.checked += 1
            root, leaves = self.frontier.root(), self.frontier.size
            if (root, leaves) != (digest.root, digest.leaves):
                self.found(
                    digest.position,
                    "digest",
                    f"the digest made at {digest.made_at} by {digest.made_by} over "
                    f"{digest.leaves} events (root {digest.root[:16]}…) no longer matches: the "
                    f"log up to position {digest.position} now gives {leaves} events, root "
                    f"{root[:16]}…",
                )


@dataclass(frozen=True)
class Report:
    events: int
    chains: int
    head: int
    digests_checked: int
    findings: list[Finding]
    root: str

    @property
    def ok(self) -> bool:
        return not self.findings

    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.position) if self.findings else None


class LogStore:
    """The stored events, the chain links and the digests of one ledger."""

    def __init__(self, ledger: TicketLedger) -> None:
        self.ledger = ledger
        recorder = ledger.recorder
        assert isinstance(recorder, ImmutableSQLiteRecorder | ImmutablePostgresRecorder)
        self.recorder = recorder
        self.store = ProjectionStore.beside(ledger)
        self.chain = self.store.qualify(self.recorder.chain_table_name)
        self.digests_table = self.store.qualify(self.recorder.digests_table_name)

    def events(self, after: int = 0, topics: Sequence[str] = ()) -> Iterator[Notification]:
        while True:
            page = self.recorder.select_notifications(
                start=after, limit=PAGE, topics=topics, inclusive_of_start=False
            )
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].id

    def links(self, after: int, until: int | None) -> list[StoredLink]:
        bound = "" if until is None else " AND notification_id <= :until"
        with self.store.transaction(commit=False) as cursor:
            rows = self.store.fetch(
                cursor,
                f"SELECT originator_id, originator_version, notification_id, hash "
                f"FROM {self.chain} WHERE notification_id > :after{bound} "
                "ORDER BY notification_id",
                {"after": after, "until": until},
            )
        return [
            StoredLink(
                str(r["originator_id"]),
                int(r["originator_version"]),
                int(r["notification_id"]),
                str(r["hash"]),
            )
            for r in rows
        ]

    def stored_digests(self) -> list[Digest]:
        with self.store.transaction(commit=False) as cursor:
            rows = self.store.fetch(cursor, f"SELECT * FROM {self.digests_table} ORDER BY position")
        return [Digest.from_json(r) for r in rows]

    def add_digest(self, digest: Digest) -> Digest:
        """Stores a digest; one made at the same position by a racing digester
        wins, and is returned (a different root there is reported by verify)."""
        try:
            with self.store.transaction(commit=True) as cursor:
                self.store.execute(
                    cursor,
                    f"INSERT INTO {self.digests_table} (position, leaves, root, made_at, made_by) "
                    "VALUES (:position, :leaves, :root, :made_at, :made_by)",
                    digest.to_json(),
                )
        except IntegrityError:
            return next(d for d in self.stored_digests() if d.position == digest.position)
        return digest


def scan(
    log: LogStore,
    digests: Sequence[Digest],
    *,
    wanted: frozenset[str] | None = None,
) -> Scan:
    """Merges the events and the links by log position, page by page. With
    `wanted`, it also keeps every leaf and those aggregates' events."""
    state = Scan(list(digests), leaves=None if wanted is None else [], wanted=wanted or frozenset())
    after = 0
    events = log.events()
    while True:
        page = [event for _, event in zip(range(PAGE), events, strict=False)]
        upper = page[-1].id if page else None
        links = {link.position: link for link in log.links(after, upper)}
        for event in page:
            state.event(event, links.pop(event.id, None))
        for link in links.values():
            state.orphan(link)
        if not page:
            break
        after = page[-1].id
    state.check_digests_before(None)
    return state


def verify(ledger: TicketLedger, kept: Sequence[Digest] = ()) -> Report:
    """Checks every chain, every stored digest and the digests an auditor kept."""
    log = LogStore(ledger)
    return report_of(scan(log, [*log.stored_digests(), *kept]))


def report_of(state: Scan) -> Report:
    return Report(
        events=state.frontier.size,
        chains=len(state.pure),
        head=state.head,
        digests_checked=state.checked,
        findings=sorted(state.findings, key=lambda f: f.position),
        root=state.frontier.root(),
    )


class BrokenLogError(Exception):
    """The log does not verify; a digest over it would vouch for the damage."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"the log does not verify: {report.first()}")
        self.report = report


def make_digest(ledger: TicketLedger, by: str, at: datetime) -> Digest:
    """Verifies the log, then stores a digest over all of it."""
    return scan_and_digest(LogStore(ledger), by, at)[0]


def scan_and_digest(
    log: LogStore, by: str, at: datetime, wanted: frozenset[str] | None = None
) -> tuple[Digest, Scan]:
    """One pass that verifies the log and stores a digest over what it read, so
    a bundle's events and the digest vouching for them come from the same read."""
    state = scan(log, log.stored_digests(), wanted=wanted)
    if state.findings:
        raise BrokenLogError(report_of(state))
    root = state.frontier.root()
    digest = Digest(state.head, state.frontier.size, root, at.isoformat(), by)
    return log.add_digest(digest), state


def stored_digests(ledger: TicketLedger) -> list[Digest]:
    return LogStore(ledger).stored_digests()


def read_digests(path: Path) -> list[Digest]:
    return [Digest.from_json(d) for d in json.loads(path.read_text("utf-8"))["digests"]]


def digests_document(digests: Sequence[Digest]) -> str:
    return json.dumps({"digests": [d.to_json() for d in digests]}, indent=2) + "\n"


def payload_bytes(state: object) -> bytes:
    """A stored payload as the bytes it hashes as; one changed to text (SQLite
    keeps any type in any column) hashes as its UTF-8, and is reported."""
    if isinstance(state, bytes | bytearray | memoryview):
        return bytes(state)
    return str(state).encode("utf-8")
