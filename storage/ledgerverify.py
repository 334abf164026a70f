"""``ledger verify``: recompute every entry hash, the chain and the tree at each checkpoint, check each
checkpoint's signature, and compare every entry with its row (and its WARC records).

What each finding means (``kind`` of a problem):

- ``entry-rewritten``: an entry's stored hash is not the hash of its body, or its body is not canonical;
- ``chain-broken``: an entry does not name the previous entry's hash (entries swapped, inserted or
  deleted in the middle), or its body's sequence number is not its own;
- ``entry-missing``: a gap in the sequence numbers (an entry deleted);
- ``row-deleted`` / ``row-rewritten``: the row an entry covers is gone, or its evidence fields differ;
- ``row-without-entry``: a capture or text row no entry covers (a row inserted after the fact);
- ``warc-rewritten``: the WARC record an entry points at is not the one it recorded (other record id,
  other payload sha256, or a record whose digests fail);
- ``checkpoint-mismatch``: the tree over the entries has another root at a checkpoint's size, or the
  ledger is shorter than a checkpoint (entries deleted at the end, or the ledger rewritten);
- ``bad-signature`` / ``foreign-key``: a checkpoint's signature does not verify, or it was made by
  another key than the archive's.

An unsigned checkpoint, or no public key to check signatures with, is a warning.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import ledger
from storage.errors import ArchiveCorruptError
from storage.models import LedgerEntry
from storage.verify import Findings
from storage.warcread import check_record, read_record_at

__all__ = ["LedgerReport", "SignatureCheck", "verify_ledger"]

# (public key hex, statement, signature) -> whether the signature verifies
SignatureCheck = Callable[[str, bytes, bytes], bool]


@dataclass
class LedgerReport(Findings):
    """What ``verify_ledger`` found."""

    entries_checked: int = 0
    rows_checked: int = 0
    records_checked: int = 0
    checkpoints_checked: int = 0


def verify_ledger(sessions: sessionmaker[Session], warc_dir: Path | None, *,
                  public_key: str | None = None, check_signature: SignatureCheck | None = None,
                  from_checkpoint: int | None = None, batch: int = 5000) -> LedgerReport:
    """Verify the ledger of the archive behind ``sessions``.

    ``public_key`` (raw Ed25519, hex) is the archive's trusted key and ``check_signature`` checks one
    signature with it; without them signatures are not checked (a warning). ``warc_dir`` None skips
    the WARC records. ``from_checkpoint`` N trusts the entries checkpoint N covers once its root and
    signature check out, and checks entries and rows after it.
    """
    report = LedgerReport()
    with sessions() as session:
        points = ledger.checkpoints(session)
    start = 0
    if from_checkpoint is not None:
        chosen = [p for p in points if p.id == from_checkpoint]
        if not chosen:
            report.problems.append({"kind": "no-such-checkpoint", "checkpoint": from_checkpoint,
                                    "detail": f"there is no checkpoint {from_checkpoint}"})
            return report
        start = chosen[0].tree_size
        points = [p for p in points if p.id >= from_checkpoint]
    leaves: list[bytes] = []
    chain = _Chain()
    for rows in _entry_batches(sessions, batch):
        leaves.extend(bytes.fromhex(r[4]) if _is_hex(r[4]) else b"" for r in rows)
        _check_entries(sessions, rows, report, warc_dir, chain, start)
    _check_checkpoints(points, leaves, report, public_key, check_signature)
    _rows_without_entries(sessions, report)
    return report


def _is_hex(value: str) -> bool:
    try:
        return len(bytes.fromhex(value)) == 32
    except ValueError:
        return False


def _entry_batches(sessions: sessionmaker[Session], batch: int
                   ) -> Iterator[list[tuple[int, str, int, str, str]]]:
    last = 0
    while True:
        with sessions() as session:
            rows = [tuple(r) for r in session.execute(
                select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.row_id, LedgerEntry.body,
                       LedgerEntry.hash).where(LedgerEntry.seq > last)
                .order_by(LedgerEntry.seq).limit(batch))]
        if not rows:
            return
        yield rows  # type: ignore[misc]
        last = rows[-1][0]  # type: ignore[assignment]


@dataclass
class _Chain:
    """The last entry seen: its sequence number and stored hash."""

    seq: int = 0
    prev: str = ledger.GENESIS


def _check_entries(sessions: sessionmaker[Session], rows: list[tuple[int, str, int, str, str]],
                   report: LedgerReport, warc_dir: Path | None, chain: _Chain, start: int) -> None:
    """Hashes, links and gaps of one batch of entries, and the rows and records of those after
    ``start``.

    The fast path rebuilds each entry's body from its row and the previous entry's hash: when that
    is the stored body and hashes to the stored hash, the entry is canonical, in its place and its
    row unchanged, in one serialization. Anything else is looked at field by field."""
    current = _current_rows(sessions, [(kind, row_id) for seq, kind, row_id, _, _ in rows
                                       if seq > start])
    for seq, kind, row_id, body, digest in rows:
        report.entries_checked += 1
        raw = body.encode("utf-8")
        if seq <= start:  # covered by the trusted checkpoint: its hash and link only
            if hashlib.sha256(raw).hexdigest() == digest and seq == chain.seq + 1 and (
                    raw.endswith(f'"prev":"{chain.prev}","seq":{seq}}}'.encode())):
                chain.seq, chain.prev = seq, digest
                continue
        else:
            fields = current.get((kind, row_id))
            if fields is not None and seq == chain.seq + 1:
                expected = ledger.entry_body(seq, kind, row_id, fields, chain.prev)
                if expected == raw and hashlib.sha256(raw).hexdigest() == digest:
                    report.rows_checked += 1
                    chain.seq, chain.prev = seq, digest
                    if warc_dir is not None and kind == ledger.CAPTURE:
                        _compare_records(warc_dir, seq, row_id, fields, report)
                    continue
        _diagnose(seq, kind, row_id, raw, digest, current if seq > start else None, report,
                  warc_dir, chain)
        chain.seq, chain.prev = seq, digest


def _diagnose(seq: int, kind: str, row_id: int, raw: bytes, digest: str,
              current: dict[tuple[str, int], dict[str, Any]] | None, report: LedgerReport,
              warc_dir: Path | None, chain: _Chain) -> None:
    """Say what is wrong with an entry the fast path did not accept (``current`` None: its row is
    not to be compared)."""
    where = {"seq": seq, "entry_kind": kind, "row_id": row_id}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        report.problems.append({**where, "kind": "entry-rewritten", "detail": f"body: {exc}"})
        return
    if ledger.canonical(data) != raw or hashlib.sha256(raw).hexdigest() != digest:
        report.problems.append({**where, "kind": "entry-rewritten",
                                "detail": f"entry {seq}: its hash is not the hash of its body"})
    if seq != chain.seq + 1:
        report.problems.append({**where, "kind": "entry-missing",
                                "detail": f"entries {chain.seq + 1} to {seq - 1} are missing"})
    elif data.get("prev") != chain.prev:
        report.problems.append({**where, "kind": "chain-broken",
                                "detail": f"entry {seq} does not follow entry {seq - 1} "
                                          f"(reordered, inserted or rewritten)"})
    if data.get("seq") != seq or data.get("kind") != kind or data.get("id") != row_id:
        report.problems.append({**where, "kind": "chain-broken",
                                "detail": f"entry {seq}'s body says seq {data.get('seq')}, "
                                          f"{data.get('kind')} {data.get('id')}"})
    if current is None:
        return
    fields = data.get("fields") or {}
    now = current.get((kind, row_id))
    if now is None:
        report.problems.append({**where, "kind": "row-deleted",
                                "detail": f"the {kind} row {row_id} entry {seq} covers is gone"})
        return
    report.rows_checked += 1
    changed = sorted(k for k in set(fields) | set(now) if fields.get(k) != now.get(k))
    if changed:
        report.problems.append({**where, "kind": "row-rewritten", "fields": changed,
                                "detail": f"the {kind} row {row_id} differs from entry {seq} in "
                                          f"{', '.join(changed)}"})
    if warc_dir is not None and kind == ledger.CAPTURE:
        _compare_records(warc_dir, seq, row_id, fields, report)


def _current_rows(sessions: sessionmaker[Session], wanted: list[tuple[str, int]]
                  ) -> dict[tuple[str, int], dict[str, Any]]:
    """The evidence fields of the rows named, now, by (kind, row id)."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    with sessions() as session:
        for kind in ledger.KINDS.values():
            ids = {row_id for k, row_id in wanted if k == kind.name}
            if not ids:
                continue
            labels, key = kind.labels(), kind.table.c[kind.key]
            # a range, not IN (thousands of bound ids): entries cover rows mostly in id order
            for row in session.execute(select(*kind.columns())
                                       .where(key.between(min(ids), max(ids)))):
                if row[0] in ids:
                    found[(kind.name, row[0])] = kind.fields_of(dict(zip(labels, row, strict=True)))
    return found


