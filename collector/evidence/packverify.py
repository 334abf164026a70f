"""``collector evidence verify``: check an evidence package offline, with only the package and (ideally)
the archive's public key.

What is checked, in order (the ``kind`` of each problem):

1. every file against ``datapackage.json`` (``file-digest``, ``file-missing``, ``file-unlisted``), and
   ``datapackage.json`` against ``datapackage-digest.json`` (``datapackage-digest``);
2. the WACZ ``signedData``: its hash and created are the package's, its signature of the hash
   verifies, and its key is the archive's (``bad-signature``, ``foreign-key``, ``unsigned``). A
   package signed with the WACZ key (ECDSA, ``signature_form`` "ecdsa") carries the archive key's
   signed statement naming that key (``evidence/wacz-key.json``); the archive key is the one it
   names, which must be the trusted one. A package from before the WACZ key was signed with the
   archive key itself (Ed25519, ``signature_form`` "ed25519");
3. the checkpoint: its statement is its values, it is signed by that same key (``checkpoint-mismatch``,
   ``bad-checkpoint-signature``, ``foreign-key``), and its RFC 3161 token is over that statement and
   verifies with the TSA's CA (``timestamp-mismatch``, ``bad-timestamp``);
4. every ledger entry: its hash is its body's, its RFC 9162 inclusion proof leads to the checkpoint's
   root (``entry-rewritten``, ``bad-proof``);
5. every capture entry against the WARC records in the package: each record it lists is there with
   intact digests, and the payload's SHA-256 is the entry's (``record-missing``, ``warc-rewritten``,
   ``payload-mismatch``); every text entry against the extracted-text record of its capture, whose
   block digest, in a version-2 entry, is the pinned one (``text-mismatch``).

Without ``--key`` the package's own key is used and a warning (``key-untrusted``) says to compare its
fingerprint with one obtained from the archive out of band. ``--key`` may hold the WACZ key too
(``collector key export-public`` gives both); the package must then be signed by it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from collector.errors import InputError
from collector.evidence.keys import (
    BINDING_TYPE,
    binding_statement,
    fingerprint,
    raw_from_spki,
    verify_signature,
    verify_wacz_signature,
    wacz_fingerprint,
)
from collector.evidence.timestamps import TimestampError, check_token
from storage.errors import ArchiveCorruptError
from storage.ledgerproof import verify_inclusion
from storage.warcread import WarcRecord, check_record, read_record

__all__ = ["PackageReport", "verify_package"]

PACKAGE_FILES = ("datapackage.json", "datapackage-digest.json")
BINDING_FILE = "evidence/wacz-key.json"
# the ledger's formats, as docs/evidence.md states them: this module reads them without importing
# storage.ledger, so that an offline verification never loads the database layer (~1 s of start-up)
CAPTURE = "capture"
TEXT = "text"
CHECK = "check"
CHECKPOINT_TYPE = "collector-ledger-checkpoint/1"
TEXT_BLOCK_DIGEST = "block_digest"  # a version-2 text entry's pin of its record's WARC-Block-Digest


def _canonical(value: Any) -> bytes:
    """The ledger's canonical JSON (sorted keys, no whitespace, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _record_id(short: str) -> str:
    """A WARC-Record-ID from the short form capture rows keep (``storage.warcfile.short_record_id``)."""
    return short if short.startswith("<") else f"<urn:uuid:{short}>"


@dataclass
class PackageReport:
    """What ``verify_package`` proved (``captures``) and found: ``problems`` fail it, ``warnings``
    do not."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    files_checked: int = 0
    entries_checked: int = 0
    records_checked: int = 0
    signer: str | None = None  # the archive key's fingerprint (it signs the checkpoint)
    key_trusted: bool = False  # the key was given (--key) and is the signer
    signature_form: str | None = None  # "ecdsa" (the WACZ key) or "ed25519" (the archive key: older)
    wacz_signer: str | None = None  # the WACZ key's fingerprint (form "ecdsa")
    checkpoint: dict[str, Any] | None = None
    timestamp: dict[str, Any] | None = None
    captures: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)  # proved check verdicts (a report's)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The public JSON form."""
        return {**dataclasses.asdict(self), "ok": self.ok}


