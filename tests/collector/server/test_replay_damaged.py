"""Replay never answers 500: a truncated or corrupt encoded body is shown as far as it decodes, with a
notice; a capture id no capture can have is a 404 (both databases)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import brotli
import lxml.html
import pytest

from tests.collector.server.conftest import at
from tests.collector.server.helpers import archived, fetch, serving

PAGE = b"<html><body><p>FIRST-PART</p>" + b"".join(
    f"<p>{os.urandom(40).hex()}</p>".encode() for _ in range(3000)) + b"<p>LAST-PART</p></body></html>"
STAMP = "20240501120000"


def _broken(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2: len(out) // 2 + 64] = bytes(64)
    return bytes(out)


BR = brotli.compress(PAGE, quality=5)
GZ = gzip.compress(PAGE)
BODIES = {  # path -> (Content-Encoding, body as received)
    "/br-truncated": ("br", BR[: len(BR) // 2]),
    "/br-corrupt": ("br", _broken(BR)),
    "/gzip-truncated": ("gzip", GZ[: len(GZ) // 2]),
    "/gzip-corrupt": ("gzip", _broken(GZ)),
    "/unknown-coding": ("x-weird", PAGE),
    "/br-whole": ("br", BR),
}


@pytest.fixture
def damaged(db_url: str, tmp_path: Path) -> Iterator[str]:
    items = [archived("https://damaged.example.org" + path, at(STAMP), body,
                      [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", coding)])
             for path, (coding, body) in BODIES.items()]
    with serving(db_url, tmp_path / "dhome", items) as base:
        yield base


@pytest.mark.parametrize("path", [p for p in BODIES if p != "/br-whole"])
def test_damaged_body_replays_its_start_with_a_notice(damaged: str, path: str) -> None:
    url = "https://damaged.example.org" + path
    framed = fetch(f"{damaged}/web/{STAMP}if_/{url}")
    assert framed.status == 200, framed.text[:300]
    doc = lxml.html.document_fromstring(framed.body)
    [notice] = doc.xpath("//p[@class='archive-notice']")
    said = notice.text_content()
    assert "as far as it could be decoded" in said and f"{STAMP}dl_/{url}" in said
    assert framed.header("x-archive-notice").startswith("partial replay")
    assert "FIRST-PART" in doc.text_content()
    assert ("LAST-PART" in doc.text_content()) == (path == "/unknown-coding")  # that one as received
    assert fetch(f"{damaged}/web/{STAMP}/{url}").status == 200  # the banner page
    raw = fetch(f"{damaged}/web/{STAMP}id_/{url}")  # byte for byte, as archived
    assert raw.status == 200 and raw.body == BODIES[path][1]


def test_whole_body_replays_without_notice(damaged: str) -> None:
    framed = fetch(f"{damaged}/web/{STAMP}if_/https://damaged.example.org/br-whole")
    assert framed.status == 200 and framed.header("x-archive-notice") is None
    doc = lxml.html.document_fromstring(framed.body)
    assert not doc.xpath("//p[@class='archive-notice']") and "LAST-PART" in doc.text_content()


BIG = "12345678901234567890123"


@pytest.mark.parametrize("path", [f"/snapshot/{BIG}", f"/snapshot/{BIG}.json", f"/snapshot/{BIG}.warc.gz",
                                  "/snapshot/9223372036854775808", "/snapshot/0", f"/diff?a={BIG}&b=1"])
def test_an_id_no_capture_can_have_is_not_found(damaged: str, path: str) -> None:
    reply = fetch(damaged + path, headers={"Accept": "application/json"})
    assert reply.status == 404, reply.text[:300]
    assert "no capture with id" in reply.text


def test_an_id_that_is_no_number_is_a_bad_request(damaged: str) -> None:
    assert fetch(damaged + "/snapshot/abc").status == 400
    assert fetch(damaged + "/diff?a=x&b=1").status == 400


@pytest.mark.parametrize("path", ["/timegate/http://[::1", "/web/20240501120000/http://[::1",
                                  "/web/20240501120000/javascript:alert(1)", "/timemap/link/http://[::1",
                                  "/cdx?url=http://[::1", "/timeline?url=http://[::1", "/diff?url=http://[::1"])
def test_a_url_that_cannot_be_parsed_is_a_bad_request(damaged: str, path: str) -> None:
    reply = fetch(damaged + path)
    assert reply.status == 400, reply.text[:300]
    assert "is not a valid URL" in reply.text
