"""A browser capture's own records (screenshot, rendered DOM, page info) and its sub-resources in the
archive: resource records under urn: targets tied to the page's response, rows with mode and page_id,
the page's text extracted from its rendered DOM."""

from __future__ import annotations

import json

from collector.capture.extraction import extract_archived
from collector.capture.writer import text_source
from storage.archive import Archive
from storage.queries import expand_records
from storage.records import Attachment, CaptureInput
from storage.warcread import read_record_at
from tests.storage.helpers import T0, html_capture, warcio_check_files

URL = "https://social.example/post/1"
SHELL = b"<!doctype html><html><body><div id='root'></div><script src='/app.js'></script></body></html>"
DOM = ("<html><head><title>Post</title></head><body><div id='root'><article><p>"
       + "The post's text, as the reader saw it after the scripts ran. " * 5
       + "</p></article></div></body></html>")


def browser_capture() -> CaptureInput:
    return html_capture(URL, body=SHELL, mode="browser", mode_reason="--browser", attachments=[
        Attachment(uri="urn:screenshot:" + URL, content_type="image/png", body=b"\x89PNG fake"),
        Attachment(uri="urn:pageinfo:" + URL, content_type="application/json",
                   body=json.dumps({"title": "Post"}).encode()),
        Attachment(uri="urn:dom:" + URL, content_type="text/html; charset=utf-8",
                   body=DOM.encode())])


def test_attachments_are_resource_records_tied_to_the_page(archive: Archive) -> None:
    [page] = archive.commit_captures([browser_capture()])
    assert page.mode == "browser" and page.mode_reason == "--browser"
    records = expand_records(page)  # type: ignore[arg-type]  # a record reads as a row
    resources = {r["uri"]: r for r in records if r["type"] == "resource"}
    assert sorted(resources) == sorted(u + URL for u in ("urn:screenshot:", "urn:pageinfo:", "urn:dom:"))
    for rec in resources.values():
        warc = read_record_at(archive.warc_dir, rec["file"], rec["offset"])
        assert warc.headers["WARC-Concurrent-To"] == page.warc_record_id
    shot = resources["urn:screenshot:" + URL]
    assert read_record_at(archive.warc_dir, shot["file"], shot["offset"]).payload == b"\x89PNG fake"
    # the outcome record says how it was fetched
    meta = [r for r in records if r["type"] == "metadata"]
    content = json.loads(read_record_at(archive.warc_dir, meta[0]["file"], meta[0]["offset"]).payload)
    assert content["mode"] == "browser"
    warcio_check_files(*sorted(archive.warc_dir.glob("*.warc.gz")))


def test_the_text_of_a_browser_capture_is_its_rendered_dom(archive: Archive) -> None:
    [page] = archive.commit_captures([browser_capture()])
    warc_file, offset = text_source(page)
    assert (warc_file, offset) != (page.payload_file, page.payload_offset)
    result = extract_archived(str(archive.warc_dir), warc_file, offset, URL, 2**20)
    assert result["status"] == "ok"
    assert "as the reader saw it" in result["text"]
    # an HTTP capture's text is its payload's
    [plain] = archive.commit_captures([html_capture("https://news.example/a", T0)])
    assert text_source(plain) == (plain.payload_file, plain.payload_offset)


def test_sub_resources_point_at_their_page(archive: Archive) -> None:
    [page] = archive.commit_captures([browser_capture()])
    image = html_capture("https://social.example/img/a.png", body=b"PNG", content_type="image/png",
                         mode="browser", mode_reason="sub-resource", page_id=page.id)
    [first] = archive.commit_captures([image])
    [second] = archive.commit_captures([image])
    assert first.page_id == page.id and first.mode_reason == "sub-resource"
    assert second.revisit_of == first.id  # an unchanged sub-resource is stored once
