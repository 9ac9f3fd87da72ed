"""People who sign in to the web pages, and their sessions.

People are apart from API keys (api/access.py), which are for programs: a
person has a login (an e-mail address), a password kept only as an Argon2
hash (pwdlib), a language, and the role and binding an API key would have. A
signed-in browser holds a random session token in a cookie; the table keeps its
SHA-256 with the form token (CSRF) of that session, so a stolen table opens no
session and signing out, or disabling the person, ends it at once.

Failed sign-ins are counted per login and per address over a window: past the
limit, even the right password is refused until the window has passed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pwdlib import PasswordHash

from ticketledger.api.access import Principal, Role, check_binding
from ticketledger.projections.store import ProjectionStore, stamp
from ticketledger.service.ledger import TicketLedger

PEOPLE = "people"
SESSIONS = "people_sessions"
FAILED_SIGN_INS = "people_failed_sign_ins"
LINKS = "people_sign_in_links"
# A requester's one-time link to sign in: how long it works, and how many
# one person may be sent in a failure window.
LINK_MINUTES = 15
LINKS_PER_WINDOW = 3
LOGIN_PATTERN = r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}$"
PASSWORD_LENGTH = (10, 200)
LANGUAGES = ("pt-BR", "es", "en")
SESSION_HOURS = 12
# Failed attempts allowed in a window, per login and per address.
FAILURES_PER_LOGIN = 5
FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)

hasher = PasswordHash.recommended()
# Verified against when the login is unknown, so an unknown login costs the
# same time as a wrong password and does not reveal itself.
UNKNOWN_LOGIN_HASH = hasher.hash(secrets.token_urlsafe(16))


class PeopleError(ValueError):
    """A person who cannot be created or changed as asked: the message says why."""


class SignInRefusedError(Exception):
    """Wrong login or password, or a disabled person: the same answer for all."""


class TooManyAttemptsError(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(f"too many failed sign-ins; retry in {retry_after}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Person:
    person_id: str
    login: str
    name: str
    role: Role
    language: str
    customer: str | None = None
    requester: str | None = None
    disabled_at: str | None = None
    created_at: str = ""

    @property
    def principal(self) -> Principal:
        """Who the commands and reads of this person's pages act as: events
        record the name (an agent's) or the requester's address."""
        return Principal(
            key_id=f"person:{self.person_id}",
            role=self.role,
            name=self.name,
            customer=self.customer,
            requester=self.requester,
        )


@dataclass(frozen=True)
class Session:
    person: Person
    csrf: str
    expires_at: str


@dataclass(frozen=True)
class SignedIn:
    session: Session
    token: str


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_password(password: str) -> None:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise PeopleError(f"a password has {low} to {high} characters")


class PeopleStore:
    """People, sessions and failed sign-ins, beside the ledger's events."""

    def __init__(self, ledger: TicketLedger, *, clock: Any = None) -> None:
        self.store = ProjectionStore.beside(ledger)
        self.people = self.store.qualify(PEOPLE)
        self.sessions = self.store.qualify(SESSIONS)
        self.failures = self.store.qualify(FAILED_SIGN_INS)
        self.links = self.store.qualify(LINKS)
        self.clock = clock or (lambda: datetime.now(tz=UTC))
        self.store.create_tables(
            [
                f"CREATE TABLE IF NOT EXISTS {self.people} (person_id TEXT PRIMARY KEY, "
                "login TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL, "
                "language TEXT NOT NULL, customer TEXT, requester TEXT, "
                "password_hash TEXT NOT NULL, created_at TEXT NOT NULL, disabled_at TEXT)",
                f"CREATE TABLE IF NOT EXISTS {self.sessions} (token_sha256 TEXT PRIMARY KEY, "
                "person_id TEXT NOT NULL, csrf TEXT NOT NULL, created_at TEXT NOT NULL, "
                "expires_at TEXT NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS {self.failures} (attempt_id TEXT PRIMARY KEY, "
                "login TEXT NOT NULL, address TEXT NOT NULL, at TEXT NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS {self.links} (token_sha256 TEXT PRIMARY KEY, "
                "person_id TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, "
                "used_at TEXT)",
            ]
        )

    # People.

    def create(
        self,
        login: str,
        password: str,
        role: Role,
        *,
        name: str | None = None,
        language: str = "pt-BR",
        customer: str | None = None,
        requester: str | None = None,
    ) -> Person:
        login = login.strip().lower()
        self.check_new(login, password, role, language, customer, requester)
        person = Person(
            person_id=secrets.token_hex(6),
            login=login,
            name=(name or login).strip(),
            role=role,
            language=language,
            customer=customer,
            requester=requester,
            created_at=stamp(self.clock()),
        )
        row = {**person_row(person), "password_hash": hasher.hash(password)}
        with self.store.transaction(commit=True) as cursor:
            taken = self.store.fetch(
                cursor, f"SELECT 1 AS taken FROM {self.people} WHERE login = :login", row
            )
            if taken:
                raise PeopleError(f"{login} already has an account")
            self.store.execute(
                cursor,
                f"INSERT INTO {self.people} ({', '.join(row)}) "
                f"VALUES ({', '.join(':' + name for name in row)})",
                row,
            )
        return person

    @staticmethod
    def check_new(
        login: str,
        password: str,
        role: Role,
        language: str,
        customer: str | None,
        requester: str | None,
    ) -> None:
        if not re.match(LOGIN_PATTERN, login):
            raise PeopleError("a login is an e-mail address")
        if language not in LANGUAGES:
            raise PeopleError(f"a language is one of {', '.join(LANGUAGES)}")
        check_password(password)
        try:
            check_binding(role, customer, requester)
        except ValueError as error:
            raise PeopleError(str(error).replace("key", "person")) from None

    def list(self) -> list[Person]:
        with self.store.reading() as cursor:
            found = self.store.fetch(cursor, f"SELECT * FROM {self.people} ORDER BY login")
        return [person_of(row) for row in found]

    def find(self, login: str) -> Person | None:
        found = self._row(login.strip().lower())
        return None if found is None else person_of(found)

    def _row(self, login: str) -> dict[str, Any] | None:
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor, f"SELECT * FROM {self.people} WHERE login = :login", {"login": login}
            )
        return found[0] if found else None

    def disable(self, login: str) -> bool:
        """Disables the person and ends their sessions; False if none is active."""
        login = login.strip().lower()
        with self.store.transaction(commit=True) as cursor:
            found = self.store.fetch(
                cursor,
                f"UPDATE {self.people} SET disabled_at = :at WHERE login = :login "
                "AND disabled_at IS NULL RETURNING person_id",
                {"login": login, "at": stamp(self.clock())},
            )
            for row in found:
                self.store.execute(
                    cursor,
                    f"DELETE FROM {self.sessions} WHERE person_id = :person_id",
                    {"person_id": row["person_id"]},
                )
        return bool(found)

    # Signing in and out.

    def sign_in(self, login: str, password: str, address: str) -> SignedIn:
        login = login.strip().lower()[:300]
        # The attempt counts before the (slow) check, so attempts sent at once
        # cannot all pass the limit before any is counted; a right one is
        # then forgotten.
        attempt = self.count_failure(login, address)
        self.check_attempts(login, address, counted=attempt)
        found = self._row(login)
        stored = UNKNOWN_LOGIN_HASH if found is None else str(found["password_hash"])
        valid = hasher.verify(password[: PASSWORD_LENGTH[1]], stored)
        if found is None or not valid or found["disabled_at"] is not None:
            raise SignInRefusedError("wrong login or password")
        self.forget_attempt(attempt)
        return self.open_session(person_of(found))

    def open_session(self, person: Person) -> SignedIn:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        expires = stamp(now + timedelta(hours=SESSION_HOURS))
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"DELETE FROM {self.sessions} WHERE expires_at < :now",
                {"now": stamp(now)},
            )
            self.store.execute(
                cursor,
                f"INSERT INTO {self.sessions} (token_sha256, person_id, csrf, created_at, "
                "expires_at) VALUES (:hash, :person_id, :csrf, :now, :expires)",
                {
                    "hash": sha256(token),
                    "person_id": person.person_id,
                    "csrf": csrf,
                    "now": stamp(now),
                    "expires": expires,
                },
            )
        return SignedIn(Session(person, csrf, expires), token)

    def session(self, token: str) -> Session | None:
        """The session of this token, if it stands: not expired, not signed
        out, and its person not disabled."""
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT p.*, s.csrf, s.expires_at FROM {self.sessions} s "
                f"JOIN {self.people} p ON p.person_id = s.person_id "
                "WHERE s.token_sha256 = :hash AND s.expires_at > :now "
                "AND p.disabled_at IS NULL",
                {"hash": sha256(token), "now": stamp(self.clock())},
            )
        if not found:
            return None
        row = found[0]
        return Session(person_of(row), str(row["csrf"]), str(row["expires_at"]))

    def sign_out(self, token: str) -> None:
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"DELETE FROM {self.sessions} WHERE token_sha256 = :hash",
                {"hash": sha256(token)},
            )

    # One-time links, for requesters.

    def create_link(self, login: str) -> tuple[Person, str] | None:
        """A one-time sign-in link's token for an active requester, or None
        (no such requester, or enough links sent them lately): the caller
        answers the same either way, so an address's account is not revealed."""
        found = self._row(login.strip().lower()[:300])
        if found is None or found["disabled_at"] is not None:
            return None
        person = person_of(found)
        if person.role is not Role.REQUESTER:
            return None
        now = self.clock()
        token = secrets.token_urlsafe(32)
        with self.store.transaction(commit=True) as cursor:
            recent = self.store.fetch(
                cursor,
                f"SELECT COUNT(*) AS sent FROM {self.links} WHERE person_id = :person_id "
                "AND created_at > :since",
                {"person_id": person.person_id, "since": stamp(now - FAILURE_WINDOW)},
            )
            if recent[0]["sent"] >= LINKS_PER_WINDOW:
                return None
            self.store.execute(
                cursor,
                f"INSERT INTO {self.links} (token_sha256, person_id, created_at, expires_at) "
                "VALUES (:hash, :person_id, :now, :expires)",
                {
                    "hash": sha256(token),
                    "person_id": person.person_id,
                    "now": stamp(now),
                    "expires": stamp(now + timedelta(minutes=LINK_MINUTES)),
                },
            )
        return person, token

    def use_link(self, token: str) -> SignedIn | None:
        """Signs in with a link's token, once: a used or expired one opens nothing."""
        now = stamp(self.clock())
        with self.store.transaction(commit=True) as cursor:
            used = self.store.fetch(
                cursor,
                f"UPDATE {self.links} SET used_at = :now WHERE token_sha256 = :hash "
                "AND used_at IS NULL AND expires_at > :now RETURNING person_id",
                {"hash": sha256(token), "now": now},
            )
            found = self.store.fetch(
                cursor,
                f"SELECT * FROM {self.people} WHERE person_id = :person_id AND disabled_at IS NULL",
                {"person_id": used[0]["person_id"] if used else ""},
            )
        if not found:
            return None
        return self.open_session(person_of(found[0]))

    def check_attempts(self, login: str, address: str, counted: str) -> None:
        """Refuses once the window holds as many failed attempts as allowed
        before this one (`counted`, already recorded)."""
        now = self.clock()
        since = stamp(now - FAILURE_WINDOW)
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                "SELECT "
                f"(SELECT COUNT(*) FROM {self.failures} WHERE login = :login AND at > :since "
                "AND attempt_id <> :counted) AS by_login, "
                f"(SELECT COUNT(*) FROM {self.failures} WHERE address = :address "
                "AND at > :since AND attempt_id <> :counted) AS by_address, "
                f"(SELECT MIN(at) FROM {self.failures} WHERE (login = :login "
                "OR address = :address) AND at > :since) AS oldest",
                {"login": login, "address": address, "since": since, "counted": counted},
            )
        row = found[0]
        if row["by_login"] >= FAILURES_PER_LOGIN or row["by_address"] >= FAILURES_PER_ADDRESS:
            oldest = datetime.fromisoformat(str(row["oldest"]))
            raise TooManyAttemptsError(max(oldest + FAILURE_WINDOW - now, timedelta(seconds=1)))

    def count_failure(self, login: str, address: str) -> str:
        """Records an attempt as failed until it is known to have succeeded."""
        now = self.clock()
        attempt = secrets.token_hex(8)
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"DELETE FROM {self.failures} WHERE at < :old",
                {"old": stamp(now - FAILURE_WINDOW)},
            )
            self.store.execute(
                cursor,
                f"INSERT INTO {self.failures} (attempt_id, login, address, at) "
                "VALUES (:attempt, :login, :address, :at)",
                {"attempt": attempt, "login": login, "address": address, "at": stamp(now)},
            )
        return attempt

    def forget_attempt(self, attempt: str) -> None:
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"DELETE FROM {self.failures} WHERE attempt_id = :attempt",
                {"attempt": attempt},
            )


def person_row(person: Person) -> dict[str, Any]:
    return {
        "person_id": person.person_id,
        "login": person.login,
        "name": person.name,
        "role": person.role.value,
        "language": person.language,
        "customer": person.customer,
        "requester": person.requester,
        "created_at": person.created_at,
    }


def person_of(row: dict[str, Any]) -> Person:
    return Person(
        person_id=str(row["person_id"]),
        login=str(row["login"]),
        name=str(row["name"]),
        role=Role(row["role"]),
        language=str(row["language"]),
        customer=row["customer"],
        requester=row["requester"],
        disabled_at=row["disabled_at"],
        created_at=str(row["created_at"]),
    )
