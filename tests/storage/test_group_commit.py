"""Shared commits (service/group_commit.py), with a commit that records its
batches in place of a database: who commits, with whom, and what each caller
is told."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ticketledger.service.group_commit import GroupCommit, each_its_own


class Refused(Exception):
    pass


class Recording:
    """Commits by recording each batch; the first batch can be held open."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: list[str] = []
        self.first_started = threading.Event()
        self.first_may_end = threading.Event()
        self.first_may_end.set()

    def __call__(self, items: Sequence[str]) -> list[str | BaseException]:
        self.batches.append(list(items))
        self.threads.append(threading.current_thread().name)
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.first_may_end.wait(10)
        if "whole batch fails" in items:
            raise Refused("the database went away")
        return [Refused(item) if item.startswith("bad") else f"saved {item}" for item in items]


def in_thread(group: GroupCommit[str, str], item: str, told: dict[str, str]) -> threading.Thread:
    def submit() -> None:
        try:
            told[item] = group.submit(item)
        except Refused as error:
            told[item] = f"refused: {error}"

    thread = threading.Thread(target=submit, name=f"caller {item}")
    thread.start()
    return thread


def queued(
    group: GroupCommit[str, str], items: tuple[str, ...], told: dict[str, str]
) -> list[threading.Thread]:
    """Callers handing their items in this order, each queued before the next
    starts, behind a batch being committed."""
    threads: list[threading.Thread] = []
    for item in items:
        waiting = group.waiting
        threads.append(in_thread(group, item, told))
        while group.waiting == waiting:
            threading.Event().wait(0.005)
    return threads


def test_a_caller_alone_commits_at_once_on_its_own_thread() -> None:
    commit = Recording()
    group: GroupCommit[str, str] = GroupCommit(commit)
    assert group.submit("a") == "saved a"
    assert commit.batches == [["a"]]
    assert commit.threads == [threading.current_thread().name]


def behind_an_open_batch(
    later: tuple[str, ...], most: int = 32
) -> tuple[Recording, dict[str, str], GroupCommit[str, str]]:
    """Caller "a" commits alone, held open while the `later` callers queue
    behind it in order; then it ends, and every caller is answered."""
    commit = Recording()
    commit.first_may_end.clear()
    group: GroupCommit[str, str] = GroupCommit(commit, most=most)
    told: dict[str, str] = {}
    first = in_thread(group, "a", told)
    assert commit.first_started.wait(10)
    threads = queued(group, later, told)
    commit.first_may_end.set()
    for thread in (first, *threads):
        thread.join(10)
    return commit, told, group


def test_callers_arriving_while_a_batch_commits_share_the_next_commit() -> None:
    commit, told, _ = behind_an_open_batch(("b", "c", "d"))
    assert commit.batches == [["a"], ["b", "c", "d"]]
    assert commit.threads[1] == "caller b"  # the first waiting caller leads the next batch
    assert told == {item: f"saved {item}" for item in "abcd"}


def test_a_refused_save_fails_alone_and_the_rest_of_its_batch_commits() -> None:
    _, told, _ = behind_an_open_batch(("b", "bad c", "d"))
    assert told == {
        "a": "saved a",
        "b": "saved b",
        "bad c": "refused: bad c",
        "d": "saved d",
    }


def test_a_batch_that_fails_as_a_whole_fails_each_caller_and_the_next_batch_still_commits() -> None:
    commit, told, group = behind_an_open_batch(("whole batch fails", "b"))
    assert told["whole batch fails"] == told["b"] == "refused: the database went away"
    assert group.submit("e") == "saved e"
    assert commit.batches[1:] == [["whole batch fails", "b"], ["e"]]


def test_each_caller_of_a_failed_batch_raises_its_own_error_with_the_same_cause() -> None:
    cause = OSError("connection reset")
    try:
        raise Refused("the database went away") from cause
    except Refused as error:
        errors = each_its_own(error, 3)
    assert len({id(e) for e in errors}) == 3
    assert all(isinstance(e, Refused) and e.__cause__ is cause for e in errors)
    assert {str(e) for e in errors} == {"the database went away"}


def test_no_batch_holds_more_saves_than_its_bound() -> None:
    commit, told, _ = behind_an_open_batch(("b", "c", "d", "e", "f"), most=2)
    assert commit.batches == [["a"], ["b", "c"], ["d", "e"], ["f"]]
    assert sorted(told) == list("abcdef")
