"""Every storage test runs on SQLite and on PostgreSQL through the `ledger` fixture.

PostgreSQL is required, never skipped: when it cannot be reached the
PostgreSQL half fails with the reason."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from typer.testing import CliRunner

from tests.api_support import Api, make_app, running
from tests.support import ManualClock, at
from ticketledger.api.cli.main import app as cli
from ticketledger.projections.catalog import all_projections
from ticketledger.projections.runner import Projector
from ticketledger.service.ledger import TicketLedger

POSTGRES_URL = os.environ.get(
    "TICKETLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

LedgerFactory = Callable[..., TicketLedger]


def postgres_schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?schema={schema}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at("2026-10-05 12:00"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for the storage tests and is unreachable: {error}")
    yield postgres_schema_url(schema)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# The demo, loaded once per session and database, copied for each test that
# reads or changes it: a file copy on SQLite, a template database on PostgreSQL.


@dataclass(frozen=True)
class LoadedDemo:
    """What `ticketledger demo` printed when it loaded, and where it lies."""

    output: str
    place: str

    @property
    def ready_month(self) -> str:
        """The month the demo left ready to bill (the last before it was
        loaded), as its summary names it."""
        found = re.search(r"--month (\d{4}-\d{2})", self.output)
        assert found, self.output
        return found.group(1)

    @property
    def issued_month(self) -> str:
        """The month before: the demo issued it for its help-desk contracts."""
        year, month = map(int, self.ready_month.split("-"))
        return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


@dataclass(frozen=True)
class DemoCopy:
    loaded: LoadedDemo
    url: str


def postgres_database_url(database: str) -> str:
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path=f"/{database}", query=""))


def admin_sql(statement: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def loaded_demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LoadedDemo]]:
    """Loads lazily: the first test on a backend pays for its one load."""
    demos = LazyDemos(tmp_path_factory)
    yield demos
    demos.drop()


class LazyDemos(dict[str, LoadedDemo]):
    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        super().__init__()
        self.tmp_path_factory = tmp_path_factory

    def __missing__(self, backend: str) -> LoadedDemo:
        if backend == "sqlite":
            place = str(self.tmp_path_factory.mktemp("demo") / "demo.db")
            url = f"sqlite:///{place}"
        else:
            place = f"tl_demo_{uuid.uuid4().hex[:12]}"
            admin_sql(f'CREATE DATABASE "{place}"')
            url = postgres_database_url(place)
        result = CliRunner().invoke(cli, ["demo", "--database-url", url])
        assert result.exit_code == 0, result.output
        self[backend] = LoadedDemo(result.output, place)
        return self[backend]

    def drop(self) -> None:
        if "postgres" in self:
            admin_sql(f'DROP DATABASE IF EXISTS "{self["postgres"].place}"')


@pytest.fixture(params=["sqlite", "postgres"])
def demo(
    request: pytest.FixtureRequest, loaded_demos: dict[str, LoadedDemo], tmp_path: Path
) -> Iterator[DemoCopy]:
    """A fresh copy of the session's demo ledger, this test's own to change."""
    loaded = loaded_demos[request.param]
    if request.param == "sqlite":
        copy = tmp_path / "demo.db"
        shutil.copyfile(loaded.place, copy)
        yield DemoCopy(loaded, f"sqlite:///{copy}")
        return
    database = f"tl_copy_{uuid.uuid4().hex[:12]}"
    admin_sql(f'CREATE DATABASE "{database}" TEMPLATE "{loaded.place}"')
    yield DemoCopy(loaded, postgres_database_url(database))
    admin_sql(f'DROP DATABASE IF EXISTS "{database}"')


@pytest.fixture
def make_ledger(database_url: str, clock: ManualClock) -> Iterator[LedgerFactory]:
    """Opens ledgers on the test's database; a second one reads what the first wrote."""
    opened: list[TicketLedger] = []

    def make(**kwargs: object) -> TicketLedger:
        options: dict[str, object] = {"database_url": database_url, "clock": clock}
        options.update(kwargs)
        ledger = TicketLedger(**options)  # type: ignore[arg-type]
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(make_ledger: LedgerFactory) -> TicketLedger:
    return make_ledger()


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is not a passed one: the run fails and names it."""
    if _skipped and exitstatus == 0:
        print(f"\n{len(_skipped)} tests were skipped, which this suite does not allow:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1


@pytest.fixture
def projector(ledger: TicketLedger) -> Iterator[Projector]:
    """Every projection over the test's ledger, caught up by hand (no threads)."""
    projector = Projector(ledger, all_projections())
    yield projector
    projector.stop()


@pytest.fixture
def api(ledger: TicketLedger, clock: ManualClock) -> Iterator[Api]:
    """The HTTP API over the test's ledger, served by uvicorn on 127.0.0.1,
    with its projection followers running inside."""
    app, tokens = make_app(ledger)
    with running(app) as base:
        client = Api(base, tokens, clock, ledger, app=app)
        yield client
        client.http.close()
