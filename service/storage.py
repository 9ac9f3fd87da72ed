"""Where events are stored: one setting, TICKETLEDGER_DATABASE_URL, picks the
embedded SQLite file (the default) or PostgreSQL. The recorders are the
library's own, extended only so the database itself refuses to update or
delete a stored event."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

DATABASE_URL = "TICKETLEDGER_DATABASE_URL"
DEFAULT_SQLITE_FILE = "ticketledger.db"
IMMUTABLE_MESSAGE = "ticketledger events are immutable"
SCHEMA_LOCK = 0x7469636B6C6467  # "tickldg": serialises table creation across processes


class ImmutableSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        table = self.events_table_name
        refuse = f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END"
        # INSERT OR REPLACE deletes the row it replaces without firing DELETE
        # triggers, so an insert onto an existing key is refused too. ABORT makes
        # SQLite report a constraint failure: the library still sees a conflict.
        existing = (
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE originator_id = NEW.originator_id "
            "AND originator_version = NEW.originator_version)"
        )
        return [
            *super().construct_create_table_statements(),
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} {refuse}",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} {refuse}",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
            f"{existing} {refuse}",
        ]


class ImmutablePostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema, table = Identifier(datastore.schema), Identifier(self.events_table_name)
        refuse = Identifier(f"{self.events_table_name}_refuse_change")
        self.sql_create_statements += [
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{refuse}() RETURNS trigger "
                "LANGUAGE plpgsql AS $fn$ BEGIN "
                "RAISE EXCEPTION '{message}: % refused on %', TG_OP, TG_TABLE_NAME "
                "USING ERRCODE = 'restrict_violation'; END $fn$"
            ).format(schema=schema, refuse=refuse, message=SQL(IMMUTABLE_MESSAGE)),
            SQL(
                "CREATE OR REPLACE TRIGGER {name} BEFORE UPDATE OR DELETE ON {schema}.{table} "
                "FOR EACH ROW EXECUTE FUNCTION {schema}.{refuse}()"
            ).format(
                name=Identifier(f"{self.events_table_name}_immutable_rows"),
                schema=schema,
                table=table,
                refuse=refuse,
            ),
            SQL(
                "CREATE OR REPLACE TRIGGER {name} BEFORE TRUNCATE ON {schema}.{table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}()"
            ).format(
                name=Identifier(f"{self.events_table_name}_no_truncate"),
                schema=schema,
                table=table,
                refuse=refuse,
            ),
        ]

    def create_table(self) -> None:
        """Workers starting together would race on CREATE OR REPLACE (deadlocks,
        'tuple concurrently updated'); one at a time, under an advisory lock."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def sqlite_env(path: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "10",
        "APPLICATION_RECORDER_TOPIC": get_topic(ImmutableSQLiteRecorder),
    }


def postgres_env(url: str) -> dict[str, str]:
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
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "APPLICATION_RECORDER_TOPIC": get_topic(ImmutablePostgresRecorder),
    }


def persistence_env(url: str | None = None) -> dict[str, str]:
    """The library's settings for a database URL: `postgresql://user:pw@host:port/db?schema=s`,
    `sqlite:///relative/or/absolute.db`, or nothing for ./ticketledger.db."""
    url = url or os.environ.get(DATABASE_URL) or ""
    if url.startswith(("postgresql://", "postgres://")):
        env = postgres_env(url)
    elif url.startswith("sqlite:///") or not url:
        path = url.removeprefix("sqlite:///") or DEFAULT_SQLITE_FILE
        env = sqlite_env(str(Path(path)))
    else:
        raise ValueError(f"{DATABASE_URL} must start with postgresql:// or sqlite:///, not {url!r}")
    return {**env, "CREATE_TABLE": "y"}
