"""Where events are stored: one setting, the database URL, picks the embedded
SQLite file (the default) or PostgreSQL. The recorders are the
library's own, extended so the database itself refuses to update or delete a
stored event, and so each event's link in its aggregate's hash chain is written
in the event's own transaction (service/chain.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal
from psycopg_pool import PoolTimeout

from ticketledger.service.chain import (
    CHAIN_SUFFIX,
    DIGESTS_SUFFIX,
    GENESIS,
    Unsealed,
    canonical_id,
    seal,
)
from ticketledger.service.group_commit import GroupCommit
from ticketledger.service.outcomes import CommandResult, OutcomeDraft, StoredOutcome

DEFAULT_SQLITE_FILE = "ticketledger.db"
REFUSALS: tuple[tuple[type[psycopg.Error], type[DatabaseError]], ...] = (
    (psycopg.IntegrityError, IntegrityError),
    (psycopg.DataError, DataError),
    (psycopg.InternalError, InternalError),
    (psycopg.OperationalError, OperationalError),
)
IMMUTABLE_MESSAGE = "ticketledger events are immutable"
SCHEMA_LOCK = 0x7469636B6C6467  # "tickldg": serialises table creation across processes
DIGEST_COLUMNS = (
    "position BIGINT PRIMARY KEY, leaves BIGINT NOT NULL, root TEXT NOT NULL, "
    "made_at TEXT NOT NULL, made_by TEXT NOT NULL"
)
# A keyed command's outcome, written in its events' transaction: after a crash
# at any instant a retry finds it, or finds that nothing was written.
OUTCOMES_SUFFIX = "_outcomes"
OUTCOME_COLUMNS = (
    "scope TEXT NOT NULL, request_key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
    "aggregate_id TEXT NOT NULL, version BIGINT NOT NULL, position BIGINT NOT NULL, "
    "number TEXT, held INTEGER NOT NULL, PRIMARY KEY (scope, request_key)"
)
OUTCOME_NAMES = "scope, request_key, fingerprint, aggregate_id, version, position, number, held"
# What a save gives of its outcome (`outcome_fields`): all of it but the
# position, known once inserted. A save of no keyed command gives none of it.
NO_OUTCOME = (None,) * (len(OUTCOME_NAMES.split(", ")) - 1)
# The saves of a batch on PostgreSQL (service/group_commit.py), in one
# statement and one transaction: each command's events, their chain links and
# its outcome in a subtransaction of their own, so a command refused (by a
# concurrent writer, most often) is refused alone and the rest commit. The
# link hash is service/chain.py's `link_hash`, spelt in SQL: the previous link,
# then one line each for position, aggregate, version and topic, then the
# stored bytes. Events of one aggregate chain in version order. Each command
# gets back its events' positions in the given order, or the SQLSTATE and
# message that refused it. The outcomes' arrays are NULL for a batch of no
# keyed command.
SAVE_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.{save}(
    given {schema}.{event}[], owner integer[], saves integer, o_scope text[], o_key text[],
    o_fingerprint text[], o_aggregate text[], o_version bigint[], o_number text[],
    o_held integer[])
RETURNS TABLE (command integer, log_position bigint, refused_code text, refused text)
LANGUAGE plpgsql AS $fn$
DECLARE
    c integer;
    r record;
    chained_id text;
    head text;
    positions bigint[];
BEGIN
    SET LOCAL lock_timeout = '{lock_timeout}s';
    LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE;
    NOTIFY {channel};
    FOR c IN 1 .. saves LOOP
        BEGIN
            positions := ARRAY[]::bigint[];
            chained_id := NULL;
            FOR r IN
                WITH numbered AS (
                    SELECT e.originator_id, e.originator_version, e.topic, e.state,
                        row_number() OVER (ORDER BY e.n) AS n
                    FROM unnest(given, owner) WITH ORDINALITY
                        AS e(originator_id, originator_version, topic, state, owned_by, n)
                    WHERE e.owned_by = c
                ), inserted AS (
                    INSERT INTO {schema}.{events} AS t
                        (originator_id, originator_version, topic, state)
                    SELECT m.originator_id, m.originator_version, m.topic, m.state
                    FROM numbered AS m ORDER BY m.n
                    RETURNING t.notification_id, t.originator_id, t.originator_version,
                        t.topic, t.state
                )
                SELECT i.notification_id, i.originator_id::uuid::text AS canonical_id,
                    i.originator_version, i.topic, i.state, m.n
                FROM inserted AS i JOIN numbered AS m
                    ON m.originator_id = i.originator_id
                    AND m.originator_version = i.originator_version
                ORDER BY canonical_id, i.originator_version
            LOOP
                IF chained_id IS DISTINCT FROM r.canonical_id THEN
                    chained_id := r.canonical_id;
                    head := coalesce(({last_link}), {genesis});
                END IF;
                head := encode(sha256(convert_to(
                    head || chr(10) || r.notification_id || chr(10) || chained_id || chr(10)
                    || r.originator_version || chr(10) || r.topic || chr(10), 'UTF8')
                    || r.state), 'hex');
                INSERT INTO {schema}.{chain}
                    (originator_id, originator_version, notification_id, hash)
                VALUES (chained_id, r.originator_version, r.notification_id, head);
                positions[r.n::integer] := r.notification_id;
            END LOOP;
            IF o_scope[c] IS NOT NULL THEN
                INSERT INTO {schema}.{outcomes} ({names}) VALUES (
                    o_scope[c], o_key[c], o_fingerprint[c], o_aggregate[c], o_version[c],
                    (SELECT max(p) FROM unnest(positions) AS p), o_number[c], o_held[c]);
            END IF;
            -- Last in the subtransaction: nothing after it can refuse the command.
            RETURN QUERY SELECT c, u.p, NULL::text, NULL::text
                FROM unnest(positions) WITH ORDINALITY AS u(p, k) ORDER BY u.k;
        EXCEPTION WHEN OTHERS THEN
            RETURN QUERY SELECT c, NULL::bigint, SQLSTATE::text, SQLERRM::text;
        END;
    END LOOP;
END
$fn$
"""


