"""The packed stored form of ledger entries (storage.ledgerform, issue 18): a packed entry unpacks to
the canonical body its hash is over, is much smaller, and verifies as before; entries stored as
canonical bodies (every archive before it) still verify; a rewritten packed entry is caught."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from collector.evidence.keys import ArchiveKey, create_key
from storage import ledger, ledgerform
from storage.archive import Archive
from storage.models import LedgerEntry
from tests.storage.test_ledger import check, kinds, three
from tests.storage.test_ledger_texts import extracted


@pytest.fixture
def key(tmp_path: Path) -> ArchiveKey:
    return create_key(tmp_path / "keys" / "signing-key.pem")


def stored(archive: Archive) -> list[tuple[int, str, int, str, str]]:
    """(seq, kind, row id, stored body, hash) of every entry."""
    with archive.sessions() as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.row_id, LedgerEntry.body,
                   LedgerEntry.hash).order_by(LedgerEntry.seq))]


def set_body(archive: Archive, seq: int, body: str) -> None:
    with archive.sessions() as session, session.begin():
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == seq).values(body=body))


def test_packed_entries_unpack_to_the_hashed_body(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    extracted(archive)
    found = stored(archive)
    assert {kind for _, kind, *_ in found} == {ledger.CAPTURE, ledger.TEXT}
    for seq, kind, row_id, body, digest in found:
        assert ledgerform.is_packed(body), (kind, body)
        canonical = ledgerform.unpack(body, seq, kind, row_id)
        assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == digest
        assert canonical.endswith(',"v":2}')
        assert len(body) < 0.7 * len(canonical), (len(body), len(canonical))
    archive.checkpoint(key)
    report = check(archive, key)
    assert report.ok, report.problems
    assert report.rows_checked == len(found)


def test_entries_stored_as_canonical_bodies_still_verify(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    extracted(archive)
    archive.checkpoint(key)
    for seq, kind, row_id, body, _ in stored(archive):  # as an archive written before packing
        set_body(archive, seq, ledgerform.unpack(body, seq, kind, row_id))
    assert not any(ledgerform.is_packed(body) for _, _, _, body, _ in stored(archive))
    report = check(archive, key)
    assert report.ok, report.problems
    assert report.rows_checked == len(stored(archive))


def test_a_rewritten_packed_entry_is_caught(archive: Archive) -> None:
    three(archive)
    [first, _, third] = stored(archive)
    set_body(archive, first[0], first[3].replace("example.com/first", "example.com/fixed"))
    set_body(archive, third[0], third[3][:-30] + "]")  # malformed: fields missing
    report = check(archive)
    rewritten = {p["seq"] for p in report.problems if p["kind"] == "entry-rewritten"}
    assert rewritten == {first[0], third[0]}
    # the first entry now says another URL than its row: the row is named too, as for a body
    assert kinds(report) == {"entry-rewritten", "row-rewritten"}


def test_a_row_rewritten_under_a_packed_entry_names_its_fields(archive: Archive) -> None:
    from storage.models import Capture

    [first, _, _] = three(archive)
    with archive.sessions() as session, session.begin():
        session.execute(update(Capture).where(Capture.id == first.id)
                        .values(url="https://example.com/fixed", payload_offset=1))
    [problem] = check(archive, None).problems
    assert (problem["kind"], problem["row_id"]) == ("row-rewritten", first.id)
    assert problem["fields"] == ["payload_offset", "url"]


def test_values_that_would_not_unpack_the_same_are_stored_canonical() -> None:
    fields = {name: None for name in ledger.CAPTURE_FIELDS}
    fields[ledger.BLOCK_DIGESTS] = []
    for odd in ({"sha256": "x" * 43}, {"warc_record_id": "not-a-urn"},
                {"url": "u", "final_url": True}, {"extra": 1}):
        values = {**fields, **odd}
        body = ledger.entry_body(7, ledger.CAPTURE, 3, values, ledger.GENESIS)
        assert ledgerform.pack(7, ledger.CAPTURE, 3, values, ledger.GENESIS, body) is None, odd
    body = ledger.entry_body(7, ledger.CAPTURE, 3, fields, ledger.GENESIS)
    packed = ledgerform.pack(7, ledger.CAPTURE, 3, fields, ledger.GENESIS, body)
    assert packed is not None and ledgerform.unpack(packed, 7, ledger.CAPTURE, 3).encode() == body
    assert ledgerform.pack(7, ledger.CHECK, 3, {}, ledger.GENESIS, b"{}") is None  # no packed form


def _packed(**values: object) -> str:
    """A packed capture entry of nulls but ``values`` (by field name), as ``json`` writes it."""
    fields = [values.get(name) for name in ledger.CAPTURE_FIELDS]
    return json.dumps([values.get("marker", ledgerform.PACKED), "prev", *fields, []])


@pytest.mark.parametrize("body", ["[3,", '[3,"prev"]', _packed(marker=4), _packed(sha256="*" * 43)])
def test_a_malformed_packed_entry_is_named(body: str) -> None:
    with pytest.raises(ValueError, match=rf"packed {ledger.CAPTURE} entry 7 \(row 3\)"):
        ledgerform.unpack(body, 7, ledger.CAPTURE, 3)
