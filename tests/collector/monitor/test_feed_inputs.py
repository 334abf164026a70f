"""Feeds as servers send them: unusable Content-Location, JSON Feed, entries without a title, feeds on
private addresses; and what ``feed list`` says of them (real crawls, a local feed server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from collector.config import Config
from collector.monitor.feeds import add_feed, discover, feed_status, poll_feeds
from collector.monitor.keywords import parse_keywords
from storage.database import connect
from storage.models import FeedPoll
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.monitor.conftest import control, stored_feed
from tests.conftest import make_config


def _name() -> str:
    return "i" + uuid.uuid4().hex[:8]


def _polls(config: Config, feed_id: int) -> list[tuple[str, float, str | None]]:
    sessions = connect(config.db_url)
    try:
        with sessions() as session:
            rows = session.execute(select(FeedPoll.outcome, FeedPoll.interval, FeedPoll.error)
                                   .where(FeedPoll.feed_id == feed_id).order_by(FeedPoll.id))
            return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        sessions.kw["bind"].dispose()


def test_javascript_content_location_leaves_links_against_the_feed_url(feed_server: str,
                                                                        home: Path) -> None:
    config = make_config(home)
    name = _name()
    control(feed_server, name, mode="jsloc", add=[
        {"title": "Rooted", "link": "/article/rooted"}, {"title": "Relative", "link": "sibling.html"}])
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name)
    report = poll_feeds(config, [name], capture_all=True)
    assert report.feeds[0].outcome == "fetched"
    by_title = {e["title"]: e for e in report.entries}
    assert by_title["Rooted"]["link"] == f"{feed_server}/article/rooted"
    assert by_title["Relative"]["link"] == f"{feed_server}/feed/sibling.html"
    assert by_title["Rooted"]["outcome"] == "captured"  # an absolute link: its article is archived


def test_json_feed_is_polled_and_discovered(feed_server: str, home: Path, db_url: str) -> None:
    config = make_config(home, database_url=db_url)
    name = _name()
    control(feed_server, name, add=[{"title": "Acme wins", "summary": "A <b>big</b> day."},
                                    {"title": None, "summary": "Untitled note.", "link": "/article/j"}])
    add_feed(config, f"{feed_server}/json/{name}.json", name=name, keywords=parse_keywords("acme"),
             match_text=False)
    report = poll_feeds(config, [name])
    assert [(f.outcome, f.error) for f in report.feeds] == [("fetched", None)]
    assert {e["title"]: (e["matched"], e["outcome"], e["link"]) for e in report.entries} == {
        "Acme wins": (["acme"], "captured", f"{feed_server}/article/{name}-1"),
        None: ([], "recorded", f"{feed_server}/article/j")}
    assert stored_feed(config, name).title == f"Feed {name}"

    # a page announcing a JSON Feed, a JSON "Feed" and a JSON API: the feeds only, and they poll
    control(feed_server, "j2", grow=1)
    found = discover(config, feed_server + "/page-json.html")
    assert [(f["url"], f["type"]) for f in found] == [
        (f"{feed_server}/json/main.json", "application/feed+json"),
        (f"{feed_server}/json/j2.json", "application/json")]
    for i, item in enumerate(found):
        add_feed(config, str(item["url"]), name=f"{name}-d{i}")
    polled = poll_feeds(config, [f"{name}-d0", f"{name}-d1"]).feeds
    assert [f.outcome for f in polled] == ["fetched", "fetched"]
    assert discover(config, f"{feed_server}/json/{name}.json")[0]["url"] == f"{feed_server}/json/{name}.json"


def test_refused_private_address_is_recorded_without_back_off(feed_server: str, home: Path) -> None:
    config = make_config(home, allow_private=False)
    name = _name()
    control(feed_server, name, grow=1)
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name, every=100)
    for _ in range(2):
        polled = poll_feeds(config, [name]).feeds[0]
        assert polled.outcome == "refused" and (polled.error or "").startswith("private-address")
    feed = stored_feed(config, name)
    assert (feed.interval, feed.consecutive_failures, feed.last_outcome) == (100, 0, "refused")
    assert feed_status(feed, datetime.now(UTC), config.monitor) == "refused"
    assert [(o, i) for o, i, _ in _polls(config, feed.id)] == [("refused", 100), ("refused", 100)]
    assert all((e or "").startswith("private-address") for _, _, e in _polls(config, feed.id))
    assert poll_feeds(config.replace(allow_private=True), [name]).feeds[0].outcome == "fetched"
    assert feed_status(stored_feed(config, name), datetime.now(UTC), config.monitor) == "ok"


def test_feed_list_status_and_titles_from_the_latest_polls(feed_server: str, home: Path) -> None:
    name = "st" + uuid.uuid4().hex[:6]
    control(feed_server, name, add=[{"title": None, "summary": "No title here."}], mode="status:500")
    assert run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name).returncode == 0
    listed = run(home, "feed", "list")
    assert listed.stdout.decode().startswith("never polled") and lines(
        run(home, "feed", "list", "--json"))[0]["status"] == "never-polled"

    failed = run(home, "feed", "poll", "--allow-private")
    no_traceback(failed)
    assert failed.returncode == 1
    assert run(home, "feed", "list").stdout.decode().startswith("failing (1)")
    status = lines(run(home, "feed", "list", "--json"))[0]
    assert (status["status"], status["last_outcome"], status["consecutive_failures"]) == (
        "failing", "failed", 1)

    refused = run(home, "feed", "poll")  # no --allow-private: the feed server is on 127.0.0.1
    assert refused.returncode == 1 and b"refused: feed" in refused.stderr
    status = lines(run(home, "feed", "list", "--json"))[0]
    assert (status["status"], status["last_outcome"], status["consecutive_failures"]) == (
        "refused", "refused", 0)
    assert run(home, "feed", "list").stdout.decode().startswith("refused")

    control(feed_server, name, mode="ok")
    polled = run(home, "feed", "poll", "--allow-private")
    assert polled.returncode == 0 and "(no title)" in polled.stdout.decode()
    assert lines(run(home, "feed", "list", "--json"))[0]["status"] == "ok"
    human = run(home, "feed", "entries", name).stdout.decode()
    assert "(no title)" in human and "None" not in human
    assert [e["title"] for e in lines(run(home, "feed", "entries", name, "--json"))] == [None]