def once_more(method: Any) -> Any:
    """The library retries a failed database call ten times, 0.2 s apart, each
    attempt waiting up to the connect timeout for a connection: more than 20 s
    while the database is down, where a request must answer 503 within about
    two. A call that failed on a connection the server dropped is tried once
    more, on a fresh one; one that already waited out the timeout is not."""
    inner = getattr(method, "__wrapped__", method)

    @wraps(inner)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return inner(*args, **kwargs)
        except (InterfaceError, OperationalError) as error:
            if isinstance(error.__cause__, PoolTimeout):
                raise
            time.sleep(0.05)
            return inner(*args, **kwargs)

    return call


def outcome_fields(draft: OutcomeDraft) -> tuple[Any, ...]:
    """The outcome's columns but its position: the save's last event's."""
    request = draft.request
    return (
        request.scope,
        request.key,
        request.fingerprint,
        str(draft.aggregate_id),
        draft.version,
        draft.number,
        int(draft.held),
    )


def outcome_row(draft: OutcomeDraft, positions: Sequence[int]) -> tuple[Any, ...]:
    """The outcome's row in OUTCOME_NAMES order, its position the save's last."""
    scope, key, fingerprint, aggregate, version, number, held = outcome_fields(draft)
    return (scope, key, fingerprint, aggregate, version, max(positions), number, held)


def stored_outcome(row: Any) -> StoredOutcome:
    result = CommandResult(
        UUID(str(row["aggregate_id"])),
        int(row["version"]),
        int(row["position"]),
        row["number"],
        bool(row["held"]),
    )
    return StoredOutcome(str(row["fingerprint"]), result)


@dataclass(frozen=True)
class Save:
    """One command's save, as handed to the group commit."""

    events: tuple[StoredEvent, ...]
    outcome: OutcomeDraft | None


def answers(saves: int, rows: Sequence[Any]) -> list[list[int] | BaseException]:
    """Each save's positions, in its events' order, or the library's error for
    what refused it (a concurrent writer's conflict most often)."""
    found: list[list[int] | BaseException] = [[] for _ in range(saves)]
    for row in rows:
        command = int(row["command"]) - 1
        if row["refused_code"] is not None:
            found[command] = refusal(str(row["refused_code"]), str(row["refused"]))
        else:
            positions = found[command]
            assert isinstance(positions, list)
            positions.append(int(row["log_position"]))
    return found