def _compare_records(warc_dir: Path, seq: int, row_id: int, fields: dict[str, Any],
                     report: LedgerReport) -> None:
    """The main record (its id and digests) and the payload record (its sha256) an entry names."""
    where = {"seq": seq, "entry_kind": ledger.CAPTURE, "row_id": row_id}
    places: dict[tuple[str, int], list[str | None]] = {}  # (file, offset) -> [record id, sha256]
    if fields.get("warc_file") and fields.get("warc_offset") is not None:
        places[(fields["warc_file"], fields["warc_offset"])] = [fields.get("warc_record_id"), None]
    if fields.get("payload_file") and fields.get("payload_offset") is not None and fields.get("sha256"):
        places.setdefault((fields["payload_file"], fields["payload_offset"]), [None, None])[1] = (
            fields["sha256"])
    for (name, offset), (record_id, sha) in places.items():
        report.records_checked += 1
        try:
            record = read_record_at(warc_dir, name, offset)
        except ArchiveCorruptError as exc:
            report.problems.append({**where, "kind": "warc-rewritten", "warc_file": name,
                                    "offset": offset, "detail": str(exc)})
            continue
        found = []
        if record_id and record.headers.get("WARC-Record-ID") != record_id:
            found.append(f"record id {record.headers.get('WARC-Record-ID')}, entry says {record_id}")
        if sha and hashlib.sha256(record.payload).hexdigest() != sha:
            found.append(f"payload sha256 differs from the entry's {sha}")
        found += check_record(record)
        if found:
            report.problems.append({**where, "kind": "warc-rewritten", "warc_file": name,
                                    "offset": offset, "detail": "; ".join(found)})


