"""Feeding projections from the ledger's notification log, exactly once.

A `ProjectionProcessor` owns one generation of one projection. It reads the
log in pages after its tracked position and applies a page and the new
tracking position in one transaction, through the library's tracking
recorder: the tracking insert refuses a position that does not move forward,
so a page delivered twice, or by two followers at once, commits only once.

`Projector` keeps every projection's live generation up to date: `catch_up()`
synchronously, or `start()` as background threads (the embedded default);
`ticketledger project --follow` runs the same loop in its own process.
`rebuild()` fills a new generation from zero while the old one serves, then
switches the live pointer in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, Tracking

from ticketledger.projections import quarantine
from ticketledger.projections.base import Projection
from ticketledger.projections.store import PageRows, ProjectionRecorder, ProjectionStore, Rows
from ticketledger.service.ledger import TicketLedger

PAGE_SIZE = 200
# Catching up (a rebuild, a follower far behind) takes larger pages: each page
# costs a transaction, a lock and a bulk write whatever its size, and a
# ticket's rows are written once a page however many of its events it holds;
# its rows and objects kept in memory are bounded by it. Measured on the demo
# desk's 9 137 events (SQLite): 1 000 a page 5 801 events/s, peak 72 MiB;
# 2 000, 6 392 events/s, 77 MiB; 5 000, 7 031 events/s, 92 MiB.
CATCH_UP_PAGE_SIZE = 2000
POLL_SECONDS = 0.2
# A reader's yes-or-no question: a boolean SQL expression in the SQL of
# `Rows`, and its parameters.
Question = tuple[str, Mapping[str, Any]]
# A query that always has its one row: what the live-generation guard is asked beside.
ONE_ROW: Question = ("SELECT 1 AS one", {})
# A follower whose database fails waits longer after each failure, up to this,
# so that it resumes within two seconds of the database's return.
MOST_BACKOFF_SECONDS = 2.0
log = logging.getLogger(__name__)


# Told what is being done, how far it got and where it ends (a log position).
Progress = Callable[[str, int, int], None]


class FollowerFailingError(RuntimeError):
    """A read waited on a projection whose follower cannot reach the log now."""

    def __init__(self, projection: str, cause: BaseException) -> None:
        super().__init__(f"projection {projection} cannot follow the log: {cause}")
        self.projection, self.cause = projection, cause


class Decoded:
    """One page's events decoded once for every projection that applies it. An
    event that cannot be decoded fails each projection's application of it, as
    decoding it there would (and each quarantines it by its own rules)."""

    def __init__(self, ledger: TicketLedger) -> None:
        self.ledger = ledger
        self.events: dict[int, Any] = {}
        self.failures: dict[int, Exception] = {}
        # The folds' steps the projections take on these events (Rows.folded).
        self.folds: dict[Any, tuple[Any, Any]] = {}

    def event(self, notification: Notification) -> Any:
        if notification.id in self.failures:
            raise self.failures[notification.id]
        if notification.id not in self.events:
            try:
                self.events[notification.id] = self.ledger.mapper.to_domain_event(notification)
            except Exception as error:
                self.failures[notification.id] = error
                raise
        return self.events[notification.id]


class ProjectionProcessor:
    """One generation of one projection's tables and its tracking position."""

    def __init__(
        self, ledger: TicketLedger, store: ProjectionStore, projection: Projection, generation: int
    ) -> None:
        self.ledger, self.store, self.projection = ledger, store, projection
        self.generation = generation
        self.prefix = f"{projection.name}_g{generation}"
        self.tables = (*projection.tables, quarantine.QUARANTINE)
        self.recorder: ProjectionRecorder = store.recorder(self.tracking_table, self.ddl())

    @property
    def tracking_table(self) -> str:
        return f"{self.prefix}_tracking"

    @property
    def table_names(self) -> list[str]:
        return [f"{self.prefix}_{t.name}" for t in self.tables] + [self.tracking_table]

    def ddl(self) -> list[str]:
        statements: list[str] = []
        for table in self.tables:
            name = f"{self.prefix}_{table.name}"
            statements += table.ddl(self.store.qualify(name), name)
        return statements

    def rows(self, cursor: Any, kind: type[Rows] = Rows) -> Rows:
        return kind(cursor, self.store, self.prefix, self.tables)

    @contextmanager
    def reading(self) -> Any:
        with self.store.reading() as cursor:
            yield self.rows(cursor)

    def position(self) -> int:
        return self.recorder.max_tracking_id(self.ledger.name) or 0

    def read_page(
        self, after: int, limit: int = PAGE_SIZE, stop: int | None = None
    ) -> Sequence[Notification]:
        return self.ledger.recorder.select_notifications(
            start=after, limit=limit, stop=stop, inclusive_of_start=False
        )

    def process(self, notifications: Sequence[Notification], decoded: Decoded | None = None) -> int:
        """Applies these notifications, which must follow the tracked position
        without a gap, in one transaction. Returns how many were applied: none
        when another follower got there first or they were applied before.

        A page is applied whole first; only when an event in it fails is the
        page applied again one event at a time, each under a savepoint, so the
        event that fails is quarantined and the rest of the page commits."""
        if not notifications:
            return 0
        decoded = decoded or Decoded(self.ledger)
        try:
            return self._process(notifications, decoded, careful=False)
        except IntegrityError:
            # The tracking recorder refused a position that does not move forward.
            return 0
        except Exception as error:
            if quarantine.is_transient(error):
                raise
        # Read before the page's transaction: on SQLite a read inside it would
        # wait for the writer connection that transaction holds.
        aggregates = {n.originator_id for n in notifications}
        contracts = {aggregate: self._contract_of(aggregate) for aggregate in aggregates}
        try:
            return self._process(notifications, decoded, careful=True, contracts=contracts)
        except IntegrityError:
            return 0

    def _process(
        self,
        notifications: Sequence[Notification],
        decoded: Decoded,
        *,
        careful: bool,
        contracts: dict[Any, str | None] | None = None,
    ) -> int:
        with self.store.transaction(commit=True) as cursor:
            self.store.lock(cursor, self.projection.name)
            position = self.store.tracked_position(self.recorder, cursor, self.ledger.name)
            fresh = [n for n in notifications if n.id > position]
            if not fresh:
                return 0
            # A page applied whole keeps its rows in memory and writes them in
            # bulk; applied event by event, each event's writes go at once, so
            # that a savepoint rolled back takes exactly that event's with it.
            rows = self.rows(cursor, Rows if careful else PageRows)
            rows.held = quarantine.held_ids(rows)
            rows.folds = decoded.folds
            rows.prefetch(continued(fresh))
            for notification in fresh:
                if str(notification.originator_id) in rows.held:
                    quarantine.skip(rows, notification)
                elif careful:
                    contract_id = (contracts or {}).get(notification.originator_id)
                    self._apply_or_quarantine(cursor, rows, decoded, notification, contract_id)
                else:
                    self._apply(rows, decoded, notification)
            rows.flush()
            tracking = Tracking(self.ledger.name, fresh[-1].id)
            self.store.insert_tracking(self.recorder, cursor, tracking)
            return len(fresh)

    def _apply(self, rows: Rows, decoded: Decoded, notification: Notification) -> None:
        self.projection.apply(decoded.event(notification), rows, notification.id)

    def _apply_or_quarantine(
        self,
        cursor: Any,
        rows: Rows,
        decoded: Decoded,
        notification: Notification,
        contract_id: str | None,
    ) -> None:
        cursor.execute("SAVEPOINT apply_event")
        try:
            self._apply(rows, decoded, notification)
        except Exception as error:
            if quarantine.is_transient(error):
                raise
            cursor.execute("ROLLBACK TO SAVEPOINT apply_event")
            self._quarantine(rows, notification, error, contract_id)
        cursor.execute("RELEASE SAVEPOINT apply_event")

    def _quarantine(
        self, rows: Rows, notification: Notification, error: Exception, contract_id: str | None
    ) -> None:
        log.error(
            "projection %s quarantines %s at position %d: %s",
            self.projection.name,
            notification.originator_id,
            notification.id,
            error,
            exc_info=error,
        )
        quarantine.put(rows, notification, error, contract_id)
        rows.held.add(str(notification.originator_id))

    def _contract_of(self, aggregate_id: Any) -> str | None:
        try:
            found = self.ledger.contract_id_of(UUID(str(aggregate_id)))
        except Exception as error:
            if quarantine.is_transient(error):
                raise
            return None  # its first event is unreadable too: the record says so
        return None if found is None else str(found)

    def quarantined(self) -> list[quarantine.Quarantined]:
        with self.reading() as rows:
            return quarantine.entries(rows, self.projection.name)

    def process_page(self, limit: int = PAGE_SIZE) -> int:
        return self.process(self.read_page(self.position(), limit))

    def catch_up(
        self,
        until: int | None = None,
        stop: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
    ) -> int:
        """Processes pages up to and including position `until` (the log's head
        when not given), never beyond it, or until `stop()` says so between two
        pages; tells `progress` the position after each page. Returns how many
        events were applied."""
        target = (self.ledger.recorder.max_notification_id() or 0) if until is None else until
        applied, position = 0, self.position()
        while position < target and not stop():
            page = self.read_page(position, CATCH_UP_PAGE_SIZE, stop=target)
            if not page:
                break
            applied += self.process(page)
            position = self.position()
            if progress is not None:
                progress(self.projection.name, position, target)
        return applied

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        with self.reading() as rows:
            return {t.name: rows.dump(t.name) for t in self.projection.tables}

    def snapshot(self) -> tuple[int, dict[str, list[dict[str, Any]]]]:
        """The tracked position and every row, read in one transaction under the
        projection's writer lock, so no follower applies a page between the
        reads (PostgreSQL reads each statement afresh at READ COMMITTED)."""
        with self.store.transaction(commit=True) as cursor:
            self.store.lock(cursor, self.projection.name)
            position = self.store.tracked_position(self.recorder, cursor, self.ledger.name)
            rows = self.rows(cursor)
            return position, {t.name: rows.dump(t.name) for t in self.projection.tables}

    def drop(self) -> None:
        with self.store.transaction(commit=True) as cursor:
            self.store.drop(cursor, self.table_names)


