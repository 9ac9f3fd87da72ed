"""Where projections keep their rows: their own tables beside the event log, in
the same SQLite file or PostgreSQL schema, each kept by one of the library's
tracking recorders so that rows and the tracking position commit together.

A projection's tables live in generations (`ticket_state_g3_tickets`). Queries
read the live generation named in `projection_generations`; a rebuild fills a
new generation while the old one keeps serving, then flips that pointer in one
transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL
from pydantic import TypeAdapter

from ticketledger.domain.contract_state import ContractState
from ticketledger.domain.terms import STORED
from ticketledger.domain.ticket_state import TicketState
from ticketledger.service.storage import once_more, reading

if TYPE_CHECKING:
    from ticketledger.service.ledger import TicketLedger

Dialect = Literal["sqlite", "postgres"]
T = TypeVar("T")
Datastore = SQLiteDatastore | PostgresDatastore
GENERATIONS = "projection_generations"
# How long a projection's transaction may stay idle between its statements.
PAGE_IDLE_MS = 120_000
DDL_LOCK = 0x70726F6A646C  # serialises projection DDL across processes
PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
COLUMN_TYPES = frozenset({"TEXT", "BIGINT", "INTEGER"})
STAMP_LENGTH = len("2026-01-01T00:00:00.000000Z")
STATEMENTS_KEPT = 4096


def micros(duration: timedelta) -> int:
    """A duration as whole microseconds, exactly (no float on the way)."""
    return duration // timedelta(microseconds=1)


def span(microseconds: int) -> timedelta:
    return timedelta(microseconds=int(microseconds))


def stamp(instant: datetime) -> str:
    """Fixed-width UTC text, so instants sort as text on both databases."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unstamp(text: str) -> datetime:
    if len(text) != STAMP_LENGTH or text[-1] != "Z":
        raise ValueError(f"not a stamp: {text!r}")
    return datetime.fromisoformat(text)


def stamp_or_none(instant: datetime | None) -> str | None:
    return None if instant is None else stamp(instant)


def unstamp_or_none(text: str | None) -> datetime | None:
    return None if text is None else unstamp(text)


STATE_JSON = TypeAdapter(TicketState)


def state_text(state: TicketState) -> str:
    """A ticket's folded state as projections keep it beside their rows."""
    return STATE_JSON.dump_json(state).decode()


def state_from(text: str) -> TicketState:
    return STATE_JSON.validate_json(text)


CONTRACT_STATE_JSON = TypeAdapter(ContractState)


def contract_state_text(state: ContractState) -> str:
    """A contract's folded state as projections keep it beside their rows."""
    return CONTRACT_STATE_JSON.dump_json(state).decode()


@lru_cache(maxsize=256)
def contract_state_from(text: str) -> ContractState:
    """Parsed once per distinct text: the state is immutable, so the cache
    holds nothing that could change what a projection writes."""
    # Terms were checked when signed; a later tzdata must not make them unreadable.
    return CONTRACT_STATE_JSON.validate_json(text, context={STORED: True})


