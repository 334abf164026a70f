"""Evidence packages: what ``write_evidence`` puts in (a page, its requisite, its revisit's original,
ledger entries with inclusion proofs, the signed and timestamped checkpoint), what ``verify_package``
proves, ``wacz validate`` accepting it, and one test per attack, each found by one check."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from collector.config import Config
from collector.evidence.keys import (
    ArchiveKey,
    WaczKey,
    create_key,
    create_wacz_key,
    load_wacz_key,
    public_der,
    public_pem,
)
from collector.evidence.package import _signer, key_binding, write_evidence
from collector.evidence.packverify import PackageReport, verify_package
from collector.evidence.timestamps import request_token
from collector.reports.exports import _members, write_members
from storage.archive import Archive
from storage.ledger import canonical
from storage.records import CaptureRecord, ExtractionInput
from storage.warcfile import digest_label
from tests.collector.evidence.tsa import Tsa
from tests.conftest import make_config
from tests.storage.helpers import T0, html_capture

WACZ_TOOL = Path(sys.executable).parent / "wacz"
WEBCRYPTO_VERIFY = Path(__file__).parent / "webcrypto_verify.mjs"
PAGE = "https://example.org/article"
BODY = b"<html><head><title>Article</title></head><body><p>The river rose 3 metres.</p></body></html>"
TEXT = "Article. The water rose by three metres."


@dataclass
class Packaged:
    """A package of PAGE's latest capture, and what made it."""

    wacz: bytes
    key: ArchiveKey
    signer: WaczKey  # the WACZ key (made on the first package)
    config: Config
    tsa: Tsa
    page: CaptureRecord  # the latest capture (a revisit)
    original: CaptureRecord
    requisite: CaptureRecord


def build(home: Path, db_url: str | None, tsa: Tsa) -> Packaged:
    flags: dict[str, Any] = {"tsa_url": tsa.url, "tsa_ca_file": str(tsa.ca)}
    if db_url:
        flags["database_url"] = db_url
    config = make_config(home, **flags)
    key = create_key(config.signing_key_path)
    archive = Archive.from_settings(config)
    try:
        original, _other = archive.commit_captures([
            html_capture(PAGE, T0, body=BODY),
            html_capture("https://example.org/other", T0 + timedelta(seconds=1), body=b"<p>other</p>")])
        archive.commit_extractions([ExtractionInput(
            capture_id=original.id, url=PAGE, status="ok", text=TEXT,
            text_sha256=hashlib.sha256(TEXT.encode()).hexdigest(), extracted_at=T0,
            refers_to=original.warc_record_id)])
        page, = archive.commit_captures([html_capture(PAGE, T0 + timedelta(seconds=5), body=BODY)])
        requisite, = archive.commit_captures([html_capture(
            "https://example.org/style.css", T0 + timedelta(seconds=6), body=b"p { color: red }",
            content_type="text/css", page_id=page.id)])
        archive.writer.close()
    finally:
        archive.close()
    assert page.revisit_of == original.id  # the same payload: a revisit
    out = io.BytesIO()
    summary = write_evidence(config, out, url=PAGE)
    assert summary.captures == 3 and summary.timestamped and summary.wacz_key_created
    signer = load_wacz_key(config.wacz_key_path)
    assert summary.wacz_key_fingerprint == signer.fingerprint
    return Packaged(out.getvalue(), key, signer, config, tsa, page, original, requisite)


@pytest.fixture
def packaged(home: Path, tsa: Tsa) -> Packaged:
    return build(home, None, tsa)


def check(data: bytes, key: ArchiveKey | None, tsa: Tsa | None = None) -> PackageReport:
    return verify_package(io.BytesIO(data), public_key=key.public_key_hex if key else None,
                          tsa_ca_pem=tsa.ca.read_bytes() if tsa else None)


def kinds(report: PackageReport) -> set[str]:
    return {p["kind"] for p in report.problems}