def verify_package(source: Path | IO[bytes], *, public_key: str | None = None,
                   wacz_key: bytes | None = None, tsa_ca_pem: bytes | None = None) -> PackageReport:
    """Verify the evidence package ``source`` (see the module docstring). ``public_key`` is the trusted
    raw Ed25519 archive key (hex), ``wacz_key`` the trusted WACZ key (DER), ``tsa_ca_pem`` the TSA's
    CA (else the one the package carries)."""
    report = PackageReport()
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{source} is not a WACZ (zip) file: {exc}") from exc
    with zf:
        members = {i.filename: i for i in zf.infolist() if not i.is_dir()}
        package = _json(zf, members, "datapackage.json", report)
        digest = _json(zf, members, "datapackage-digest.json", report)
        if not isinstance(package, dict) or not isinstance(digest, dict):
            if package is not None and digest is not None:
                report.problems.append({"kind": "datapackage-digest",
                                        "detail": "datapackage.json or its digest is not an object"})
            return report
        _check_files(zf, members, package, digest, report)
        key = _check_signed_data(zf, members, package, digest, (public_key, wacz_key), report)
        point = _json(zf, members, "evidence/checkpoint.json", report)
        if not isinstance(point, dict) or key is None:
            return report
        _check_public_key_file(zf, members, key, report)
        statement = _check_checkpoint(zf, members, point, key, tsa_ca_pem, report)
        if statement is None:
            return report
        records = _records(zf, members, report)
        _check_entries(zf, members, point, records, report)
    return report


def _json(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str,
          report: PackageReport) -> Any:
    if name not in members:
        report.problems.append({"kind": "file-missing", "path": name,
                                "detail": f"the package has no {name}"})
        return None
    try:
        return json.loads(zf.read(name))
    except ValueError as exc:
        report.problems.append({"kind": "file-digest", "path": name,
                                "detail": f"{name} is not JSON: {exc}"})
        return None


def _check_files(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], package: dict[str, Any],
                 digest: dict[str, Any], report: PackageReport) -> None:
    listed = set()
    for resource in package.get("resources", []):
        path = resource.get("path", "")
        listed.add(path)
        report.files_checked += 1
        if path not in members:
            report.problems.append({"kind": "file-missing", "path": path,
                                    "detail": f"{path} is listed in datapackage.json but missing"})
            continue
        sha = hashlib.sha256()
        with zf.open(path) as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                sha.update(block)
        if f"sha256:{sha.hexdigest()}" != resource.get("hash"):
            report.problems.append({"kind": "file-digest", "path": path,
                                    "detail": f"{path} does not have the sha256 datapackage.json "
                                              "lists"})
    for path in sorted(set(members) - listed - set(PACKAGE_FILES)):
        report.problems.append({"kind": "file-unlisted", "path": path,
                                "detail": f"{path} is not listed in datapackage.json"})
    own = f"sha256:{hashlib.sha256(zf.read('datapackage.json')).hexdigest()}"
    if digest.get("hash") != own:
        report.problems.append({"kind": "datapackage-digest",
                                "detail": "datapackage.json does not have the hash "
                                          "datapackage-digest.json gives"})


def _check_signed_data(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo],
                       package: dict[str, Any], digest: dict[str, Any],
                       trusted: tuple[str | None, bytes | None], report: PackageReport) -> str | None:
    """The archive key (raw hex) when the signature verifies and the archive key vouches for its
    key, else None (a problem recorded)."""
    signed = digest.get("signedData")
    if not isinstance(signed, dict):
        report.problems.append({"kind": "unsigned", "detail": "datapackage-digest.json has no "
                                                              "signedData"})
        return None
    try:
        spki = base64.b64decode(signed.get("publicKey") or "", validate=True)
        signature = base64.b64decode(signed.get("signature") or "", validate=True)
    except binascii.Error as exc:
        report.problems.append({"kind": "bad-signature", "detail": f"signedData: {exc}"})
        return None
    try:
        key: str | None = raw_from_spki(spki)  # an Ed25519 key: a package from before the WACZ key
    except InputError:
        key = None
    if signed.get("hash") != digest.get("hash") or signed.get("created") != package.get("created"):
        report.problems.append({"kind": "bad-signature",
                                "detail": "signedData is over another hash or creation time"})
        return None
    data = str(signed["hash"]).encode("utf-8")
    if key is not None:
        report.signature_form = "ed25519"
        valid = verify_signature(key, data, signature)
    else:
        report.signature_form = "ecdsa"
        report.wacz_signer = wacz_fingerprint(spki)
        valid = verify_wacz_signature(spki, data, signature)
    if not valid:
        report.problems.append({"kind": "bad-signature",
                                "detail": "the signature of datapackage-digest.json does not verify"})
        return None
    if key is None:
        key = _vouching_key(zf, members, spki, trusted[1], report)
        if key is None:
            return None
    report.signer = fingerprint(bytes.fromhex(key))
    if trusted[0] is None and trusted[1] is None:
        report.warnings.append({"kind": "key-untrusted",
                                "detail": f"no --key: checked with the package's own key "
                                          f"{report.signer}; compare it with the archive's"})
    elif trusted[0] is not None and trusted[0] != key:
        report.problems.append({"kind": "foreign-key",
                                "detail": f"the package is signed by key {report.signer}, not by "
                                          f"the trusted key {fingerprint(bytes.fromhex(trusted[0]))}"})
        return None
    else:
        report.key_trusted = True
    return key