@dataclass(frozen=True)
class Table:
    """A projection table: portable column types, a primary key, indexes."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    # A table its projection reads by its key, an aggregate's id, at each of
    # the aggregate's events: a page reads the rows of all its aggregates at
    # once (PageRows.prefetch), not one query each.
    read_by_aggregate: bool = False

    def __post_init__(self) -> None:
        names = [c for c, _ in self.columns]
        for _, kind in self.columns:
            if kind not in COLUMN_TYPES:
                raise ValueError(f"{self.name}: column type {kind} is not portable")
        if not set(self.key) <= set(names) or any(not set(i) <= set(names) for i in self.indexes):
            raise ValueError(f"{self.name}: key and indexes must name its columns")
        if self.read_by_aggregate and len(self.key) != 1:
            raise ValueError(f"{self.name}: a table read by aggregate is keyed by it alone")

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @cached_property
    def column_set(self) -> frozenset[str]:
        return frozenset(self.column_names)

    @cached_property
    def upsert(self) -> str:
        """Inserts a row, or replaces the one with its key."""
        names = self.column_names
        updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in self.key)
        conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        return (
            f"INSERT INTO {{{self.name}}} ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + c for c in names)}) "
            f"ON CONFLICT ({', '.join(self.key)}) {conflict}"
        )

    def ddl(self, qualified: str, index_prefix: str) -> list[str]:
        columns = ", ".join(
            f"{c} {t}{' NOT NULL' if c in self.key else ''}" for c, t in self.columns
        )
        key = ", ".join(self.key)
        statements = [f"CREATE TABLE IF NOT EXISTS {qualified} ({columns}, PRIMARY KEY ({key}))"]
        for number, index in enumerate(self.indexes):
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {index_prefix}_i{number} ON {qualified} "
                f"({', '.join(index)})"
            )
        return statements


class Rows:
    """One transaction's access to one generation of a projection's tables.
    SQL names tables as {table} and parameters as :name on both databases."""

    def __init__(self, cursor: Any, store: ProjectionStore, prefix: str, tables: Sequence[Table]):
        self.cursor, self.store, self.prefix = cursor, store, prefix
        self.tables = {t.name: t for t in tables}
        # Aggregates this projection no longer follows (projections/quarantine.py),
        # as the processor applying a page knows them.
        self.held: set[str] = set()
        # Whether a reader learned with the live generation's pointer that this
        # generation holds nothing in quarantine (Projector.reading): its checks
        # then need no query of their own.
        self.holds_none = False
        # The answer to the reader's own question asked with that statement
        # (Projector.reading's `also`), None when it asked none.
        self.also: bool | None = None
        # The steps of the pure folds this page's projections took, shared
        # among them (Decoded.folds): None when not applying a page.
        self.folds: dict[Any, tuple[Any, Any]] | None = None

    def qualified(self, table: str) -> str:
        if table not in self.tables:
            raise KeyError(f"no table {table} in this projection")
        return self.store.qualify(f"{self.prefix}_{table}")

    def sql(self, text: str) -> str:
        # A projection sends the same few statements for every event: each is
        # translated once per generation.
        translated = self.store.translated.get((self.prefix, text))
        if translated is None:
            translated = PLACEHOLDER.sub(lambda m: self.qualified(m.group(1)), text)
            if self.store.dialect == "postgres":
                translated = PARAM.sub(lambda m: f"%({m.group(1)})s", translated)
            if len(self.store.translated) >= STATEMENTS_KEPT:  # generations come and go
                self.store.translated.clear()
            self.store.translated[(self.prefix, text)] = translated
        return translated

    def execute(self, text: str, params: Mapping[str, Any] | None = None) -> None:
        self.cursor.execute(self.sql(text), dict(params or {}))

    def all(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.execute(text, params)
        return [dict(row) for row in self.cursor.fetchall()]

    def one(self, text: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        rows = self.all(text, params)
        return rows[0] if rows else None

    def get(self, table: str, **key: Any) -> dict[str, Any] | None:
        return self.one(self.selection(table, key), key)

    def put(self, table: str, row: Mapping[str, Any]) -> None:
        """Inserts the row, or replaces the one with the same key."""
        self.execute(self.upsert(table, row), row)

    def upsert(self, table: str, row: Mapping[str, Any]) -> str:
        spec = self.tables[table]
        if row.keys() != spec.column_set:
            missing = spec.column_set - set(row)
            raise KeyError(f"{table}: row columns differ from the table's: {sorted(missing)}")
        return spec.upsert

    def delete(self, table: str, **columns: Any) -> None:
        """Deletes the rows with these column values (the whole key, or part)."""
        self.execute(self.deletion(table, columns), columns)

    def flush(self, tables: Iterable[str] | None = None) -> None:
        """Rows write at once: nothing waits to be sent."""

    def prefetch(self, aggregates: Sequence[str]) -> None:
        """Nothing to read ahead: rows are read when asked for."""

    # What a projection folds for one ticket, kept between its events.

    def folded(self, step: Any, event: Any, before: Any, fold: Callable[[], T]) -> T:
        """`fold()`: the value `before` becomes with `event`, by the pure fold
        `step` names (with whatever else it takes, such as the terms' hash).
        Another projection of the same page that took that step from an equal
        value answers it instead: the ticket's state and clocks are folded once
        a page, not once for every projection that keeps them."""
        if self.folds is None:
            return fold()
        key = (step, event.originator_id, event.originator_version)
        known = self.folds.get(key)
        if known is not None and (known[0] is before or known[0] == before):
            after: T = known[1]
            return after
        after = fold()
        self.folds[key] = (before, after)
        return after

    def kept_object(self, kind: str, key: str) -> Any | None:
        """The object kept under (kind, key) by this page's earlier events;
        None when there is none (always, event by event)."""
        return None

    def keep_object(self, kind: str, key: str, value: Any, write: Writer) -> None:
        """Writes `value`'s rows now, by `write(self, value)`. A page keeps the
        value instead, for the next event of the same key, and writes the rows
        of the last value it kept once: before the page ends, or before a read,
        write or statement reaches those rows (`Writer.rows` names them)."""
        write.write(self, value)

    def forget_object(self, kind: str, key: str) -> None:
        """Drops what is kept under (kind, key) without writing its rows."""

    def kept_or_stored(
        self, kind: str, key: str, table: str, decode: Callable[[dict[str, Any]], T]
    ) -> T | None:
        """The object kept under (kind, key) by this page's earlier events,
        else `decode` of the row of `key` in `table` (keyed by it alone), else
        None when it has no row."""
        kept: T | None = self.kept_object(kind, key)
        if kept is not None:
            return kept
        (column,) = self.tables[table].key
        row = self.get(table, **{column: key})
        return None if row is None else decode(row)

    @staticmethod
    def selection(table: str, columns: Mapping[str, Any]) -> str:
        return f"SELECT * FROM {{{table}}} WHERE {where(columns)}"

    @staticmethod
    def deletion(table: str, columns: Mapping[str, Any]) -> str:
        return f"DELETE FROM {{{table}}} WHERE {where(columns)}"

    def dump(self, table: str) -> list[dict[str, Any]]:
        """Every row in key order: what rebuild-equals-incremental compares."""
        spec = self.tables[table]
        return self.all(f"SELECT * FROM {{{table}}} ORDER BY {', '.join(spec.key)}")


def where(columns: Iterable[str]) -> str:
    """Equality on each column, its parameter named after it."""
    return " AND ".join(f"{k} = :{k}" for k in columns)


Key = tuple[Any, ...]
Kept = tuple[int, dict[str, Any] | None]  # when it was read or written, and the row


@dataclass(frozen=True)
class Writer:
    """How a kept object's rows are written, and which rows (table and full
    key) those are. Rows it writes by part of a key (a sweep) need no naming:
    a statement, or a read by part of a key, writes every kept object first."""

    write: Callable[[Rows, Any], None]
    rows: tuple[tuple[str, Key], ...]


Owner = tuple[str, str]  # a kept object's kind and key


class KeptObjects:
    """A page's kept objects: each one's value, writer and rows, and which
    still wait to be written."""

    def __init__(self) -> None:
        self.values: dict[Owner, Any] = {}
        self.writers: dict[Owner, Writer] = {}
        self.owners: dict[tuple[str, Key], Owner] = {}
        self.waiting: dict[Owner, None] = {}  # in the order kept

    def keep(self, owner: Owner, value: Any, writer: Writer) -> None:
        self.values[owner], self.writers[owner], self.waiting[owner] = value, writer, None
        for row in writer.rows:
            self.owners[row] = owner

    def forget(self, owner: Owner) -> None:
        self.values.pop(owner, None)
        self.waiting.pop(owner, None)
        writer = self.writers.pop(owner, None)
        for row in () if writer is None else writer.rows:
            self.owners.pop(row, None)

    def take_waiting(self, owner: Owner) -> tuple[Writer, Any] | None:
        """The writer and value of an object whose rows wait, now no longer waiting."""
        if self.waiting.pop(owner, False) is False:
            return None
        return self.writers[owner], self.values[owner]

    def owning(self, tables: Iterable[str]) -> list[Owner]:
        named = set(tables)
        return list({o for (table, _), o in self.owners.items() if table in named})


class PageRows(Rows):
    """Rows for applying one page of the log: rows read by their key are kept,
    and rows written are kept and sent to the database in bulk when the page
    ends (`flush`), one statement per table and kind instead of one per event.

    A projection always reads what it wrote: a read by key answers from what
    the page keeps, and a statement in the projection's own SQL first sends
    what the page holds for the tables it names (and forgets those tables'
    rows if it writes). The page's transaction commits only after the flush,
    with the tracking position, so a page is never applied in part."""

    def __init__(self, cursor: Any, store: ProjectionStore, prefix: str, tables: Sequence[Table]):
        super().__init__(cursor, store, prefix, tables)
        self.kept: dict[str, dict[Key, Kept]] = {t: {} for t in self.tables}
        self.pending: dict[str, set[Key]] = {t: set() for t in self.tables}
        # Deletions by part of a key: for each set of columns, the values
        # deleted and when; a row kept from before such a deletion is gone.
        self.sweeps: dict[str, dict[tuple[str, ...], dict[Key, int]]] = {t: {} for t in self.tables}
        self.ticks = 0
        # A ticket's folded objects, kept from event to event within the page:
        # their rows are written once a page, not once an event.
        self.objects = KeptObjects()
        self.writing_kept = False

    def kept_object(self, kind: str, key: str) -> Any | None:
        return self.objects.values.get((kind, key))

    def keep_object(self, kind: str, key: str, value: Any, write: Writer) -> None:
        self.objects.keep((kind, key), value, write)

    def forget_object(self, kind: str, key: str) -> None:
        self.objects.forget((kind, key))

    def _write_object(self, owner: Owner) -> None:
        waiting = self.objects.take_waiting(owner)
        if waiting is None:
            return
        writer, value = waiting
        # The writer's own writes and sweeps reach only its own rows.
        self.writing_kept = True
        try:
            writer.write(self, value)
        finally:
            self.writing_kept = False

    def _write_objects(self) -> None:
        for owner in list(self.objects.waiting):
            self._write_object(owner)

    def _before_reading(self, table: str, key: Key) -> None:
        owner = self.objects.owners.get((table, key))
        if owner is not None:
            self._write_object(owner)

    def _before_writing(self, table: str, key: Key) -> None:
        """A row of a kept object changed by anything but its writer: the
        object's rows are written first, and the object, now stale, forgotten."""
        owner = None if self.writing_kept else self.objects.owners.get((table, key))
        if owner is not None:
            self._write_object(owner)
            self.objects.forget(owner)

    def _before_changing(self, tables: Iterable[str]) -> None:
        """As `_before_writing`, for statements and sweeps that may change any
        row of these tables."""
        if self.writing_kept:
            return
        self._write_objects()
        for owner in self.objects.owning(tables):
            self.objects.forget(owner)

    def prefetch(self, aggregates: Sequence[str]) -> None:
        """Reads the rows these aggregates have in the tables read by
        aggregate, in one statement a table, and keeps them (and that the
        others have none) as reads by key would have. On PostgreSQL, where
        each of those reads was a round trip; SQLite reads in process."""
        if not aggregates or self.store.dialect != "postgres":
            return
        for name, spec in self.tables.items():
            if not spec.read_by_aggregate:
                continue
            (column,) = spec.key
            unknown = [a for a in aggregates if (a,) not in self.kept[name]]
            if not unknown:
                continue
            statement = f"SELECT * FROM {{{name}}} WHERE {column} = ANY(:aggregates)"
            self.execute(statement, {"aggregates": unknown})  # sends what the page holds first
            found = {str(row[column]): dict(row) for row in self.cursor.fetchall()}
            for aggregate in unknown:
                self.kept[name][(aggregate,)] = (self.tick(), found.get(aggregate))

    def tick(self) -> int:
        self.ticks += 1
        return self.ticks

    def key_of(self, table: str, columns: Mapping[str, Any]) -> Key | None:
        spec = self.tables[table]
        if len(columns) != len(spec.key) or set(columns) != set(spec.key):
            return None
        return tuple(columns[c] for c in spec.key)

    def get(self, table: str, **key: Any) -> dict[str, Any] | None:
        found = self.key_of(table, key)
        if found is None:
            self.flush((table,))
            return super().get(table, **key)
        self._before_reading(table, found)
        known, row = self._kept(table, found)
        if not known:
            row = None if self._swept_at(table, found) else self._stored(table, key)
            self.kept[table][found] = (self.tick(), row)
        return None if row is None else dict(row)

    def _stored(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        # Nothing of this key waits to be sent: the database's row is the row.
        Rows.execute(self, self.selection(table, key), key)
        found = self.cursor.fetchall()
        return dict(found[0]) if found else None

    def _kept(self, table: str, key: Key) -> tuple[bool, dict[str, Any] | None]:
        """Whether the page knows the row of this key, and the row (None when
        there is none)."""
        kept = self.kept[table].get(key)
        if kept is None:
            return False, None
        when, row = kept
        return True, None if self._swept_at(table, key) > when else row

    def _swept_at(self, table: str, key: Key) -> int:
        names = self.tables[table].key
        found = 0
        for columns, swept in self.sweeps[table].items():
            values = tuple(key[names.index(c)] for c in columns)
            found = max(found, swept.get(values, 0))
        return found

    def put(self, table: str, row: Mapping[str, Any]) -> None:
        self.upsert(table, row)  # checks the columns now, not at the flush
        key = tuple(row[c] for c in self.tables[table].key)
        self._before_writing(table, key)
        self.kept[table][key] = (self.tick(), dict(row))
        self.pending[table].add(key)

    def delete(self, table: str, **columns: Any) -> None:
        key = self.key_of(table, columns)
        if key is not None:
            self._before_writing(table, key)
            self.kept[table][key] = (self.tick(), None)
            self.pending[table].add(key)
        elif set(columns) <= set(self.tables[table].key):
            self._before_changing((table,))
            names = tuple(c for c in self.tables[table].key if c in columns)
            values = tuple(columns[c] for c in names)
            self.sweeps[table].setdefault(names, {})[values] = self.tick()
        else:
            self._before_changing((table,))
            self.flush((table,))
            super().delete(table, **columns)
            self.kept[table].clear()

    def execute(self, text: str, params: Mapping[str, Any] | None = None) -> None:
        named = [t for t in PLACEHOLDER.findall(text) if t in self.tables]
        changes = not text.lstrip().upper().startswith("SELECT")
        if changes:
            self._before_changing(named)
        self.flush(named)
        super().execute(text, params)
        if changes:
            for table in named:
                self.kept[table].clear()

    def flush(self, tables: Iterable[str] | None = None) -> None:
        """Sends what the page holds for these tables (all when not named),
        every kept object's rows written first."""
        self._write_objects()
        for table in self.tables if tables is None else tables:
            self._flush_table(table)

    def _flush_table(self, table: str) -> None:
        names = self.tables[table].key
        for columns, swept in self.sweeps[table].items():
            deleted = [dict(zip(columns, values, strict=True)) for values in swept]
            if deleted:
                self.cursor.executemany(self.sql(self.deletion(table, deleted[0])), deleted)
        gone: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []
        for key in self.pending[table]:
            row = self._kept(table, key)[1]
            if row is None:
                gone.append(dict(zip(names, key, strict=True)))
            else:
                kept.append(row)
        if self.sweeps[table]:
            now = self.tick()
            kept_rows = self.kept[table]
            for key, (when, _) in list(kept_rows.items()):
                if self._swept_at(table, key) > when:
                    kept_rows[key] = (now, None)
        self.sweeps[table].clear()
        self.pending[table].clear()
        if gone:
            self.cursor.executemany(self.sql(self.deletion(table, gone[0])), gone)
        if kept:
            self.cursor.executemany(self.sql(self.upsert(table, kept[0])), kept)


class SQLiteProjectionRecorder(SQLiteTrackingRecorder):
    """The library's SQLite tracking recorder, with its tracking table renamed
    per projection generation and the projection's tables created beside it."""

    def __init__(self, datastore: SQLiteDatastore, *, tracking_table: str, ddl: list[str]):
        self.tracking_table, self.projection_ddl = tracking_table, ddl
        super().__init__(datastore)
        self.insert_tracking_statement = self.renamed(self.insert_tracking_statement)
        self.select_max_tracking_id_statement = self.renamed(self.select_max_tracking_id_statement)

    def renamed(self, statement: str) -> str:
        return re.sub(r"\btracking\b(?=[ .(])", self.tracking_table, statement)

    def construct_create_table_statements(self) -> list[str]:
        tracking = [self.renamed(s) for s in super().construct_create_table_statements()]
        return [*tracking, *self.projection_ddl]

    def create_table(self) -> None:
        """The library checks whether the table exists before its transaction, so
        a process creating it at the same moment makes its first-row insert find
        the row there already. Looked at again, the table exists and is kept."""
        try:
            super().create_table()
        except IntegrityError:
            super().create_table()


class PostgresProjectionRecorder(PostgresTrackingRecorder):
    max_tracking_id = once_more(PostgresTrackingRecorder.max_tracking_id)
    insert_tracking = once_more(PostgresTrackingRecorder.insert_tracking)
    has_tracking_id = once_more(PostgresTrackingRecorder.has_tracking_id)

    def __init__(self, datastore: PostgresDatastore, *, tracking_table: str, ddl: list[str]):
        super().__init__(datastore, tracking_table_name=tracking_table)
        self.sql_create_statements += [SQL(s) for s in ddl]  # type: ignore[misc]

    def create_table(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK,))