def test_package_proves_the_captures(db_url: str, home: Path, tsa: Tsa, tmp_path: Path) -> None:
    made = build(home, db_url, tsa)
    report = check(made.wacz, made.key, tsa)
    assert report.ok, report.problems
    assert report.key_trusted and report.signer == made.key.fingerprint
    assert report.timestamp is not None and report.timestamp["chain_checked"]
    proved = {c["capture_id"]: c for c in report.captures}
    assert set(proved) == {made.page.id, made.original.id, made.requisite.id}
    assert proved[made.page.id]["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert proved[made.page.id]["url"] == PAGE and proved[made.page.id]["timestamp"]
    text_sha = hashlib.sha256(TEXT.encode()).hexdigest()  # a revisit's text is its original's
    assert proved[made.page.id]["text_sha256"] == proved[made.original.id]["text_sha256"] == text_sha
    with zipfile.ZipFile(io.BytesIO(made.wacz)) as zf:
        names = set(zf.namelist())
        point = json.loads(zf.read("evidence/checkpoint.json"))
        entries = [json.loads(line) for line in zf.read("evidence/ledger.jsonl").splitlines()]
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").splitlines()]
    assert {"evidence/timestamp.tsr", "evidence/public-key.pem", "evidence/tsa-ca.pem"} <= names
    assert "https://example.org/other" not in {p.get("url") for p in pages}
    assert {e["row_id"] for e in entries if e["kind"] == "capture"} == set(proved)
    assert all(e["tree_size"] == point["tree_size"] for e in entries)
    # without the key or the CA, the package still verifies, saying what was not anchored
    alone = check(made.wacz, None)
    assert alone.ok and {"key-untrusted", "tsa-ca-from-package"} <= {w["kind"] for w in alone.warnings}
    # the token checks out with another tool too: openssl ts -verify, as docs/evidence.md says
    with zipfile.ZipFile(io.BytesIO(made.wacz)) as zf:
        (tmp_path / "statement.json").write_bytes(point["statement"].encode())
        (tmp_path / "timestamp.tsr").write_bytes(zf.read("evidence/timestamp.tsr"))
        (tmp_path / "tsa-ca.pem").write_bytes(zf.read("evidence/tsa-ca.pem"))
    openssl = subprocess.run(["openssl", "ts", "-verify", "-data", "statement.json", "-in", "timestamp.tsr",
                              "-CAfile", "tsa-ca.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert openssl.returncode == 0 and "Verification: OK" in openssl.stdout, openssl.stderr
    # and the WACZ signature (Ed25519 over the hash string) with openssl pkeyutl and the PEM key
    assert report.signature_form == "ecdsa" and report.wacz_signer == made.signer.fingerprint
    with zipfile.ZipFile(io.BytesIO(made.wacz)) as zf:
        signed = json.loads(zf.read("datapackage-digest.json"))["signedData"]
    # the signature, checked by OpenSSL (which wants DER) with the key signedData names
    (tmp_path / "key.der").write_bytes(base64.b64decode(signed["publicKey"]))
    (tmp_path / "hash.txt").write_bytes(signed["hash"].encode())
    raw = base64.b64decode(signed["signature"])
    half = len(raw) // 2
    (tmp_path / "sig.der").write_bytes(encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                                            int.from_bytes(raw[half:], "big")))
    openssl = subprocess.run(["openssl", "dgst", "-sha256", "-keyform", "DER", "-verify", "key.der",
                              "-signature", "sig.der", "hash.txt"], cwd=tmp_path, capture_output=True,
                             text=True)
    assert openssl.returncode == 0 and "Verified OK" in openssl.stdout, openssl.stderr
    assert webcrypto_verdict(signed) == "valid"
    path = tmp_path / "evidence.wacz"
    path.write_bytes(made.wacz)
    result = subprocess.run([str(WACZ_TOOL), "validate", "-f", str(path)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout


def webcrypto_verdict(signed: dict[str, Any]) -> str:
    """What ReplayWeb.page's check of an anonymous signature says (its WebCrypto calls, run by Node):
    "valid", "invalid", or why the key could not be imported."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: the WebCrypto check of package signatures needs it "
                    "(`make nodejs`, or apt-get install nodejs)", pytrace=False)
    proc = subprocess.run([node, str(WEBCRYPTO_VERIFY)], input=json.dumps(signed), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode in (0, 2), proc.stderr
    return proc.stdout.strip()


def test_replayweb_rejects_what_another_key_signed(packaged: Packaged, tmp_path: Path) -> None:
    """The WebCrypto check is a real check: a signature with the hash changed, or by a key other than
    the one signedData names, is invalid there."""
    signed = json.loads(read(packaged.wacz, "datapackage-digest.json"))["signedData"]
    other = create_wacz_key(tmp_path / "other.pem")
    forged = {**signed, "signature": base64.b64encode(other.sign(signed["hash"].encode())).decode()}
    assert [webcrypto_verdict(signed), webcrypto_verdict(forged),
            webcrypto_verdict({**signed, "hash": "sha256:" + "0" * 64})] == ["valid", "invalid",
                                                                             "invalid"]


# -- attacks -------------------------------------------------------------------------------------------
def repack(data: bytes, changes: dict[str, bytes], *, sign_with: WaczKey | ArchiveKey | None = None
           ) -> bytes:
    """The package with some files replaced; with ``sign_with``, datapackage.json's hashes recomputed
    and the digest re-signed by that key (what someone holding a key can do; an Ed25519 archive key
    signs as packages did before the WACZ key)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    files.update(changes)
    if sign_with is not None:
        package = json.loads(files["datapackage.json"])
        for resource in package["resources"]:
            resource["hash"] = f"sha256:{hashlib.sha256(files[resource['path']]).hexdigest()}"
        files["datapackage.json"] = json.dumps(package, indent=2).encode()
        digest = {"path": "datapackage.json",
                  "hash": f"sha256:{hashlib.sha256(files['datapackage.json']).hexdigest()}"}
        digest["signedData"] = (_signer(sign_with)(str(digest["hash"]), package["created"])
                                if isinstance(sign_with, WaczKey)
                                else _legacy_signer(sign_with, str(digest["hash"]), package["created"]))
        files["datapackage-digest.json"] = json.dumps(digest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def _legacy_signer(key: ArchiveKey, digest: str, created: str) -> dict[str, Any]:
    """signedData as packages carried it before the WACZ key: the archive key's Ed25519 signature."""
    return {"hash": digest, "created": created, "software": "collector", "version": "0.1.0",
            "signature": base64.b64encode(key.sign(digest.encode("ascii"))).decode("ascii"),
            "publicKey": base64.b64encode(public_der(key)).decode("ascii")}


def read(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


@pytest.mark.parametrize("name", ["archive/data.warc.gz", "pages/pages.jsonl", "evidence/ledger.jsonl"])
def test_one_byte_changed(packaged: Packaged, name: str) -> None:
    content = read(packaged.wacz, name)
    middle = len(content) // 2
    changed = content[:middle] + bytes([content[middle] ^ 0x01]) + content[middle + 1:]
    report = check(repack(packaged.wacz, {name: changed}), packaged.key)
    assert [p["path"] for p in report.problems if p["kind"] == "file-digest"] == [name]
    # the WARC's and the ledger's own checks (record digests, entry hashes) find it too
    assert kinds(report) - {"file-digest"} <= {"warc-rewritten", "record-missing", "entry-rewritten"}


def test_signed_by_another_key(packaged: Packaged, tmp_path: Path) -> None:
    """Re-signed by another WACZ key: the archive key vouches for none but its own, with the trusted
    archive key, with the trusted WACZ key, and without either."""
    other = create_wacz_key(tmp_path / "other.pem")
    forged = repack(packaged.wacz, {}, sign_with=other)
    for report in (check(forged, packaged.key), check(forged, None),
                   verify_package(io.BytesIO(forged), wacz_key=packaged.signer.public_der)):
        assert kinds(report) == {"foreign-key"} and not report.key_trusted
        assert report.wacz_signer == other.fingerprint
    assert [p.get("path") for p in check(forged, packaged.key).problems] == ["evidence/wacz-key.json"]


def test_signed_by_another_archive_with_its_own_binding(packaged: Packaged, tmp_path: Path) -> None:
    """Someone with keys of their own re-signs the package and vouches for their WACZ key: the
    trusted key refuses it, and without --key the checkpoint's signer is not the package's."""
    other_key = create_key(tmp_path / "other.pem")
    other_signer = create_wacz_key(tmp_path / "other-wacz.pem")
    forged = repack(packaged.wacz, {"evidence/wacz-key.json": key_binding(other_key, other_signer)},
                    sign_with=other_signer)
    report = check(forged, packaged.key)
    assert [(p["kind"], "not by the trusted key" in p["detail"]) for p in report.problems] == [
        ("foreign-key", True)]
    report = check(forged, None)
    assert report.signer == other_key.fingerprint and kinds(report) == {"foreign-key"}
    assert [p["detail"] for p in report.problems if "not by the package's signer" in p["detail"]]


def test_a_package_signed_before_the_wacz_key_still_verifies(packaged: Packaged) -> None:
    """Packages made before the WACZ key carried the archive key's Ed25519 signature: still proved,
    and the report says which form it found."""
    older = repack(packaged.wacz, {}, sign_with=packaged.key)
    report = check(older, packaged.key, packaged.tsa)
    assert report.ok, report.problems
    assert (report.signature_form, report.wacz_signer, report.signer) == ("ed25519", None,
                                                                           packaged.key.fingerprint)
    assert len(report.captures) == 3
    other = create_key(packaged.config.home / "other.pem")
    assert kinds(check(repack(packaged.wacz, {}, sign_with=other), packaged.key)) == {"foreign-key"}


def test_checkpoint_with_the_token_of_another_root(packaged: Packaged) -> None:
    point = json.loads(read(packaged.wacz, "evidence/checkpoint.json"))
    other_statement = canonical({"type": "collector-ledger-checkpoint/1", "tree_size": 1,
                                 "root": "00" * 32, "time": point["created_at"]})
    token, _ = request_token(packaged.tsa.url, other_statement)
    forged = repack(packaged.wacz, {"evidence/timestamp.tsr": token}, sign_with=packaged.signer)
    report = check(forged, packaged.key, packaged.tsa)
    assert kinds(report) == {"timestamp-mismatch"}


def test_proof_for_another_entry(packaged: Packaged) -> None:
    lines = [json.loads(line) for line in read(packaged.wacz, "evidence/ledger.jsonl").splitlines()]
    lines[0]["path"], lines[1]["path"] = lines[1]["path"], lines[0]["path"]
    ledger = ("\n".join(json.dumps(line) for line in lines) + "\n").encode()
    report = check(repack(packaged.wacz, {"evidence/ledger.jsonl": ledger}, sign_with=packaged.signer),
                   packaged.key)
    assert kinds(report) == {"bad-proof"}
    assert [p["seq"] for p in report.problems] == [lines[0]["seq"], lines[1]["seq"]]


def test_payload_rewritten_and_the_package_resigned(packaged: Packaged) -> None:
    """Whoever holds the key can re-sign a package, but not the checkpoint's ledger entries: the
    payload no longer matches the sha256 its entry recorded."""
    warc = read(packaged.wacz, "archive/data.warc.gz")
    out = io.BytesIO()
    members = []
    for member in _members(warc):
        raw = gzip.decompress(member)
        if b"The river rose" in raw:
            raw = raw.replace(b"rose 3", b"rose 9")
        members.append(gzip.compress(raw))
    write_members(members, out)
    forged = repack(packaged.wacz, {"archive/data.warc.gz": out.getvalue()}, sign_with=packaged.signer)
    report = check(forged, packaged.key)
    assert kinds(report) == {"payload-mismatch"}
    assert {p["row_id"] for p in report.problems} == {packaged.original.id, packaged.page.id}


def test_extracted_text_rewritten_and_the_package_resigned(packaged: Packaged) -> None:
    warc = read(packaged.wacz, "archive/data.warc.gz")
    members = [gzip.compress(gzip.decompress(m).replace(b"by three metres", b"by thirty metres"))
               for m in _members(warc)]
    out = io.BytesIO()
    write_members(members, out)
    forged = repack(packaged.wacz, {"archive/data.warc.gz": out.getvalue()}, sign_with=packaged.signer)
    report = check(forged, packaged.key)
    assert kinds(report) == {"text-mismatch"}
    assert [p["row_id"] for p in report.problems] == [packaged.original.id]


def test_text_record_rewritten_with_its_text_kept(packaged: Packaged) -> None:
    """The extracted-text record's other fields changed (its digests recomputed, the text kept) and
    the package re-signed: the text entry's pinned block digest is what finds it."""
    warc = read(packaged.wacz, "archive/data.warc.gz")
    members = []
    for member in _members(warc):
        raw = gzip.decompress(member)
        head, _, block = raw.partition(b"\r\n\r\n")
        if b'"extracted-text"' in block:
            block = block[:-4].replace(b'"language": null', b'"language": "fr"')
            label = digest_label(hashlib.sha256(block).digest()).encode()
            head = re.sub(rb"WARC-Block-Digest: [^\r]*", b"WARC-Block-Digest: " + label, head)
            head = re.sub(rb"WARC-Payload-Digest: [^\r]*", b"WARC-Payload-Digest: " + label, head)
            head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(block), head)
            raw = head + b"\r\n\r\n" + block + b"\r\n\r\n"
        members.append(gzip.compress(raw))
    out = io.BytesIO()
    write_members(members, out)
    forged = repack(packaged.wacz, {"archive/data.warc.gz": out.getvalue()}, sign_with=packaged.signer)
    report = check(forged, packaged.key)
    assert kinds(report) == {"text-mismatch"}
    assert "pinned block digest" in report.problems[0]["detail"]


def test_no_key_no_package(home: Path) -> None:
    from collector.errors import ConfigError

    with pytest.raises(ConfigError, match="collector key create"):
        write_evidence(make_config(home), io.BytesIO(), url=PAGE)



def test_at_picks_the_capture_closest_to_the_time(packaged: Packaged) -> None:
    out = io.BytesIO()
    summary = write_evidence(packaged.config, out, url=PAGE, at=T0 + timedelta(seconds=1))
    report = check(out.getvalue(), packaged.key)
    assert report.ok and summary.captures == 1
    assert [c["capture_id"] for c in report.captures] == [packaged.original.id]


@pytest.mark.parametrize("garbage", [b"not json\n", b"[1, 2]\n", b'{"seq": "x", "body": "[]"}\n',
                                     b'{"seq": 1, "kind": "capture", "row_id": 1, "body": "{\\"seq\\": 1, '
                                     b'\\"kind\\": \\"capture\\", \\"id\\": 1, \\"fields\\": {\\"records\\": '
                                     b'\\"abc\\"}}", "hash": "00"}\n'])
def test_garbage_entries_are_problems_not_crashes(packaged: Packaged, garbage: bytes) -> None:
    ledger = read(packaged.wacz, "evidence/ledger.jsonl") + garbage
    report = check(repack(packaged.wacz, {"evidence/ledger.jsonl": ledger}, sign_with=packaged.signer),
                   packaged.key)
    assert kinds(report) and kinds(report) <= {"entry-rewritten", "bad-proof"}
    assert len(report.captures) == 3  # the genuine entries are still proved


def test_public_key_file_of_another_key(packaged: Packaged, tmp_path: Path) -> None:
    other = create_key(tmp_path / "other.pem")
    forged = repack(packaged.wacz, {"evidence/public-key.pem": public_pem(other).encode()},
                    sign_with=packaged.signer)
    report = check(forged, None)
    assert [(p["kind"], p.get("path")) for p in report.problems] == [("foreign-key",
                                                                      "evidence/public-key.pem")]