def _vouching_key(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], spki: bytes,
                  trusted_wacz: bytes | None, report: PackageReport) -> str | None:
    """The archive key (raw hex) whose signed statement in ``evidence/wacz-key.json`` names the WACZ
    key ``spki`` that signed the package, else None (a ``foreign-key`` problem)."""
    if trusted_wacz is not None and trusted_wacz != spki:
        report.problems.append({"kind": "foreign-key",
                                "detail": f"the package is signed by WACZ key {report.wacz_signer}, "
                                          f"not by the trusted key {wacz_fingerprint(trusted_wacz)}"})
        return None
    binding = _json(zf, members, BINDING_FILE, report) if BINDING_FILE in members else None
    archive = binding.get("archive_key") if isinstance(binding, dict) else None
    vouched = False
    if isinstance(archive, str) and isinstance(binding, dict) and binding.get("type") == BINDING_TYPE:
        try:
            signature = bytes.fromhex(str(binding.get("signature") or ""))
            statement = binding_statement(archive, spki)
            vouched = (str(binding.get("statement")) == statement.decode("ascii")
                       and verify_signature(archive, statement, signature))
        except ValueError:
            vouched = False
    if not vouched:
        report.problems.append({"kind": "foreign-key", "path": BINDING_FILE,
                                "detail": f"no archive key vouches for the WACZ key "
                                          f"{report.wacz_signer} that signed the package ("
                                          f"{BINDING_FILE} is missing, names another key or its "
                                          "signature does not verify)"})
        return None
    assert isinstance(archive, str)
    return archive


def _check_public_key_file(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], key: str,
                           report: PackageReport) -> None:
    """``evidence/public-key.pem`` (what a reader would export and compare) is the signing key."""
    name = "evidence/public-key.pem"
    try:
        same = name in members and raw_from_spki(zf.read(name), pem=True) == key
    except InputError:
        same = False
    if not same:
        report.problems.append({"kind": "foreign-key", "path": name,
                                "detail": f"{name} is missing or not the key that signed the package"})


def _check_checkpoint(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], point: dict[str, Any],
                      key: str, tsa_ca_pem: bytes | None, report: PackageReport) -> bytes | None:
    """The checkpoint's statement when it is its values and signed by ``key``, else None."""
    statement = _canonical({"type": CHECKPOINT_TYPE, "tree_size": point.get("tree_size"),
                           "root": point.get("root"), "time": point.get("created_at")})
    where = {"checkpoint": point.get("id")}
    if str(point.get("statement")).encode("utf-8") != statement:
        report.problems.append({**where, "kind": "checkpoint-mismatch",
                                "detail": "the checkpoint's statement is not its values"})
        return None
    if point.get("public_key") != key:
        report.problems.append({**where, "kind": "foreign-key",
                                "detail": f"the checkpoint is signed by key {point.get('key_fingerprint')}"
                                          f", not by the package's signer {report.signer}"})
        return None
    try:
        signature = bytes.fromhex(point.get("signature") or "")
    except ValueError:
        signature = b""
    if not signature or not verify_signature(key, statement, signature):
        report.problems.append({**where, "kind": "bad-checkpoint-signature",
                                "detail": "the checkpoint's signature does not verify"})
        return None
    report.checkpoint = {"id": point.get("id"), "tree_size": point.get("tree_size"),
                         "root": point.get("root"), "created_at": point.get("created_at")}
    _check_timestamp(zf, members, point, statement, tsa_ca_pem, report)
    return statement


