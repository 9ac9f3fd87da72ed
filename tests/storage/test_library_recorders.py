"""The eventsourcing library's own recorder test cases, run against ticketledger's
recorders (which also seal every event into its aggregate's hash chain), on
SQLite and on PostgreSQL. Plus one check the library cannot make: after all its
inserts, every chain still verifies."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests import persistence as library

from tests.conftest import POSTGRES_URL
from ticketledger.service.chain import GENESIS, canonical_id, link_hash
from ticketledger.service.storage import ImmutablePostgresRecorder, ImmutableSQLiteRecorder


def chains_verify(recorder: Any, links: dict[tuple[str, int], tuple[int, str]]) -> bool:
    """Recomputes every chain from the recorder's notifications and the links table."""
    heads: dict[str, str] = {}
    notifications = recorder.select_notifications(start=None, limit=1_000_000)
    for n in notifications:
        key = (canonical_id(n.originator_id), n.originator_version)
        prior = heads.get(key[0], GENESIS)
        expected = link_hash(prior, n.id, key[0], key[1], n.topic, n.state)
        if links.get(key) != (n.id, expected):
            return False
        heads[key[0]] = expected
    return len(links) == len(notifications)


class SQLiteCase:
    """A fresh SQLite file per test, as concurrency needs a real file."""

    def setUp(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.datastore = SQLiteDatastore(str(Path(self.folder.name) / "events.db"))
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.folder.cleanup()

    def create_recorder(self) -> ImmutableSQLiteRecorder:
        recorder = ImmutableSQLiteRecorder(self.datastore)
        recorder.create_table()
        self.recorders = [*getattr(self, "recorders", []), recorder]
        return recorder

    def links(self) -> dict[tuple[str, int], tuple[int, str]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT * FROM stored_events_chain")
            return {
                (r["originator_id"], r["originator_version"]): (r["notification_id"], r["hash"])
                for r in c.fetchall()
            }


class PostgresCase:
    """A fresh schema per test."""

    def setUp(self) -> None:
        self.schema = f"lib_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        parts = urlsplit(POSTGRES_URL)
        self.datastore = PostgresDatastore(
            dbname=parts.path.lstrip("/") or "postgres",
            host=parts.hostname or "127.0.0.1",
            port=str(parts.port or 5432),
            user=parts.username or "postgres",
            password=parts.password or "",
            schema=self.schema,
            pool_size=8,
        )
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')

    def create_recorder(self) -> ImmutablePostgresRecorder:
        recorder = ImmutablePostgresRecorder(self.datastore)
        recorder.create_table()
        self.recorders = [*getattr(self, "recorders", []), recorder]
        return recorder

    def links(self) -> dict[tuple[str, int], tuple[int, str]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f'SELECT * FROM "{self.schema}".stored_events_chain')
            return {
                (r["originator_id"], r["originator_version"]): (r["notification_id"], r["hash"])
                for r in curs.fetchall()
            }


class ChainsStillVerify:
    """After each library test, the chains it left behind verify."""

    def tearDown(self) -> None:
        recorders = getattr(self, "recorders", [])
        if recorders:
            assert chains_verify(recorders[0], self.links())  # type: ignore[attr-defined]
        super().tearDown()  # type: ignore[misc]


class TestSQLiteApplicationRecorder(
    SQLiteCase, ChainsStillVerify, library.ApplicationRecorderTestCase[ImmutableSQLiteRecorder]
):
    pass


class TestSQLiteNonInterleavingNotificationIds(
    SQLiteCase, ChainsStillVerify, library.NonInterleavingNotificationIDsBaseCase
):
    pass


class TestPostgresApplicationRecorder(
    PostgresCase,
    ChainsStillVerify,
    library.ApplicationRecorderTestCase[ImmutablePostgresRecorder],
):
    pass


class TestPostgresNonInterleavingNotificationIds(
    PostgresCase, ChainsStillVerify, library.NonInterleavingNotificationIDsBaseCase
):
    pass
