"""The capture ledger: an append-only, hash-chained log of the evidence rows, with Merkle checkpoints.

Every committed capture (and extracted text) appends one entry **in the same transaction** as its row:
a sequence number, the kind, the row's id, the row's evidence fields, the previous entry's hash, and
the entry's own hash, SHA-256 over its canonical serialization (``canonical``: JSON, sorted keys, no
whitespace, UTF-8). A capture or text entry is stored packed (``storage.ledgerform``; readers get
the canonical body back with ``ledgerform.unpack``). The entry hashes are the leaves of an RFC 9162
Merkle tree; a checkpoint records the tree's size and root at one moment, signed (Ed25519) when the
archive has a key. See docs/evidence.md for the formats and ``storage.ledgerverify`` for the checks.

Sequence numbers are gapless and ordered under concurrency: on PostgreSQL an append takes a
transaction-level advisory lock (held until the transaction ends); on SQLite the write lock the
transaction already holds (its rows were inserted first) does the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol, cast

from sqlalchemy import JSON, Boolean, Table, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from storage import ledgerform
from storage.models import (
    Capture,
    Check,
    Extraction,
    LedgerCheckpoint,
    LedgerEntry,
    ReportVersion,
    UTCDateTime,
)

__all__ = ["BLOCK_DIGESTS", "CAPTURE", "CHECK", "CHECKPOINT_TYPE", "GENESIS", "KINDS", "REPORT_VERSION",
           "TEXT", "TEXT_BLOCK_DIGEST", "BlockRoots", "Checkpoint", "Kind", "Signer", "TreeRoots",
           "adopt_rows", "append_entries", "append_rows", "canonical", "capture_fields",
           "checkpoint_statement", "combine_blocks", "entries_since_checkpoint", "entry_body",
           "extend_frontier", "iter_leaf_hashes", "merkle_roots", "record_checkpoint", "record_timestamp",
           "text_fields"]

CAPTURE = "capture"
TEXT = "text"
CHECK = "check"
REPORT_VERSION = "report-version"
GENESIS = "0" * 64  # the "previous hash" of the first entry
CHECKPOINT_TYPE = "collector-ledger-checkpoint/1"
# the PostgreSQL advisory lock of ledger appends (any constant; "cledger1" in ASCII)
LEDGER_LOCK_KEY = int.from_bytes(b"cledger1", "big")

# the evidence fields of a capture row an entry holds (what ``verify`` compares with the row)
CAPTURE_FIELDS = ("url", "url_key", "captured_at", "outcome", "reason", "http_status", "final_url",
                  "content_type", "content_length", "sha256", "warc_file", "warc_offset",
                  "warc_length", "warc_record_id", "payload_file", "payload_offset", "payload_length",
                  "revisit_of", "records", "tls_fingerprint")
TEXT_FIELDS = ("capture_id", "status", "text_sha256", "text_length", "warc_file", "warc_offset",
               "warc_length")
CHECK_FIELDS = ("url", "url_key", "checked_at", "capture_id", "baseline_id", "probe_id", "status",
                "similarity", "redirected", "http_status", "final_url", "sha256", "text_sha256",
                "signals", "quotes", "report", "ref")
# the entry-only field of a version-2 capture entry: the WARC-Block-Digest of each of the row's
# ``records``, in their order (rows keep no block digests; the entry pins them)
BLOCK_DIGESTS = "block_digests"
# the entry-only field of a version-2 text entry: the WARC-Block-Digest of its extracted-text record
# (None when it has none: a failed extraction)
TEXT_BLOCK_DIGEST = "block_digest"
REPORT_VERSION_FIELDS = ("report_id", "version", "added_at", "source", "source_url", "format", "title",
                         "sha256", "size", "capture_id", "doc_warc_file", "doc_warc_offset")


@dataclass(frozen=True)
class Kind:
    """What the ledger covers of one table: its key column, its evidence fields, which are times, and
    ``pinned``: the field a version-2 entry holds that its row does not (the WARC block digests of a
    capture's records, of a text's record)."""

    name: str
    table: Any
    key: str
    fields: tuple[str, ...]
    times: tuple[str, ...] = ()
    pinned: str | None = None

    def fields_of(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        """The evidence fields of a row (a mapping of its column values), as an entry holds them."""
        fields = {name: row.get(name) for name in self.fields}
        for name in self.times:
            fields[name] = _time_or_none(fields[name])
        return fields

    def columns(self) -> list[Any]:
        """The key column, then the other evidence columns (``labels`` names them)."""
        return [self.table.c[n] for n in self.labels()]

    def labels(self) -> list[str]:
        """The names of ``columns``."""
        return [self.key, *(n for n in self.fields if n != self.key)]

    @cached_property
    def _raw_plan(self) -> tuple[tuple[str, ...], int, tuple[tuple[str, str], ...]]:
        """The field names in ``labels`` order from the place where they start there (1: after the
        key, when the key is no field), and how the raw database value of each field that needs it
        becomes the entry's (``time``, ``json`` or ``bool``)."""
        labels = self.labels()
        skip = 0 if self.key in self.fields else 1
        how = tuple((name, _raw_kind(self.table.c[name].type)) for name in self.fields)
        return tuple(labels[skip:]), skip, tuple((name, kind) for name, kind in how if kind)

    def raw_fields(self, values: Sequence[Any]) -> dict[str, Any]:
        """The evidence fields of a row from its raw database values (in ``labels`` order, as the
        driver returns them, no SQLAlchemy type processing: ``ledger verify`` reads a million)."""
        names, skip, conversions = self._raw_plan
        fields = dict(zip(names, values[skip:], strict=True))
        for name, how in conversions:
            value = fields[name]
            if value is not None:
                if how == "time":
                    fields[name] = _raw_time(value)
                elif how == "json":
                    fields[name] = json.loads(value) if isinstance(value, str) else value
                else:
                    fields[name] = bool(value)
        return fields

    def row_body(self, seq: int, row_id: int, values: Sequence[Any], prev: str, stored: str
                 ) -> str | None:
        """The body the entry of a row whose raw column values (``raw_fields``) are ``values`` must
        have, in the version ``stored`` (the entry's body) says; the pinned field (version 2) is
        taken from ``stored``. Equal to ``entry_body`` (a test compares them). None when ``stored``
        is not a well-formed version-2 body that its kind allows."""
        fields = self.raw_fields(values)
        if not stored.endswith(_V2_END):
            return str(_CANONICAL.encode({"fields": fields, "id": row_id, "kind": self.name,
                                          "prev": prev, "seq": seq}))
        if self.pinned is None:
            return None
        head = '{"fields":{' + _CANONICAL.encode(self.pinned) + ":"
        if not stored.startswith(head):
            return None
        end = (stored.find("]", len(head)) + 1 if stored.startswith("[", len(head))
               else stored.find(",", len(head)))
        if end <= 0:
            return None
        return self.pinned_body(seq, row_id, fields, prev, stored[len(head):end])

    def pinned_body(self, seq: int, row_id: int, fields: Mapping[str, Any], prev: str, pinned: str
                    ) -> str:
        """The version-2 body of an entry whose evidence fields are ``fields`` and whose pinned
        field's canonical JSON is ``pinned`` (its name sorts first: it is spliced in front)."""
        body: str = _CANONICAL.encode({"fields": fields, "id": row_id, "kind": self.name,
                                       "prev": prev, "seq": seq})
        return ('{"fields":{' + _CANONICAL.encode(self.pinned) + ":" + pinned + ","
                + body[len('{"fields":{'):-1] + _V2_END)


