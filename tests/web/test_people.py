"""People and their sessions, on SQLite and PostgreSQL (the `ledger` fixture)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from ticketledger.api.access import Role
from ticketledger.api.people import (
    FAILURE_WINDOW,
    FAILURES_PER_LOGIN,
    SESSION_HOURS,
    PeopleError,
    PeopleStore,
    SignInRefusedError,
    TooManyAttemptsError,
)
from ticketledger.service.ledger import TicketLedger

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def people(ledger: TicketLedger) -> PeopleStore:
    return PeopleStore(ledger, clock=Clock())


def agent(people: PeopleStore, login: str = "ana@desk.example") -> None:
    people.create(login, PASSWORD, Role.AGENT, name="ana")


def test_a_person_signs_in_with_the_right_password_and_acts_as_their_name(people):
    agent(people)
    signed = people.sign_in("Ana@Desk.Example ", PASSWORD, "10.0.0.1")
    session = people.session(signed.token)
    assert session is not None
    assert session.person.principal.actor == "ana"
    assert session.csrf == signed.session.csrf


def test_a_wrong_password_and_an_unknown_login_get_the_same_refusal(people):
    agent(people)
    with pytest.raises(SignInRefusedError, match="wrong login or password"):
        people.sign_in("ana@desk.example", "not the password", "10.0.0.1")
    with pytest.raises(SignInRefusedError, match="wrong login or password"):
        people.sign_in("nobody@desk.example", PASSWORD, "10.0.0.1")


def test_the_password_is_kept_only_as_an_argon2_hash(people, ledger):
    agent(people)
    with people.store.reading() as cursor:
        rows = people.store.fetch(cursor, f"SELECT password_hash FROM {people.people}")
    assert rows[0]["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in rows[0]["password_hash"]


def test_a_login_is_taken_once_whatever_its_case(people):
    agent(people)
    with pytest.raises(PeopleError, match="already has an account"):
        people.create("ANA@desk.example", PASSWORD, Role.AUDITOR)


@pytest.mark.parametrize(
    ("login", "password", "role", "customer", "requester", "why"),
    [
        ("not-an-address", PASSWORD, Role.AGENT, None, None, "e-mail address"),
        ("bo@desk.example", "short", Role.AGENT, None, None, "10 to 200 characters"),
        ("bo@desk.example", PASSWORD, Role.REQUESTER, None, None, "one customer"),
        ("bo@desk.example", PASSWORD, Role.AGENT, "Serra", None, "only requester"),
    ],
)
def test_a_person_who_cannot_be_is_refused_with_the_reason_and_nothing_is_kept(
    people, login, password, role, customer, requester, why
):
    with pytest.raises(PeopleError, match=why):
        people.create(login, password, role, customer=customer, requester=requester)
    assert people.list() == []


def test_failed_sign_ins_past_the_limit_refuse_even_the_right_password_until_the_window_passes(
    people,
):
    agent(people)
    for _ in range(FAILURES_PER_LOGIN):
        with pytest.raises(SignInRefusedError):
            people.sign_in("ana@desk.example", "guess guess guess", "10.0.0.9")
    with pytest.raises(TooManyAttemptsError) as refused:
        people.sign_in("ana@desk.example", PASSWORD, "10.0.0.9")
    assert timedelta(0) < refused.value.retry_after <= FAILURE_WINDOW
    people.clock.now += FAILURE_WINDOW + timedelta(seconds=1)
    assert people.sign_in("ana@desk.example", PASSWORD, "10.0.0.9").token


def test_signing_out_ends_the_session(people):
    agent(people)
    signed = people.sign_in("ana@desk.example", PASSWORD, "10.0.0.1")
    people.sign_out(signed.token)
    assert people.session(signed.token) is None


def test_a_session_ends_when_its_hours_are_over(people):
    agent(people)
    signed = people.sign_in("ana@desk.example", PASSWORD, "10.0.0.1")
    people.clock.now += timedelta(hours=SESSION_HOURS, seconds=1)
    assert people.session(signed.token) is None


def test_disabling_a_person_ends_their_sessions_and_refuses_their_password(people):
    agent(people)
    signed = people.sign_in("ana@desk.example", PASSWORD, "10.0.0.1")
    assert people.disable("ana@desk.example")
    assert people.session(signed.token) is None
    with pytest.raises(SignInRefusedError):
        people.sign_in("ana@desk.example", PASSWORD, "10.0.0.1")
    assert not people.disable("ana@desk.example")


def test_attempts_sent_at_once_are_counted_before_any_is_checked(people):
    """Guesses sent together cannot all pass the limit before one is counted."""
    agent(people)
    outcomes: list[str] = []

    def guess() -> None:
        try:
            people.sign_in("ana@desk.example", "a wrong guess", "10.0.0.7")
        except (SignInRefusedError, TooManyAttemptsError) as refused:
            outcomes.append(type(refused).__name__)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 12
    assert outcomes.count("SignInRefusedError") <= FAILURES_PER_LOGIN


def test_a_right_password_is_not_counted_against_the_limit(people):
    agent(people)
    for _ in range(FAILURES_PER_LOGIN + 3):
        people.sign_in("ana@desk.example", PASSWORD, "10.0.0.8")
