"""A page of the log is applied with its rows kept in memory and written in
bulk (projections/store.py `PageRows`): whatever a projection does, it reads
what it would have read row by row, and the tables end the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ticketledger.projections.store import PageRows, ProjectionStore, Rows, Table
from ticketledger.service.ledger import TicketLedger

TABLE = Table("t", (("a", "TEXT"), ("b", "INTEGER"), ("v", "BIGINT")), key=("a", "b"))
Operation = tuple[Any, ...]

parts = st.sampled_from(["x", "y"])
numbers = st.integers(min_value=1, max_value=3)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), parts, numbers, st.integers(min_value=0, max_value=9)),
        st.tuples(st.just("get"), parts, numbers),
        st.tuples(st.just("delete"), parts, numbers),
        st.tuples(st.just("sweep"), parts),
        st.tuples(st.just("select"), parts),
        st.tuples(st.just("bump"), parts),
        st.tuples(st.just("flush")),
    ),
    max_size=25,
)


@pytest.fixture
def store(database_url: str) -> Iterator[ProjectionStore]:
    ledger = TicketLedger(database_url=database_url)
    store = ProjectionStore(ledger.factory.datastore)  # type: ignore[attr-defined]
    for prefix in ("row", "page"):
        store.create_tables(TABLE.ddl(store.qualify(f"{prefix}_t"), f"{prefix}_t"))
    yield store
    ledger.close()


def perform(rows: Rows, operation: Operation) -> Any:
    match operation:
        case ("put", a, b, v):
            rows.put("t", {"a": a, "b": b, "v": v})
        case ("get", a, b):
            return rows.get("t", a=a, b=b)
        case ("delete", a, b):
            rows.delete("t", a=a, b=b)
        case ("sweep", a):
            rows.delete("t", a=a)
        case ("select", a):
            return rows.all("SELECT * FROM {t} WHERE a = :a ORDER BY b", {"a": a})
        case ("bump", a):
            rows.execute("UPDATE {t} SET v = v + 1 WHERE a = :a", {"a": a})
        case ("flush",):
            rows.flush()
    return None


def run(store: ProjectionStore, kind: type[Rows], prefix: str, given: list[Operation]) -> Any:
    with store.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {store.qualify(f'{prefix}_t')}")
        rows = kind(cursor, store, prefix, (TABLE,))
        for setting in ({"a": "x", "b": 1, "v": 5}, {"a": "y", "b": 2, "v": 7}):
            Rows.put(rows, "t", setting)  # rows stored before the page began
        answers = [perform(rows, operation) for operation in given]
        rows.flush()
    with store.transaction(commit=False) as cursor:
        return answers, Rows(cursor, store, prefix, (TABLE,)).dump("t")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(given=operations)
# A row kept from before a deletion by part of its key is gone after the flush.
@example(given=[("get", "x", 1), ("sweep", "x"), ("flush",), ("get", "x", 1)])
def test_a_page_kept_in_memory_reads_and_leaves_what_row_by_row_writes_would(
    store: ProjectionStore, given: list[Operation]
) -> None:
    assert run(store, PageRows, "page", given) == run(store, Rows, "row", given)


def test_a_page_writes_nothing_to_the_database_before_it_is_flushed(
    store: ProjectionStore,
) -> None:
    table = store.qualify("page_t")
    with store.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {table}")
        rows = PageRows(cursor, store, "page", (TABLE,))
        rows.put("t", {"a": "x", "b": 1, "v": 1})
        cursor.execute(f"SELECT count(*) AS n FROM {table}")
        before = dict(cursor.fetchall()[0])["n"]
        rows.flush()
        cursor.execute(f"SELECT count(*) AS n FROM {table}")
        after = dict(cursor.fetchall()[0])["n"]
    assert (before, after) == (0, 1)
