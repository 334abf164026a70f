"""A hostile web: responses whose values do not fit the database, captured beside a good page."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.capture.run import capture_urls
from storage.archive import Archive
from storage.queries import closest_capture
from storage.verify import verify_archive
from storage.warcread import read_record_at
from tests.conftest import make_config

pytestmark = pytest.mark.slow  # the hostile web

HOSTILE = {
    "/raw/status?code=100000000000000000000": b"HTTP/1.1 100000000000000000000\r\n",
    "/raw/status?code=3000000000": b"HTTP/1.1 3000000000\r\n",
    "/raw/ctype-long": b"\r\nContent-Type: text/html; charset=utf-8; " + b"x" * 274 + b"\r\n",
    "/raw/ctype-nul": b"\r\nContent-Type: text/html\x00; charset=utf-8\r\n",
}


def test_hostile_values_never_cost_the_batch(server: str, home: Path, db_url: str) -> None:
    config = make_config(home, database_url=db_url)
    good = server + "/page/beside-hostile"
    urls = [good, *(server + path for path in HOSTILE)]
    results = {r["url"]: r for r in capture_urls(config, urls)}  # no "capture failed"
    assert set(results) == set(urls)
    assert results[good]["outcome"] == "captured" and results[good]["http_status"] == 200
    assert all(r["id"] for r in results.values()), results
    huge, big = (results[server + "/raw/status?code=" + c] for c in ("100000000000000000000",
                                                                     "3000000000"))
    for res in (huge, big):  # a status that is no HTTP status is not stored as one
        assert res["outcome"] == "captured" and res["http_status"] is None
        assert "status" in res["reason_detail"]
    long_type = results[server + "/raw/ctype-long"]["content_type"]
    assert len(long_type) == 255 and long_type.startswith("text/html; charset=utf-8; xxx")
    assert "\x00" not in results[server + "/raw/ctype-nul"]["content_type"]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        for url, res in results.items():
            row = closest_capture(archive.sessions, url)
            assert row is not None and row.id == res["id"]
        report = verify_archive(archive.sessions, config.warc_dir)
        assert report.ok, report.problems
    finally:
        archive.close()
    for path, raw in HOSTILE.items():  # the WARC keeps what was received
        res = results[server + path]
        record = read_record_at(config.warc_dir, res["warc_file"], res["warc_offset"])
        assert record.type == "response" and record.http_head is not None
        assert raw in record.http_head, record.http_head
