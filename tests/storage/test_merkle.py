"""The log's Merkle tree has RFC 6962's shape, and inclusion paths prove exactly
the leaf they were made for."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ticketledger.replay.merkle import (
    EMPTY_ROOT,
    Tree,
    leaf_hash,
    node_hash,
    root_from_path,
    root_of,
)

links = st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), min_size=1, max_size=70)


def rfc6962_root(leaves: list[str]) -> bytes:
    """MTH from RFC 6962 section 2.1, written as its recursive definition."""
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return node_hash(rfc6962_root(leaves[:split]), rfc6962_root(leaves[split:]))


@given(links)
def test_the_incremental_root_and_the_full_tree_equal_rfc_6962s_root(leaves: list[str]) -> None:
    expected = rfc6962_root(leaves).hex()
    assert root_of(leaves) == expected
    assert Tree(leaves).root() == expected


def test_the_empty_log_has_the_hash_of_nothing_as_its_root() -> None:
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").hexdigest()


@given(links, st.data())
def test_every_leafs_path_leads_to_the_root_and_no_other_leaf_does(
    leaves: list[str], data: st.DataObject
) -> None:
    tree = Tree(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    path = tree.path(index)
    assert root_from_path(leaves[index], index, len(leaves), path) == tree.root()
    forged = "00" * 32 if leaves[index] != "00" * 32 else "11" * 32
    assert root_from_path(forged, index, len(leaves), path) != tree.root()
    assert root_from_path(leaves[index], index, len(leaves), [*path, "00" * 32]) is None
    assert root_from_path(leaves[index], len(leaves), len(leaves), path) is None
