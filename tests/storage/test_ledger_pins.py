"""Version-2 capture entries pin the WARC-Block-Digest of every record of the capture, so a request or
metadata record rewritten in place with consistent digests is caught; version-1 entries (written
before) keep their serialization and still verify. And ``ledger verify``'s fast serialization of a
row is the canonical one, for every kind, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from collector.evidence.keys import ArchiveKey, create_key, verify_signature
from storage import ledger, ledgerverify
from storage.archive import Archive
from storage.ledgerform import unpack
from storage.models import Capture
from storage.verify import verify_archive
from storage.warcfile import digest_label
from tests.storage.helpers import T0, member_at
from tests.storage.test_ledger import check, decoded, kinds, rechain, three


@pytest.fixture
def key(tmp_path: Path) -> ArchiveKey:
    return create_key(tmp_path / "keys" / "signing-key.pem")


def records_of(archive: Archive, capture_id: int) -> list[dict[str, Any]]:
    from storage.queries import expand_records

    with archive.sessions() as session:
        row = session.get(Capture, capture_id)
        assert row is not None
        return expand_records(row)


def forge_same_length(path: Path, offset: int, pattern: bytes, replacements: list[bytes]) -> bytes:
    """What someone with file access can do: rewrite the record at ``offset`` (``pattern`` replaced,
    same length), its WARC-Block-Digest (and a metadata record's payload digest) recomputed, gzipped
    again to exactly the old compressed length, so that nothing else in the file moves and no row
    needs to change. The new record's data."""
    data, length = member_at(path, offset)
    head, _, block = data.partition(b"\r\n\r\n")
    block = block[:-4]  # the record's closing CRLF CRLF
    assert pattern in block
    for replacement in replacements:
        assert len(replacement) == len(pattern)
        forged = block.replace(pattern, replacement, 1)
        label = digest_label(hashlib.sha256(forged).digest()).encode()
        new_head = re.sub(rb"WARC-Block-Digest: [^\r]*", b"WARC-Block-Digest: " + label, head)
        if b"WARC-Type: metadata" in head:
            new_head = re.sub(rb"WARC-Payload-Digest: [^\r]*", b"WARC-Payload-Digest: " + label,
                              new_head)
        new_data = new_head + b"\r\n\r\n" + forged + b"\r\n\r\n"
        for level in range(10):
            member = gzip.compress(new_data, compresslevel=level, mtime=0)
            if len(member) == length:
                content = path.read_bytes()
                path.write_bytes(content[:offset] + member + content[offset + length:])
                return new_data
    raise AssertionError("no same-length forgery found")


LETTERS = b"abcdefghijklmnopqrstuvwxyz"
CASES = {  # which capture of ``three``, which record, what is changed in it
    "request": (2, "request", b"example.com", [b"exampl%c.co%c" % (a, b) for a in LETTERS
                                                for b in LETTERS if (a, b) != (101, 109)]),
    "metadata": (1, "metadata", b"/gone", [b"/%c%cne" % (a, b) for a in LETTERS for b in LETTERS
                                           if (a, b) != (103, 111)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_rewritten_record_is_caught_by_its_pinned_block_digest(archive: Archive, key: ArchiveKey,
                                                                 case: str) -> None:
    index, record_type, pattern, replacements = CASES[case]
    capture = three(archive)[index]
    archive.checkpoint(key)
    assert check(archive, key).ok
    [target] = [r for r in records_of(archive, capture.id) if r["type"] == record_type]
    forged = forge_same_length(archive.warc_dir / target["file"], target["offset"], pattern,
                               replacements)
    assert pattern not in forged.partition(b"\r\n\r\n")[2]
    assert verify_archive(archive.sessions, archive.warc_dir).ok  # consistent: the old check passes
    report = check(archive, key)
    assert [(p["kind"], p["row_id"], p["offset"]) for p in report.problems] == [
        ("warc-rewritten", capture.id, target["offset"])]
    assert "block digest" in report.problems[0]["detail"]
    # the same archive with version-1 entries (no pinned digests) does not see the record: the pin
    # is what does (the checkpoint taken over the version-2 entries no longer matches, that is all)
    rechain(archive, [(kind, row_id, {k: v for k, v in fields.items() if k != ledger.BLOCK_DIGESTS})
                      for kind, row_id, fields in decoded(archive)])
    assert kinds(check(archive, key)) == {"checkpoint-mismatch"}


def test_version_1_entries_still_verify_beside_version_2(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    old = [(kind, row_id, {k: v for k, v in fields.items() if k != ledger.BLOCK_DIGESTS})
           for kind, row_id, fields in decoded(archive)]
    rechain(archive, old)  # the ledger as it was written before pinning
    archive.commit_captures([_later()])
    archive.checkpoint(key)
    found = ledgerverify_bodies(archive)
    assert [body.endswith(',"v":2}') for body in found] == [False, False, False, True]
    assert all('"block_digests"' not in body for body in found[:3])
    report = check(archive, key)
    assert report.ok, report.problems
    assert report.rows_checked == 4


def test_a_pinned_digest_rewritten_in_the_entry_breaks_the_chain(archive: Archive) -> None:
    three(archive)
    forged = decoded(archive)
    forged[0][2][ledger.BLOCK_DIGESTS][0] = "sha256:" + "A" * 52
    rows = ledgerverify_bodies(archive)
    assert json.loads(rows[0])["fields"][ledger.BLOCK_DIGESTS][0] != forged[0][2][
        ledger.BLOCK_DIGESTS][0]
    rechain(archive, forged)  # consistent chain, but the record's digest is not the entry's now
    assert kinds(check(archive)) == {"warc-rewritten"}


def test_fast_serialization_is_the_canonical_one_for_every_kind(archive: Archive) -> None:
    from storage.checks import add_checks
    from storage.records import CheckRecord, ExtractionInput
    from storage.reports import add_version

    first, _, second = three(archive)
    archive.commit_extractions([ExtractionInput(
        capture_id=capture.id, url=capture.url, status="ok", text="Überall ünïcode — “quotes”",
        text_sha256=hashlib.sha256("Überall".encode()).hexdigest(), extracted_at=T0,
        refers_to=capture.warc_record_id) for capture in (first, second)])
    add_checks(archive.sessions, [CheckRecord(
        url=second.url, checked_at=T0, capture_id=second.id, baseline_id=first.id,
        status="changed", similarity=0.1 + 0.2, redirected=True, signals=("text", "title"),
        quotes=({"quote": "naïve \"quoted\"\n", "found": False},), report="r", ref="1")])
    add_version(archive.sessions, "r", source="r.md", source_url=None, format="markdown",
                title="Été", sha256="ab" * 32, size=10, capture_id=None, warnings=[], citations=[],
                now=T0)
    older = {1, 4}  # a version-1 capture entry and text entry too
    pins = (ledger.BLOCK_DIGESTS, ledger.TEXT_BLOCK_DIGEST)
    rechain(archive, [(k, i, {f: v for f, v in fields.items() if n not in older or f not in pins})
                      for n, (k, i, fields) in enumerate(decoded(archive))])
    seen = set()
    prev = ledger.GENESIS
    for batch in ledgerverify._joined_entries(archive.sessions, 2, None, None):
        others = ledgerverify._other_rows(archive.sessions, batch)  # checks, report versions
        for row in batch:
            seq, kind, row_id, body, digest = row[:5]
            body = unpack(body, seq, kind, row_id)
            spec = ledger.KINDS[kind]
            span = ledgerverify._SPANS.get(kind)
            values = row[slice(*span)] if span else others[(kind, row_id)]
            assert spec.row_body(seq, row_id, values, prev, body) == body, (kind, body)
            assert ledger.entry_body(seq, kind, row_id, json.loads(body)["fields"], prev) == (
                body.encode())
            seen.add((kind, body.endswith(',"v":2}')))
            prev = digest
    assert seen == {("capture", True), ("capture", False), ("text", True), ("text", False),
                    ("check", False), ("report-version", False)}


def ledgerverify_bodies(archive: Archive) -> list[str]:
    from storage.models import LedgerEntry

    with archive.sessions() as session:
        return [unpack(body, seq, kind, row_id) for seq, kind, row_id, body in session.execute(
            select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.row_id, LedgerEntry.body)
            .order_by(LedgerEntry.seq))]


def _later() -> Any:
    from tests.storage.helpers import HTML, html_capture

    return html_capture("https://example.com/later", T0, body=HTML + b"later")


def test_verify_in_parallel_finds_what_one_process_finds(archive: Archive, key: ArchiveKey) -> None:
    from sqlalchemy import update

    from storage.ledgerverify import verify_ledger

    for batch in range(4):  # 12 captures, a checkpoint at 3, 6, 9 and 12 entries
        archive.commit_captures([_later_n(batch * 3 + i) for i in range(3)])
        archive.checkpoint(key)
    found = decoded(archive)
    with archive.sessions() as session, session.begin():  # one row rewritten in each half
        for capture_id in (found[1][1], found[9][1]):
            session.execute(update(Capture).where(Capture.id == capture_id).values(http_status=203))

    def run(workers: int, **kwargs: Any) -> Any:
        return verify_ledger(archive.sessions, archive.warc_dir, workers=workers, block=2,
                             public_key=key.public_key_hex,
                             check_signature=verify_signature, **kwargs)

    alone, parallel = run(1), run(3)
    assert kinds(alone) == {"row-rewritten"}
    assert parallel.to_json() == alone.to_json()
    assert parallel.entries_checked == 12 and parallel.checkpoints_checked == 4
    # trusting the checkpoint at 6 entries: only the row after it is reported, by either
    alone, parallel = run(1, from_checkpoint=2), run(3, from_checkpoint=2)
    assert [p["row_id"] for p in alone.problems] == [found[9][1]]
    assert parallel.to_json() == alone.to_json() and alone.rows_checked == 6
    with archive.sessions() as session, session.begin():  # and a checkpoint the tree no longer matches
        from storage.models import LedgerEntry

        session.execute(update(LedgerEntry).where(LedgerEntry.seq == 8)
                        .values(hash="0" * 64))
    alone, parallel = run(1), run(3)
    assert "checkpoint-mismatch" in kinds(alone)
    assert parallel.to_json() == alone.to_json()


def _later_n(n: int) -> Any:
    from tests.storage.helpers import HTML, html_capture

    return html_capture(f"https://example.com/n/{n}", T0, body=HTML + str(n).encode())
