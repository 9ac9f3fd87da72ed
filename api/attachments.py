"""The content of the files requesters send, kept outside the events by their
SHA-256 (the events name them: domain/attachments.py). Content-addressed: a
file kept twice is kept once, and what is read back is checked against its
hash."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from ticketledger.projections.store import ProjectionStore
from ticketledger.service.ledger import TicketLedger

TABLE = "attachment_contents"


@dataclass(frozen=True)
class Content:
    sha256: str
    data: bytes


class AttachmentStore:
    def __init__(self, ledger: TicketLedger) -> None:
        self.store = ProjectionStore.beside(ledger)
        self.table = self.store.qualify(TABLE)
        self.store.create_tables(
            [
                f"CREATE TABLE IF NOT EXISTS {self.table} (sha256 TEXT PRIMARY KEY, "
                "size INTEGER NOT NULL, content_base64 TEXT NOT NULL)"
            ]
        )

    def keep(self, contents: list[Content]) -> None:
        """Kept before any event names them: an event never names a file lost."""
        for content in contents:
            if hashlib.sha256(content.data).hexdigest() != content.sha256:
                raise ValueError(f"the content does not hash to {content.sha256}")
        if not contents:
            return
        with self.store.transaction(commit=True) as cursor:
            for content in contents:
                self.store.execute(
                    cursor,
                    f"INSERT INTO {self.table} (sha256, size, content_base64) "
                    "VALUES (:sha, :size, :data) ON CONFLICT (sha256) DO NOTHING",
                    {
                        "sha": content.sha256,
                        "size": len(content.data),
                        "data": base64.b64encode(content.data).decode("ascii"),
                    },
                )

    def content(self, sha256: str) -> bytes | None:
        with self.store.reading() as cursor:
            found = self.store.fetch(
                cursor,
                f"SELECT content_base64 FROM {self.table} WHERE sha256 = :sha",
                {"sha": sha256},
            )
        if not found:
            return None
        data = base64.b64decode(found[0]["content_base64"])
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"the stored content of {sha256} does not match its hash")
        return data
