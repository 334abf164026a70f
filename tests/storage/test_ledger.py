"""The capture ledger on SQLite and PostgreSQL: entries commit with their rows, the chain and the
Merkle checkpoints expose rewritten, deleted, reordered and inserted rows and entries.

Each attack is first shown to pass ``verify_archive`` (the check that existed before the ledger), so
every test here fails without the ledger."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pymerkle import InmemoryTree
from sqlalchemy import delete, func, select, update
from warcio.archiveiterator import ArchiveIterator

from collector.evidence.keys import ArchiveKey, create_key, verify_signature
from storage import ledger
from storage.archive import Archive
from storage.ledgerform import unpack
from storage.ledgerverify import LedgerReport, verify_ledger
from storage.models import Capture, LedgerCheckpoint, LedgerEntry
from storage.records import CaptureRecord, ExtractionInput
from storage.reindex import index_files, warc_files
from storage.verify import verify_archive
from storage.warcfile import digest_label
from tests.conftest import drop_database
from tests.storage.conftest import OpenArchive
from tests.storage.helpers import HTML, T0, failed_capture, html_capture, member_at

FIRST = HTML.replace(b"Hello, world.", b"The minister resigned.")
SECOND = HTML.replace(b"Hello, world.", b"The budget passed.")


def check(archive: Archive, key: ArchiveKey | None = None, **kwargs: Any) -> LedgerReport:
    return verify_ledger(archive.sessions, archive.warc_dir,
                         public_key=key.public_key_hex if key else None,
                         check_signature=verify_signature if key else None, **kwargs)


def kinds(report: LedgerReport) -> set[str]:
    return {p["kind"] for p in report.problems}


@pytest.fixture
def key(tmp_path: Path) -> ArchiveKey:
    return create_key(tmp_path / "keys" / "signing-key.pem")


def three(archive: Archive) -> list[CaptureRecord]:
    """Three captures (the last one failed), the WARC file closed."""
    records = archive.commit_captures([
        html_capture("https://example.com/first", T0, body=FIRST),
        failed_capture("https://example.com/gone", T0 + timedelta(seconds=1)),
        html_capture("https://example.com/second", T0 + timedelta(seconds=2), body=SECOND),
    ])
    archive.writer.close()
    return records


def entries(archive: Archive) -> list[Any]:
    """The entries, each with its canonical body (a packed one unpacked: storage.ledgerform)."""
    with archive.sessions() as session:
        return [SimpleNamespace(seq=e.seq, kind=e.kind, row_id=e.row_id, hash=e.hash,
                                body=unpack(e.body, e.seq, e.kind, e.row_id))
                for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def rechain(archive: Archive, bodies: list[tuple[str, int, dict[str, Any]]]) -> None:
    """What an attacker with database access can do without the key: rewrite the whole ledger as
    ``(kind, row id, fields)`` entries with a consistent chain."""
    with archive.sessions() as session, session.begin():
        session.execute(delete(LedgerEntry))
        for kind, row_id, fields in bodies:
            ledger.append_entries(session, kind, [(row_id, fields)])


def decoded(archive: Archive) -> list[tuple[str, int, dict[str, Any]]]:
    import json

    return [(e.kind, e.row_id, json.loads(e.body)["fields"]) for e in entries(archive)]


# -- entries -------------------------------------------------------------------------------------

def test_every_row_gets_an_entry_in_order(archive: Archive, key: ArchiveKey) -> None:
    records = three(archive)
    found = entries(archive)
    assert [e.seq for e in found] == [1, 2, 3]
    assert [(e.kind, e.row_id) for e in found] == [("capture", r.id) for r in records]
    assert found[0].hash == hashlib.sha256(found[0].body.encode()).hexdigest()
    assert f'"prev":"{ledger.GENESIS}"' in found[0].body
    assert f'"prev":"{found[0].hash}"' in found[1].body
    assert archive.checkpoint(key) is not None
    report = check(archive, key)
    assert report.ok, report.problems
    # every record of every capture: its block digest is pinned by the entry (version 2)
    with archive.sessions() as session:
        written = sum(len(r) for r in session.scalars(select(Capture.records)))
    assert written > 3
    assert (report.entries_checked, report.rows_checked, report.records_checked) == (3, 3, written)
    assert all(e.body.endswith(',"v":2}') for e in found)
    assert report.warnings == []


def test_switched_off_no_entries(open_archive: OpenArchive) -> None:
    archive = open_archive(ledger=False)
    three(archive)
    assert entries(archive) == []
    assert kinds(check(archive)) == {"row-without-entry"}


def test_concurrent_commits_get_gapless_ordered_numbers(open_archive: OpenArchive) -> None:
    archives = [open_archive(), open_archive()]
    errors: list[BaseException] = []

    def work(archive: Archive, name: str) -> None:
        try:
            for i in range(8):
                archive.commit_captures([html_capture(f"https://example.com/{name}/{i}/{j}", T0,
                                                      body=HTML + f"{name}{i}{j}".encode())
                                         for j in range(3)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a, n)) for a, n in zip(archives, "ab", strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = entries(archives[0])
    assert [e.seq for e in found] == list(range(1, 49))
    assert sorted(e.row_id for e in found) == sorted({e.row_id for e in found})
    assert check(archives[0]).ok


def test_merkle_roots_are_pymerkles() -> None:
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]
    tree = InmemoryTree()
    for leaf in leaves:
        tree.append_entry(leaf)
    roots = ledger.merkle_roots(leaves, range(71))
    assert roots[0] == hashlib.sha256(b"").digest()
    for size in range(1, 71):
        assert roots[size] == tree.get_root(size), size


# -- attacks -------------------------------------------------------------------------------------

def forge_record(path: Path, offset: int, new_body: bytes) -> tuple[int, int]:
    """Rewrite the response record at ``offset`` of ``path`` with another body and digests that match
    it; (the new record's length, how far the records after it moved)."""
    data, _length = member_at(path, offset)
    record = next(iter(ArchiveIterator(io.BytesIO(data))))
    http = record.http_headers
    http.replace_header("Content-Length", str(len(new_body)))
    block = http.to_bytes() + new_body
    warc = [(k, v) for k, v in record.rec_headers.headers
            if k not in ("WARC-Block-Digest", "WARC-Payload-Digest", "Content-Length")]
    warc += [("WARC-Block-Digest", digest_label(hashlib.sha256(block).digest())),
             ("WARC-Payload-Digest", digest_label(hashlib.sha256(new_body).digest())),
             ("Content-Length", str(len(block)))]
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in warc) + "\r\n"
    out = io.BytesIO(gzip.compress(head.encode() + block + b"\r\n\r\n", mtime=0))
    content = path.read_bytes()
    path.write_bytes(content[:offset] + out.getvalue() + content[offset + _length:])
    return len(out.getvalue()), len(out.getvalue()) - _length