# a version-2 entry's body ends so (version 1, the first, has no "v"; see docs/evidence.md)
_V2_END = ',"v":2}'
# the canonical serialization, made once (json.dumps makes an encoder per call: ~3 µs)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)


def _raw_kind(kind: Any) -> str:
    """How ``Kind.raw_fields`` converts the raw value of a column of SQL type ``kind``."""
    if isinstance(kind, UTCDateTime):
        return "time"
    if isinstance(kind, JSON):
        return "json"
    return "bool" if isinstance(kind, Boolean) else ""


def _raw_time(value: Any) -> str:
    """An entry's time from a raw database value: SQLite's text (``YYYY-MM-DD HH:MM:SS.ffffff``,
    UTC) or a driver's datetime (naive: UTC, as ``UTCDateTime`` stores it)."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return value[:10] + "T" + value[11:] + "Z"
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return _time(value)


KINDS = {kind.name: kind for kind in (
    Kind(CAPTURE, Capture.__table__, "id", CAPTURE_FIELDS, ("captured_at",), BLOCK_DIGESTS),
    Kind(TEXT, Extraction.__table__, "capture_id", TEXT_FIELDS, (), TEXT_BLOCK_DIGEST),
    Kind(CHECK, Check.__table__, "id", CHECK_FIELDS, ("checked_at",)),
    Kind(REPORT_VERSION, ReportVersion.__table__, "id", REPORT_VERSION_FIELDS, ("added_at",)))}


def canonical(value: Any) -> bytes:
    """The canonical serialization: JSON with sorted keys, no whitespace, UTF-8 (non-ASCII kept)."""
    return _CANONICAL.encode(value).encode("utf-8")


def _time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _time_or_none(value: datetime | None) -> str | None:
    return None if value is None else _time(value)


def capture_fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The evidence fields of a capture row (a dict of its column values), as an entry holds them."""
    return KINDS[CAPTURE].fields_of(row)


