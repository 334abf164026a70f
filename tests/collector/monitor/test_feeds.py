"""Feed polling end to end: a local feed server that grows and breaks, real crawls, both databases."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.config import Config, MonitorConfig
from collector.monitor.feeds import add_feed, discover, feed_status, next_interval, poll_feeds
from collector.monitor.keywords import parse_keywords
from storage import retrieve
from storage.database import connect
from storage.feeds import FeedRecord, entries_of
from storage.queries import captures_by_ids, snapshots
from tests.collector.monitor.conftest import control, stats, stored_feed
from tests.conftest import make_config, warcio_check

SETTINGS = MonitorConfig()


def _name() -> str:
    return "f" + uuid.uuid4().hex[:8]


def _captures(config: Config, url: str) -> list[Any]:
    sessions = connect(config.db_url)
    try:
        return snapshots(sessions, url)
    finally:
        sessions.kw["bind"].dispose()


def _request_headers(warc: bytes) -> dict[str, str]:
    from warcio.archiveiterator import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(warc)):
        if record.rec_type == "request":
            return dict(record.http_headers.headers)
    raise AssertionError("no request record")


def test_conditional_get_304_and_growth(feed_server: str, home: Path, db_url: str) -> None:
    config = make_config(home, database_url=db_url)
    name = _name()
    url = f"{feed_server}/feed/{name}.xml"
    control(feed_server, name, grow=3)
    add_feed(config, url, name=name, every=600)

    first = poll_feeds(config, [name])
    assert [f.outcome for f in first.feeds] == ["fetched"] and first.feeds[0].http_status == 200
    assert len(first.entries) == 3
    assert {e["outcome"] for e in first.entries} == {"recorded"}  # no keywords, no --all: not captured
    assert all(e["captured"] is False and e["matched"] == [] for e in first.entries)
    assert all(e.keys() >= {"feed", "title", "link", "published", "matched", "captured", "outcome"}
               for e in first.entries)

    second = poll_feeds(config, [name])
    assert second.feeds[0].outcome == "not-modified" and second.feeds[0].http_status == 304
    assert second.entries == []
    assert stats(feed_server, name) == {"requests": 2, "conditional": 1, "not_modified": 1}
    feed = stored_feed(config, name)
    assert feed.interval == pytest.approx(600 * SETTINGS.feed_quiet_factor)  # 3 new: kept; 304: longer

    # every poll is a capture of the feed document, the 304 included, with the validators sent
    polls = _captures(config, url)
    assert [c.http_status for c in polls] == [200, 304]
    sent = _request_headers(retrieve.capture_warc(config.warc_dir, polls[1]))
    assert sent["If-None-Match"] == feed.etag and sent["If-Modified-Since"] == feed.last_modified

    control(feed_server, name, grow=2)
    third = poll_feeds(config, [name])
    assert third.feeds[0].outcome == "fetched"
    assert [e["title"] for e in third.entries] == [f"{name} story 4", f"{name} story 5"]
    warcio_check(home)


def test_unchanged_document_is_not_read_again(feed_server: str, home: Path) -> None:
    config = make_config(home)
    name = _name()
    url = f"{feed_server}/feed/{name}.xml"
    control(feed_server, name, grow=2, mode="no-validators")  # a server that ignores conditional GET
    add_feed(config, url, name=name, every=600)
    first = poll_feeds(config, [name])
    assert (first.feeds[0].outcome, first.feeds[0].unchanged, len(first.entries)) == ("fetched", False, 2)
    second = poll_feeds(config, [name])
    polled = second.feeds[0]
    assert (polled.outcome, polled.http_status, polled.unchanged, polled.new_entries) == (
        "fetched", 200, True, 0)
    assert second.entries == []
    assert stored_feed(config, name).interval == pytest.approx(600 * SETTINGS.feed_quiet_factor)
    captures = _captures(config, url)
    assert [c.http_status for c in captures] == [200, 200] and captures[1].is_revisit
    control(feed_server, name, grow=1)
    third = poll_feeds(config, [name])
    assert (third.feeds[0].unchanged, [e["title"] for e in third.entries]) == (False, [f"{name} story 3"])
    assert stats(feed_server, name)["conditional"] == 0


def test_keywords_capture_articles_and_link_matches(feed_server: str, home: Path, db_url: str) -> None:
    config = make_config(home, database_url=db_url)
    name = _name()
    control(feed_server, name, add=[
        {"title": "SÃO PAULO council votes", "summary": "A vote."},
        {"title": "Markets", "summary": "The <b>Banco Central</b> spoke."},
        {"title": "Weather", "summary": "Rain.", "text": "Later the banco central raised its rates."},
        {"title": "Football", "summary": "A match.", "text": "Nothing of interest."},
    ])
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name,
             keywords=parse_keywords("Sao Paulo, Banco Central"))
    report = poll_feeds(config, [name])
    by_title = {e["title"]: e for e in report.entries}
    assert by_title["SÃO PAULO council votes"]["matched"] == ["Sao Paulo"]
    assert by_title["Markets"]["matched"] == ["Banco Central"]
    assert by_title["Weather"]["matched"] == ["Banco Central"]  # found in the article's text
    assert by_title["Football"]["matched"] == []
    assert all(e["captured"] and e["outcome"] == "captured" for e in report.entries)

    sessions = connect(config.db_url)
    try:
        matched = {e.title: e for e in entries_of(sessions, name, matched_only=True)}
        assert set(matched) == {"SÃO PAULO council votes", "Markets", "Weather"}
        record = captures_by_ids(sessions, [matched["Weather"].capture_id or 0])[0]
        assert record.url == by_title["Weather"]["link"] and record.outcome == "captured"
    finally:
        sessions.kw["bind"].dispose()
    assert retrieve.capture_text(config.warc_dir, record)["text"].count("banco central") == 1


def test_title_summary_only_and_all(feed_server: str, home: Path) -> None:
    config = make_config(home)
    name = _name()
    control(feed_server, name, add=[{"title": "Acme buys rival"}, {"title": "Other", "text": "Acme"}])
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name, keywords=parse_keywords("acme"),
             match_text=False)
    report = poll_feeds(config, [name])
    assert {e["title"]: (e["matched"], e["outcome"]) for e in report.entries} == {
        "Acme buys rival": (["acme"], "captured"), "Other": ([], "recorded")}
    control(feed_server, name, add=[{"title": "Third"}])
    report = poll_feeds(config, [name], capture_all=True)
    assert [(e["title"], e["captured"]) for e in report.entries] == [("Third", True)]


def test_dedup_by_guid_link_and_title(feed_server: str, home: Path) -> None:
    config = make_config(home)
    name = _name()
    link = f"{feed_server}/article/{name}-x"
    day = 1_780_000_000  # 2026-05-28T20:26:40Z
    control(feed_server, name, add=[
        {"guid": "g-1", "title": "First story", "link": link, "published": day},
        {"guid": "g-1", "title": "First story, new title", "link": link + "-2", "published": day + 60},
        {"guid": "g-2", "title": "Moved GUID", "link": link + "?utm_source=rss", "published": day + 120},
        {"guid": "g-3", "title": "FIRST   story!", "link": link + "-3", "published": day + 180},
        {"guid": "g-4", "title": "First story", "link": link + "-4", "published": day + 86400},
    ])
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name)
    report = poll_feeds(config, [name])
    # the same GUID, the same canonical link, the same title on the same day: one entry; another day: new
    assert [(e["guid"], e["title"]) for e in report.entries] == [("g-1", "First story"),
                                                                  ("g-4", "First story")]
    control(feed_server, name, add=[{"guid": "g-5", "title": "New one"}])
    assert [e["guid"] for e in poll_feeds(config, [name]).entries] == ["g-5"]


@pytest.mark.parametrize("mode", ["amp", "truncated", "encoding"])
def test_broken_feed_yields_entries_with_a_warning(feed_server: str, home: Path, mode: str) -> None:
    config = make_config(home)
    name = _name()
    control(feed_server, name, add=[{"title": "Tom & Jerry café"}, {"title": "Second entry"},
                                    {"title": "Third entry"}], mode=mode)
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name)
    report = poll_feeds(config, [name])
    assert report.feeds[0].outcome == "fetched" and report.feeds[0].warning
    assert report.entries, "a broken feed still yields what can be read"
    feed = stored_feed(config, name)
    assert feed.warning and feed_status(feed, datetime.now(UTC), SETTINGS) == "warning"


def test_failing_feed_is_flagged_backs_off_and_recovers(feed_server: str, home: Path) -> None:
    config = make_config(home)
    name = _name()
    control(feed_server, name, grow=1, mode="status:500")
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name, every=100)
    gone = _name()
    add_feed(config, "http://127.0.0.1:1/feed.xml", name=gone, every=100)
    for _ in range(SETTINGS.feed_failing_after):
        report = poll_feeds(config, [name, gone])
        assert {f.outcome for f in report.feeds} == {"failed"}
    feed = stored_feed(config, name)
    assert feed.consecutive_failures == 3 and feed.last_status == 500
    assert feed_status(feed, datetime.now(UTC), SETTINGS) == "failing"
    assert feed.interval == 800  # doubled three times, capped at 8x
    assert "connection-refused" in (stored_feed(config, gone).last_error or "")
    control(feed_server, name, mode="ok")
    assert poll_feeds(config, [name]).feeds[0].outcome == "fetched"
    feed = stored_feed(config, name)
    assert feed.consecutive_failures == 0 and feed_status(feed, datetime.now(UTC), SETTINGS) == "ok"


def test_not_a_feed_fails(feed_server: str, home: Path) -> None:
    config = make_config(home)
    name = _name()
    control(feed_server, name, mode="html")
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name)
    polled = poll_feeds(config, [name]).feeds[0]
    assert polled.outcome == "failed" and "not a feed" in (polled.error or "")


def test_atom_and_due_only(feed_server: str, home: Path) -> None:
    config = make_config(home)
    name = _name()
    control(feed_server, name, grow=2)
    add_feed(config, f"{feed_server}/atom/{name}.xml", name=name, every=3600)
    report = poll_feeds(config, due_only=True)
    assert len(report.entries) == 2 and report.feeds[0].outcome == "fetched"
    assert poll_feeds(config, due_only=True).feeds == []  # not due again for an hour


def test_discover(feed_server: str, home: Path) -> None:
    config = make_config(home)
    found = discover(config, feed_server + "/page.html")
    assert [f["url"] for f in found] == [f"{feed_server}/feed/main.xml", f"{feed_server}/atom/main.xml"]
    control(feed_server, "main", grow=1)
    assert discover(config, f"{feed_server}/feed/main.xml")[0]["url"] == f"{feed_server}/feed/main.xml"


def test_next_interval_bounds() -> None:
    base = 3600.0
    assert next_interval(base, base, outcome="fetched", new_entries=10, settings=SETTINGS) == 1800
    assert next_interval(900, base, outcome="fetched", new_entries=10, settings=SETTINGS) == 900
    assert next_interval(base, base, outcome="fetched", new_entries=1, settings=SETTINGS) == base
    assert next_interval(base, base, outcome="not-modified", new_entries=0, settings=SETTINGS) == 4500
    assert next_interval(base * 8, base, outcome="failed", new_entries=0, settings=SETTINGS) == base * 8


def test_silent_feed_is_flagged() -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    feed = FeedRecord(id=1, name="n", url="http://x/", keywords=(), capture_all=False, match_text=True,
                      base_interval=3600, interval=3600, next_poll_at=None, added_at=now - timedelta(days=30),
                      title=None, etag=None, last_modified=None, last_polled_at=now,
                      last_success_at=now, last_new_entry_at=now - timedelta(days=8), last_status=304,
                      last_error=None, consecutive_failures=0, warning=None, warning_at=None,
                      last_outcome="not-modified")
    assert feed_status(feed, now, SETTINGS) == "silent"
    assert feed_status(feed, now - timedelta(days=2), SETTINGS) == "ok"
