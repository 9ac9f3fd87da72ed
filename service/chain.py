"""The hash chain over each aggregate's stored events.

Each stored event's link hash covers the previous link of the same aggregate,
the event's log position, its aggregate and version, its topic and its stored
bytes exactly as written. Altering, deleting, inserting, moving or swapping a
stored event therefore breaks the chain at that event, whatever the database
let someone do. The function has no dependencies, so an auditor's copy of it
checks a bundle offline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

GENESIS = "0" * 64
CHAIN_SUFFIX = "_chain"
DIGESTS_SUFFIX = "_digests"


def canonical_id(originator_id: UUID | str) -> str:
    """One spelling of an aggregate id on every database: SQLite stores hex
    without dashes, PostgreSQL a uuid."""
    return str(originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id)))


def link_hash(
    previous: str,
    position: int,
    originator_id: UUID | str,
    version: int,
    topic: str,
    state: bytes,
) -> str:
    """sha256 over the previous link (hex), then one line each for position,
    aggregate, version and topic, then the stored bytes. No field can contain a
    newline, and the bytes come last, so the encoding is unambiguous."""
    head = f"{previous}\n{position}\n{canonical_id(originator_id)}\n{version}\n{topic}\n"
    return hashlib.sha256(head.encode("utf-8") + state).hexdigest()


@dataclass(frozen=True)
class Link:
    """One row of the chain table: what the recorder wrote beside an event."""

    originator_id: str
    version: int
    position: int
    hash: str


@dataclass(frozen=True)
class Unsealed:
    """What the recorder knows of an event it is sealing."""

    originator_id: str
    version: int
    topic: str
    state: bytes


def seal(events: list[Unsealed], positions: list[int], previous: dict[str, str]) -> list[Link]:
    """The links of a batch of events about to be committed. `previous` holds
    the latest committed link of each aggregate in the batch (GENESIS if none);
    events of one aggregate in one batch chain onto each other."""
    heads = dict(previous)
    links = []
    for event, position in zip(events, positions, strict=True):
        prior = heads.get(event.originator_id, GENESIS)
        digest = link_hash(
            prior, position, event.originator_id, event.version, event.topic, event.state
        )
        heads[event.originator_id] = digest
        links.append(Link(event.originator_id, event.version, position, digest))
    return links
