"""RFC 9162 inclusion proofs of ledger entries, for evidence packages.

The ledger's Merkle tree (``storage.ledger``: leaf ``H(0x00 || entry hash)``, node
``H(0x01 || left || right)``, split at the largest power of two below the size) is rebuilt once as
its levels of perfect, aligned subtrees; any subtree root the proofs need is then O(log n) folds of
those. ``StreamedProofs`` gives the same paths for chosen leaves in one pass over the leaves, keeping
only the subtree roots those paths need (an evidence package proves a few entries of a ledger of
millions: the levels of a million-entry tree take ~270 MB). ``inclusion_path`` is RFC 9162 section
2.1.3.1's PATH(m, D[n]), leaf-side first;
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

__all__ = ["BLOCK", "EntryRow", "MerkleLevels", "StreamedProofs", "entries_of", "inclusion_path", "leaf_hash",
           "verify_inclusion"]


@dataclass(frozen=True)
class EntryRow:
    """One ledger entry, with its canonical body (the one its hash is over)."""

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

    from storage.ledgerform import unpack
    from storage.models import LedgerEntry

    ids = sorted(set(row_ids))
    found: list[EntryRow] = []
    with sessions() as session:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = session.execute(
                select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.row_id, LedgerEntry.body,
                       LedgerEntry.hash)
                .where(LedgerEntry.kind.in_(list(kinds)), LedgerEntry.row_id.in_(chunk)))
            # the canonical body (a packed entry unpacked, storage.ledgerform): what a package holds
            found += [EntryRow(seq, kind, row_id, unpack(body, seq, kind, row_id), digest)
                      for seq, kind, row_id, body, digest in rows]
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


BLOCK = 4096  # leaves: StreamedProofs builds the levels of one such block at a time


def _path_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose subtree roots make up PATH(index, D[size]), leaf side first."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    return ranges[::-1]


def _perfect_parts(lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi) as aligned perfect subtrees (lo, width), left to right, largest first: the ranges of
    the tree's recursion are such, or end at its right edge and fold from these (RFC 9162 2.1.1)."""
    parts: list[tuple[int, int]] = []
    while lo < hi:
        width = 1 << ((hi - lo).bit_length() - 1)
        while lo % width:
            width >>= 1
        parts.append((lo, width))
        lo += width
    return parts


class StreamedProofs:
    """The RFC 9162 root of the tree over the first ``size`` of ``leaves`` (entry hashes, raw) and the
    audit paths of the leaves ``indices``, computed in one pass over the leaves that keeps only the
    subtree roots those paths need: memory grows with the paths (O(len(indices) log size)), not with
    the tree. ``path`` and ``root`` answer as ``MerkleLevels`` does, for that tree only. The leaves
    are hashed ``block`` (a power of two) at a time."""

    def __init__(self, leaves: Iterable[bytes], size: int, indices: Iterable[int], *,
                 block: int = BLOCK) -> None:
        if block < 1 or block & (block - 1):
            raise ValueError(f"a block is a power of two leaves, not {block}")
        self._declared, self._block = size, block
        self._paths: dict[int, list[tuple[int, int]]] = {}
        needed = set(_perfect_parts(0, size))
        for index in set(indices):
            if not 0 <= index < size:
                raise ValueError(f"no leaf {index} in a tree of {size}")
            ranges = _path_ranges(index, size)
            self._paths[index] = ranges
            for lo, hi in ranges:
                needed.update(_perfect_parts(lo, hi))
        self._roots: dict[tuple[int, int], bytes] = {}
        # the leaves are taken a block at a time, whose levels are built as MerkleLevels builds
        # them (list comprehensions: one leaf at a time through the stack took twice as long)
        # and then dropped
        self._inside: dict[int, list[tuple[int, int]]] = {}  # the needed subtrees of each block
        self._above: set[tuple[int, int]] = set()  # the needed subtrees wider than a block
        for lo, width in needed:
            if width <= block:
                self._inside.setdefault(lo // block, []).append((lo, width))
            else:
                self._above.add((lo, width))
        self._stack: list[tuple[int, int, bytes]] = []  # (lo, width, root): widths decreasing
        self.size = 0
        chunk: list[bytes] = []
        for leaf in leaves:
            if self.size + len(chunk) == size:
                break
            chunk.append(leaf)
            if len(chunk) == block:
                self._add_block(chunk)
                chunk = []
        if chunk:
            self._add_block(chunk)

    def _add_block(self, block: list[bytes]) -> None:
        """Leaves ``block`` (a whole block, or the last, shorter one): keep the needed roots of its
        subtrees, and put its perfect subtrees on the stack of the tree so far."""
        start = self.size
        level = [leaf_hash(leaf) for leaf in block]
        levels = [level]
        while len(level) > 1:
            level = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            levels.append(level)
        for lo, width in self._inside.get(start // self._block, ()):
            height, at = width.bit_length() - 1, lo - start
            if height < len(levels) and (at >> height) < len(levels[height]):
                self._roots[(lo, width)] = levels[height][at >> height]
        self.size += len(block)
        for lo, width in _perfect_parts(start, self.size):
            digest = levels[width.bit_length() - 1][(lo - start) >> (width.bit_length() - 1)]
            while self._stack and self._stack[-1][1] == width:
                left = self._stack.pop()
                lo, width, digest = left[0], width * 2, _node(left[2], digest)
                if (lo, width) in self._above:
                    self._roots[(lo, width)] = digest
            self._stack.append((lo, width, digest))

    def _mth(self, lo: int, hi: int) -> bytes:
        parts = [self._roots[part] for part in _perfect_parts(lo, hi)]
        root = parts[-1]
        for digest in reversed(parts[:-1]):
            root = _node(digest, root)
        return root

    def root(self) -> bytes:
        """MTH of the whole tree; H("") for no leaves. ``ValueError`` when fewer leaves came than
        ``size`` said."""
        if self.size != self._declared:
            raise ValueError(f"{self.size} leaves, not {self._declared}")
        return self._mth(0, self.size) if self.size else hashlib.sha256(b"").digest()

    def path(self, index: int, size: int) -> list[bytes]:
        """The audit path of leaf ``index`` (one of ``indices``) in the tree (``size`` its size)."""
        if size != self._declared or index not in self._paths or self.size != size:
            raise ValueError(f"no proof of leaf {index} in a tree of {size} was prepared")
        return [self._mth(lo, hi) for lo, hi in self._paths[index]]