def refusal(sqlstate: str, message: str) -> BaseException:
    """The library's error for the SQLSTATE, as its datastore translates the
    driver's: a unique violation is the conflict that decides a command again."""
    kind = psycopg.errors.lookup(sqlstate)
    for driver, library in REFUSALS:
        if issubclass(kind, driver):
            return library(message)
    return DatabaseError(message)


def sqlite_refusals(table: str, key: tuple[str, ...]) -> list[str]:
    """Triggers that make a table append-only. INSERT OR REPLACE deletes the row
    it replaces without firing DELETE triggers, so an insert onto an existing key
    is refused too. ABORT makes SQLite report a constraint failure: the library
    still sees a conflict."""
    refuse = f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END"
    existing = " AND ".join(f"{column} = NEW.{column}" for column in key)
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} {refuse}",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} {refuse}",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {existing}) {refuse}",
    ]


def unsealed(stored_events: Sequence[StoredEvent]) -> list[Unsealed]:
    return [
        Unsealed(canonical_id(s.originator_id), s.originator_version, s.topic, s.state)
        for s in stored_events
    ]


class ImmutableSQLiteRecorder(SQLiteApplicationRecorder):
    """Events, their chain links and the log's digests, all append-only; each
    event's link is written in the event's own transaction."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        # The base constructor builds the create statements, which name these.
        self.chain_table_name = events_table_name + CHAIN_SUFFIX
        self.digests_table_name = events_table_name + DIGESTS_SUFFIX
        self.outcomes_table_name = events_table_name + OUTCOMES_SUFFIX
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        chain, digests = self.chain_table_name, self.digests_table_name
        return [
            f"CREATE TABLE IF NOT EXISTS {self.outcomes_table_name} ({OUTCOME_COLUMNS})",
            *super().construct_create_table_statements(),
            *sqlite_refusals(self.events_table_name, ("originator_id", "originator_version")),
            f"CREATE TABLE IF NOT EXISTS {chain} (originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, notification_id INTEGER NOT NULL UNIQUE, "
            "hash TEXT NOT NULL, PRIMARY KEY (originator_id, originator_version))",
            *sqlite_refusals(chain, ("originator_id", "originator_version")),
            f"CREATE TABLE IF NOT EXISTS {digests} ({DIGEST_COLUMNS})",
            *sqlite_refusals(digests, ("position",)),
        ]

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        assert positions is not None  # the application recorder returns the new ids
        events = unsealed(stored_events)
        previous: dict[str, str] = {}
        for originator_id in {e.originator_id for e in events}:
            c.execute(
                f"SELECT hash FROM {self.chain_table_name} WHERE originator_id = ? "
                "ORDER BY originator_version DESC LIMIT 1",
                (originator_id,),
            )
            row = c.fetchone()
            if row is not None:
                previous[originator_id] = row[0]
        links = seal(events, list(positions), previous)
        c.executemany(
            f"INSERT INTO {self.chain_table_name} "
            "(originator_id, originator_version, notification_id, hash) VALUES (?, ?, ?, ?)",
            [(k.originator_id, k.version, k.position, k.hash) for k in links],
        )
        draft = kwargs.get("outcome")
        if isinstance(draft, OutcomeDraft):
            c.execute(
                f"INSERT INTO {self.outcomes_table_name} ({OUTCOME_NAMES}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                outcome_row(draft, positions),
            )
        return positions

    def find_outcome(self, scope: str, key: str) -> StoredOutcome | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT * FROM {self.outcomes_table_name} WHERE scope = ? AND request_key = ?",
                (scope, key),
            )
            row = c.fetchone()
        return None if row is None else stored_outcome(row)


class ImmutablePostgresRecorder(PostgresApplicationRecorder):
    """As on SQLite. A save is one statement, a call of the database function
    this recorder creates beside the library's tables (`SAVE_FUNCTION`): it
    takes the table lock, inserts the events, links each to its aggregate's
    chain once its log position is known, records the keyed command's outcome
    and commits, in one round trip. The library's pipelined insert took four,
    each waiting for the last, all of them under the lock."""

    select_events = once_more(PostgresApplicationRecorder.select_events)
    select_notifications = once_more(PostgresApplicationRecorder.select_notifications)
    max_notification_id = once_more(PostgresApplicationRecorder.max_notification_id)

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain_table_name = self.events_table_name + CHAIN_SUFFIX
        self.digests_table_name = self.events_table_name + DIGESTS_SUFFIX
        self.outcomes_table_name = self.events_table_name + OUTCOMES_SUFFIX
        schema = Identifier(datastore.schema)
        chain, digests = Identifier(self.chain_table_name), Identifier(self.digests_table_name)
        outcomes = Identifier(self.outcomes_table_name)
        refuse = Identifier(f"{self.events_table_name}_refuse_change")
        self.sql_create_statements += [
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{refuse}() RETURNS trigger "
                "LANGUAGE plpgsql AS $fn$ BEGIN "
                "RAISE EXCEPTION '{message}: % refused on %', TG_OP, TG_TABLE_NAME "
                "USING ERRCODE = 'restrict_violation'; END $fn$"
            ).format(schema=schema, refuse=refuse, message=SQL(IMMUTABLE_MESSAGE)),
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{chain} (originator_id text NOT NULL, "
                "originator_version bigint NOT NULL, notification_id bigint NOT NULL UNIQUE, "
                "hash text NOT NULL, PRIMARY KEY (originator_id, originator_version))"
            ).format(schema=schema, chain=chain),
            SQL("CREATE TABLE IF NOT EXISTS {schema}.{digests} ({columns})").format(
                schema=schema, digests=digests, columns=SQL(DIGEST_COLUMNS)
            ),
            SQL("CREATE TABLE IF NOT EXISTS {schema}.{outcomes} ({columns})").format(
                schema=schema, outcomes=outcomes, columns=SQL(OUTCOME_COLUMNS)
            ),
        ]
        for table in (self.events_table_name, self.chain_table_name, self.digests_table_name):
            self.sql_create_statements += postgres_refusals(datastore.schema, table, refuse)
        # The one-save function of earlier versions, replaced by the batch's.
        self.sql_create_statements.append(
            SQL("DROP FUNCTION IF EXISTS {schema}.{save}({event}[], {single})").format(
                schema=schema,
                save=Identifier(f"{self.events_table_name}_save"),
                event=Identifier(self.stored_event_type_name),
                single=SQL("text, text, text, text, bigint, text, integer"),
            )
        )
        save = Identifier(f"{self.events_table_name}_save_batch")
        self.sql_create_statements.append(self._save_function(save))
        # Rendered once: psycopg renders a composed query again at every call.
        self.call_save = (
            SQL(
                "SELECT * FROM {schema}.{save}(%s, %s::integer[], %s::integer, %s::text[], "
                "%s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::integer[])"
            )
            .format(schema=schema, save=save)
            .as_string()
        )
        self.group: GroupCommit[Save, list[int]] = GroupCommit(self.commit_batch)
        self.select_outcome = SQL(
            "SELECT * FROM {schema}.{outcomes} WHERE scope = %s AND request_key = %s"
        ).format(schema=schema, outcomes=outcomes)

    def last_link(self, aggregate: Composable) -> Composed:
        """The query of an aggregate's last link, by one step down the chain's
        key, not by reading every link of its history: a save's cost must not
        grow with the aggregate's events."""
        return SQL(
            "SELECT c.hash FROM {schema}.{chain} AS c WHERE c.originator_id = {aggregate} "
            "ORDER BY c.originator_version DESC LIMIT 1"
        ).format(
            schema=Identifier(self.datastore.schema),
            chain=Identifier(self.chain_table_name),
            aggregate=aggregate,
        )

    def _save_function(self, name: Identifier) -> Composed:
        return SQL(SAVE_FUNCTION).format(
            schema=Identifier(self.datastore.schema),
            save=name,
            event=Identifier(self.stored_event_type_name),
            events=Identifier(self.events_table_name),
            chain=Identifier(self.chain_table_name),
            outcomes=Identifier(self.outcomes_table_name),
            names=SQL(OUTCOME_NAMES),
            lock_timeout=SQL(str(self.datastore.lock_timeout)),
            channel=Identifier(self.channel_name),
            genesis=Literal(GENESIS),
            last_link=self.last_link(SQL("chained_id")),
        )

    @once_more
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        """Saves one command's events (and its outcome) in the next batch this
        process commits, and returns their log positions once durable."""
        if not stored_events:
            return []
        draft = kwargs.get("outcome")
        save = Save(tuple(stored_events), draft if isinstance(draft, OutcomeDraft) else None)
        return self.group.submit(save)

    def commit_batch(self, saves: Sequence[Save]) -> list[list[int] | BaseException]:
        """Every save of the batch in one call of the save function: each one's
        positions, or the error that refused it alone."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            # The pool's connections commit by themselves: the call is its own
            # transaction, acknowledged once durable.
            curs.execute(self.call_save, self.batch_parameters(saves), prepare=True)
            rows = curs.fetchall()
        return answers(len(saves), rows)

    def batch_parameters(self, saves: Sequence[Save]) -> tuple[Any, ...]:
        """The save function's arguments: every event, the number of the save
        it belongs to, how many saves, and each save's outcome columns."""
        events, owners = [], []
        for number, save in enumerate(saves, start=1):
            for e in save.events:
                events.append(
                    self.construct_pg_stored_event(
                        e.originator_id, e.originator_version, e.topic, e.state
                    )
                )
                owners.append(number)
        if not any(save.outcome for save in saves):
            # Each array costs its own dump at every call: none when none is needed.
            return (events, owners, len(saves), *NO_OUTCOME)
        outcomes = [outcome_fields(s.outcome) if s.outcome else NO_OUTCOME for s in saves]
        columns = (list(column) for column in zip(*outcomes, strict=True))
        return (events, owners, len(saves), *columns)

    def find_outcome(self, scope: str, key: str) -> StoredOutcome | None:
        with reading(self.datastore) as curs:
            curs.execute(self.select_outcome, (scope, key))
            row = curs.fetchone()
        return None if row is None else stored_outcome(row)

    def create_table(self) -> None:
        """Workers starting together would race on CREATE OR REPLACE (deadlocks,
        'tuple concurrently updated'); one at a time, under an advisory lock."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def postgres_refusals(schema_name: str, table_name: str, refuse: Identifier) -> list[Composed]:
    """Row and TRUNCATE triggers that make a table append-only."""
    schema, table = Identifier(schema_name), Identifier(table_name)
    return [
        SQL(
            "CREATE OR REPLACE TRIGGER {name} BEFORE UPDATE OR DELETE ON {schema}.{table} "
            "FOR EACH ROW EXECUTE FUNCTION {schema}.{refuse}()"
        ).format(
            name=Identifier(f"{table_name}_immutable_rows"),
            schema=schema,
            table=table,
            refuse=refuse,
        ),
        SQL(
            "CREATE OR REPLACE TRIGGER {name} BEFORE TRUNCATE ON {schema}.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}()"
        ).format(
            name=Identifier(f"{table_name}_no_truncate"),
            schema=schema,
            table=table,
            refuse=refuse,
        ),
    ]


@dataclass(frozen=True)
class StorageOptions:
    """How the ledger holds its database: the pool (PostgreSQL), and how long
    it waits to connect and for a lock, in seconds."""

    pool_size: int = 5
    pool_max_overflow: int = 10
    connect_timeout: float = 2
    lock_timeout: float = 10
    # A ledger that only reads creates nothing: a query against a mistyped
    # database says so instead of laying out an empty ledger there, and does
    # not replace the log's append-only triggers, which locks out writers.
    create_tables: bool = True


DEFAULT_STORAGE = StorageOptions()


def sqlite_env(path: str, options: StorageOptions) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": f"{options.lock_timeout:g}",
        "APPLICATION_RECORDER_TOPIC": get_topic(ImmutableSQLiteRecorder),
    }


def postgres_env(url: str, options: StorageOptions) -> dict[str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
        "POSTGRES_CONNECT_TIMEOUT": f"{options.connect_timeout:g}",
        "POSTGRES_LOCK_TIMEOUT": f"{options.lock_timeout:g}",
        "POSTGRES_POOL_SIZE": str(options.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(options.pool_max_overflow),
        "APPLICATION_RECORDER_TOPIC": get_topic(ImmutablePostgresRecorder),
    }


def persistence_env(
    url: str | None = None, options: StorageOptions = DEFAULT_STORAGE
) -> dict[str, str]:
    """The library's settings for a database URL: `postgresql://user:pw@host:port/db?schema=s`,
    `sqlite:///relative/or/absolute.db`, or nothing for ./ticketledger.db."""
    url = url or ""
    if url.startswith(("postgresql://", "postgres://")):
        env = postgres_env(url, options)
    elif url.startswith("sqlite:///") or not url:
        path = url.removeprefix("sqlite:///") or DEFAULT_SQLITE_FILE
        env = sqlite_env(str(Path(path)), options)
    else:
        raise ValueError(
            f"the database URL must start with postgresql:// or sqlite:///, not {url!r}"
        )
    return {**env, "CREATE_TABLE": "y" if options.create_tables else "n"}


@dataclass(frozen=True)
class LogTable:
    """A recorder's events table as a direct read asks it: its name, its log
    position column, the parameter mark and how an aggregate id is stored."""

    name: str
    position: str
    mark: str
    key: Callable[[UUID], Any]


def log_table(recorder: Any) -> LogTable | None:
    """The library reads an aggregate's events without their positions, so
    these reads ask its events table directly, read-only; None for a recorder
    without one."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return LogTable(recorder.events_table_name, "rowid", "?", lambda u: u.hex)
    if isinstance(recorder, PostgresApplicationRecorder):
        schema, table = recorder.datastore.schema, recorder.events_table_name
        return LogTable(f'"{schema}"."{table}"', "notification_id", "%s", lambda u: u)
    return None


