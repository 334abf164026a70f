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
  other payload sha256, or a record whose digests fail; a text entry's record whose text does not
  hash to its ``text_sha256``, or, in a version-2 text entry, whose block digest is not the pinned
  one);
- ``checkpoint-mismatch``: the tree over the entries has another root at a checkpoint's size, or the
  ledger is shorter than a checkpoint (entries deleted at the end, or the ledger rewritten);
- ``bad-signature`` / ``foreign-key``: a checkpoint's signature does not verify, or it was made by
  another key than the archive's.

An unsigned checkpoint, or no public key to check signatures with, is a warning.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import and_, func, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import NullType

from storage import ledger
from storage.database import make_engine
from storage.errors import ArchiveCorruptError
from storage.ledgerform import is_packed, row_entry, unpack
from storage.models import LedgerEntry
from storage.verify import Findings
from storage.warcread import WarcRecord, check_record, read_record_at

__all__ = ["LedgerReport", "SignatureCheck", "verify_ledger"]

BLOCK = 4096  # entries: ranges checked in parallel start at multiples of this
PARALLEL_FROM = 200_000  # entries from which verify_ledger uses several processes by default
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
                  from_checkpoint: int | None = None, batch: int = 5000, workers: int | None = None,
                  block: int = BLOCK) -> LedgerReport:
    """Verify the ledger of the archive behind ``sessions``.

    ``public_key`` (raw Ed25519, hex) is the archive's trusted key and ``check_signature`` checks one
    signature with it; without them signatures are not checked (a warning). ``warc_dir`` None skips
    the WARC records. ``from_checkpoint`` N trusts the entries checkpoint N covers once its root and
    signature check out, and checks entries and rows after it.

    ``workers`` processes check consecutive ranges of entries at once (default: one per CPU, up to
    4, from ``PARALLEL_FROM`` entries on); the findings are the same, in the same order. Ranges
    start at multiples of ``block`` entries, whose subtrees make up the tree (``ledger.BlockRoots``).
    """
    report = LedgerReport()
    with sessions() as session:
        points = ledger.checkpoints(session)
        count, lowest, highest = session.execute(
            select(func.count(), func.min(LedgerEntry.seq), func.max(LedgerEntry.seq))).one()
    start = 0
    if from_checkpoint is not None:
        chosen = [p for p in points if p.id == from_checkpoint]
        if not chosen:
            report.problems.append({"kind": "no-such-checkpoint", "checkpoint": from_checkpoint,
                                    "detail": f"there is no checkpoint {from_checkpoint}"})
            return report
        start = chosen[0].tree_size
        points = [p for p in points if p.id >= from_checkpoint]
    sizes = [p.tree_size for p in points]
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if count >= PARALLEL_FROM else 1
    if count and (lowest, highest) != (1, count):
        workers = 1  # gaps: a leaf's place in the tree is not its seq, the ranges would not align
    ranges = _ranges(count, workers, block)
    job = _Job(warc_dir=warc_dir, start=start, sizes=sizes, block=block, batch=batch)
    parts = _check_ranges(sessions, job, ranges)
    for part in parts:
        report.problems += part.problems
        report.entries_checked += part.entries_checked
        report.rows_checked += part.rows_checked
        report.records_checked += part.records_checked
    size, roots = ledger.combine_blocks([part.tree for part in parts], sizes)
    _check_checkpoints(points, size, roots, report, public_key, check_signature)
    _rows_without_entries(sessions, report)
    return report


