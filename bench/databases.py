"""A throwaway database per data set, and raw access to it through the same
driver the ledger uses: the baselines are measured on the same file or server,
with durability as configured (fsync and synchronous commit never turned off)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ADMIN_URL = os.environ.get(
    "TICKETLEDGER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ENGINES = ("postgresql", "sqlite")


@dataclass(frozen=True)
class Database:
    engine: str
    url: str

    def raw(self) -> Any:
        """A connection of the ledger's own driver, outside any transaction."""
        if self.engine == "sqlite":
            return sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
        return psycopg.connect(self.url, autocommit=True)

    @property
    def placeholder(self) -> str:
        return "?" if self.engine == "sqlite" else "%s"


@contextmanager
def throwaway(engine: str, place: Path, label: str) -> Iterator[Database]:
    if engine == "sqlite":
        yield Database(engine, f"sqlite:///{place / f'{label}.db'}")
        return
    name = f"tl_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        parts = urlsplit(ADMIN_URL)
        yield Database(engine, urlunsplit(parts._replace(path=f"/{name}", query="")))
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin(statement: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def server_version(database: Database) -> str:
    if database.engine == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with closing(database.raw()) as conn:
        return f"PostgreSQL {conn.execute('SHOW server_version').fetchone()[0]}"
