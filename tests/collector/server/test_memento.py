"""Memento (RFC 7089) over real HTTP, on SQLite and PostgreSQL: TimeGate, TimeMaps, mementos.

The captures sit at the timestamps of pywb's sample collection, so the expectations restated in
shared/corpora/memento-cdxj-wacz/derived/pywb-memento-expectations.yaml apply (closest choice, latest
without Accept-Datetime, 400/404 behaviour), with RFC 7089's 302 where pywb's redirect mode uses 307.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.server import memento
from tests.collector.server.conftest import CSS_URL, EXAMPLE_TIMES, EXAMPLE_URL, at
from tests.collector.server.helpers import by_rel, fetch, parse_link

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "memento-cdxj-wacz"


def timegate(base: str, url: str, accept_datetime: str | None = None, method: str = "GET") -> Any:
    headers = {"Accept-Datetime": accept_datetime} if accept_datetime is not None else {}
    return fetch(f"{base}/timegate/{url}", method=method, headers=headers)


def location_stamp(reply: Any) -> str:
    found = re.search(r"/web/(\d{14})/", reply.header("location") or "")
    assert found, reply.headers
    return found.group(1)


# -- Link header parsing, checked on real archives' headers first ----------------------------------

def corpus_link_headers() -> list[str]:
    path = CORPUS / "pywb" / "link_headers.yaml"
    if not path.exists():
        pytest.skip(f"corpus not found at {path}")
    return re.findall(r"^\s+'[^']+':\s*'(.*)'\s*$", path.read_text(), re.M)


def test_link_parser_reads_the_recorded_archive_headers() -> None:
    headers = corpus_link_headers()
    assert len(headers) >= 10
    for value in headers:
        entries = parse_link(value)
        assert len(entries) == value.count("<"), value
        assert len(by_rel(entries, "original")) == 1
        for entry in by_rel(entries, "memento"):
            assert entry.datetime is not None and entry.datetime.tzinfo is not None
    combined = [e for v in headers for e in parse_link(v) if {"prev", "first", "memento"} <= e.rels]
    assert combined, "the corpus has a combined rel=\"prev first memento\""


# -- TimeGate ---------------------------------------------------------------------------------------

def test_timegate_without_accept_datetime_redirects_to_the_latest(memento_server: dict[str, Any]) -> None:
    reply = timegate(memento_server["base"], CSS_URL)
    assert reply.status == 302
    assert location_stamp(reply) == "20140127171239"
    assert reply.header("vary").lower() == "accept-datetime"
    assert reply.header("memento-datetime") is None
    links = parse_link(reply.header("link"))
    assert [e.uri for e in by_rel(links, "original")] == [CSS_URL]
    [tm] = by_rel(links, "timemap")
    assert tm.uri == f"{memento_server['base']}/timemap/link/{CSS_URL}"
    assert tm.attrs["type"] == "application/link-format"
    assert by_rel(links, "first")[0].uri.endswith(f"/web/20140126200737/{CSS_URL}")
    assert by_rel(links, "last")[0].uri == reply.header("location")
    assert by_rel(links, "prev")[0].uri.endswith(f"/web/20140126200804/{CSS_URL}")
    assert not by_rel(links, "next")
    assert {"last", "memento"} <= by_rel(links, "last")[0].rels


def test_timegate_chooses_the_closest_memento(memento_server: dict[str, Any]) -> None:
    # pywb case timegate-closest-not-exact: 23 s before vs 4 s after -> the later one
    reply = timegate(memento_server["base"], CSS_URL, "Sun, 26 Jan 2014 20:08:00 GMT")
    assert reply.status == 302 and location_stamp(reply) == "20140126200804"
    links = parse_link(reply.header("link"))
    assert by_rel(links, "prev")[0].uri.endswith("/web/20140126200737/" + CSS_URL)
    assert by_rel(links, "next")[0].uri.endswith("/web/20140127171239/" + CSS_URL)
    selected = [e for e in links if e.uri == reply.header("location")]
    assert selected and "memento" in selected[0].rels
    assert selected[0].datetime == datetime(2014, 1, 26, 20, 8, 4, tzinfo=UTC)


def test_timegate_ties_go_to_the_earlier_memento(memento_server: dict[str, Any]) -> None:
    # 20140126200737.25 and 20140126200804.25 are 27 s apart: the middle is 20:07:50.75
    reply = timegate(memento_server["base"], CSS_URL, "Sun, 26 Jan 2014 20:07:50 GMT")
    assert location_stamp(reply) == "20140126200737"


@pytest.mark.parametrize(("when", "expected"), [("Thu, 01 Jan 1970 00:00:00 GMT", "20140126200737"),
                                                ("Fri, 01 Jan 2100 00:00:00 GMT", "20140127171239")])
def test_timegate_past_and_future(memento_server: dict[str, Any], when: str, expected: str) -> None:
    reply = timegate(memento_server["base"], CSS_URL, when)
    assert reply.status == 302 and location_stamp(reply) == expected


@pytest.mark.parametrize("bad", ["Sun", "2014-01-26T20:08:00Z", "Sun, 32 Jan 2014 20:08:00 GMT", ""])
def test_timegate_broken_datetime_is_400(memento_server: dict[str, Any], bad: str) -> None:
    assert timegate(memento_server["base"], CSS_URL, bad).status == 400


def test_timegate_unknown_url_is_404_without_memento_headers(memento_server: dict[str, Any]) -> None:
    reply = timegate(memento_server["base"], "http://example.com/x-not-found")
    assert reply.status == 404
    assert reply.header("vary") is None and reply.header("link") is None
    assert reply.header("memento-datetime") is None


def test_timegate_head_and_any_spelling(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    for spelling in ("https://iana.org/_css/2013.1/screen.css?utm_source=x",
                     "iana.org/_css/2013.1/screen.css", "http:/www.iana.org/_css/2013.1/screen.css"):
        reply = timegate(base, spelling, method="HEAD")
        assert reply.status == 302 and location_stamp(reply) == "20140127171239", spelling
        assert reply.body == b""


# -- mementos ---------------------------------------------------------------------------------------

def test_memento_exact_has_datetime_and_links(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    reply = fetch(f"{base}/web/20140126200804/{CSS_URL}")
    assert reply.status == 200
    assert reply.header("memento-datetime") == "Sun, 26 Jan 2014 20:08:04 GMT"
    assert reply.header("vary") is None
    links = parse_link(reply.header("link"))
    for rel in ("original", "timegate", "timemap", "memento"):
        assert by_rel(links, rel), rel
    assert by_rel(links, "timegate")[0].uri == f"{base}/timegate/{CSS_URL}"
    own = [e for e in links if e.uri == f"{base}/web/20140126200804/{CSS_URL}"]
    assert own and own[0].rels == {"memento"}
    assert own[0].attrs["datetime"] == reply.header("memento-datetime")
    first, last = by_rel(links, "first")[0], by_rel(links, "last")[0]
    tm = parse_link(fetch(f"{base}/timemap/link/{CSS_URL}").text)
    assert first.uri == by_rel(tm, "memento")[0].uri and last.uri == by_rel(tm, "memento")[-1].uri


def test_memento_not_exact_redirects_to_the_closest(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    reply = fetch(f"{base}/web/20140126200800/{CSS_URL}")
    assert reply.status == 302 and location_stamp(reply) == "20140126200804"
    assert reply.header("memento-datetime") is None and reply.header("vary") is None
    partial = fetch(f"{base}/web/2014/{CSS_URL}",
                    headers={"Accept-Datetime": "Mon, 27 Jan 2014 17:12:39 GMT"})
    assert partial.status == 302 and location_stamp(partial) == "20140126200737"  # not negotiated
    raw = fetch(f"{base}/web/20140126200800id_/{CSS_URL}")
    assert raw.status == 302 and raw.header("location").endswith(f"/web/20140126200804id_/{CSS_URL}")


def test_memento_raw_is_byte_for_byte_with_its_content_type(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    [capture] = [c for c in memento_server["css"] if c.captured_at == at("20140126200804", 250_000)]
    reply = fetch(f"{base}/web/20140126200804id_/{CSS_URL}")
    assert reply.status == 200
    assert hashlib.sha256(reply.body).hexdigest() == capture.sha256
    assert reply.header("content-type") == "text/css"
    assert reply.header("x-content-type-options") == "nosniff"
    assert "sandbox" in reply.header("content-security-policy")
    assert reply.header("memento-datetime") == "Sun, 26 Jan 2014 20:08:04 GMT"
    # a non-HTML memento without modifier is the payload too
    assert fetch(f"{base}/web/20140126200804/{CSS_URL}").body == reply.body


def test_memento_bad_timestamp_and_unknown_url(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    assert fetch(f"{base}/web/2014x/{CSS_URL}").status == 400
    assert fetch(f"{base}/web/20141301000000/{CSS_URL}").status == 400
    assert fetch(f"{base}/web/20140126200804/http://example.com/nothing").status == 404


# -- TimeMaps ---------------------------------------------------------------------------------------

def test_timemap_link_format(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    reply = fetch(f"{base}/timemap/link/{EXAMPLE_URL}")
    assert reply.status == 200
    assert reply.header("content-type").startswith("application/link-format")
    entries = parse_link(reply.text)
    [self_] = by_rel(entries, "self")
    assert self_.uri == f"{base}/timemap/link/{EXAMPLE_URL}"
    assert self_.attrs["from"] == "Fri, 03 Jan 2014 03:03:21 GMT"
    assert self_.attrs["until"] == "Fri, 03 Jan 2014 03:03:41 GMT"
    assert [e.uri for e in by_rel(entries, "original")] == [EXAMPLE_URL]
    assert by_rel(entries, "timegate")[0].uri == f"{base}/timegate/{EXAMPLE_URL}"
    mementos = by_rel(entries, "memento")
    assert [m.uri for m in mementos] == [f"{base}/web/{s}/{EXAMPLE_URL}" for s in EXAMPLE_TIMES]
    assert [m.attrs["datetime"] for m in mementos] == ["Fri, 03 Jan 2014 03:03:21 GMT",
                                                       "Fri, 03 Jan 2014 03:03:41 GMT"]
    assert "first" in mementos[0].rels and "last" in mementos[-1].rels  # failed attempt left out


def test_timemap_json(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    reply = fetch(f"{base}/timemap/json/{EXAMPLE_URL}")
    assert reply.status == 200 and reply.header("content-type") == "application/json"
    data = json.loads(reply.body)
    assert data["original_uri"] == EXAMPLE_URL
    assert data["timegate_uri"] == f"{base}/timegate/{EXAMPLE_URL}"
    assert [m["datetime"] for m in data["mementos"]["list"]] == ["2014-01-03T03:03:21Z",
                                                                 "2014-01-03T03:03:41Z"]
    assert data["mementos"]["first"]["uri"] == f"{base}/web/20140103030321/{EXAMPLE_URL}"
    assert all(len(m["sha256"]) == 64 for m in data["mementos"]["list"])


def test_timemap_errors(memento_server: dict[str, Any]) -> None:
    base = memento_server["base"]
    missing = fetch(f"{base}/timemap/link/http://example.com/x-not-found")
    assert missing.status == 404 and missing.body == b""
    assert missing.header("link") is None and missing.header("memento-datetime") is None
    assert fetch(f"{base}/timemap/foo/{EXAMPLE_URL}").status == 400


# -- pure functions ---------------------------------------------------------------------------------

def test_parse_timestamp_pads_and_validates() -> None:
    assert memento.parse_timestamp("2025") == datetime(2025, 1, 1, tzinfo=UTC)
    assert memento.parse_timestamp("20250603") == datetime(2025, 6, 3, tzinfo=UTC)
    assert memento.parse_timestamp("20250603101112") == datetime(2025, 6, 3, 10, 11, 12, tzinfo=UTC)
    for bad in ("", "2025-06", "202513", "123456789012345"):
        with pytest.raises(ValueError):
            memento.parse_timestamp(bad)


def test_http_dates_round_trip() -> None:
    moment = datetime(2025, 6, 3, 10, 0, 0, 123456, tzinfo=UTC)
    assert memento.http_date(moment) == "Tue, 03 Jun 2025 10:00:00 GMT"
    assert memento.parse_http_date("Tue, 03 Jun 2025 10:00:00 GMT") == moment.replace(microsecond=0)
    assert memento.parse_http_date("Tue, 03 Jun 2025 12:00:00 +0200") == moment.replace(microsecond=0)


def test_selection_matches_storage_closest_capture(memento_server: dict[str, Any]) -> None:
    from storage.queries import closest_capture, snapshots

    sessions = memento_server["archive"].sessions
    found = [c for c in snapshots(sessions, CSS_URL) if c.outcome == "captured"]
    for stamp in ("20140101000000", "20140126200750", "20140126200751", "20140127000000", "20150101000000"):
        wanted = memento.parse_timestamp(stamp)
        assert found[memento.select_index(found, wanted)].id == closest_capture(sessions, CSS_URL, wanted).id