def _check_timestamp(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], point: dict[str, Any],
                     statement: bytes, tsa_ca_pem: bytes | None, report: PackageReport) -> None:
    stamp = point.get("timestamp")
    if not stamp:
        report.warnings.append({"kind": "untimestamped",
                                "detail": "the checkpoint has no RFC 3161 timestamp"})
        return
    name = stamp.get("file") or "evidence/timestamp.tsr"
    if name not in members:
        report.problems.append({"kind": "file-missing", "path": name,
                                "detail": f"the timestamp token {name} is missing"})
        return
    ca = tsa_ca_pem
    if ca is None and "evidence/tsa-ca.pem" in members:
        ca = zf.read("evidence/tsa-ca.pem")
        report.warnings.append({"kind": "tsa-ca-from-package",
                                "detail": "the TSA's chain was checked against the CA the package "
                                          "carries; give --tsa-ca to check it against one you trust"})
    try:
        found = check_token(zf.read(name), statement, ca_pem=ca)
    except TimestampError as exc:
        kind = "timestamp-mismatch" if "another message" in str(exc) else "bad-timestamp"
        report.problems.append({"kind": kind, "detail": str(exc)})
        return
    if not found.chain_checked:
        report.warnings.append({"kind": "timestamp-unchecked",
                                "detail": "no TSA CA: the token is over the checkpoint, but its "
                                          "signature was not checked (--tsa-ca)"})
    report.timestamp = {"time": found.time.isoformat().replace("+00:00", "Z"), "tsa": found.tsa,
                        "chain_checked": found.chain_checked}


def _records(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], report: PackageReport
             ) -> dict[str, WarcRecord]:
    """Every record of the package's WARC files, by WARC-Record-ID."""
    found: dict[str, WarcRecord] = {}
    for name in sorted(n for n in members if n.startswith("archive/")):
        data = zf.read(name)
        stream, offset = io.BytesIO(data), 0
        while offset < len(data):
            try:
                record = read_record(stream, offset)
            except ArchiveCorruptError as exc:
                report.problems.append({"kind": "warc-rewritten", "path": name, "offset": offset,
                                        "detail": str(exc)})
                break
            found[record.headers.get("WARC-Record-ID", "")] = record
            offset += record.length
    return found


