"""Version-2 text entries pin the WARC-Block-Digest of their extracted-text record, and ``ledger verify``
reads that record: a text record rewritten in place with consistent digests (with or without its row's
``text_sha256``) is reported; version-1 text entries still verify."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import select, update

from collector.evidence.keys import ArchiveKey, create_key, verify_signature
from storage import ledger
from storage.archive import Archive
from storage.ledgerverify import verify_ledger
from storage.models import Extraction
from storage.records import CaptureRecord, ExtractionInput
from storage.warcfile import digest_label
from tests.storage.helpers import HTML, T0, html_capture, member_at
from tests.storage.test_ledger import check, decoded, kinds, rechain

TEXT = "The water rose by three metres in two days."
TITLE = "River report"


@pytest.fixture
def key(tmp_path: Path) -> ArchiveKey:
    return create_key(tmp_path / "keys" / "signing-key.pem")


def extracted(archive: Archive) -> CaptureRecord:
    """A capture with its extracted text (the WARC file closed)."""
    capture, = archive.commit_captures([html_capture("https://example.com/river", T0,
                                                     body=HTML + b"river")])
    archive.commit_extractions([ExtractionInput(
        capture_id=capture.id, url=capture.url, status="ok", text=TEXT, title=TITLE,
        text_sha256=hashlib.sha256(TEXT.encode()).hexdigest(), extracted_at=T0,
        refers_to=capture.warc_record_id)])
    archive.writer.close()
    return capture


def text_place(archive: Archive, capture_id: int) -> tuple[Path, int]:
    with archive.sessions() as session:
        name, offset = session.execute(select(Extraction.warc_file, Extraction.warc_offset)
                                       .where(Extraction.capture_id == capture_id)).one()
    return archive.warc_dir / name, offset


def forge(path: Path, offset: int, blocks: Iterable[bytes]) -> bytes:
    """Rewrite the metadata record at ``offset`` with the first of ``blocks`` that gzips to the old
    length, or the first one when it is the file's last record (its block and payload digests
    recomputed: nothing else in the file moves): what someone with file access can do. The new
    block."""
    data, length = member_at(path, offset)
    last = offset + length == path.stat().st_size
    head = data.partition(b"\r\n\r\n")[0]
    for block in blocks:
        label = digest_label(hashlib.sha256(block).digest()).encode()
        new_head = re.sub(rb"WARC-Block-Digest: [^\r]*", b"WARC-Block-Digest: " + label, head)
        new_head = re.sub(rb"WARC-Payload-Digest: [^\r]*", b"WARC-Payload-Digest: " + label, new_head)
        for level in range(10):
            member = gzip.compress(new_head + b"\r\n\r\n" + block + b"\r\n\r\n", compresslevel=level,
                                   mtime=0)
            if len(member) == length or last:
                content = path.read_bytes()
                path.write_bytes(content[:offset] + member + content[offset + length:])
                return block
    raise AssertionError("no same-length forgery found")


def record_content(path: Path, offset: int) -> dict[str, object]:
    data, _ = member_at(path, offset)
    content = json.loads(data.partition(b"\r\n\r\n")[2][:-4])
    assert isinstance(content, dict)
    return content


WORDS = [f"{a}{b}ght" for a in "abcdefghijklmnopqrstuvwxyz" for b in "aeiou"]  # "eight" among them


def test_text_rewritten_with_its_row_is_reported(archive: Archive, key: ArchiveKey) -> None:
    capture = extracted(archive)
    archive.checkpoint(key)
    assert check(archive, key).ok
    path, offset = text_place(archive, capture.id)
    content = record_content(path, offset)
    assert content["text"] == TEXT and len(WORDS[0]) == len("three")

    def blocks() -> Iterable[bytes]:
        for word in WORDS:
            text = TEXT.replace("three", word)
            yield json.dumps({**content, "text": text,
                              "text_sha256": hashlib.sha256(text.encode()).hexdigest()},
                             ensure_ascii=False, sort_keys=True).encode()

    forged = json.loads(forge(path, offset, blocks()))
    with archive.sessions() as session, session.begin():  # the row made to agree with the record
        session.execute(update(Extraction).where(Extraction.capture_id == capture.id)
                        .values(text_sha256=forged["text_sha256"]))
    report = check(archive, key)
    assert sorted((p["kind"], p["entry_kind"], p["row_id"]) for p in report.problems) == [
        ("row-rewritten", ledger.TEXT, capture.id), ("warc-rewritten", ledger.TEXT, capture.id)]
    [found] = [p for p in report.problems if p["kind"] == "warc-rewritten"]
    assert "block digest" in found["detail"] and "text_sha256" in found["detail"]


def test_text_record_rewritten_alone_is_reported(archive: Archive, key: ArchiveKey) -> None:
    """The row untouched, the record's text changed (its digests consistent): the record no longer
    hashes to the entry's text_sha256, nor has the pinned block digest."""
    capture = extracted(archive)
    archive.checkpoint(key)
    path, offset = text_place(archive, capture.id)
    content = record_content(path, offset)
    forge(path, offset, (json.dumps({**content, "text": TEXT.replace("three", word)},
                                    ensure_ascii=False, sort_keys=True).encode() for word in WORDS))
    report = check(archive, key)
    assert [(p["kind"], p["entry_kind"], p["offset"]) for p in report.problems] == [
        ("warc-rewritten", ledger.TEXT, offset)]
    assert verify_ledger(archive.sessions, None, public_key=key.public_key_hex,
                         check_signature=verify_signature).ok  # what is found is the record