def _ranges(count: int, workers: int, block: int) -> list[tuple[int | None, int | None]]:
    """(after seq, up to seq) of each worker's entries; None: no bound (one range: every entry)."""
    if workers <= 1 or count < 2 * block:
        return [(None, None)]
    step = -(-count // workers // block) * block or block
    bounds = [*range(0, count, step), count]
    return [(lo, None if hi == count else hi) for lo, hi in itertools.pairwise(bounds)]


@dataclass(frozen=True, kw_only=True)
class _Job:
    """What every range's check needs besides its bounds."""

    warc_dir: Path | None
    start: int
    sizes: list[int]
    block: int
    batch: int


@dataclass
class _Part:
    """What checking one range found: its problems and counts, and its part of the tree."""

    tree: ledger.BlockRoots
    problems: list[dict[str, Any]] = field(default_factory=list)
    entries_checked: int = 0
    rows_checked: int = 0
    records_checked: int = 0


def _check_ranges(sessions: sessionmaker[Session], job: _Job,
                  ranges: list[tuple[int | None, int | None]]) -> list[_Part]:
    """Check the ranges: the first here, the others each in a process of its own."""
    if len(ranges) == 1:
        return [_check_range(sessions, job, *ranges[0])]
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    with ProcessPoolExecutor(max_workers=len(ranges) - 1, mp_context=context) as pool:
        futures = [pool.submit(_check_range_at, url, job, lo, hi) for lo, hi in ranges[1:]]
        first = _check_range(sessions, job, *ranges[0])
        return [first, *(future.result() for future in futures)]


def _check_range_at(url: str, job: _Job, lo: int | None, hi: int | None) -> _Part:
    """``_check_range`` in a worker process, on its own connection to the database at ``url``."""
    engine = make_engine(url)
    try:
        return _check_range(sessionmaker(engine), job, lo, hi)
    finally:
        engine.dispose()


def _check_range(sessions: sessionmaker[Session], job: _Job, lo: int | None, hi: int | None) -> _Part:
    """Check the entries after seq ``lo`` up to ``hi`` (None: no bound), continuing the chain from the
    stored entry before them."""
    chain = _Chain()
    if lo:
        with sessions() as session:
            before = session.execute(select(LedgerEntry.seq, LedgerEntry.hash)
                                     .where(LedgerEntry.seq <= lo)
                                     .order_by(LedgerEntry.seq.desc()).limit(1)).first()
        if before is not None:
            chain = _Chain(seq=before[0], prev=before[1])
    part = _Part(tree=ledger.BlockRoots(lo or 0, job.block, job.sizes))
    queries = [(lo, hi, True)]
    if job.start and (lo is None or lo < job.start):  # the trusted entries: no rows to read
        trusted = job.start if hi is None or hi > job.start else hi
        queries = [(lo, trusted, False)] + ([(trusted, hi, True)] if trusted != hi else [])
    for after, upto, with_rows in queries:
        for rows in _joined_entries(sessions, job.batch, after, upto, with_rows):
            others = _other_rows(sessions, rows) if with_rows else {}
            _check_entries(rows, part, job.warc_dir, chain, job.start, others)
    return part


def _other_rows(sessions: sessionmaker[Session], rows: Sequence[Any]
                ) -> dict[tuple[str, int], Sequence[Any]]:
    """The raw column values of the rows of the kinds not joined (checks and report versions, few)
    that the entries in ``rows`` cover, by (kind, row id)."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row[1] not in _SPANS and row[1] in ledger.KINDS:
            wanted.setdefault(row[1], set()).add(row[2])
    found: dict[tuple[str, int], Sequence[Any]] = {}
    with sessions() as session:
        for name, ids in wanted.items():
            kind = ledger.KINDS[name]
            key = kind.table.c[kind.key]
            columns = [type_coerce(column, NullType()) for column in kind.columns()]
            ordered = sorted(ids)
            for start in range(0, len(ordered), 500):
                for values in session.execute(select(*columns)
                                              .where(key.in_(ordered[start:start + 500]))):
                    found[(name, cast(int, values[0]))] = tuple(values)
    return found


def _leaf(digest: str) -> bytes:
    """The tree's leaf data of a stored entry hash (b"" for one that is not 32 bytes of hex)."""
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        return b""
    return raw if len(raw) == 32 else b""


# where each kind's row columns (``Kind.labels`` order) are in a row of ``_joined_entries``
_SPANS: dict[str, tuple[int, int]] = {}
# the kinds whose rows are joined to their entries (one per capture, about): the others are few and
# looked up per batch (``_other_rows``), each join costing every entry a lookup
_JOINED = (ledger.CAPTURE, ledger.TEXT)
_ENTRY_COLUMNS = 5  # seq, kind, row_id, body, hash


def _joined_entries(sessions: sessionmaker[Session], batch: int, lo: int | None, hi: int | None,
                    with_rows: bool = True) -> Iterator[Sequence[Any]]:
    """The entries after seq ``lo`` up to ``hi`` (None: no bound) in ``seq`` order, each with the
    columns of the row it covers (None when that row is gone; none at all unless ``with_rows``), in
    batches: one query, streamed (a server-side cursor on PostgreSQL), read in one transaction (a
    consistent snapshot)."""
    entries = LedgerEntry.__table__
    columns: list[Any] = [entries.c.seq, entries.c.kind, entries.c.row_id, entries.c.body,
                          entries.c.hash]
    joined: Any = entries
    for kind in (ledger.KINDS[name] for name in _JOINED):
        _SPANS[kind.name] = (len(columns), len(columns) + len(kind.labels()))
        # raw driver values (``Kind.raw_fields``): SQLAlchemy's type processing was 2/3 of the time
        columns += [type_coerce(column, NullType()) for column in kind.columns()]
        joined = joined.outerjoin(kind.table, and_(entries.c.kind == kind.name,
                                                   kind.table.c[kind.key] == entries.c.row_id))
    stmt = (select(*columns).select_from(joined) if with_rows
            else select(*columns[:_ENTRY_COLUMNS])).order_by(entries.c.seq)
    if lo is not None:
        stmt = stmt.where(entries.c.seq > lo)
    if hi is not None:
        stmt = stmt.where(entries.c.seq <= hi)
    with sessions() as session:
        result = session.connection().execution_options(stream_results=True,
                                                        max_row_buffer=batch).execute(stmt)
        yield from result.partitions(batch)


@dataclass
class _Chain:
    """The last entry seen: its sequence number and stored hash."""

    seq: int = 0
    prev: str = ledger.GENESIS


def _check_entries(rows: Sequence[Any], report: _Part, warc_dir: Path | None, chain: _Chain,
                   start: int, others: dict[tuple[str, int], Sequence[Any]] | None = None) -> None:
    """Hashes, links and gaps of one batch of entries (each with its row's columns), and the rows
    and records of those after ``start``; each entry's hash goes into ``tree``.

    The fast path serializes each entry's body from its row and the previous entry's hash
    (``Kind.row_body``; a packed entry: ``ledgerform.row_entry``): when that is the stored body (a
    packed one: its packed form) and hashes to the stored hash, the entry is canonical, in its place
    and its row unchanged. Anything else is looked at field by field."""
    kinds, spans, sha256, tree = ledger.KINDS, _SPANS, hashlib.sha256, report.tree
    for row in rows:
        seq, kind, row_id, body, digest = row[:_ENTRY_COLUMNS]
        report.entries_checked += 1
        spec = kinds.get(kind)
        values = None
        if spec is not None and seq > start:
            span = spans.get(kind)
            values = row[slice(*span)] if span else (others or {}).get((kind, row_id))
        present = values is not None and len(values) > 0 and values[0] is not None
        canonical = None  # the body made from the row, when the entry is the packed form of it
        if is_packed(body):  # stored packed (storage.ledgerform): the hash is over the canonical body
            canonical = (row_entry(spec, seq, row_id, values, chain.prev, body)
                         if present and spec is not None and values is not None
                         and seq == chain.seq + 1 else None)
            try:
                body = canonical or unpack(body, seq, kind, row_id)
            except ValueError as exc:
                report.problems.append({"seq": seq, "entry_kind": kind, "row_id": row_id,
                                        "kind": "entry-rewritten", "detail": str(exc)})
                chain.seq, chain.prev = seq, digest
                tree.add(_leaf(digest))
                continue
        if seq == chain.seq + 1:
            if seq <= start:  # covered by the trusted checkpoint: its hash and link only
                leaf = sha256(body.encode("utf-8")).digest()
                link = f'"prev":"{chain.prev}","seq":{seq}'
                if leaf.hex() == digest and (body.endswith(link + "}")
                                             or body.endswith(link + ',"v":2}')):
                    chain.seq, chain.prev = seq, digest
                    tree.add(leaf)
                    continue
            elif present:
                assert spec is not None and values is not None
                if canonical is not None or spec.row_body(seq, row_id, values, chain.prev,
                                                          body) == body:
                    leaf = sha256(body.encode("utf-8")).digest()
                    if leaf.hex() == digest:
                        report.rows_checked += 1
                        chain.seq, chain.prev = seq, digest
                        tree.add(leaf)
                        if warc_dir is not None and kind in _RECORD_CHECKS:
                            fields = json.loads(body)["fields"]
                            _RECORD_CHECKS[kind](warc_dir, seq, row_id, fields, report)
                        continue
        now = None
        if seq > start and present:
            assert spec is not None and values is not None
            now = spec.raw_fields(values)
        _diagnose(seq, kind, row_id, body.encode("utf-8"), digest, now, seq > start, report,
                  warc_dir, chain)
        chain.seq, chain.prev = seq, digest
        tree.add(_leaf(digest))


def _diagnose(seq: int, kind: str, row_id: int, raw: bytes, digest: str,
              now: dict[str, Any] | None, compare: bool, report: _Part,
              warc_dir: Path | None, chain: _Chain) -> None:
    """Say what is wrong with an entry the fast path did not accept (``now``: its row's fields, None
    when the row is gone; ``compare`` False: its row is not to be compared)."""
    where = {"seq": seq, "entry_kind": kind, "row_id": row_id}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        report.problems.append({**where, "kind": "entry-rewritten", "detail": f"body: {exc}"})
        return
    if not isinstance(data, dict):
        report.problems.append({**where, "kind": "entry-rewritten", "detail": "body: not an entry"})
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
    if not compare:
        return
    fields = data.get("fields") or {}
    if now is None:
        report.problems.append({**where, "kind": "row-deleted",
                                "detail": f"the {kind} row {row_id} entry {seq} covers is gone"})
        return
    report.rows_checked += 1
    pinned = ledger.KINDS[kind].pinned
    if pinned is not None and pinned in fields:  # the entry's own (the row has none)
        now = {**now, pinned: fields[pinned]}
    changed = sorted(k for k in set(fields) | set(now) if fields.get(k) != now.get(k))
    if changed:
        report.problems.append({**where, "kind": "row-rewritten", "fields": changed,
                                "detail": f"the {kind} row {row_id} differs from entry {seq} in "
                                          f"{', '.join(changed)}"})
    if warc_dir is not None and kind in _RECORD_CHECKS:
        _RECORD_CHECKS[kind](warc_dir, seq, row_id, fields, report)


def _compare_records(warc_dir: Path, seq: int, row_id: int, fields: dict[str, Any],
                     report: _Part) -> None:
    """The records an entry names: the main record (its id), the payload record (its sha256) and,
    in a version-2 entry, every record of the capture (its WARC-Block-Digest is the one the entry
    pinned); each record's own digests must hold too."""
    where = {"seq": seq, "entry_kind": ledger.CAPTURE, "row_id": row_id}
    places: dict[tuple[str, int], _Expected] = {}
    if fields.get("warc_file") and fields.get("warc_offset") is not None:
        places[(fields["warc_file"], fields["warc_offset"])] = _Expected(
            record_id=fields.get("warc_record_id"))
    if fields.get("payload_file") and fields.get("payload_offset") is not None and fields.get("sha256"):
        places.setdefault((fields["payload_file"], fields["payload_offset"]), _Expected()).sha256 = (
            fields["sha256"])
    digests = fields.get(ledger.BLOCK_DIGESTS)
    if isinstance(digests, list):
        for entry, digest in zip(fields.get("records") or [], digests, strict=False):
            place = _record_place(entry, fields.get("warc_file"))
            if place is not None and digest:
                places.setdefault(place, _Expected()).block_digest = digest
    for (name, offset), expected in places.items():
        record = _read_record(warc_dir, name, offset, where, report)
        if record is None:
            continue
        found = []
        if expected.record_id and record.headers.get("WARC-Record-ID") != expected.record_id:
            found.append(f"record id {record.headers.get('WARC-Record-ID')}, entry says "
                         f"{expected.record_id}")
        if expected.sha256 and hashlib.sha256(record.payload).hexdigest() != expected.sha256:
            found.append(f"payload sha256 differs from the entry's {expected.sha256}")
        if expected.block_digest and record.headers.get("WARC-Block-Digest") != expected.block_digest:
            found.append(f"the {record.type} record's block digest "
                         f"{record.headers.get('WARC-Block-Digest')} is not the entry's "
                         f"{expected.block_digest}")
        found += check_record(record)
        if found:
            report.problems.append({**where, "kind": "warc-rewritten", "warc_file": name,
                                    "offset": offset, "detail": "; ".join(found)})


def _read_record(warc_dir: Path, name: str, offset: int, where: dict[str, Any], report: _Part
                 ) -> WarcRecord | None:
    """The record at ``offset`` of WARC file ``name`` (counted as checked), None when it cannot be
    read (a ``warc-rewritten`` problem at ``where``)."""
    report.records_checked += 1
    try:
        return read_record_at(warc_dir, name, offset)
    except ArchiveCorruptError as exc:
        report.problems.append({**where, "kind": "warc-rewritten", "warc_file": name,
                                "offset": offset, "detail": str(exc)})
        return None


def _compare_text(warc_dir: Path, seq: int, row_id: int, fields: dict[str, Any], report: _Part
                  ) -> None:
    """The extracted-text record a text entry names: its digests hold, its text hashes to the
    entry's ``text_sha256`` and, in a version-2 entry, its WARC-Block-Digest is the pinned one."""
    name, offset = fields.get("warc_file"), fields.get("warc_offset")
    if not isinstance(name, str) or not isinstance(offset, int):
        return  # no record (a failed extraction)
    where = {"seq": seq, "entry_kind": ledger.TEXT, "row_id": row_id}
    record = _read_record(warc_dir, name, offset, where, report)
    if record is None:
        return
    found = []
    pinned = fields.get(ledger.TEXT_BLOCK_DIGEST)
    if pinned and record.headers.get("WARC-Block-Digest") != pinned:
        found.append(f"the text record's block digest {record.headers.get('WARC-Block-Digest')} is "
                     f"not the entry's {pinned}")
    found += check_record(record)
    wanted = fields.get("text_sha256")
    if wanted:
        try:
            content = json.loads(record.payload or record.block)
        except ValueError:
            content = None
        text = content.get("text") if isinstance(content, dict) else None
        if not isinstance(text, str) or hashlib.sha256(text.encode("utf-8")).hexdigest() != wanted:
            found.append(f"its text does not hash to the entry's text_sha256 {wanted}")
    if found:
        report.problems.append({**where, "kind": "warc-rewritten", "warc_file": name,
                                "offset": offset, "detail": "; ".join(found)})


# the WARC records checked of an entry, by its kind
_RECORD_CHECKS: dict[str, Callable[[Path, int, int, dict[str, Any], _Part], None]] = {
    ledger.CAPTURE: _compare_records, ledger.TEXT: _compare_text}


@dataclass
class _Expected:
    """What an entry says of one WARC record."""

    record_id: str | None = None
    sha256: str | None = None
    block_digest: str | None = None


def _record_place(entry: Any, row_file: str | None) -> tuple[str, int] | None:
    """(file, offset) of one ``records`` entry of a capture (compact list or older dict)."""
    if isinstance(entry, dict):
        name, offset = entry.get("file") or row_file, entry.get("offset")
    elif isinstance(entry, list) and len(entry) >= 2:
        extra = entry[4] if len(entry) > 4 and isinstance(entry[4], dict) else {}
        name, offset = extra.get("file") or row_file, entry[1]
    else:
        return None
    return (name, offset) if isinstance(name, str) and isinstance(offset, int) else None


def _check_checkpoints(points: list[ledger.Checkpoint], size: int, roots: dict[int, bytes],
                       report: LedgerReport, public_key: str | None,
                       check_signature: SignatureCheck | None) -> None:
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
                                              f" the ledger has {size}"})
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