def test_row_and_warc_rewritten_together(archive: Archive, key: ArchiveKey) -> None:
    *_, second = three(archive)
    archive.checkpoint(key)
    forged = SECOND.replace(b"The budget passed.", b"The budget failed.")
    at = second.warc_offset or 0
    length, moved = forge_record(archive.warc_dir / str(second.warc_file), at, forged)
    with archive.sessions() as session, session.begin():
        row = session.get(Capture, second.id)
        assert row is not None
        records = [[kind, offset + moved if offset > at else offset, *rest]
                   for kind, offset, *rest in row.records]
        session.execute(update(Capture).where(Capture.id == second.id).values(
            sha256=hashlib.sha256(forged).hexdigest(), content_length=len(forged),
            warc_length=length, payload_length=length, records=records))
    assert verify_archive(archive.sessions, archive.warc_dir).ok  # consistent: the old check passes
    report = check(archive, key)
    assert kinds(report) == {"row-rewritten", "warc-rewritten"}
    rewritten = next(p for p in report.problems if p["kind"] == "row-rewritten")
    assert rewritten["row_id"] == second.id
    assert "sha256" in rewritten["fields"]


def test_capture_row_deleted(archive: Archive, key: ArchiveKey) -> None:
    _, gone, _ = three(archive)
    with archive.sessions() as session, session.begin():
        session.execute(delete(Capture).where(Capture.id == gone.id))
    assert verify_archive(archive.sessions, archive.warc_dir).ok
    report = check(archive, key)
    assert [(p["kind"], p["row_id"]) for p in report.problems] == [("row-deleted", gone.id)]


def test_row_and_entry_deleted_with_the_chain_rewritten(archive: Archive, key: ArchiveKey) -> None:
    _, gone, _ = three(archive)
    archive.checkpoint(key)
    rest = [e for e in decoded(archive) if e[1] != gone.id]
    with archive.sessions() as session, session.begin():
        session.execute(delete(Capture).where(Capture.id == gone.id))
    rechain(archive, rest)
    assert verify_archive(archive.sessions, archive.warc_dir).ok
    assert kinds(check(archive, key)) == {"checkpoint-mismatch"}


