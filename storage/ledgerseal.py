"""Whether a capture is sealed: its ledger entry is covered by a signed checkpoint (entry ``seq`` at
most the checkpoint's tree size), and by which one first, when.

This is what the archive recorded, not a verification: ``ledger verify`` recomputes the tree and
checks the signatures (docs/evidence.md). The interface and ``report status`` show it so that a
reader knows which captures a signed checkpoint already vouches for.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import ledger
from storage.models import LedgerCheckpoint, LedgerEntry
from storage.timefmt import iso_z

__all__ = ["Seal", "capture_seals"]

_CHUNK = 500  # ids per IN (...) query


@dataclass(frozen=True, kw_only=True)
class Seal:
    """A capture's place in the ledger and the first signed checkpoint that covers it."""

    seq: int | None  # its entry's sequence number; None: the row has no entry (ledger off)
    checkpoint: int | None = None  # the first signed checkpoint covering the entry; None: none yet
    sealed_at: datetime | None = None  # that checkpoint's time
    tree_size: int | None = None  # that checkpoint's tree size

    @property
    def sealed(self) -> bool:
        """True when a signed checkpoint covers the entry."""
        return self.checkpoint is not None

    def to_json(self) -> dict[str, Any]:
        """The public JSON form."""
        return {"sealed": self.sealed, "seq": self.seq, "checkpoint": self.checkpoint,
                "sealed_at": iso_z(self.sealed_at) if self.sealed_at else None,
                "tree_size": self.tree_size}


def capture_seals(sessions: sessionmaker[Session], capture_ids: Iterable[int]) -> dict[int, Seal]:
    """The seal of each of ``capture_ids`` (every id given is in the answer)."""
    ids = sorted(set(capture_ids))
    if not ids:
        return {}
    seqs: dict[int, int] = {}
    with sessions() as session:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            seqs.update((row_id, seq) for row_id, seq in session.execute(
                select(LedgerEntry.row_id, LedgerEntry.seq)
                .where(LedgerEntry.kind == ledger.CAPTURE, LedgerEntry.row_id.in_(chunk))))
        signed = session.execute(
            select(LedgerCheckpoint.tree_size, LedgerCheckpoint.id, LedgerCheckpoint.created_at)
            .where(LedgerCheckpoint.signature.is_not(None))
            .order_by(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)).all()
    sizes = [row[0] for row in signed]
    out: dict[int, Seal] = {}
    for capture_id in ids:
        seq = seqs.get(capture_id)
        at = bisect.bisect_left(sizes, seq) if seq is not None else len(sizes)
        if at == len(sizes):
            out[capture_id] = Seal(seq=seq)
        else:
            size, point, when = signed[at]
            out[capture_id] = Seal(seq=seq, checkpoint=point, sealed_at=when, tree_size=size)
    return out
