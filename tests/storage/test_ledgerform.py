"""The packed stored form of ledger entries (storage.ledgerform, issue 18): a packed entry unpacks to
the canonical body its hash is over, is much smaller, and verifies as before; entries stored as
canonical bodies (every archive before it) still verify; a rewritten packed entry is caught."""

from __future__ import annotations

import base64
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
    for odd in ({"sha256": "x" * 43}, {"warc_record_id": "x" * 22},
                {"captured_at": 1767322245123456},
                {"url": "u", "final_url": True}, {"extra": 1}):
        values = {**fields, **odd}
        body = ledger.entry_body(7, ledger.CAPTURE, 3, values, ledger.GENESIS)
        assert ledgerform.pack(7, ledger.CAPTURE, 3, values, ledger.GENESIS, body) is None, odd
    body = ledger.entry_body(7, ledger.CAPTURE, 3, fields, ledger.GENESIS)
    packed = ledgerform.pack(7, ledger.CAPTURE, 3, fields, ledger.GENESIS, body)
    assert packed is not None and ledgerform.unpack(packed, 7, ledger.CAPTURE, 3).encode() == body
    assert ledgerform.pack(7, ledger.CHECK, 3, {}, ledger.GENESIS, b"{}") is None  # no packed form
    odd = {**fields, "warc_record_id": "not-a-urn", "captured_at": "2026-01-02T03:04:05Z",
           ledger.BLOCK_DIGESTS: ["sha1:ABC", None], "warc_offset": 10, "warc_length": 5,
           "records": [["response", 10, 5, None], ["request", 16, 3, "X"], "odd", [1]]}  # kept as is
    body = ledger.entry_body(7, ledger.CAPTURE, 3, odd, ledger.GENESIS)
    packed = ledgerform.pack(7, ledger.CAPTURE, 3, odd, ledger.GENESIS, body)
    assert packed is not None and ledgerform.unpack(packed, 7, ledger.CAPTURE, 3).encode() == body


def first_form(body: str, seq: int, kind: str, row_id: int) -> str:
    """The first packed form (version 3) of an entry: prev in hex, times, record ids' uuids and the
    pinned WARC digest labels as the canonical body has them."""
    spec = ledger.KINDS[kind]
    canonical = json.loads(ledgerform.unpack(body, seq, kind, row_id))
    fields = canonical["fields"]
    return (ledgerform._packed_head(spec, fields, row_id, canonical["prev"], 3)
            + ledger.canonical(fields[spec.pinned]).decode("utf-8") + "]")


def test_a_packed_entry_holds_times_record_ids_and_digests_compactly(archive: Archive) -> None:
    three(archive)
    extracted(archive)
    with_ids = 0  # captures with more than one record (a response and its request)
    for seq, kind, row_id, body, _ in stored(archive):
        canonical = json.loads(ledgerform.unpack(body, seq, kind, row_id))
        values = json.loads(body)
        assert values[0] == 4 and bytes.fromhex(canonical["prev"]) == base64.urlsafe_b64decode(
            values[1] + "=")
        digests = canonical["fields"][ledger.KINDS[kind].pinned]
        for label in digests if isinstance(digests, list) else [digests]:
            assert label.startswith("sha256:") and label not in body  # packed: 43 characters
        if kind == ledger.CAPTURE:
            fields = canonical["fields"]
            assert fields["captured_at"] not in body
            assert fields["warc_record_id"][len("<urn:uuid:"):-1] not in body
            records = values[2 + ledger.CAPTURE_FIELDS.index("records")]
            assert len(records) == len(fields["records"]) >= 1
            with_ids += len(records) > 1
            # each record's offset follows on from the one before, the first one's is the row's
            assert [r[1] for r in records] == [True] * len(records), records
            assert not any(r[3] and r[3] in body for r in fields["records"])
        assert len(first_form(body, seq, kind, row_id)) - len(body) >= (
            21 + 20 * (len(digests) if isinstance(digests, list) else 1)), body
    assert with_ids


def test_entries_of_the_first_packed_form_still_verify(archive: Archive, key: ArchiveKey) -> None:
    three(archive)
    extracted(archive)
    archive.checkpoint(key)
    for seq, kind, row_id, body, _ in stored(archive):  # as an archive packed before version 4
        set_body(archive, seq, first_form(body, seq, kind, row_id))
    assert all(body.startswith("[3,") for _, _, _, body, _ in stored(archive))
    for seq, kind, row_id, body, digest in stored(archive):
        canonical = ledgerform.unpack(body, seq, kind, row_id)
        assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == digest
    report = check(archive, key)
    assert report.ok, report.problems
    assert report.rows_checked == len(stored(archive))


def _packed(**values: object) -> str:
    """A packed capture entry of nulls but ``values`` (by field name), as ``json`` writes it."""
    fields = [values.get(name) for name in ledger.CAPTURE_FIELDS]
    return json.dumps([values.get("marker", ledgerform.PACKED), "prev", *fields, []])


@pytest.mark.parametrize("body", ["[3,", '[3,"prev"]', _packed(marker=99), _packed(sha256="*" * 43)])
def test_a_malformed_packed_entry_is_named(body: str) -> None:
    with pytest.raises(ValueError, match=rf"packed {ledger.CAPTURE} entry 7 \(row 3\)"):
        ledgerform.unpack(body, 7, ledger.CAPTURE, 3)
