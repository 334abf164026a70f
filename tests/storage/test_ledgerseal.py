"""Which captures a signed checkpoint covers (``storage.ledgerseal``), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from collector.evidence.keys import create_key
from storage.archive import Archive
from storage.ledgerseal import capture_seals
from tests.storage.conftest import OpenArchive
from tests.storage.helpers import HTML, T0, html_capture


def _capture(archive: Archive, name: str) -> int:
    [record] = archive.commit_captures([html_capture(f"https://example.com/{name}", T0,
                                                     body=HTML + name.encode())])
    return record.id


def test_the_first_signed_checkpoint_covering_an_entry_seals_it(open_archive: OpenArchive,
                                                                 tmp_path: Path) -> None:
    key = create_key(tmp_path / "signing-key.pem")
    archive = open_archive()
    first = _capture(archive, "first")
    unsigned = archive.checkpoint()  # covers it, but unsigned: no seal
    assert unsigned is not None
    assert capture_seals(archive.sessions, [first])[first].sealed is False
    second = _capture(archive, "second")
    signed = archive.checkpoint(key)
    third = _capture(archive, "third")
    archive.checkpoint(key)  # a later signed checkpoint: the first one still is the one that sealed
    fourth = _capture(archive, "fourth")  # after the last checkpoint
    plain = open_archive(ledger=False)
    without = _capture(plain, "without")
    seals = capture_seals(archive.sessions, [first, second, third, fourth, without, first])
    assert signed is not None
    assert sorted(seals) == sorted({first, second, third, fourth, without})
    for capture_id in (first, second):
        seal = seals[capture_id]
        assert seal.sealed and seal.checkpoint == signed.id and seal.tree_size == signed.tree_size
        assert seal.sealed_at == signed.created_at
    assert seals[third].sealed and seals[third].checkpoint != signed.id
    assert [seals[i].seq for i in (first, second, third, fourth)] == [1, 2, 3, 4]
    assert not seals[fourth].sealed and seals[fourth].checkpoint is None
    assert seals[without].seq is None and not seals[without].sealed
    assert seals[second].to_json()["sealed_at"].endswith("Z")
    assert capture_seals(archive.sessions, []) == {}
