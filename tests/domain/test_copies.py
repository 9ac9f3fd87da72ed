"""The domain's `replace` gives the object `dataclasses.replace` gives, for
every frozen dataclass the fold copies, and hands any other class to
`dataclasses.replace` itself."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.domain.support import given as given_facts
from tests.domain.support import opened
from tests.support import focco_terms
from ticketledger.domain import sla
from ticketledger.domain.copies import fast_replace, plain_fields
from ticketledger.domain.sla import ClockState, SlaClock
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket_state import TicketState
from ticketledger.domain.vocabulary import Status, Visibility

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b and vars(a) == vars(b)


@given(
    elapsed=st.integers(0, 10**12).map(lambda us: timedelta(microseconds=us)),
    state=st.sampled_from(ClockState),
    since=st.integers(0, 10**6).map(lambda m: AT + timedelta(minutes=m)),
)
def test_a_clock_copied_with_changes_equals_the_standard_librarys_copy(
    elapsed: timedelta, state: ClockState, since: datetime
) -> None:
    clock = SlaClock(timedelta(hours=8), sla.CalendarKind.BUSINESS, ClockState.RUNNING, AT)
    changes: dict[str, Any] = {"elapsed": elapsed, "state": state, "since": since}
    assert same(fast_replace(clock, **changes), dataclasses.replace(clock, **changes))
    assert fast_replace(clock, **changes) is not clock


@given(comments=st.integers(0, 500), status=st.sampled_from(Status))
def test_a_tickets_state_copied_with_changes_equals_the_standard_librarys_copy(
    comments: int, status: Status
) -> None:
    state = given_facts(opened()).state
    copied = fast_replace(state, comments=comments, status=status)
    assert same(copied, dataclasses.replace(state, comments=comments, status=status))
    assert state.comments == 0, "the original is left as it was"


def test_a_field_the_class_does_not_have_is_refused() -> None:
    clock = SlaClock(timedelta(hours=8), sla.CalendarKind.BUSINESS, ClockState.RUNNING, AT)
    with pytest.raises(TypeError, match="no field elapsd"):
        fast_replace(clock, elapsd=timedelta(0))


@dataclasses.dataclass(frozen=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True)
class Cached:
    value: int

    @cached_property
    def doubled(self) -> int:
        return 2 * self.value


@dataclasses.dataclass
class Mutable:
    value: int


@pytest.mark.parametrize("cls", [Checked, Cached, Mutable])
def test_a_class_that_checks_caches_or_changes_is_copied_by_the_standard_library(
    cls: type[Any],
) -> None:
    assert plain_fields(cls) is None


def test_a_checked_class_still_refuses_a_bad_copy() -> None:
    with pytest.raises(ValueError, match="negative"):
        fast_replace(Checked(1), value=-1)


def test_a_cached_property_is_computed_again_on_the_copy() -> None:
    original = Cached(2)
    assert original.doubled == 4
    assert fast_replace(original, value=5).doubled == 10


def test_the_folds_own_classes_are_copied_by_their_fields() -> None:
    assert plain_fields(TicketState) is not None
    assert plain_fields(SlaClock) is not None


def test_states_terms_and_calendars_are_their_own_deep_copies() -> None:
    state = given_facts(opened()).state
    terms = ContractTerms.model_validate(focco_terms())
    calendar = terms.business_calendar
    assert copy.deepcopy(state) is state
    assert copy.deepcopy(terms) is terms
    assert copy.deepcopy(calendar) is calendar
    changed = terms.model_copy(update={"monthly_hours": 7}, deep=True)
    assert changed is not terms and terms.monthly_hours != 7, "a changed copy is a new value"


def test_a_tickets_deep_copy_changes_without_touching_the_ticket_it_was_copied_from() -> None:
    ticket = given_facts(opened())
    copied = copy.deepcopy(ticket)
    later = ticket.state.last_occurred_at + timedelta(minutes=5)
    copied.comment("PLC firmware suspected", Visibility.INTERNAL, by="carla", occurred_at=later)
    assert (copied.version, copied.state.comments) == (ticket.version + 1, 1)
    assert (ticket.state.comments, ticket.collect_events()) == (0, [])
    assert [type(e).__name__ for e in copied.collect_events()] == ["Commented"]
    assert vars(copy.deepcopy(ticket)) == vars(ticket)
