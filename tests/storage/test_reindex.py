"""Contract (both databases): the rows ``storage.reindex.index_files`` rebuilds from the WARC files are
the rows the archive wrote, revisits of the same batch, redirect hops and failed attempts included."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from storage.archive import Archive
from storage.media import MediaInput, commit_media
from storage.models import Capture, CaptureHop, Extraction
from storage.records import CaptureInput, ExtractionInput
from storage.reindex import index_files, warc_files
from storage.warcindex import (
    CaptureEvent,
    FileRecord,
    TextEvent,
    group_records,
    parse_warc_date,
    payload_sha256,
    target_uri,
)
from storage.warcread import WarcRecord
from tests.conftest import drop_database
from tests.storage.conftest import OpenArchive
from tests.storage.helpers import (
    T0,
    exchange,
    failed_capture,
    html_capture,
    redirect_capture,
)

_NOT_IN_WARC = {"id", "revisit_of", "user_agent", "run_id", "fetch_seconds"}


def _snapshot(archive: Archive) -> dict[str, Any]:
    """Every capture, hop and extraction row, ids replaced by the main record's WARC-Record-ID."""
    with archive.sessions() as session:
        captures = [dict(r._mapping) for r in session.execute(select(Capture.__table__))]
        by_id = {c["id"]: c["warc_record_id"] for c in captures}
        rows = sorted(({**{k: v for k, v in c.items() if k not in _NOT_IN_WARC},
                        "revisit_of": by_id.get(c["revisit_of"])} for c in captures),
                      key=lambda c: c["warc_record_id"])
        hops = sorted(({**{k: v for k, v in dict(h._mapping).items() if k not in ("id", "capture_id")},
                        "capture": by_id[h.capture_id]}
                       for h in session.execute(select(CaptureHop.__table__))),
                      key=lambda h: (h["capture"], h["position"]))
        texts = sorted(({**{k: v for k, v in dict(e._mapping).items() if k != "capture_id"},
                         "capture": by_id[e.capture_id]}
                        for e in session.execute(select(Extraction.__table__))),
                       key=lambda e: e["capture"])
    return {"captures": rows, "hops": hops, "texts": texts}


def test_rebuilt_rows_equal_the_written_ones(open_archive: OpenArchive, db_url: str,
                                             warc_dir: Path) -> None:
    archive = open_archive()
    second = T0 + timedelta(seconds=1)
    first = archive.commit_captures([
        html_capture("http://a.example/", T0),
        html_capture("http://a.example/", second),  # a revisit of a row of the same batch
        redirect_capture("http://b.example/old", "http://c.example/new", T0),
        failed_capture("http://d.example/", T0, reason="dns-failure"),
        html_capture("http://e.example/logo", T0, body=b"\x89PNG", content_type="image/png"),
        _https_capture("https://f.example/", T0),
        html_capture("http://g.example/zq81-probe", T0, context={"probe": True}),  # a soft-404 probe
    ])
    assert first[1].revisit_of == first[0].id
    archive.commit_extractions([
        ExtractionInput(capture_id=r.id, url=r.url, status="ok", text="Hello, world.",
                        text_sha256=hashlib.sha256(b"Hello, world.").hexdigest(), title="Hello",
                        extracted_at=T0 + timedelta(seconds=5), refers_to=r.warc_record_id)
        for r in (first[0], first[2])])
    later = archive.commit_captures([html_capture("http://a.example/", T0 + timedelta(days=1))])
    assert later[0].revisit_of == first[0].id
    before = _snapshot(archive)
    archive.close()

    drop_database(db_url)
    rebuilt = open_archive()
    summary = index_files(rebuilt, warc_files(warc_dir))
    assert (summary.captures, summary.failed, summary.revisits, summary.texts) == (8, 1, 2, 2)
    assert summary.hops == len(before["hops"]) == 2
    assert [(c["tls_verified"], c["tls_detail"], c["proxy"]) for c in before["captures"]
            if c["url"].startswith("https:")] == [(False, "untrusted: self-signed certificate",
                                                   "http://proxy.example:3128")]
    assert [c["url"] for c in before["captures"] if c["purpose"] == "probe"] == [
        "http://g.example/zq81-probe"]
    assert _snapshot(rebuilt) == before

    again = index_files(rebuilt, warc_files(warc_dir))  # indexing again adds nothing
    assert again.captures == 0 and again.already_indexed == 8
    assert _snapshot(rebuilt) == before