def log_positions(recorder: Any, aggregate_id: UUID, after: int | None = None) -> dict[int, int]:
    """Each stored event's log position (notification id) by version, after
    version `after` when given; none from a recorder without an events table."""
    table = log_table(recorder)
    if table is None:
        return {}
    statement = (
        f"SELECT {table.position} AS position, originator_version AS version FROM {table.name} "
        f"WHERE originator_id = {table.mark} AND originator_version > {table.mark}"
    )
    with reading(recorder.datastore) as cursor:
        cursor.execute(statement, (table.key(aggregate_id), 0 if after is None else after))
        return {int(row["version"]): int(row["position"]) for row in cursor.fetchall()}


def logged_before_opening(recorder: Any, aggregate_id: UUID, opened_id: UUID) -> int:
    """How many of one aggregate's events the log holds before another's first
    event (all of them when that one has none), in one statement: what a
    ticket's contract was, in log order, when the ticket opened. None known
    from a recorder without an events table."""
    table = log_table(recorder)
    if table is None:
        return 0
    name, position, mark = table.name, table.position, table.mark
    statement = (
        f"SELECT count(*) AS known FROM {name} WHERE originator_id = {mark} AND {position} < "
        f"coalesce((SELECT {position} FROM {name} WHERE originator_id = {mark} "
        f"AND originator_version = 1), {2**63 - 1})"
    )
    with reading(recorder.datastore) as cursor:
        cursor.execute(statement, (table.key(aggregate_id), table.key(opened_id)))
        return int(cursor.fetchone()["known"])


@contextmanager
def reading(datastore: SQLiteDatastore | PostgresDatastore) -> Iterator[Any]:
    """A cursor for reads. On PostgreSQL each statement runs on its own (the
    pool's connections commit by themselves): at READ COMMITTED a transaction
    gives its statements no common snapshot anyway, and its BEGIN and ROLLBACK
    are two more round trips per query. On SQLite a read transaction is what
    gives its statements one snapshot."""
    if isinstance(datastore, PostgresDatastore):
        with datastore.cursor() as cursor:
            yield cursor
    else:
        with datastore.transaction(commit=False) as cursor:
            yield cursor