def test_only_the_pin_sees_a_rewritten_title(archive: Archive, key: ArchiveKey) -> None:
    """The text kept, the title changed: the pinned block digest is what finds it; with version-1
    text entries (no pin) ``ledger verify`` sees nothing of it."""
    capture = extracted(archive)
    archive.checkpoint(key)
    path, offset = text_place(archive, capture.id)
    content = record_content(path, offset)
    forge(path, offset, (json.dumps({**content, "title": TITLE.replace("River", word[:5])},
                                    ensure_ascii=False, sort_keys=True).encode() for word in WORDS))
    assert record_content(path, offset)["text"] == TEXT
    report = check(archive, key)
    assert [(p["kind"], p["entry_kind"]) for p in report.problems] == [("warc-rewritten", ledger.TEXT)]
    assert "block digest" in report.problems[0]["detail"]
    assert "text_sha256" not in report.problems[0]["detail"]
    rechain(archive, [(kind, row_id, {k: v for k, v in fields.items()
                                      if k != ledger.TEXT_BLOCK_DIGEST})
                      for kind, row_id, fields in decoded(archive)])
    assert kinds(check(archive, key)) == {"checkpoint-mismatch"}


def test_text_entries_pin_their_record_and_version_1_still_verifies(archive: Archive,
                                                                     key: ArchiveKey) -> None:
    capture = extracted(archive)
    archive.commit_extractions([ExtractionInput(
        capture_id=archive.commit_captures([html_capture("https://example.com/x", T0,
                                                         body=HTML + b"x")])[0].id,
        url="https://example.com/x", status="error", error="no text", extracted_at=T0)])
    path, offset = text_place(archive, capture.id)
    data, _ = member_at(path, offset)
    pinned = re.search(rb"WARC-Block-Digest: ([^\r]*)", data)
    assert pinned is not None
    texts = [fields for kind, _, fields in decoded(archive) if kind == ledger.TEXT]
    assert [f[ledger.TEXT_BLOCK_DIGEST] for f in texts] == [pinned.group(1).decode(), None]
    pinned_report = check(archive, key)
    assert pinned_report.ok
    rechain(archive, [(kind, row_id, {k: v for k, v in fields.items()
                                      if k != ledger.TEXT_BLOCK_DIGEST})
                      for kind, row_id, fields in decoded(archive)])  # as written before the pin
    assert not [f for kind, _, f in decoded(archive)
                if kind == ledger.TEXT and ledger.TEXT_BLOCK_DIGEST in f]
    archive.checkpoint(key)
    report = check(archive, key)
    assert report.ok, report.problems
    assert report.records_checked == pinned_report.records_checked  # the text record is read too
