"""RFC 9162 inclusion proofs (storage.ledgerproof) against pymerkle, the reference: the same audit path
for every leaf of every tree size up to 40, and verification that fails for any other leaf, index,
size or root."""

from __future__ import annotations

import hashlib

import pytest
from pymerkle import InmemoryTree
from pymerkle import verify_inclusion as pymerkle_verify_inclusion

from storage.archive import Archive
from storage.ledger import merkle_roots
from storage.ledgerproof import MerkleLevels, StreamedProofs, entries_of, verify_inclusion
from tests.storage.helpers import T0, html_capture


def leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(f"entry {i}".encode()).digest() for i in range(count)]


def test_paths_are_pymerkles_and_verify() -> None:
    data = leaves(40)
    tree = InmemoryTree(algorithm="sha256")
    levels = MerkleLevels(data)
    for size, leaf in enumerate(data, 1):
        tree.append_entry(leaf)
        root = levels.root(0, size)
        assert root == tree.get_root(size) == merkle_roots(data, [size])[size]
        for index in range(size):
            path = levels.path(index, size)
            proof = tree.prove_inclusion(index + 1, size)  # pymerkle counts from 1
            assert [p.hex() for p in path] == proof.serialize()["path"][1:]  # [0] is the leaf itself
            pymerkle_verify_inclusion(tree.get_leaf(index + 1), root, proof)
            assert verify_inclusion(data[index], index, size, path, root)


@pytest.mark.parametrize("block", [1, 2, 4, 8, 4096])
def test_streamed_proofs_are_the_levels_proofs(block: int) -> None:
    """The one-pass proofs, for every leaf of every tree size up to 40 and for a few leaves at once,
    are the full tree's (which are pymerkle's, above), whatever the blocks the leaves come in."""
    data = leaves(40)
    for size in range(41):
        levels = MerkleLevels(data[:size])
        streamed = StreamedProofs(iter(data), size, range(size), block=block)
        assert streamed.size == size and streamed.root() == levels.root()
        for index in range(size):
            assert streamed.path(index, size) == levels.path(index, size), (index, size)
        some = [i for i in (0, size // 3, size - 1) if 0 <= i < size]
        few = StreamedProofs(iter(data), size, some, block=block)
        assert [few.path(i, size) for i in some] == [levels.path(i, size) for i in some]


def test_streamed_proofs_refuse_what_was_not_prepared() -> None:
    streamed = StreamedProofs(iter(leaves(10)), 10, [3])
    with pytest.raises(ValueError, match="no proof of leaf 4"):
        streamed.path(4, 10)
    with pytest.raises(ValueError, match="no leaf 10"):
        StreamedProofs(iter(leaves(10)), 10, [10])
    with pytest.raises(ValueError, match="power of two"):
        StreamedProofs(iter(leaves(10)), 10, [3], block=3)
    short = StreamedProofs(iter(leaves(5)), 10, [3])
    assert short.size == 5
    with pytest.raises(ValueError, match="5 leaves, not 10"):
        short.root()


@pytest.mark.parametrize("change", ["leaf", "index", "size", "root", "path"])
def test_a_proof_proves_nothing_else(change: str) -> None:
    data = leaves(13)
    levels = MerkleLevels(data)
    index, size = 5, 13
    args = {"entry_hash": data[index], "index": index, "size": size,
            "path": levels.path(index, size), "root": levels.root()}
    assert verify_inclusion(**args)
    args.update({"leaf": {"entry_hash": data[6]}, "index": {"index": 6}, "size": {"size": 6},
                 "root": {"root": levels.root(0, 12)},
                 "path": {"path": levels.path(index, size)[:-1]}}[change])
    assert not verify_inclusion(**args)


def test_out_of_range() -> None:
    levels = MerkleLevels(leaves(3))
    with pytest.raises(ValueError):
        levels.path(3, 3)
    with pytest.raises(ValueError):
        levels.path(0, 4)
    assert levels.root(0, 0) == hashlib.sha256(b"").digest()


def test_entries_of_the_rows(archive: Archive) -> None:
    first, second = archive.commit_captures([html_capture("https://example.com/a", T0),
                                             html_capture("https://example.com/b", T0)])
    found = entries_of(archive.sessions, ["capture"], [second.id])
    assert [(e.kind, e.row_id) for e in found] == [("capture", second.id)]
    assert hashlib.sha256(found[0].body.encode()).hexdigest() == found[0].hash
    assert [e.row_id for e in entries_of(archive.sessions, ["capture"], [second.id, first.id])] == [
        first.id, second.id]
