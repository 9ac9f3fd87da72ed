"""A page of the log is applied with its rows kept in memory and written in
bulk (projections/store.py `PageRows`), and the objects a projection folds for
a ticket kept from event to event, their rows written once: whatever a
projection does, it reads what it would have read row by row, and the tables
end the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ticketledger.projections.store import PageRows, ProjectionStore, Rows, Table, Writer
from ticketledger.service.ledger import TicketLedger

TABLE = Table("t", (("a", "TEXT"), ("b", "INTEGER"), ("v", "BIGINT")), key=("a", "b"))
# Rows a kept object writes by part of their key, as the deadlines of a watch.
DUE = Table("d", (("a", "TEXT"), ("r", "INTEGER"), ("v", "BIGINT")), key=("a", "r"))
# Rows read by their aggregate alone, which a page may read ahead.
AHEAD = Table("p", (("a", "TEXT"), ("v", "BIGINT")), key=("a",), read_by_aggregate=True)
TABLES = (TABLE, DUE, AHEAD)
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
        st.tuples(st.just("fold"), parts, st.integers(min_value=1, max_value=9)),
        st.tuples(st.just("watch"), parts, st.integers(min_value=0, max_value=9)),
        st.tuples(st.just("forget"), parts),
        st.tuples(st.just("due"), parts),
        st.tuples(st.just("ahead"), parts, st.integers(min_value=0, max_value=9)),
        st.tuples(st.just("read"), parts),
        st.tuples(st.just("prefetch"), st.lists(parts, max_size=2)),
        st.tuples(st.just("clear")),
    ),
    max_size=25,
)


@pytest.fixture
def store(database_url: str) -> Iterator[ProjectionStore]:
    ledger = TicketLedger(database_url=database_url)
    store = ProjectionStore(ledger.factory.datastore)  # type: ignore[attr-defined]
    for prefix in ("row", "page"):
        for table in TABLES:
            name = f"{prefix}_{table.name}"
            store.create_tables(table.ddl(store.qualify(name), name))
    yield store
    ledger.close()


def write_total(rows: Rows, kept: tuple[str, int]) -> None:
    a, total = kept
    rows.put("t", {"a": a, "b": 1, "v": total})


def write_watch(rows: Rows, kept: tuple[str, int]) -> None:
    """Its row, and its due rows in place of those it gave before."""
    a, v = kept
    rows.put("t", {"a": a, "b": 3, "v": v})
    rows.delete("d", a=a)
    for r in range(v % 3 + 1):
        rows.put("d", {"a": a, "r": r, "v": v})


def fold(rows: Rows, a: str, delta: int) -> int:
    """A running total kept as a projection keeps a ticket's state: the kept
    object when the page has one, else the stored row."""
    kept = rows.kept_object("total", a)
    if kept is None:
        row = rows.get("t", a=a, b=1)
        kept = (a, 0 if row is None else int(row["v"]))
    total = kept[1] + delta
    rows.keep_object("total", a, (a, total), Writer(write_total, (("t", (a, 1)),)))
    return total


def perform_ahead(rows: Rows, operation: Operation) -> Any:
    """On the table a page may read ahead by aggregate."""
    match operation:
        case ("ahead", a, v):
            rows.put("p", {"a": a, "v": v})
        case ("read", a):
            return rows.get("p", a=a)
        case ("prefetch", aggregates):
            rows.prefetch(aggregates)
        case ("clear",):
            rows.execute("DELETE FROM {p}")
    return None


def perform_kept(rows: Rows, operation: Operation) -> Any:
    """With objects kept as projections keep a ticket's folds."""
    match operation:
        case ("fold", a, delta):
            return fold(rows, a, delta)
        case ("watch", a, v):
            rows.keep_object("watch", a, (a, v), Writer(write_watch, (("t", (a, 3)),)))
        case ("forget", a):  # as the queues forget a ticket that leaves them
            rows.forget_object("total", a)
            rows.delete("t", a=a, b=1)
        case ("due", a):
            return rows.all("SELECT * FROM {d} WHERE a = :a ORDER BY r", {"a": a})
    return None


def perform(rows: Rows, operation: Operation) -> Any:
    match operation:
        case ("fold" | "watch" | "forget" | "due", *_):
            return perform_kept(rows, operation)
        case ("ahead" | "read" | "prefetch" | "clear", *_):
            return perform_ahead(rows, operation)
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
        for table in TABLES:
            cursor.execute(f"DELETE FROM {store.qualify(f'{prefix}_{table.name}')}")
        rows = kind(cursor, store, prefix, TABLES)
        for setting in ({"a": "x", "b": 1, "v": 5}, {"a": "y", "b": 2, "v": 7}):
            Rows.put(rows, "t", setting)  # rows stored before the page began
        Rows.put(rows, "p", {"a": "x", "v": 3})
        answers = [perform(rows, operation) for operation in given]
        rows.flush()
    with store.transaction(commit=False) as cursor:
        stored = Rows(cursor, store, prefix, TABLES)
        return answers, stored.dump("t"), stored.dump("d"), stored.dump("p")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(given=operations)
# A row kept from before a deletion by part of its key is gone after the flush.
@example(given=[("get", "x", 1), ("sweep", "x"), ("flush",), ("get", "x", 1)])
# A statement that changes a kept object's row leaves the object stale: read again.
@example(given=[("fold", "x", 1), ("bump", "x"), ("fold", "x", 1)])
# A kept object's rows are written before a sweep by anything else reaches them.
@example(given=[("fold", "x", 2), ("sweep", "x"), ("fold", "x", 1)])
@example(given=[("watch", "x", 4), ("watch", "x", 2), ("due", "x"), ("watch", "x", 5)])
# Read ahead, a page keeps what the database holds, and that an aggregate has no row.
@example(given=[("prefetch", ["x", "y"]), ("read", "x"), ("read", "y"), ("ahead", "y", 1)])
@example(given=[("ahead", "x", 4), ("clear",), ("prefetch", ["x"]), ("read", "x")])
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


class Stepped:
    """An event as Rows.folded knows one: its aggregate and version."""

    originator_id = "ticket"
    originator_version = 2


def test_a_fold_step_is_taken_once_a_page_from_equal_values_and_anew_from_others(
    store: ProjectionStore,
) -> None:
    taken: list[int] = []

    def step(before: int) -> int:
        taken.append(before)
        return before + 1

    shared: dict[object, tuple[object, object]] = {}
    with store.transaction(commit=False) as cursor:
        first, second = (PageRows(cursor, store, "page", TABLES) for _ in range(2))
        first.folds = second.folds = shared
        event = Stepped()
        answers = [
            first.folded("plus", event, 1, lambda: step(1)),
            second.folded("plus", event, 1, lambda: step(1)),  # equal value: answered
            second.folded("plus", event, 5, lambda: step(5)),  # another value: taken
            Rows(cursor, store, "row", TABLES).folded("plus", event, 1, lambda: step(1)),
        ]
    assert answers == [2, 2, 6, 2] and taken == [1, 5, 1]