ProjectionRecorder = SQLiteProjectionRecorder | PostgresProjectionRecorder


class ProjectionStore:
    """The projections' side of the ledger's database."""

    def __init__(self, datastore: Datastore, *, replica: bool = False) -> None:
        """`replica`: a read-only copy of the database (a streaming replica),
        whose tables its primary creates: none is created here."""
        self.datastore = datastore
        self.replica = replica
        self.translated: dict[tuple[str, str], str] = {}
        self.dialect: Dialect = "sqlite" if isinstance(datastore, SQLiteDatastore) else "postgres"
        if not replica:
            self._create_generations_table()

    @classmethod
    def beside(cls, ledger: TicketLedger, *, replica: bool = False) -> ProjectionStore:
        """The tables a ledger's database holds beside its events."""
        datastore: Datastore = ledger.factory.datastore  # type: ignore[attr-defined]
        return cls(datastore, replica=replica)

    def qualify(self, name: str) -> str:
        if isinstance(self.datastore, PostgresDatastore):
            return f'"{self.datastore.schema}"."{name}"'
        return f'"{name}"'

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            if self.dialect == "postgres":
                # A page is applied in memory inside its transaction and sends
                # nothing until it writes at its end: seconds, for a page of busy
                # tickets on a loaded machine. The library's 5 s limit on a
                # transaction left idle (meant for a leaked one) cut such a page
                # short, and the follower retried the same page for ever.
                cursor.execute(f"SET LOCAL idle_in_transaction_session_timeout = {PAGE_IDLE_MS}")
            yield cursor

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor for reads (service/storage.py `reading`)."""
        with reading(self.datastore) as cursor:
            yield cursor

    def execute(self, cursor: Any, text: str, params: Mapping[str, Any] | None = None) -> None:
        if self.dialect == "postgres":
            text = PARAM.sub(lambda m: f"%({m.group(1)})s", text)
        cursor.execute(text, dict(params or {}))

    def fetch(
        self, cursor: Any, text: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.execute(cursor, text, params)
        return [dict(row) for row in cursor.fetchall()]

    def lock(self, cursor: Any, name: str) -> None:
        """Serialises writers of one projection until the transaction ends: an
        advisory lock on PostgreSQL; on SQLite a write that takes the file's
        write lock now, waiting its turn, instead of failing at commit."""
        if self.dialect == "postgres":
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"projection:{name}",))
        else:
            self.execute(
                cursor,
                f"UPDATE {self.qualify(GENERATIONS)} SET name = name WHERE name = :name",
                {"name": name},
            )

    def _create_generations_table(self) -> None:
        statement = (
            f"CREATE TABLE IF NOT EXISTS {self.qualify(GENERATIONS)} ("
            "name TEXT NOT NULL, generation INTEGER NOT NULL, state TEXT NOT NULL, "
            "PRIMARY KEY (name, generation))"
        )
        self.create_tables([statement])

    def create_tables(self, statements: Sequence[str]) -> None:
        """Runs `CREATE ... IF NOT EXISTS` statements; on PostgreSQL under an
        advisory lock, as concurrent creation of one table can fail there."""
        with self.transaction(commit=True) as cursor:
            if self.dialect == "postgres":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
            for statement in statements:
                cursor.execute(statement)

    def one_and_guard(self, query: str, also: str | None = None) -> str:
        """The first row of `query` with, beside it, the state of the generation
        :g_name :g_generation, whether its quarantine holds any aggregate, and
        the boolean SQL expression `also` (as g_state, g_holds and g_also), in
        one statement in the SQL of `Rows`: no row when the query has none."""
        asked = "" if also is None else f", {also} AS g_also"
        return (
            "SELECT q.*, g.state AS g_state, EXISTS (SELECT 1 FROM {quarantine}) AS g_holds"
            f"{asked} FROM ({query}) AS q, {self.qualify(GENERATIONS)} AS g "
            "WHERE g.name = :g_name AND g.generation = :g_generation LIMIT 1"
        )

    def generations(self, cursor: Any, name: str) -> dict[int, str]:
        rows = self.fetch(
            cursor,
            f"SELECT generation, state FROM {self.qualify(GENERATIONS)} WHERE name = :name",
            {"name": name},
        )
        return {int(r["generation"]): str(r["state"]) for r in rows}

    def live_generation(self, name: str) -> int | None:
        with self.reading() as cursor:
            return self.live_in(cursor, name)

    def live_in(self, cursor: Any, name: str) -> int | None:
        live = [g for g, state in self.generations(cursor, name).items() if state == "live"]
        return live[0] if live else None

    def set_state(self, cursor: Any, name: str, generation: int, state: str) -> None:
        params = {"name": name, "generation": generation, "state": state}
        self.execute(
            cursor,
            f"INSERT INTO {self.qualify(GENERATIONS)} (name, generation, state) "
            "VALUES (:name, :generation, :state) "
            "ON CONFLICT (name, generation) DO UPDATE SET state = excluded.state",
            params,
        )

    def forget(self, cursor: Any, name: str, generation: int) -> None:
        self.execute(
            cursor,
            f"DELETE FROM {self.qualify(GENERATIONS)} WHERE name = :name "
            "AND generation = :generation",
            {"name": name, "generation": generation},
        )

    def recorder(self, tracking_table: str, ddl: list[str]) -> ProjectionRecorder:
        recorder: ProjectionRecorder
        if isinstance(self.datastore, SQLiteDatastore):
            recorder = SQLiteProjectionRecorder(
                self.datastore, tracking_table=tracking_table, ddl=ddl
            )
        else:
            recorder = PostgresProjectionRecorder(
                self.datastore, tracking_table=tracking_table, ddl=ddl
            )
        if not self.replica:
            recorder.create_table()
        return recorder

    def drop(self, cursor: Any, names: Sequence[str]) -> None:
        for table in names:
            cursor.execute(f"DROP TABLE IF EXISTS {self.qualify(table)}")

    @staticmethod
    def insert_tracking(recorder: ProjectionRecorder, cursor: Any, tracking: Tracking) -> None:
        recorder._insert_tracking(cursor, tracking)

    @staticmethod
    def tracked_position(recorder: ProjectionRecorder, cursor: Any, application: str) -> int:
        return recorder._max_tracking_id(application, cursor) or 0