def text_fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The evidence fields of an extraction row (its text's sha256 and WARC place)."""
    return KINDS[TEXT].fields_of(row)


def append_rows(session: Session, kind: str, rows: Iterable[Any]) -> None:
    """Append one entry per ORM row of ``kind`` (flushed: it has its id), in the caller's transaction."""
    spec = KINDS[kind]
    append_entries(session, kind, [
        (getattr(row, spec.key), spec.fields_of({n: getattr(row, n) for n in spec.fields}))
        for row in rows])


def entry_body(seq: int, kind: str, row_id: int, fields: Mapping[str, Any], prev: str) -> bytes:
    """The canonical bytes of one entry; its hash is their SHA-256. An entry whose fields hold its
    kind's pinned field (the block digests of a capture's records) is version 2 (``"v": 2``)."""
    body = {"seq": seq, "kind": kind, "id": row_id, "fields": dict(fields), "prev": prev}
    pinned = KINDS[kind].pinned if kind in KINDS else None
    if pinned is not None and pinned in fields:
        body["v"] = 2
    return canonical(body)


_ENTRIES = cast(Table, LedgerEntry.__table__)
_LAST_ENTRY = select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)


def append_entries(session: Session, kind: str, items: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Append one entry per ``(row id, evidence fields)`` in the caller's transaction (rows inserted
    first: on SQLite their insert took the write lock that orders appends)."""
    if not items:
        return
    if session.get_bind().dialect.name == "postgresql":  # held until the transaction ends
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
    last = session.execute(_LAST_ENTRY).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    values = []
    for row_id, fields in items:
        seq += 1
        body = entry_body(seq, kind, row_id, fields, prev)
        # stored packed (storage.ledgerform) when it can be: the hash is over the canonical body
        stored = ledgerform.pack(seq, kind, row_id, fields, prev, body) or body.decode("utf-8")
        prev = hashlib.sha256(body).hexdigest()
        values.append({"seq": seq, "kind": kind, "row_id": row_id, "body": stored, "hash": prev})
    session.execute(insert(_ENTRIES), values)  # Core: no ORM bulk machinery (half the append's cost)


def adopt_rows(session: Session) -> int:
    """Append entries for the rows of every kind that have none (an archive from before the ledger,
    or rows rebuilt by reindex); the number appended. Such entries prove only what the rows said
    when they were adopted."""
    count = 0
    for kind in KINDS.values():
        covered = select(LedgerEntry.row_id).where(LedgerEntry.kind == kind.name)
        key = kind.table.c[kind.key]
        rows = session.execute(select(*kind.columns()).where(key.not_in(covered))
                               .order_by(key)).all()
        labels = kind.labels()
        append_entries(session, kind.name, [
            (row[0], kind.fields_of(dict(zip(labels, row, strict=True)))) for row in rows])
        count += len(rows)
    return count


# -- the Merkle tree (RFC 9162: leaf = H(0x00 || entry hash), node = H(0x01 || left || right)) -------
def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _fold(stack: list[tuple[int, bytes]]) -> bytes:
    root = stack[-1][1]
    for _, digest in reversed(stack[:-1]):
        root = _node(digest, root)
    return root


def _push(stack: list[tuple[int, bytes]], leaf: bytes) -> None:
    _push_node(stack, 1, hashlib.sha256(b"\x00" + leaf).digest())


def _push_node(stack: list[tuple[int, bytes]], width: int, digest: bytes) -> None:
    """Push the root of a perfect subtree of ``width`` leaves (aligned: it starts where the stack ends)."""
    while stack and stack[-1][0] == width:
        width, digest = width * 2, _node(stack.pop()[1], digest)
    stack.append((width, digest))


def extend_frontier(frontier: list[tuple[int, bytes]], leaves: Iterable[bytes]
                    ) -> tuple[int, bytes, list[tuple[int, bytes]]]:
    """Continue a tree from its frontier (the roots of its perfect subtrees, largest first, as a
    checkpoint stores them) with more ``leaves``: (size, root, new frontier)."""
    stack = list(frontier)
    for leaf in leaves:
        _push(stack, leaf)
    size = sum(width for width, _ in stack)
    return size, (_fold(stack) if stack else hashlib.sha256(b"").digest()), stack


class TreeRoots:
    """The RFC 9162 tree root (the one pymerkle computes) at each of ``sizes``, fed one leaf (entry
    hash) at a time: ``add`` each, then read ``roots`` (sizes beyond the leaves added are absent) and
    ``size``. Memory is the frontier, not the leaves. The empty tree's root is H("")."""

    def __init__(self, sizes: Iterable[int]) -> None:
        self._wanted = sorted(set(sizes), reverse=True)  # popped from the end: smallest first
        self.roots: dict[int, bytes] = {}
        if self._wanted and self._wanted[-1] == 0:
            self.roots[0] = hashlib.sha256(b"").digest()
            self._wanted.pop()
        self._stack: list[tuple[int, bytes]] = []  # (width, subtree root): decreasing powers of 2
        self.size = 0

    def add(self, leaf: bytes) -> None:
        """The next leaf."""
        _push(self._stack, leaf)
        self.size += 1
        if self._wanted and self.size == self._wanted[-1]:
            self.roots[self.size] = _fold(self._stack)
            self._wanted.pop()


