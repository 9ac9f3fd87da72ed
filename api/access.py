"""Who may call the API, and which commands were already answered.

API keys are bearer tokens kept only as SHA-256 hashes: the token is shown
once, when created, and a stolen table does not yield a usable key. Tokens are
long random strings, so a fast hash is enough; there is no password to guess.

Idempotency records remember, per API key and `Idempotency-Key`, the request's
fingerprint and the first response, so a retried command writes nothing more.
Both tables live in the ledger's own database, beside the events.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from ticketledger.projections.store import ProjectionStore, stamp
from ticketledger.service.ledger import TicketLedger

KEYS = "api_keys"
IDEMPOTENCY = "api_idempotency"
# How long an unanswered claim of an idempotency key holds before another
# request with that key may take it over (README "Retries").
CLAIM_LEASE = timedelta(seconds=30)
TOKEN_PREFIX = "tl_"
# Keys a server process remembers having authenticated (least recent forgotten).
KEYS_REMEMBERED = 4096


class Role(Enum):
    ADMIN = "admin"
    AGENT = "agent"
    REQUESTER = "requester"
    AUDITOR = "auditor"
    BILLING = "billing"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. A requester key is bound to one customer and
    one person, and acts as that person."""

    key_id: str
    role: Role
    name: str
    customer: str | None = None
    requester: str | None = None

    @property
    def actor(self) -> str:
        """Who the events say acted."""
        return self.requester if self.role is Role.REQUESTER and self.requester else self.name

    def sees_customer(self, customer: str | None) -> bool:
        return self.role is not Role.REQUESTER or customer == self.customer


@dataclass(frozen=True)
class ApiKey:
    principal: Principal
    created_at: str
    revoked_at: str | None


