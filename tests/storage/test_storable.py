"""Rows that the database could refuse: values made storable, and a refused row costing only itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from storage import queries, retrieve
from storage.archive import Archive
from storage.models import Capture
from storage.storable import storable_row
from storage.verify import verify_archive
from tests.storage.helpers import HTML, T0, html_capture

URL = "https://example.com/news/story"


def test_out_of_range_integers_become_null_with_a_note() -> None:
    row = storable_row(Capture.__table__, {"http_status": 3_000_000_000, "content_length": 2**40,
                                           "reason_detail": None}, note="reason_detail")
    assert row["http_status"] is None and row["content_length"] == 2**40
    assert row["reason_detail"] == ("http_status 3000000000 is out of range and not stored "
                                    "(the WARC has it as received)")


def test_text_loses_nul_and_what_its_column_cannot_hold() -> None:
    row = storable_row(Capture.__table__, {"content_type": "text/html\x00;" + "x" * 300,
                                           "reason_detail": "timeout"}, note="reason_detail")
    assert row["content_type"] == ("text/html\\x00;" + "x" * 300)[:255]
    assert row["reason_detail"].startswith("timeout; NUL characters in content_type")
    assert "content_type is cut to 255 of its 311 characters" in row["reason_detail"]
    assert storable_row(Capture.__table__, {"url": "a\x00b"}) == {"url": "a\\x00b"}  # no note


def test_a_row_the_database_refuses_costs_only_itself(archive: Archive) -> None:
    # a redirect chain holding bytes: no JSON column can store it, on any database
    refused = replace(html_capture(URL, T0),
                      redirect_chain=[{"url": URL, "status": 200, "raw": b"\x00"}])
    revisit = html_capture(URL, T0 + timedelta(minutes=1))  # the same payload, in the same batch
    other = html_capture("https://example.com/other", T0 + timedelta(minutes=2),
                         body=HTML.replace(b"Hello", b"Other"))
    bad, again, good = archive.commit_captures([refused, revisit, other])
    assert (bad.outcome, bad.reason) == ("failed", "unstorable")
    assert bad.reason_detail and "refused" in bad.reason_detail
    assert bad.http_status is None and bad.warc_file and bad.payload_file
    assert (again.outcome, again.revisit_of) == ("captured", bad.id)
    assert (good.outcome, good.http_status) == ("captured", 200)
    stored = queries.captures_by_ids(archive.sessions, [bad.id, again.id, good.id])
    assert [r.outcome for r in stored] == ["failed", "captured", "captured"]
    assert retrieve.capture_payload(archive.warc_dir, again) == HTML  # through the refused row
    report = verify_archive(archive.sessions, archive.warc_dir)
    assert report.ok, report.problems
