"""``collector evidence``: a signed, self-contained WACZ a third party can verify offline.

The package is a WACZ 1.1.1 (``collector.reports.exports.write_wacz_package``: it opens in
ReplayWeb.page and passes ``wacz validate``) holding, beside the archived records:

- ``evidence/ledger.jsonl``: the ledger entries of the captures (and of their extracted texts, and of
  a report's latest version and every check verdict of its citations), each with its RFC 9162
  inclusion proof (``leaf_index``, ``tree_size``, ``path``) to the checkpoint;
- ``evidence/checkpoint.json``: that checkpoint (tree size, root, its signed statement, the Ed25519
  signature and public key) and, when it was timestamped, ``evidence/timestamp.tsr`` (the RFC 3161
  response over the statement) and ``evidence/tsa-ca.pem`` (the TSA's CA, when ``tsa_ca_file`` is set);
- ``evidence/public-key.pem``: the archive's public key (Ed25519, it signs checkpoints);
- ``evidence/wacz-key.json``: the archive key's signed statement naming the WACZ key (ECDSA P-384)
  that signs ``datapackage-digest.json`` (``collector.evidence.keys.binding_statement``), so a
  verifier who trusts the archive key knows the same archive signed the package;
- for a report, ``evidence/citations.json`` and ``evidence/citations.csv`` (the citation table with
  verdicts and quote results, as ``report export`` writes them).

``datapackage-digest.json`` carries the WACZ signing specification's anonymous ``signedData``: the
``hash`` of ``datapackage.json``, ``created``, ``software``, ``version``, ``signature`` (base64) and
``publicKey`` (base64 DER SubjectPublicKeyInfo). The signature is the WACZ key's ECDSA (SHA-256)
signature of the ``hash`` string's ASCII bytes, r || s as WebCrypto encodes it: what ArchiveWeb.page
writes and ReplayWeb.page verifies (packages before this were signed with the Ed25519 archive key;
``evidence verify`` still reads them).
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from collector.config import Config, version
from collector.errors import ConfigError, NotFoundError
from collector.evidence.keys import BINDING_TYPE, ArchiveKey, WaczKey, binding_statement, public_pem
from collector.evidence.ledger import archive_key, checkpoint, stamp_if_configured, wacz_key
from collector.reports.exports import (
    CSV_FIELDS,
    citation_rows,
    csv_row,
    pages_jsonl,
    report_captures,
    write_wacz_package,
)
from storage import reports
from storage.archive import Archive
from storage.checks import check_ids_of_report
from storage.errors import NoCaptureError
from storage.ledger import CAPTURE, CHECK, REPORT_VERSION, TEXT, Checkpoint, checkpoints, iter_leaf_hashes
from storage.ledgerproof import EntryRow, StreamedProofs, entries_of
from storage.queries import captures_by_ids, closest_capture, requisites_of_pages
from storage.records import CaptureRecord
from storage.retrieve import capture_warc
from storage.timefmt import iso_z

__all__ = ["SIGNATURE_VERSION", "PackageSummary", "key_binding", "write_evidence"]

SIGNATURE_VERSION = "0.1.0"  # the WACZ signing specification's version of signedData


@dataclass(frozen=True)
class PackageSummary:
    """What a package holds."""

    captures: int
    entries: int
    records: int
    warc_bytes: int
    checkpoint: int
    tree_size: int
    root_hash: str
    key_fingerprint: str
    timestamped: bool
    wacz_key_fingerprint: str = ""  # the ECDSA key that signed datapackage-digest.json
    wacz_key_created: bool = False  # that key was made for this package (a home from before it)

    def to_json(self) -> dict[str, Any]:
        """The public JSON form."""
        return dataclasses.asdict(self)


def write_evidence(config: Config, out: IO[bytes], *, url: str | None = None, at: datetime | None = None,
                   capture_id: int | None = None, report: str | None = None,
                   base_url: str | None = None) -> PackageSummary:
    """Write the evidence package of ``url`` (its capture closest to ``at``, the latest by default),
    of capture ``capture_id``, or of report ``report`` (every capture of its cited sources, and the
    report's own) to ``out``.

    Raises ``ConfigError`` without an archive key (a package is always signed), ``NotFoundError``
    when there is no such capture or report."""
    key = archive_key(config)
    if key is None:
        raise ConfigError("evidence packages are signed with the archive key and there is none: "
                          "collector key create")
    signer, created = wacz_key(config)
    assert signer is not None  # created when missing
    archive = Archive.from_settings(config)
    try:
        files: dict[str, bytes] = {}
        extra_rows: list[tuple[str, int]] = []
        if report is not None:
            captures, document = report_captures(config, report)
            latest = reports.versions_of(archive.sessions, report)[-1]
            extra_rows.append((REPORT_VERSION, latest.id))
            extra_rows += [(CHECK, i) for i in check_ids_of_report(archive.sessions, report)]
            files.update(_citation_files(config, report, base_url))
            title, what = f"Evidence: report {report}", f"the sources cited by report {report}"
        elif url is not None:
            try:
                captures = [closest_capture(archive.sessions, url, at)]
            except NoCaptureError as exc:
                raise NotFoundError(str(exc)) from exc
            document = b""
            title, what = f"Evidence: {url}", f"the capture of {url} at {iso_z(captures[0].captured_at)}"
        elif capture_id is not None:
            captures = _by_id(archive, capture_id)
            document = b""
            title, what = f"Evidence: capture {capture_id}", f"capture {capture_id} of {captures[0].url}"
        else:
            raise ValueError("write_evidence needs a url, a capture id or a report")
        captures = _with_requisites_and_originals(archive, captures)
        entries = _entries(archive, captures, extra_rows)
        point = _covering_checkpoint(archive, config, key, max((e.seq for e in entries), default=0))
        files.update(_ledger_files(archive, config, key, entries, point))
        files["evidence/wacz-key.json"] = key_binding(key, signer)
        pages = pages_jsonl(config, [c for c in captures if c.page_id is None])
        chunks = [document, *(capture_warc(config.warc_dir, c) for c in captures)]
        records, size = write_wacz_package(
            out, chunks, pages=pages, files=files, title=title,
            description=f"Signed evidence package of {what}, as archived by collector",
            sign=_signer(signer))
    finally:
        archive.close()
    return PackageSummary(captures=len(captures), entries=len(entries), records=records,
                          warc_bytes=size, checkpoint=point.id, tree_size=point.tree_size,
                          root_hash=point.root_hash, key_fingerprint=key.fingerprint,
                          timestamped=point.tsa_token is not None,
                          wacz_key_fingerprint=signer.fingerprint, wacz_key_created=created)


def key_binding(key: ArchiveKey, signer: WaczKey) -> bytes:
    """``evidence/wacz-key.json``: the archive key's signature of the statement naming the WACZ key."""
    statement = binding_statement(key.public_key_hex, signer.public_der)
    return json.dumps({"type": BINDING_TYPE, "statement": statement.decode("ascii"),
                       "archive_key": key.public_key_hex, "archive_key_fingerprint": key.fingerprint,
                       "wacz_key": base64.b64encode(signer.public_der).decode("ascii"),
                       "wacz_key_fingerprint": signer.fingerprint,
                       "signature": key.sign(statement).hex()}, indent=1).encode("utf-8")


def _by_id(archive: Archive, capture_id: int) -> list[CaptureRecord]:
    try:
        return captures_by_ids(archive.sessions, [capture_id])
    except KeyError as exc:
        raise NotFoundError(f"no capture {capture_id} in the archive") from exc


def _with_requisites_and_originals(archive: Archive, captures: list[CaptureRecord]
                                   ) -> list[CaptureRecord]:
    """The captures, the requisites loaded for them, and the originals their revisits point at."""
    found = {c.id: c for c in captures}
    found.update((c.id, c) for c in requisites_of_pages(archive.sessions, list(found)))
    originals = sorted({c.revisit_of for c in found.values() if c.revisit_of is not None} - set(found))
    found.update((c.id, c) for c in captures_by_ids(archive.sessions, originals))
    return sorted(found.values(), key=lambda c: (c.captured_at, c.id))


def _entries(archive: Archive, captures: list[CaptureRecord], extra: list[tuple[str, int]]
             ) -> list[EntryRow]:
    ids = [c.id for c in captures]
    found = entries_of(archive.sessions, [CAPTURE, TEXT], ids)
    for kind in sorted({kind for kind, _ in extra}):
        found += entries_of(archive.sessions, [kind], [i for k, i in extra if k == kind])
    covered = {e.row_id for e in found if e.kind == CAPTURE}
    missing = [i for i in ids if i not in covered]
    if missing:
        raise NotFoundError(f"captures {', '.join(map(str, missing))} have no ledger entry (written "
                            "with ledger = false?): they cannot be proved; collector ledger verify")
    return sorted(found, key=lambda e: e.seq)


def _covering_checkpoint(archive: Archive, config: Config, key: ArchiveKey, last_seq: int
                         ) -> Checkpoint:
    """The newest timestamped checkpoint signed by ``key`` that covers entry ``last_seq``, else the
    newest such checkpoint (one is recorded now when none covers it), timestamped now if it is not
    yet and a TSA is configured."""
    with archive.sessions() as session:
        signed = [p for p in checkpoints(session)
                  if p.public_key == key.public_key_hex and p.tree_size >= last_seq]
    stamped = [p for p in signed if p.tsa_token is not None]
    point = (stamped or signed)[-1] if signed else checkpoint(archive, config, force=True)
    assert point is not None  # forced
    if point.tsa_token is None:
        point = stamp_if_configured(archive, config, point) or point
    return point


def _ledger_files(archive: Archive, config: Config, key: ArchiveKey, entries: list[EntryRow],
                  point: Checkpoint) -> dict[str, bytes]:
    # one pass over the ledger's entry hashes, keeping only the subtree roots the proofs need
    levels = StreamedProofs(itertools.islice(iter_leaf_hashes(archive.sessions), point.tree_size),
                            point.tree_size, [entry.seq - 1 for entry in entries])
    if levels.size != point.tree_size or levels.root().hex() != point.root_hash:
        raise ConfigError(f"the ledger does not match checkpoint {point.id}: collector ledger verify")
    lines = []
    for entry in entries:
        path = levels.path(entry.seq - 1, point.tree_size)
        lines.append(json.dumps({"seq": entry.seq, "kind": entry.kind, "row_id": entry.row_id,
                                 "hash": entry.hash, "body": entry.body, "leaf_index": entry.seq - 1,
                                 "tree_size": point.tree_size, "path": [p.hex() for p in path]},
                                ensure_ascii=False))
    timestamp = None
    files = {"evidence/ledger.jsonl": ("\n".join(lines) + "\n").encode("utf-8"),
             "evidence/public-key.pem": public_pem(key).encode("ascii")}
    if point.tsa_token is not None:
        files["evidence/timestamp.tsr"] = point.tsa_token
        timestamp = {"file": "evidence/timestamp.tsr", "time": iso_z(point.tsa_time)
                     if point.tsa_time else None, "tsa_url": point.tsa_url}
        if config.tsa_ca_file is not None and config.tsa_ca_file.exists():
            files["evidence/tsa-ca.pem"] = config.tsa_ca_file.read_bytes()
    files["evidence/checkpoint.json"] = json.dumps({
        "id": point.id, "tree_size": point.tree_size, "root": point.root_hash,
        "created_at": iso_z(point.created_at), "statement": point.statement,
        "signature": point.signature, "key_fingerprint": point.key_fingerprint,
        "public_key": point.public_key, "timestamp": timestamp}, indent=1).encode("utf-8")
    return files


def _citation_files(config: Config, name: str, base_url: str | None) -> dict[str, bytes]:
    rows = citation_rows(config, name, base_url=base_url)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_row(name, row))
    return {"evidence/citations.json": json.dumps({"report": name, "citations": rows},
                                                  ensure_ascii=False, indent=1,
                                                  default=str).encode("utf-8"),
            "evidence/citations.csv": text.getvalue().encode("utf-8")}


def _signer(key: WaczKey) -> Callable[[str, str], dict[str, Any]]:
    def sign(digest: str, created: str) -> dict[str, Any]:
        return {"hash": digest, "created": created, "software": f"collector {version()}",
                "version": SIGNATURE_VERSION,
                "signature": base64.b64encode(key.sign(digest.encode("ascii"))).decode("ascii"),
                "publicKey": base64.b64encode(key.public_der).decode("ascii")}
    return sign