class KnownKeys:
    """Principals by token hash, at most KEYS_REMEMBERED (the oldest go first)."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def recall(self, hashed: str) -> Principal | None:
        return self._by_hash.get(hashed)

    def remember(self, hashed: str, principal: Principal) -> None:
        with self._lock:
            self._by_hash.pop(hashed, None)
            self._by_hash[hashed] = principal
            while len(self._by_hash) > KEYS_REMEMBERED:
                del self._by_hash[next(iter(self._by_hash))]

    def forget(self, hashed: str) -> None:
        with self._lock:
            self._by_hash.pop(hashed, None)

    def forget_key(self, key_id: str) -> None:
        with self._lock:
            for hashed in [h for h, p in self._by_hash.items() if p.key_id == key_id]:
                del self._by_hash[hashed]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccessStore:
    """API keys and idempotency records, on SQLite or PostgreSQL."""

    def __init__(self, ledger: TicketLedger) -> None:
        self.store = ProjectionStore.beside(ledger)
        self.keys = self.store.qualify(KEYS)
        self.idempotency = self.store.qualify(IDEMPOTENCY)
        # Keys this process authenticated, by token hash: what a key may do
        # never changes, only whether it is revoked, which a read asks in its
        # own first statement (`still_valid`) instead of a query of its own.
        self._known = KnownKeys()
        self._create_tables()

    def _create_tables(self) -> None:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.keys} (key_id TEXT PRIMARY KEY, "
            "token_sha256 TEXT NOT NULL UNIQUE, role TEXT NOT NULL, name TEXT NOT NULL, "
            "customer TEXT, requester TEXT, created_at TEXT NOT NULL, revoked_at TEXT)",
            f"CREATE TABLE IF NOT EXISTS {self.idempotency} (key_id TEXT NOT NULL, "
            "idempotency_key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER, "
            "response TEXT, created_at TEXT NOT NULL, PRIMARY KEY (key_id, idempotency_key))",
        ]
        self.store.create_tables(statements)

    # API keys.

    def create_key(
        self,
        role: Role,
        *,
        name: str | None = None,
        customer: str | None = None,
        requester: str | None = None,
        token: str | None = None,
    ) -> tuple[Principal, str]:
        """Creates a key and returns it with its token, which is not kept."""
        check_binding(role, customer, requester)
        token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
        principal = Principal(
            key_id=secrets.token_hex(6),
            role=role,
            name=name or (requester if role is Role.REQUESTER and requester else role.value),
            customer=customer,
            requester=requester,
        )
        row = {
            "key_id": principal.key_id,
            "token_sha256": token_hash(token),
            "role": role.value,
            "name": principal.name,
            "customer": customer,
            "requester": requester,
            "created_at": stamp(datetime.now(tz=UTC)),
        }
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"INSERT INTO {self.keys} (key_id, token_sha256, role, name, customer, "
                "requester, created_at) VALUES (:key_id, :token_sha256, :role, :name, "
                ":customer, :requester, :created_at)",
                row,
            )
        return principal, token

    def revoke_key(self, key_id: str) -> bool:
        with self.store.transaction(commit=True) as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT key_id FROM {self.keys} WHERE key_id = :key_id AND revoked_at IS NULL",
                {"key_id": key_id},
            )
            self.store.execute(
                cursor,
                f"UPDATE {self.keys} SET revoked_at = :at WHERE key_id = :key_id "
                "AND revoked_at IS NULL",
                {"key_id": key_id, "at": stamp(datetime.now(tz=UTC))},
            )
        self._known.forget_key(key_id)
        return bool(found)

    def authenticate(self, token: str) -> Principal | None:
        hashed = token_hash(token)
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT * FROM {self.keys} WHERE token_sha256 = :hash AND revoked_at IS NULL",
                {"hash": hashed},
            )
        if not found:
            self.forget(hashed)
            return None
        principal = principal_of(found[0])
        self._known.remember(hashed, principal)
        return principal

    def recall(self, token: str) -> Principal | None:
        """The key this process last authenticated with this token, unconfirmed:
        it may have been revoked since (`still_valid` asks)."""
        return self._known.recall(token_hash(token))

    def still_valid(self, hashed: str) -> tuple[str, dict[str, str]]:
        """Whether the key of this token hash stands unrevoked: a boolean SQL
        expression and its parameters, to be asked within another statement."""
        expression = (
            f"EXISTS (SELECT 1 FROM {self.keys} "
            "WHERE token_sha256 = :key_hash AND revoked_at IS NULL)"
        )
        return expression, {"key_hash": hashed}

    def confirm(self, hashed: str) -> bool:
        """Whether the key of this token hash stands unrevoked, asked on its own."""
        expression, params = self.still_valid(hashed)
        with self.store.reading() as cursor:
            found = self.store.fetch(cursor, f"SELECT {expression} AS valid", params)
        valid = bool(found and found[0]["valid"])
        if not valid:
            self.forget(hashed)
        return valid

    def forget(self, hashed: str) -> None:
        self._known.forget(hashed)

    def list_keys(self) -> list[ApiKey]:
        with self.store.transaction(commit=False) as cursor:
            found = self.store.fetch(cursor, f"SELECT * FROM {self.keys} ORDER BY created_at")
        return [ApiKey(principal_of(r), r["created_at"], r["revoked_at"]) for r in found]

    # Idempotency.

    def claim(
        self, key_id: str, idempotency_key: str, fingerprint: str, lease: timedelta = CLAIM_LEASE
    ) -> dict[str, Any] | None:
        """Claims the key for this request. Returns None when the claim is this
        request's, else the existing record (status None while another request
        runs). A claim still unanswered after `lease` belonged to a request that
        died (a crash, a kill): this request takes it over."""
        now = datetime.now(tz=UTC)
        with self.store.transaction(commit=True) as cursor:
            params = {"key_id": key_id, "key": idempotency_key}
            claimed = self.store.fetch(
                cursor,
                f"INSERT INTO {self.idempotency} (key_id, idempotency_key, fingerprint, "
                "created_at) VALUES (:key_id, :key, :fingerprint, :at) "
                "ON CONFLICT (key_id, idempotency_key) DO NOTHING RETURNING key_id",
                {**params, "fingerprint": fingerprint, "at": stamp(now)},
            )
            if claimed:
                return None
            taken = self.store.fetch(
                cursor,
                f"UPDATE {self.idempotency} SET fingerprint = :fingerprint, created_at = :at "
                "WHERE key_id = :key_id AND idempotency_key = :key AND status IS NULL "
                "AND created_at < :expired RETURNING key_id",
                {
                    **params,
                    "fingerprint": fingerprint,
                    "at": stamp(now),
                    "expired": stamp(now - lease),
                },
            )
            if taken:
                return None
            found = self.store.fetch(
                cursor,
                f"SELECT fingerprint, status, response FROM {self.idempotency} "
                "WHERE key_id = :key_id AND idempotency_key = :key",
                params,
            )
        return found[0]

    def remember(
        self, key_id: str, idempotency_key: str, status: int, response: dict[str, Any]
    ) -> None:
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"UPDATE {self.idempotency} SET status = :status, response = :response "
                "WHERE key_id = :key_id AND idempotency_key = :key",
                {
                    "key_id": key_id,
                    "key": idempotency_key,
                    "status": status,
                    "response": json.dumps(response),
                },
            )

    def release(self, key_id: str, idempotency_key: str) -> None:
        """Forgets a claim whose command failed before it could write anything."""
        with self.store.transaction(commit=True) as cursor:
            self.store.execute(
                cursor,
                f"DELETE FROM {self.idempotency} WHERE key_id = :key_id "
                "AND idempotency_key = :key AND status IS NULL",
                {"key_id": key_id, "key": idempotency_key},
            )


def check_binding(role: Role, customer: str | None, requester: str | None) -> None:
    if role is Role.REQUESTER and not (customer and requester):
        raise ValueError("a requester key is bound to one customer and one requester")
    if role is not Role.REQUESTER and (customer or requester):
        raise ValueError("only requester keys are bound to a customer and a requester")


def principal_of(row: dict[str, Any]) -> Principal:
    return Principal(
        key_id=row["key_id"],
        role=Role(row["role"]),
        name=row["name"],
        customer=row["customer"],
        requester=row["requester"],
    )