def _check_entries(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], point: dict[str, Any],
                   records: dict[str, WarcRecord], report: PackageReport) -> None:
    name = "evidence/ledger.jsonl"
    if name not in members:
        report.problems.append({"kind": "file-missing", "path": name, "detail": f"no {name}"})
        return
    try:
        root = bytes.fromhex(str(point.get("root")))
    except ValueError:
        report.problems.append({"kind": "checkpoint-mismatch", "detail": "the checkpoint's root is "
                                                                         "not hex"})
        return
    main_ids: dict[Any, str] = {}  # capture id -> its main record's id
    texts: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for number, line in enumerate(zf.read(name).decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            report.problems.append({"kind": "entry-rewritten", "line": number,
                                    "detail": f"{name} line {number} is not an entry: {exc}"})
            continue
        report.entries_checked += 1
        where = {"seq": entry.get("seq"), "entry_kind": entry.get("kind"), "row_id": entry.get("row_id")}
        body = str(entry.get("body", ""))
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        if (hashlib.sha256(body.encode("utf-8")).hexdigest() != entry.get("hash")
                or [parsed.get("seq"), parsed.get("kind"), parsed.get("id")]
                != [entry.get("seq"), entry.get("kind"), entry.get("row_id")]):
            report.problems.append({**where, "kind": "entry-rewritten",
                                    "detail": f"entry {entry.get('seq')}'s hash is not its body's"})
            continue
        try:
            path = [bytes.fromhex(p) for p in entry.get("path", [])]
            proved = (entry.get("tree_size") == point.get("tree_size")
                      and entry.get("leaf_index") == parsed["seq"] - 1
                      and verify_inclusion(bytes.fromhex(entry["hash"]), entry["leaf_index"],
                                           entry["tree_size"], path, root))
        except (ValueError, TypeError, KeyError):
            proved = False
        if not proved:
            report.problems.append({**where, "kind": "bad-proof",
                                    "detail": f"entry {entry.get('seq')}'s inclusion proof does "
                                              f"not lead to checkpoint {point.get('id')}'s root"})
            continue
        fields = parsed["fields"] if isinstance(parsed.get("fields"), dict) else {}
        if parsed["kind"] == CAPTURE:
            _check_capture(fields, where, records, report)
            main_ids[where["row_id"]] = str(fields.get("warc_record_id") or "")
        elif parsed["kind"] == TEXT:
            texts.append((fields, where))
        elif parsed["kind"] == CHECK:
            report.checks.append({key: fields.get(key) for key in (
                "report", "ref", "url", "checked_at", "status", "similarity", "quotes")}
                | {"check_id": where["row_id"], "seq": where["seq"]})
    _check_texts(texts, main_ids, records, report)


def _check_texts(texts: list[tuple[dict[str, Any], dict[str, Any]]], main_ids: dict[Any, str],
                 records: dict[str, WarcRecord], report: PackageReport) -> None:
    """Every ``text`` entry of status ok against the extracted-text metadata record that refers to its
    capture's main record: the record's ``text_sha256`` is the entry's, its text hashes to it and, in
    a version-2 entry, its WARC-Block-Digest is the pinned one."""
    texts_of: dict[str, list[tuple[dict[str, Any], WarcRecord]]] = {}
    for record in records.values():
        if record.type == "metadata" and record.headers.get("WARC-Refers-To"):
            try:
                content = json.loads(record.payload or record.block)
            except ValueError:
                continue
            if isinstance(content, dict) and content.get("type") == "extracted-text":
                texts_of.setdefault(record.headers["WARC-Refers-To"], []).append((content, record))
    proved: dict[Any, str] = {}
    for fields, where in texts:
        if fields.get("status") != "ok" or not fields.get("text_sha256"):
            continue
        wanted, pinned = fields["text_sha256"], fields.get(TEXT_BLOCK_DIGEST)
        found = [c for c, r in texts_of.get(main_ids.get(fields.get("capture_id"), ""), [])
                 if c.get("text_sha256") == wanted
                 and (not pinned or r.headers.get("WARC-Block-Digest") == pinned)]
        if not any(hashlib.sha256(str(c.get("text")).encode("utf-8")).hexdigest() == wanted
                   for c in found):
            report.problems.append({**where, "kind": "text-mismatch",
                                    "detail": f"no extracted text of capture {fields.get('capture_id')}"
                                              f" in the package hashes to the entry's {wanted}"
                                              + (f" with the pinned block digest {pinned}"
                                                 if pinned else "")})
            continue
        proved[fields.get("capture_id")] = wanted
    for capture in report.captures:  # a revisit's text is its original's
        capture["text_sha256"] = proved.get(capture["capture_id"]) or proved.get(capture["revisit_of"])


def _check_capture(fields: dict[str, Any], where: dict[str, Any], records: dict[str, WarcRecord],
                   report: PackageReport) -> None:
    found: list[str] = []
    main = records.get(str(fields.get("warc_record_id") or ""))
    listed = fields["records"] if isinstance(fields.get("records"), list) else []
    wanted = [fields.get("warc_record_id")] + [
        _record_id(str(r[3])) if isinstance(r, list) and len(r) > 3 and r[3] else
        (r.get("id") if isinstance(r, dict) else None) for r in listed]
    for record_id in filter(None, wanted):
        record = records.get(str(record_id))
        report.records_checked += 1
        if record is None:
            found.append(f"record {record_id} is not in the package")
        else:
            found += [f"record {record_id}: {p}" for p in check_record(record)]
    payload = main
    if main is not None and main.type == "revisit":
        payload = records.get(main.headers.get("WARC-Refers-To", ""))
        if payload is None and fields.get("sha256"):
            found.append("the revisit's original record is not in the package")
    if payload is not None and fields.get("sha256") and (
            hashlib.sha256(payload.payload).hexdigest() != fields["sha256"]):
        found.append("the payload's sha256 is not the entry's")
    if found:
        kind = ("record-missing" if any("not in the package" in f for f in found)
                else "payload-mismatch" if any("sha256" in f for f in found) else "warc-rewritten")
        report.problems.append({**where, "kind": kind, "url": fields.get("url"),
                                "detail": "; ".join(found)})
        return
    report.captures.append({
        "url": fields.get("url"), "captured_at": fields.get("captured_at"),
        "outcome": fields.get("outcome"), "http_status": fields.get("http_status"),
        "sha256": fields.get("sha256"), "capture_id": where["row_id"], "seq": where["seq"],
        "revisit_of": fields.get("revisit_of"),
        "signer": report.signer, "timestamp": (report.timestamp or {}).get("time")})
