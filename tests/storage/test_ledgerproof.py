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
from storage.ledgerproof import MerkleLevels, entries_of, verify_inclusion
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