class BlockRoots:
    """One range of the tree's leaves, for computing a tree in parts (``ledger verify`` in several
    processes): the range starts after ``first`` leaves, a multiple of ``block``; ``add`` each leaf,
    then ``combine_blocks`` puts the ranges together. Keeps the root of each complete block of
    ``block`` leaves, and at each wanted size in the range the subtrees of its block so far."""

    def __init__(self, first: int, block: int, sizes: Iterable[int]) -> None:
        if first % block:
            raise ValueError(f"a range starts at a multiple of {block} leaves, not {first}")
        self.first, self.block, self.size = first, block, first
        self._wanted = {s for s in sizes if s > first}
        self.blocks: list[bytes] = []
        self.partials: dict[int, list[tuple[int, bytes]]] = {}
        self._stack: list[tuple[int, bytes]] = []

    def add(self, leaf: bytes) -> None:
        """The next leaf."""
        _push(self._stack, leaf)
        self.size += 1
        if self.size in self._wanted:
            self.partials[self.size] = list(self._stack)
        if self.size % self.block == 0:
            self.blocks.append(self._stack[0][1])
            self._stack.clear()


def combine_blocks(parts: Sequence[BlockRoots], sizes: Iterable[int]) -> tuple[int, dict[int, bytes]]:
    """The size and the roots at ``sizes`` (those within it) of the tree whose leaves are ``parts``,
    consecutive ranges in order, each continuing where the previous one stopped."""
    wanted = set(sizes)
    roots = {0: hashlib.sha256(b"").digest()} if 0 in wanted else {}
    stack: list[tuple[int, bytes]] = []
    size = 0
    for part in parts:
        if part.first != size:
            raise ValueError(f"a range starts after {part.first} leaves, not {size}")
        by_block: dict[int, list[int]] = {}
        for at in part.partials:
            by_block.setdefault((at - 1) // part.block, []).append(at)
        first_block = part.first // part.block
        for index in range(first_block, first_block + len(part.blocks) + 1):
            for at in by_block.get(index, ()):
                if at in wanted:
                    roots[at] = _fold(stack + part.partials[at])
            if index - first_block < len(part.blocks):
                _push_node(stack, part.block, part.blocks[index - first_block])
        size = part.size
    return size, roots


def merkle_roots(leaves: Iterable[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """The RFC 9162 tree root (the one pymerkle computes) at each of ``sizes``, in one pass over the
    leaf data (entry hashes); sizes beyond the leaves are left out. The empty tree's root is H("")."""
    tree = TreeRoots(sizes)
    for leaf in leaves:
        if not tree._wanted:
            break
        tree.add(leaf)
    return tree.roots


def iter_leaf_hashes(sessions: sessionmaker[Session], *, after: int = 0, batch: int = 20000
                     ) -> Iterator[bytes]:
    """The stored entry hashes (the tree's leaf data), by sequence number, from ``after + 1``."""
    last = after
    while True:
        with sessions() as session:
            rows = session.execute(select(LedgerEntry.seq, LedgerEntry.hash)
                                   .where(LedgerEntry.seq > last).order_by(LedgerEntry.seq)
                                   .limit(batch)).all()
        if not rows:
            return
        for _, digest in rows:
            yield bytes.fromhex(digest)
        last = rows[-1][0]


# -- checkpoints ---------------------------------------------------------------------------------------
class Signer(Protocol):
    """An archive signing key as a checkpoint needs it."""

    @property
    def fingerprint(self) -> str: ...  # sha256 of the raw public key, hex
    @property
    def public_key_hex(self) -> str: ...
    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """One checkpoint: the tree's size and root at ``created_at``, and its signature if signed."""

    id: int
    tree_size: int
    root_hash: str
    created_at: datetime
    statement: str
    signature: str | None
    key_fingerprint: str | None
    public_key: str | None
    tsa_token: bytes | None = None  # the RFC 3161 time-stamp response (DER) over the statement
    tsa_time: datetime | None = None  # its genTime
    tsa_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The public JSON form."""
        return {"id": self.id, "tree_size": self.tree_size, "root_hash": self.root_hash,
                "created_at": _time(self.created_at), "signed": self.signature is not None,
                "key_fingerprint": self.key_fingerprint, "timestamped": self.tsa_token is not None,
                "tsa_time": _time_or_none(self.tsa_time), "tsa_url": self.tsa_url}


def checkpoint_statement(tree_size: int, root_hash: str, created_at: datetime) -> bytes:
    """The canonical statement a checkpoint's signature is over."""
    return canonical({"type": CHECKPOINT_TYPE, "tree_size": tree_size, "root": root_hash,
                      "time": _time(created_at)})


def record_checkpoint(sessions: sessionmaker[Session], *, signer: Signer | None = None,
                      clock: Callable[[], datetime] | None = None, force: bool = False
                      ) -> Checkpoint | None:
    """Record a checkpoint of the whole ledger (signed when ``signer`` is given); None when the ledger
    has not grown since the last checkpoint (unless ``force``).

    The tree is continued from the last checkpoint's frontier (its perfect subtrees' roots), so a
    checkpoint costs the entries since the last one, not the whole ledger; ``ledger verify``
    recomputes every root from the entries."""
    now = (clock or (lambda: datetime.now(UTC)))()
    with sessions() as session:
        last = session.execute(select(LedgerCheckpoint.tree_size, LedgerCheckpoint.frontier)
                               .order_by(LedgerCheckpoint.id.desc()).limit(1)).first()
    frontier = _load_frontier(last[1]) if last is not None else []
    if frontier is None or (last is not None and sum(w for w, _ in frontier) != last[0]):
        frontier, after = [], 0  # no usable frontier: the whole tree
    else:
        after = last[0] if last is not None else 0
    size, root, frontier = extend_frontier(frontier, iter_leaf_hashes(sessions, after=after))
    with sessions() as session, session.begin():
        if last is not None and last[0] == size and not force:
            return None
        statement = checkpoint_statement(size, root.hex(), now)
        signature = signer.sign(statement).hex() if signer is not None else None
        values = {"tree_size": size, "root_hash": root.hex(), "created_at": now,
                  "statement": statement.decode("utf-8"), "signature": signature,
                  "key_fingerprint": signer.fingerprint if signer else None,
                  "public_key": signer.public_key_hex if signer else None}
        new_id = session.scalar(insert(LedgerCheckpoint).returning(LedgerCheckpoint.id),
                                {**values, "frontier": json.dumps([[w, d.hex()] for w, d in frontier])})
    return Checkpoint(id=int(new_id or 0), **values)  # type: ignore[arg-type]


def entries_since_checkpoint(session: Session) -> int:
    """How many entries the last checkpoint does not cover (all of them when there is none)."""
    last = session.scalar(select(LedgerEntry.seq).order_by(LedgerEntry.seq.desc()).limit(1)) or 0
    covered = session.scalar(select(LedgerCheckpoint.tree_size)
                             .order_by(LedgerCheckpoint.id.desc()).limit(1)) or 0
    return max(0, last - covered)


def _load_frontier(text: str | None) -> list[tuple[int, bytes]] | None:
    if not text:
        return None
    try:
        return [(int(width), bytes.fromhex(digest)) for width, digest in json.loads(text)]
    except (ValueError, TypeError):
        return None


def checkpoints(session: Session) -> list[Checkpoint]:
    """Every checkpoint, oldest first."""
    return [Checkpoint(id=c.id, tree_size=c.tree_size, root_hash=c.root_hash, created_at=c.created_at,
                       statement=c.statement, signature=c.signature,
                       key_fingerprint=c.key_fingerprint, public_key=c.public_key,
                       tsa_token=c.tsa_token, tsa_time=c.tsa_time, tsa_url=c.tsa_url)
            for c in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id))]


def record_timestamp(sessions: sessionmaker[Session], checkpoint_id: int, *, token: bytes,
                     time: datetime, url: str) -> None:
    """Store the RFC 3161 token of checkpoint ``checkpoint_id``'s statement (its genTime, the TSA)."""
    with sessions() as session, session.begin():
        session.execute(update(LedgerCheckpoint).where(LedgerCheckpoint.id == checkpoint_id)
                        .values(tsa_token=token, tsa_time=time, tsa_url=url))