_TLS = {"verified": False, "detail": "untrusted: self-signed certificate", "fingerprint": "ab" * 32,
        "subject": "CN=f.example", "issuer": "CN=f.example", "version": "TLSv1.3",
        "cipher": "TLS_AES_256_GCM_SHA384", "chain_length": 1}


def _https_capture(url: str, at: Any, proxy: str = "http://proxy.example:3128") -> CaptureInput:
    """A capture over https through a proxy, with its certificate's record."""
    return CaptureInput(url=url, captured_at=at, outcome="captured",
                        exchanges=[exchange(url, at, tls=_TLS, proxy=proxy)],
                        final_url=url, redirect_chain=[{"url": url, "status": 200}])


class _LongIds:
    """WARC-Record-IDs of 119 characters (any URI is a valid id; other tools write long ones)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"<urn:example:{'x' * 100}:{self.count:04d}>"


def test_record_ids_longer_than_64_characters_are_found_again(
        open_archive: OpenArchive, db_url: str, warc_dir: Path) -> None:
    archive = open_archive(record_id=_LongIds())
    written = archive.commit_captures([html_capture(f"http://long.example/{n}", T0) for n in range(3)])
    assert [len(r.warc_record_id or "") for r in written] == [119] * 3  # stored whole
    again = index_files(archive, warc_files(warc_dir))  # imported before: nothing is added
    assert (again.captures, again.already_indexed) == (0, 3)
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 3
    engine = archive.sessions.kw["bind"]
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("captures")}
    assert indexes["ix_captures_record_id"] == ["warc_record_id"]


def test_records_met_again_in_a_later_chunk_are_already_indexed(
        open_archive: OpenArchive, db_url: str, warc_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    archive = open_archive()
    archive.commit_captures([html_capture(f"http://chunk.example/{n}", T0) for n in range(5)])
    archive.close()
    drop_database(db_url)
    rebuilt = open_archive()
    monkeypatch.setattr("storage.reindex._LOOKAHEAD", 2)  # the ids are looked up two at a time
    names = warc_files(warc_dir)
    summary = index_files(rebuilt, names + names)  # the same file twice in one run
    assert (summary.captures, summary.already_indexed) == (5, 5)


def test_record_fields_of_other_tools() -> None:
    assert target_uri({"WARC-Target-URI": "<http://a.example/>"}) == "http://a.example/"
    assert target_uri({"WARC-Target-URI": "http://a.example/"}) == "http://a.example/"
    digest = hashlib.sha256(b"x").digest()
    assert payload_sha256("sha256:" + base64.b32encode(digest).decode()) == digest.hex()
    assert payload_sha256("sha256:" + digest.hex()) == digest.hex()
    assert payload_sha256("sha1:NASFFC6OVG7252JFDJ65TKDEQAW6VFYE") is None
    assert parse_warc_date("2026-12-06T05:23:38Z") == parse_warc_date("2026-12-06T05:23:38.000000Z")
    assert parse_warc_date("2026-12-06T05:23:38.123456Z").microsecond == 123456


def _record(kind: str, uri: str, rid: str, *, payload: bytes = b"", status: int | None = None,
            **headers: str) -> FileRecord:
    head = {"WARC-Type": kind, "WARC-Target-URI": uri, "WARC-Record-ID": rid,
            "WARC-Date": "2024-05-01T12:00:00.250000Z", **headers}
    http_head = f"HTTP/1.1 {status} X\r\n\r\n".encode() if status is not None else None
    return FileRecord("old.warc.gz", WarcRecord(headers=head, block=payload, payload=payload,
                                                http_status=status, http_head=http_head))


def test_outcome_records_of_older_files_target_the_page_url() -> None:
    """Files written before issue 13 name the page URL as the target of the outcome and text
    records: they are still read as the outcome and the text of their captures."""
    outcome = json.dumps({"url": "http://a.example/", "outcome": "failed", "reason": "timeout",
                          "redirect_chain": [{"url": "http://a.example/", "status": None}]})
    text = json.dumps({"type": "extracted-text", "text": "Hello"})
    records = [
        _record("response", "http://p.example/", "<urn:uuid:1>", status=200),
        _record("request", "http://p.example/", "<urn:uuid:2>", **{"WARC-Concurrent-To": "<urn:uuid:1>"}),
        _record("request", "http://a.example/", "<urn:uuid:3>"),
        _record("metadata", "http://a.example/", "<urn:uuid:4>", payload=outcome.encode(),
                **{"Content-Type": "application/json"}),
        _record("metadata", "http://p.example/", "<urn:uuid:5>", payload=text.encode(),
                **{"Content-Type": "application/json", "WARC-Refers-To": "<urn:uuid:1>"}),
    ]
    skipped: dict[str, int] = {}
    plain, failed, texted = list(group_records(records, skipped))
    assert isinstance(plain, CaptureEvent) and plain.meta is None
    assert [e.url for e in plain.exchanges] == ["http://p.example/"]
    assert plain.exchanges[0].request is records[1]
    assert isinstance(failed, CaptureEvent) and failed.content["reason"] == "timeout"
    assert [e.request for e in failed.exchanges] == [records[2]]
    assert isinstance(texted, TextEvent) and texted.content["text"] == "Hello"
    assert skipped == {}


def test_responses_that_are_not_http_are_skipped_and_counted() -> None:
    records = [_record("response", "dns:example.org", "<urn:uuid:1>",
                       **{"Content-Type": "text/dns"}),
               _record("response", "http://p.example/", "<urn:uuid:2>", status=200)]
    skipped: dict[str, int] = {}
    [event] = list(group_records(records, skipped))
    assert isinstance(event, CaptureEvent) and event.exchanges[0].url == "http://p.example/"
    assert skipped == {"response (not HTTP)": 1}


def _page_links(archive: Archive) -> dict[str, tuple[str, str | None, str | None]]:
    """URL -> (mode, mode_reason, the URL of its page) of every capture row."""
    with archive.sessions() as session:
        rows = session.execute(select(Capture.id, Capture.url, Capture.mode, Capture.mode_reason,
                                      Capture.page_id)).all()
    url_of = {row.id: row.url for row in rows}
    return {row.url: (row.mode or "http", row.mode_reason, url_of.get(row.page_id)) for row in rows}


def _page_and_its_resources(archive: Archive) -> None:
    """A browser page, a sub-resource it loaded, and an HTTP page with a requisite (as collector's
    pipeline commits them: each page first, then what was loaded for it)."""
    [browsed, page] = archive.commit_captures([
        html_capture("http://p.example/post", T0, mode="browser", mode_reason="--browser"),
        html_capture("http://q.example/article", T0, mode="http")])
    archive.commit_captures([
        html_capture("http://p.example/app.js", T0 + timedelta(seconds=1), body=b"void 0;",
                     content_type="application/javascript", mode="browser",
                     mode_reason="sub-resource", page_id=browsed.id),
        html_capture("http://q.example/photo.png", T0 + timedelta(seconds=1), body=b"\x89PNG",
                     content_type="image/png", mode="http", page_id=page.id,
                     context={"requisite_of": "http://q.example/article", "requisite": "img"})])


def test_modes_and_page_links_are_rebuilt(open_archive: OpenArchive, db_url: str,
                                          warc_dir: Path) -> None:
    archive = open_archive()
    _page_and_its_resources(archive)
    before = _page_links(archive)
    assert before["http://p.example/app.js"][2] == "http://p.example/post"
    archive.close()

    drop_database(db_url)
    rebuilt = open_archive()
    assert index_files(rebuilt, warc_files(warc_dir)).captures == len(before)
    assert _page_links(rebuilt) == before


def test_requisites_of_older_files_find_their_page_by_url(
        open_archive: OpenArchive, db_url: str, warc_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.archive._page_records", lambda _session, _ids: {})  # no page_record
    archive = open_archive()
    _page_and_its_resources(archive)
    before = _page_links(archive)
    archive.close()

    drop_database(db_url)
    rebuilt = open_archive()
    index_files(rebuilt, warc_files(warc_dir))
    after = _page_links(rebuilt)
    # an HTTP requisite's context names its page; a browser sub-resource of then names none
    assert after["http://q.example/photo.png"] == before["http://q.example/photo.png"]
    assert after["http://p.example/app.js"] == (*before["http://p.example/app.js"][:2], None)
    assert {url: link[:2] for url, link in after.items()} == {
        url: link[:2] for url, link in before.items()}


def _links(archive: Archive) -> dict[str, tuple[Any, ...]]:
    """Each row by its main record's id: (url, outcome, mode, mode_reason, its page's record id)."""
    with archive.sessions() as session:
        rows = session.execute(select(Capture.id, Capture.warc_record_id, Capture.url, Capture.outcome,
                                      Capture.mode, Capture.mode_reason, Capture.page_id)).all()
    record_of = {row.id: row.warc_record_id for row in rows}
    return {row.warc_record_id: (row.url, row.outcome, row.mode, row.mode_reason,
                                 record_of.get(row.page_id)) for row in rows}


def test_modes_and_media_page_links_are_rebuilt(open_archive: OpenArchive, db_url: str,
                                                warc_dir: Path, tmp_path: Path) -> None:
    archive = open_archive()
    # as the capture pipeline commits them: every HTTP fetch in mode "http"
    page, _, _ = archive.commit_captures([
        html_capture("http://plain.example/", T0, mode="http"),  # no metadata record
        html_capture("http://plain.example/app", T0, mode="http", mode_reason="check of 4"),
        failed_capture("http://gone.example/", T0),
    ])
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    got = commit_media(archive, MediaInput(url="http://plain.example/clip.mp4", captured_at=T0,
                                           outcome="captured", body=video, content_type="video/mp4",
                                           page_id=page.id, mode_reason="<video> on the page"))
    lost = commit_media(archive, MediaInput(url="http://plain.example/lost.m3u8", captured_at=T0,
                                            outcome="failed", reason="media-error", page_id=page.id,
                                            mode_reason="<video> on the page"))
    before, written = _links(archive), _snapshot(archive)
    assert before[page.warc_record_id or ""][2] == "http"
    assert {before[r.warc_record_id or ""][4] for r in (got, lost)} == {page.warc_record_id}
    archive.close()

    drop_database(db_url)
    rebuilt = open_archive()
    summary = index_files(rebuilt, warc_files(warc_dir))
    assert summary.captures == 5
    assert _links(rebuilt) == before
    assert summary.skipped_records.get("resource", 0) == 0  # the video is the media row's payload
    assert _snapshot(rebuilt) == written  # the media's payload and columns too


def test_a_revisit_that_says_nothing_new_has_no_metadata_record(open_archive: OpenArchive,
                                                                 db_url: str, warc_dir: Path) -> None:
    archive = open_archive()
    url = "https://f.example/"
    [first] = archive.commit_captures([_https_capture(url, T0)])
    same = archive.commit_captures([_https_capture(url, T0 + timedelta(days=1))])
    moved = archive.commit_captures([_https_capture(url, T0 + timedelta(days=2),
                                                    proxy="http://other-proxy.example:3128")])
    assert same[0].revisit_of == moved[0].revisit_of == first.id
    with archive.sessions() as session:
        kinds = {row.warc_record_id: [entry[0] for entry in row.records]
                 for row in session.execute(select(Capture.warc_record_id, Capture.records))}
    assert kinds[first.warc_record_id] == ["response", "request", "metadata"]
    assert kinds[same[0].warc_record_id] == ["revisit", "request"]  # its original's TLS and proxy
    assert kinds[moved[0].warc_record_id] == ["revisit", "request", "metadata"]  # another proxy
    before = _snapshot(archive)
    columns = {c["warc_record_id"]: (c["tls_fingerprint"], c["proxy"]) for c in before["captures"]}
    assert columns[same[0].warc_record_id] == (_TLS["fingerprint"], "http://proxy.example:3128")
    assert columns[moved[0].warc_record_id] == (_TLS["fingerprint"], "http://other-proxy.example:3128")
    archive.close()

    drop_database(db_url)
    rebuilt = open_archive()
    index_files(rebuilt, warc_files(warc_dir))
    assert _snapshot(rebuilt) == before


def test_a_revisit_without_metadata_in_an_older_file_stays_a_plain_fetch(
        open_archive: OpenArchive, db_url: str, warc_dir: Path) -> None:
    # a file without the warcinfo field (written before issue 18): there a revisit without a metadata
    # record was a plain http fetch, whatever its original's TLS and proxy
    archive = open_archive(info={"revisit-metadata": "absent"})
    url = "https://f.example/"
    [first] = archive.commit_captures([_https_capture(url, T0)])
    [again] = archive.commit_captures([_https_capture(url, T0 + timedelta(days=1))])
    assert again.revisit_of == first.id
    archive.close()

    drop_database(db_url)
    rebuilt = open_archive()
    index_files(rebuilt, warc_files(warc_dir))
    with rebuilt.sessions() as session:
        found = {row.warc_record_id: (row.tls_fingerprint, row.proxy) for row in session.execute(
            select(Capture.warc_record_id, Capture.tls_fingerprint, Capture.proxy))}
    assert found == {first.warc_record_id: (_TLS["fingerprint"], "http://proxy.example:3128"),
                     again.warc_record_id: (None, None)}
