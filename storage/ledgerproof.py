"""RFC 9162 inclusion proofs of ledger entries, for evidence packages.

The ledger's Merkle tree (``storage.ledger``: leaf ``H(0x00 || entry hash)``, node
``H(0x01 || left || right)``, split at the largest power of two below the size) is rebuilt once as
its levels of perfect, aligned subtrees; any subtree root the proofs need is then O(log n) folds of
those. ``inclusion_path`` is RFC 9162 section 2.1.3.1's PATH(m, D[n]), leaf-side first;
``verify_inclusion`` is section 2.1.3.2's algorithm, which a third party can reimplement from the RFC
alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["EntryRow", "MerkleLevels", "entries_of", "inclusion_path", "leaf_hash", "verify_inclusion"]


@dataclass(frozen=True)
class EntryRow:
    """One stored ledger entry."""

    seq: int
    kind: str
    row_id: int
    body: str
    hash: str


def entries_of(sessions: sessionmaker[Session], kinds: Sequence[str], row_ids: Iterable[int]
               ) -> list[EntryRow]:
    """The entries of ``kinds`` covering the rows ``row_ids``, by sequence number."""
    # lazy: ``collector evidence verify`` imports this module offline, without the database layer
    from sqlalchemy import select

    from storage.models import LedgerEntry

    ids = sorted(set(row_ids))
    found: list[EntryRow] = []
    with sessions() as session:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found += [EntryRow(*row) for row in session.execute(
                select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.row_id, LedgerEntry.body,
                       LedgerEntry.hash)
                .where(LedgerEntry.kind.in_(list(kinds)), LedgerEntry.row_id.in_(chunk)))]
    return sorted(found, key=lambda e: e.seq)


def leaf_hash(entry_hash: bytes) -> bytes:
    """The tree's leaf hash of an entry hash (32 raw bytes)."""
    return hashlib.sha256(b"\x00" + entry_hash).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two below ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


class MerkleLevels:
    """The perfect aligned subtrees of a tree over ``leaves`` (entry hashes, raw): level j holds the
    roots of the blocks of 2**j leaves."""

    def __init__(self, leaves: Iterable[bytes]) -> None:
        level = [leaf_hash(leaf) for leaf in leaves]
        self.size = len(level)
        self.levels = [level]
        while len(level) > 1:
            level = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    def root(self, lo: int = 0, hi: int | None = None) -> bytes:
        """MTH(D[lo:hi]) (the whole tree by default); H("") for no leaves."""
        hi = self.size if hi is None else hi
        width = hi - lo
        if width <= 0:
            return hashlib.sha256(b"").digest()
        if width & (width - 1) == 0:
            level = width.bit_length() - 1
            return self.levels[level][lo >> level]
        k = _split(width)
        return _node(self.root(lo, lo + k), self.root(lo + k, hi))

    def path(self, index: int, size: int) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of the first ``size`` leaves."""
        return inclusion_path(self, index, size)


def inclusion_path(levels: MerkleLevels, index: int, size: int) -> list[bytes]:
    """RFC 9162 PATH(index, D[size]): the sibling subtree roots from the leaf up."""
    if not 0 <= index < size <= levels.size:
        raise ValueError(f"no leaf {index} in a tree of {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(levels.root(lo + k, hi))
            hi = lo + k
        else:
            path.append(levels.root(lo, lo + k))
            lo += k
    return path[::-1]


def verify_inclusion(entry_hash: bytes, index: int, size: int, path: Sequence[bytes],
                     root: bytes) -> bool:
    """Whether ``path`` proves that the entry hash is leaf ``index`` of the tree of ``size`` leaves
    whose root is ``root`` (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(entry_hash)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
