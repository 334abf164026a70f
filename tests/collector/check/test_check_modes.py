"""A check fetches each source in the mode of its baseline capture (real Chromium, the local social web
of tests/collector/capture/socialweb.py): a page whose text appears only after its scripts ran (and
that nothing marks as a JavaScript shell: ``auto`` alone takes it over HTTP), archived through the
browser, is re-checked through the browser and reads ``unchanged``; a page archived over HTTP stays
HTTP, even a JavaScript shell that ``auto`` would re-capture with the browser."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from collector.capture.run import capture_urls
from collector.check.run import CheckTarget, run_checks
from collector.cli.main import cli
from storage.database import connect
from storage.models import Capture
from storage.queries import captures_by_ids, snapshots
from storage.records import CaptureRecord
from tests.collector.capture import socialweb
from tests.conftest import make_config

pytestmark = pytest.mark.slow  # Chromium


social = pytest.fixture(scope="module")(socialweb.serving)


def _captures(home: Path, ids: list[int]) -> list[CaptureRecord]:
    sessions = connect(make_config(home).db_url)
    try:
        return captures_by_ids(sessions, ids)
    finally:
        sessions.kw["bind"].dispose()


def _all_of(home: Path, url: str) -> list[CaptureRecord]:
    sessions = connect(make_config(home).db_url)
    try:
        return snapshots(sessions, url)
    finally:
        sessions.kw["bind"].dispose()


def test_check_takes_the_mode_of_the_baseline(social: str, home: Path) -> None:
    rendered, shell, static = social + "/app/5", social + "/post/6", social + "/static"
    options = {"browser_timeout": 6.0, "browser_scroll_steps": 1}
    [browsed] = capture_urls(make_config(home, browser="always", **options), [rendered])
    [fetched] = capture_urls(make_config(home, browser="never"), [shell])
    [plain] = capture_urls(make_config(home, **options), [static])
    assert (browsed["mode"], fetched["mode"], plain["mode"]) == ("browser", "http", "http")

    reply = CliRunner().invoke(cli, ["--home", str(home), "check", "--allow-private", "--json",
                                     rendered, shell, static])
    assert reply.exit_code == 0, reply.output
    rows = {row["url"]: row for row in map(json.loads, reply.output.splitlines())}
    assert {url: row["status"] for url, row in rows.items()} == dict.fromkeys(
        (rendered, shell, static), "unchanged")
    assert [rows[url]["baseline_id"] for url in (rendered, shell, static)] == [
        browsed["id"], fetched["id"], plain["id"]]
    checked = {c.url: c for c in _captures(home, [row["capture_id"] for row in rows.values()])}
    assert checked[rendered].mode == "browser"
    assert str(browsed["id"]) in (checked[rendered].mode_reason or "")
    assert checked[shell].mode == "http" and str(fetched["id"]) in (checked[shell].mode_reason or "")
    assert checked[static].mode == "http" and str(plain["id"]) in (checked[static].mode_reason or "")
    # the HTTP baseline's shell was not re-captured with the browser by the check (auto would have)
    assert [c.mode for c in _all_of(home, shell)] == ["http", "http"]


def test_an_http_fetch_of_the_shell_is_what_the_baseline_mode_avoids(social: str, home: Path) -> None:
    rendered = social + "/app/7"
    options = {"browser_timeout": 6.0, "browser_scroll_steps": 1}
    [browsed] = capture_urls(make_config(home, browser="always", **options), [rendered])
    # browser = "never" overrides the baseline's mode: the JavaScript shell over HTTP differs
    [over_http] = run_checks(make_config(home, browser="never"), [CheckTarget(url=rendered)], seed=1)
    assert over_http["status"] != "unchanged"
    assert over_http["baseline_id"] == browsed["id"]
    # auto (the default) follows the baseline: the rendered text again
    [again] = run_checks(make_config(home, **options), [CheckTarget(url=rendered)], seed=1)
    assert again["status"] == "unchanged" and again["baseline_id"] == browsed["id"]
    modes = [(c.id, c.mode) for c in _captures(home, [over_http["capture_id"], again["capture_id"]])]
    assert modes == [(over_http["capture_id"], "http"), (again["capture_id"], "browser")]


def test_browser_always_overrides_an_http_baseline(social: str, home: Path) -> None:
    static = social + "/static"
    options = {"browser_timeout": 6.0, "browser_scroll_steps": 1}
    [plain] = capture_urls(make_config(home, browser="never"), [static])
    [row] = run_checks(make_config(home, browser="always", **options), [CheckTarget(url=static)])
    assert row["baseline_id"] == plain["id"] and row["status"] == "unchanged"
    [current] = _captures(home, [row["capture_id"]])
    assert (current.mode, current.mode_reason) == ("browser", "--browser")


def test_a_changed_page_and_its_probe_go_through_the_browser(social: str, home: Path) -> None:
    post = social + "/app/8"
    options = {"browser_timeout": 6.0, "browser_scroll_steps": 1}
    [browsed] = capture_urls(make_config(home, browser="always", **options), [post])
    with urllib.request.urlopen(social + "/_edit/8") as reply:
        assert reply.read() == b"edited"
    [row] = run_checks(make_config(home, **options), [CheckTarget(url=post)], seed=3)
    assert row["status"] == "changed" and row["baseline_id"] == browsed["id"]
    sessions = connect(make_config(home).db_url)
    try:
        with sessions() as session:
            [probe] = session.execute(select(Capture.url, Capture.mode, Capture.mode_reason)
                                      .where(Capture.purpose == "probe")).all()
    finally:
        sessions.kw["bind"].dispose()
    # the probe (a random URL of the host, shaped like the post's) is compared like for like
    assert probe.url.startswith(social + "/app/") and probe.mode == "browser"
    assert str(browsed["id"]) in (probe.mode_reason or "")
