"""A Merkle tree over the log, in RFC 6962's shape, so that a digest of the whole
log can vouch for a single event: an auditor holding a bundle and a digest
checks the event's inclusion with a path of about log2(n) hashes, offline.

Leaves are the events' chain links in log order. Pairing nodes level by level
and carrying an odd last node up unchanged gives RFC 6962's tree (the largest
power of two on the left), which the tests check against its recursive
definition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_hash(link: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(link)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The roots of the perfect subtrees over the leaves so far, largest first:
    enough to give the root after any number of leaves in O(log n)."""

    def __init__(self) -> None:
        self.subtrees: list[tuple[int, bytes]] = []
        self.size = 0

    def append(self, link: str) -> None:
        size, digest = 1, leaf_hash(link)
        while self.subtrees and self.subtrees[-1][0] == size:
            left_size, left = self.subtrees.pop()
            size, digest = left_size + size, node_hash(left, digest)
        self.subtrees.append((size, digest))
        self.size += 1

    def root(self) -> str:
        if not self.subtrees:
            return EMPTY_ROOT
        digest = self.subtrees[-1][1]
        for _, left in reversed(self.subtrees[:-1]):
            digest = node_hash(left, digest)
        return digest.hex()


def root_of(links: Iterable[str]) -> str:
    frontier = Frontier()
    for link in links:
        frontier.append(link)
    return frontier.root()


class Tree:
    """Every level of the tree over a fixed list of leaves, for inclusion paths."""

    def __init__(self, links: Sequence[str]) -> None:
        level = [leaf_hash(link) for link in links]
        self.levels = [level]
        while len(level) > 1:
            paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            level = paired + ([level[-1]] if len(level) % 2 else [])
            self.levels.append(level)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def root(self) -> str:
        return self.levels[-1][0].hex() if self.size else EMPTY_ROOT

    def path(self, index: int) -> list[str]:
        """The sibling hashes from the leaf at `index` up to the root."""
        siblings = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                siblings.append(level[sibling].hex())
            index //= 2
        return siblings


def root_from_path(link: str, index: int, size: int, path: Sequence[str]) -> str | None:
    """The root that a leaf and its path imply, or None when the path does not
    fit a tree of that size (too short, too long, or an index outside it)."""
    if not 0 <= index < size:
        return None
    digest, remaining = leaf_hash(link), list(path)
    while size > 1:
        if index % 2 == 1 or index + 1 < size:
            if not remaining:
                return None
            sibling = bytes.fromhex(remaining.pop(0))
            digest = node_hash(sibling, digest) if index % 2 else node_hash(digest, sibling)
        index, size = index // 2, (size + 1) // 2
    return None if remaining else digest.hex()