def _check_checkpoints(points: list[ledger.Checkpoint], leaves: list[bytes], report: LedgerReport,
                       public_key: str | None, check_signature: SignatureCheck | None) -> None:
    roots = ledger.merkle_roots(leaves, [p.tree_size for p in points])
    if points and (public_key is None or check_signature is None):
        report.warnings.append({"kind": "signatures-unchecked",
                                "detail": "no archive key: checkpoint signatures were not checked"})
    for point in points:
        report.checkpoints_checked += 1
        where = {"checkpoint": point.id, "tree_size": point.tree_size}
        root = roots.get(point.tree_size)
        if root is None:
            report.problems.append({**where, "kind": "checkpoint-mismatch",
                                    "detail": f"checkpoint {point.id} covers {point.tree_size} entries;"
                                              f" the ledger has {len(leaves)}"})
        elif root.hex() != point.root_hash:
            report.problems.append({**where, "kind": "checkpoint-mismatch",
                                    "detail": f"the tree of the first {point.tree_size} entries has "
                                              f"another root than checkpoint {point.id} recorded"})
        statement = ledger.checkpoint_statement(point.tree_size, point.root_hash, point.created_at)
        if statement.decode("utf-8") != point.statement:
            report.problems.append({**where, "kind": "bad-signature",
                                    "detail": f"checkpoint {point.id}'s statement is not its values"})
        if point.signature is None:
            report.warnings.append({**where, "kind": "unsigned-checkpoint",
                                    "detail": f"checkpoint {point.id} is not signed"})
            continue
        if public_key is None or check_signature is None:
            continue
        if point.public_key != public_key:
            report.problems.append({**where, "kind": "foreign-key",
                                    "detail": f"checkpoint {point.id} is signed by key "
                                              f"{point.key_fingerprint}, not the archive's"})
        elif not check_signature(public_key, point.statement.encode("utf-8"),
                                 bytes.fromhex(point.signature)):
            report.problems.append({**where, "kind": "bad-signature",
                                    "detail": f"checkpoint {point.id}'s signature does not verify"})


def _rows_without_entries(sessions: sessionmaker[Session], report: LedgerReport) -> None:
    with sessions() as session:
        for kind in ledger.KINDS.values():
            covered = select(LedgerEntry.row_id).where(LedgerEntry.kind == kind.name)
            column = kind.table.c[kind.key]
            for row_id in session.scalars(select(column).where(column.not_in(covered))
                                          .order_by(column)):
                report.problems.append({"kind": "row-without-entry", "entry_kind": kind.name,
                                        "row_id": row_id,
                                        "detail": f"the {kind.name} row {row_id} has no ledger entry"})