class Projector:
    """Keeps the live generation of each named projection up to date."""

    def __init__(
        self, ledger: TicketLedger, projections: Iterable[Projection], *, replica: bool = False
    ) -> None:
        """`replica`: the ledger reads a streaming replica of the database,
        where the primary's followers' work arrives by replication: this
        projector reads and waits, and never writes."""
        self.ledger = ledger
        self.replica = replica
        self.store = ProjectionStore.beside(ledger, replica=replica)
        self.projections = {p.name: p for p in projections}
        self._processors: dict[str, ProjectionProcessor] = {}
        # API request threads and follower threads look up processors together.
        self._lookup = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: dict[str, BaseException] = {}

    # The live generation.

    def processor(self, name: str) -> ProjectionProcessor:
        """The live generation's processor, following a switch made by a rebuild
        in this or another process; the first use makes generation 1 live."""
        live = self.store.live_generation(name)
        current = self._processors.get(name)
        if current is not None and current.generation == live:
            return current
        with self._lookup:
            current = self._processors.get(name)
            if current is not None and current.generation == live:
                return current
            if live is None:
                # On a replica, the first generation the primary will make.
                live = 1 if self.replica else self._make_first_generation(name)
            processor = ProjectionProcessor(self.ledger, self.store, self.projections[name], live)
            self._processors[name] = processor
            return processor

    def _make_first_generation(self, name: str) -> int:
        with self.store.transaction(commit=True) as cursor:
            self.store.lock(cursor, name)
            live = self.store.live_in(cursor, name)
            if live is None:
                live = max(self.store.generations(cursor, name), default=0) + 1
                self.store.set_state(cursor, name, live, "live")
        return live

    @contextmanager
    def reading(self, name: str, also: Question | None = None) -> Any:
        """The live generation's rows, read with the pointer to it on one
        connection (on SQLite in one transaction): never a generation that a
        rebuild retired before the query began. The generation this process
        follows is confirmed live by the statement that also asks whether its
        quarantine holds anything, which most reads then need not ask again,
        and the reader's own yes-or-no question `also` (SQL and parameters),
        answered in `Rows.also`."""
        current = self._processors.get(name)
        if current is not None:
            with self.store.reading() as cursor:
                rows = current.rows(cursor)
                if self._still_live(rows, name, current.generation, also):
                    yield rows
                    return
        while True:
            with self.store.reading() as cursor:
                live = self.store.live_in(cursor, name)
                current = self._processors.get(name)
                if current is not None and current.generation == live:
                    rows = current.rows(cursor)
                    if also is not None:
                        rows.also = answer(rows, also)
                    yield rows
                    return
            # A switch made meanwhile, or the first read: followed outside the
            # read transaction, since it may create the generation's tables.
            self.processor(name)

    @contextmanager
    def reading_one(
        self, name: str, query: Question, also: Question | None = None
    ) -> Iterator[tuple[Rows, dict[str, Any] | None]]:
        """As `reading`, with the first row of `query` (None when it has none):
        when this process follows the live generation and the row exists, read
        in the very statement that confirms the generation live and asks the
        rest; otherwise through `reading`, in a statement of its own."""
        current = self._processors.get(name)
        if current is not None:
            with self.store.reading() as cursor:
                rows = current.rows(cursor)
                found = self._one_if_live(rows, name, current.generation, query, also)
                if found is not None:
                    yield rows, found
                    return
        with self.reading(name, also) as rows:
            yield rows, rows.one(*query)

    def _one_if_live(
        self, rows: Rows, name: str, generation: int, query: Question, also: Question | None
    ) -> dict[str, Any] | None:
        """The query's first row, with the guard's answers beside it; None when
        there is no row, the generation is no longer live or the statement
        fails (its tables gone): the caller then reads the long way."""
        guard = {"g_name": name, "g_generation": generation}
        asked = {**query[1], **(also[1] if also else {}), **guard}
        try:
            found = rows.one(
                self.store.one_and_guard(query[0], None if also is None else also[0]), asked
            )
        except Exception:
            return None
        if found is None or found.pop("g_state") != "live":
            return None
        rows.holds_none = not found.pop("g_holds")
        if also is not None:
            rows.also = bool(found.pop("g_also"))
        return found

    def _still_live(
        self, rows: Rows, name: str, generation: int, also: Question | None = None
    ) -> bool:
        """Whether `generation` is still live, learning with it whether its
        quarantine holds anything (and the answer to `also`): the guard of
        `_one_if_live` over a query of one constant row. False too when its
        tables are gone (a second rebuild elsewhere drops a retired
        generation's): the caller then asks for the pointer again, and raises
        what persists."""
        return self._one_if_live(rows, name, generation, ONE_ROW, also) is not None

    # Keeping up.

    def catch_up(
        self,
        names: Sequence[str] | None = None,
        stop: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
    ) -> dict[str, int]:
        """Brings each projection up to the log's head, or as far as it got
        when `stop()` turned true (checked between pages)."""
        return {
            name: self.processor(name).catch_up(stop=stop, progress=progress)
            for name in names or self.projections
        }

    def position(self, name: str) -> int:
        return self.processor(name).position()

    def wait(self, position: int, names: Sequence[str] | None = None, timeout: float = 5.0) -> None:
        """Read your writes: blocks until each projection has applied the log up
        to `position`, or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        for name in names or self.projections:
            while self.processor(name).position() < position:
                if not self._threads and not self.replica:
                    self.processor(name).catch_up(position)
                    continue
                if time.monotonic() > deadline:
                    if name in self.errors:  # its follower may still recover: wait till then
                        raise FollowerFailingError(name, self.errors[name])
                    raise TimeoutError(f"projection {name} has not reached position {position}")
                time.sleep(0.01)

    def follow(self, name: str, poll: float = POLL_SECONDS) -> None:
        """Runs until stop(): processes pages as the log grows. While the
        database fails, it waits longer after each failure (up to two seconds)
        and resumes by itself once the database answers."""
        backoff = poll
        while not self._stopping.is_set():
            try:
                applied = self.processor(name).process_page()
            except Exception as error:
                log.warning("projection %s cannot follow the log (%s); retrying", name, error)
                self.errors[name] = error
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MOST_BACKOFF_SECONDS)
                continue
            self.errors.pop(name, None)
            backoff = poll
            if applied < PAGE_SIZE:
                # Caught up: what arrives meanwhile is applied as one page. A
                # follower that went on at once applied a page per command under
                # load, each its own transaction: more work than the commands.
                self._stopping.wait(poll)

    def start(self, names: Sequence[str] | None = None) -> None:
        """The embedded followers: one thread per projection."""
        self._stopping.clear()
        for name in names or self.projections:
            thread = threading.Thread(
                target=self.follow, args=(name,), name=f"projection-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    # Rebuilding.

    def rebuild(self, name: str) -> int:
        """Fills a new generation from zero while the live one keeps serving,
        then makes it live in one transaction. Returns the new generation."""
        return self.rebuild_together([name])[name]

    def rebuild_together(
        self, names: Sequence[str], progress: Progress | None = None
    ) -> dict[str, int]:
        """Rebuilds these projections in one pass over the log: each page is
        read and decoded once and applied by every new generation (each in its
        own transaction with its own tracking). Returns the new generations."""
        fresh = [self.begin_rebuild(name) for name in names]
        target = self.ledger.recorder.max_notification_id() or 0
        while True:
            behind = {p: p.position() for p in fresh}
            behind = {p: at for p, at in behind.items() if at < target}
            if not behind:
                break
            page = next(iter(behind)).read_page(
                min(behind.values()), CATCH_UP_PAGE_SIZE, stop=target
            )
            if not page:
                break
            decoded = Decoded(self.ledger)
            for processor, at in behind.items():
                processor.process([n for n in page if n.id > at], decoded)
            if progress is not None:
                progress("rebuild", page[-1].id, target)
        for processor in fresh:
            self.finish_rebuild(processor)
        return {p.projection.name: p.generation for p in fresh}

    def begin_rebuild(self, name: str, state: str = "building") -> ProjectionProcessor:
        """Creates the next generation's empty tables, not yet live; `state` says
        in the generations table what it is for."""
        with self.store.transaction(commit=True) as cursor:
            self.store.lock(cursor, name)
            generation = max(self.store.generations(cursor, name), default=0) + 1
            self.store.set_state(cursor, name, generation, state)
        return ProjectionProcessor(self.ledger, self.store, self.projections[name], generation)

    def discard(self, fresh: ProjectionProcessor) -> None:
        """Drops a generation that never went live, and its record."""
        name = fresh.projection.name
        with self.store.transaction(commit=True) as cursor:
            self.store.lock(cursor, name)
            if self.store.live_in(cursor, name) == fresh.generation:
                raise ValueError(f"generation {fresh.generation} of {name} is live")
            self.store.forget(cursor, name, fresh.generation)
            self.store.drop(cursor, fresh.table_names)

    def finish_rebuild(self, fresh: ProjectionProcessor) -> None:
        """Catches the new generation up to the log's head and switches to it."""
        self._switch(fresh.projection.name, fresh)

    def _switch(self, name: str, fresh: ProjectionProcessor) -> None:
        while True:
            with self.store.transaction(commit=True) as cursor:
                self.store.lock(cursor, name)
                head = self.ledger.recorder.max_notification_id() or 0
                position = self.store.tracked_position(fresh.recorder, cursor, self.ledger.name)
                if position >= head:
                    retired = self._retire(cursor, name, fresh.generation)
                    break
            fresh.catch_up()
        for generation in retired:
            ProjectionProcessor(self.ledger, self.store, self.projections[name], generation).drop()

    def _retire(self, cursor: Any, name: str, generation: int) -> list[int]:
        """Makes `generation` live, keeps the one it replaces for readers still
        on it, and returns the older ones to drop."""
        to_drop = []
        for other, state in self.store.generations(cursor, name).items():
            if other == generation:
                continue
            if state == "live":
                self.store.set_state(cursor, name, other, "retired")
            elif other < generation:
                to_drop.append(other)
                self.store.forget(cursor, name, other)
        self.store.set_state(cursor, name, generation, "live")
        return to_drop


def continued(page: Sequence[Notification]) -> list[str]:
    """The aggregates this page continues: those whose first event it does
    not hold, and whose rows, if any, were written before it."""
    first: dict[str, int] = {}
    for n in page:
        first.setdefault(str(n.originator_id), n.originator_version)
    return [aggregate for aggregate, version in first.items() if version > 1]


def answer(rows: Rows, question: Question) -> bool:
    found = rows.one(f"SELECT {question[0]} AS also", question[1])
    return bool(found and found["also"])