def test_two_entries_swapped(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    archive.checkpoint(key)
    with archive.sessions() as session, session.begin():  # swap the sequence numbers of 1 and 2
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == 1).values(seq=-1))
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == 2).values(seq=1))
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == -1).values(seq=2))
    assert verify_archive(archive.sessions, archive.warc_dir).ok
    assert {"chain-broken", "checkpoint-mismatch"} <= kinds(check(archive, key))


def test_two_entries_swapped_and_rechained(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    archive.checkpoint(key)
    first, second, third = decoded(archive)
    rechain(archive, [second, first, third])
    assert verify_archive(archive.sessions, archive.warc_dir).ok
    assert kinds(check(archive, key)) == {"checkpoint-mismatch"}


def test_entry_inserted_after_the_fact_with_an_old_timestamp(archive: Archive,
                                                             key: ArchiveKey) -> None:
    three(archive)
    archive.checkpoint(key)
    # a later capture, then made to look as if it was taken before the others
    [late] = archive.commit_captures([html_capture("https://example.com/planted", T0, body=SECOND)])
    earlier = T0 - timedelta(days=30)
    with archive.sessions() as session, session.begin():
        session.execute(update(Capture).where(Capture.id == late.id).values(captured_at=earlier))
    kept = decoded(archive)
    planted = ("capture", late.id, {**kept[-1][2], "captured_at": earlier.strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")})
    rechain(archive, [kept[0], planted, *kept[1:3]])
    assert verify_archive(archive.sessions, archive.warc_dir).ok
    assert kinds(check(archive, key)) == {"checkpoint-mismatch"}


def test_row_inserted_without_entry(archive: Archive) -> None:
    [first, *_] = three(archive)
    with archive.sessions() as session, session.begin():
        row = session.get(Capture, first.id)
        assert row is not None
        values = {c.key: getattr(row, c.key) for c in Capture.__table__.columns if c.key != "id"}
        session.execute(Capture.__table__.insert().values(**values))
    assert verify_archive(archive.sessions, archive.warc_dir).ok
    assert kinds(check(archive)) == {"row-without-entry"}


def test_entry_rewritten_in_place(archive: Archive) -> None:
    three(archive)
    with archive.sessions() as session, session.begin():
        body = session.scalar(select(LedgerEntry.body).where(LedgerEntry.seq == 2))
        assert body is not None
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == 2)
                        .values(body=body.replace("dns-error", "timeout")))
    assert {"entry-rewritten"} <= kinds(check(archive))


def test_tail_entries_deleted(archive: Archive, key: ArchiveKey) -> None:
    _, _, last = three(archive)
    archive.checkpoint(key)
    with archive.sessions() as session, session.begin():
        session.execute(delete(LedgerEntry).where(LedgerEntry.seq == 3))
        session.execute(delete(Capture).where(Capture.id == last.id))
    assert verify_archive(archive.sessions, archive.warc_dir).ok
    assert kinds(check(archive, key)) == {"checkpoint-mismatch"}


def test_checkpoint_signed_by_another_key(archive: Archive, key: ArchiveKey, tmp_path: Path) -> None:
    three(archive)
    archive.checkpoint(key)
    other = create_key(tmp_path / "other.pem")
    first, second, third = decoded(archive)
    rechain(archive, [second, first, third])  # a rewritten ledger, "checkpointed" with the other key
    with archive.sessions() as session, session.begin():
        session.execute(delete(LedgerCheckpoint))
    archive.checkpoint(other)
    assert check(archive, other).ok  # consistent in itself
    assert kinds(check(archive, key)) == {"foreign-key"}


def test_checkpoint_signature_tampered(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    point = archive.checkpoint(key)
    assert point is not None and point.signature is not None
    with archive.sessions() as session, session.begin():
        session.execute(update(LedgerCheckpoint).values(signature="00" * 64))
    assert kinds(check(archive, key)) == {"bad-signature"}


def test_unsigned_checkpoint_is_a_warning(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    assert archive.checkpoint() is not None
    assert archive.checkpoint() is None  # nothing new
    report = check(archive, key)
    assert report.ok
    assert [w["kind"] for w in report.warnings] == ["unsigned-checkpoint"]


def test_from_checkpoint_checks_the_rows_after_it(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    point = archive.checkpoint(key)
    assert point is not None
    archive.commit_captures([html_capture("https://example.com/later", T0, body=FIRST)])
    archive.checkpoint(key)
    report = check(archive, key, from_checkpoint=point.id)
    assert report.ok, report.problems
    assert report.rows_checked == 1
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 2


# -- rebuilt ledgers -----------------------------------------------------------------------------

def test_reindex_rebuilds_the_ledger_of_the_rows_it_creates(open_archive: OpenArchive, db_url: str,
                                                            warc_dir: Path) -> None:
    archive = open_archive()
    records = three(archive)
    archive.commit_extractions([ExtractionInput(
        capture_id=records[0].id, url=records[0].url, status="ok", text="The minister resigned.",
        text_sha256=hashlib.sha256(b"The minister resigned.").hexdigest(), extracted_at=T0,
        refers_to=records[0].warc_record_id)])
    archive.close()
    drop_database(db_url)
    rebuilt = open_archive()
    assert entries(rebuilt) == []
    index_files(rebuilt, warc_files(warc_dir))
    assert [(e.seq, e.kind) for e in entries(rebuilt)] == [
        (1, "capture"), (2, "capture"), (3, "capture"), (4, "text")]
    assert check(rebuilt).ok


def test_migration_adopts_the_rows_already_there(db_url: str, warc_dir: Path) -> None:
    from sqlalchemy import text

    from storage.database import make_engine, migrate

    archive = Archive.open(db_url, warc_dir)
    try:
        three(archive)
        with archive.sessions() as session, session.begin():  # back to before the ledger
            session.execute(text("DROP TABLE ledger_checkpoints"))
            session.execute(text("DROP TABLE ledger_entries"))
            session.execute(text("UPDATE alembic_version SET version_num = '0010'"))
    finally:
        archive.close()
    engine = make_engine(db_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    archive = Archive.open(db_url, warc_dir)
    try:
        assert [e.seq for e in entries(archive)] == [1, 2, 3]
        assert check(archive).ok
    finally:
        archive.close()


# -- checks and report versions ------------------------------------------------------------------

def test_check_verdicts_and_report_versions_are_in_the_ledger(archive: Archive, key: ArchiveKey) -> None:
    from storage.checks import add_checks
    from storage.models import Check
    from storage.records import CheckRecord
    from storage.reports import add_version

    first, _, second = three(archive)
    [stored] = add_checks(archive.sessions, [CheckRecord(
        url=second.url, checked_at=T0 + timedelta(days=1), capture_id=second.id,
        baseline_id=first.id, status="changed", similarity=0.4123456789, signals=("text",),
        quotes=({"quote": "The budget passed.", "found": False},), report="r", ref="1")])
    version, created = add_version(
        archive.sessions, "r", source="r.md", source_url=None, format="markdown", title="R",
        sha256="ab" * 32, size=10, capture_id=None, warnings=["w"], citations=[],
        now=T0 + timedelta(days=2))
    assert created
    assert [(e.kind, e.row_id) for e in entries(archive)[3:]] == [("check", stored.id),
                                                                  ("report-version", version.id)]
    archive.checkpoint(key)
    assert check(archive, key).ok
    with archive.sessions() as session, session.begin():  # the verdict rewritten
        session.execute(update(Check).where(Check.id == stored.id).values(status="unchanged"))
    report = check(archive, key)
    assert [(p["kind"], p["entry_kind"], p["fields"]) for p in report.problems] == [
        ("row-rewritten", "check", ["status"])]


def test_checkpoints_continue_from_the_last_frontier(archive: Archive, key: ArchiveKey) -> None:
    roots = []
    for batch in range(5):  # sizes 3, 6, 9, 12, 15: frontiers of every shape
        archive.commit_captures([html_capture(f"https://example.com/{batch}/{i}", T0,
                                              body=HTML + f"{batch}.{i}".encode()) for i in range(3)])
        point = archive.checkpoint(key)
        assert point is not None
        roots.append((point.tree_size, point.root_hash))
    leaves = [bytes.fromhex(e.hash) for e in entries(archive)]
    full = ledger.merkle_roots(leaves, [size for size, _ in roots])
    assert [(size, full[size].hex()) for size, _ in roots] == roots
    with archive.sessions() as session, session.begin():  # a lost frontier: the whole tree again
        session.execute(update(LedgerCheckpoint).values(frontier=None))
    archive.commit_captures([html_capture("https://example.com/last", T0, body=FIRST)])
    point = archive.checkpoint(key)
    assert point is not None
    assert point.root_hash == ledger.merkle_roots(
        [bytes.fromhex(e.hash) for e in entries(archive)], [16])[16].hex()
    assert check(archive, key).ok
