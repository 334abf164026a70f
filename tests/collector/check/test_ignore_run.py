"""Ignore rules end to end: a page whose only change is its "Updated: <date>" line is ``changed``
without a rule and ``unchanged`` with one, the raw verdict and the removed text kept beside it; the rules
are managed with ``collector ignore`` and shown by ``collector diff``."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from collector.capture.run import capture_urls
from collector.check.run import CheckTarget, run_checks
from collector.server import ServerContext
from storage.checks import add_checks, checks_of
from storage.database import connect
from storage.ignorerules import add_rule, list_rules, remove_rule, rules_for
from storage.records import CheckRecord
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.server.helpers import fetch, running
from tests.conftest import make_config


@pytest.fixture
def proxied(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The made-up site ``news.SITE.test`` of the check pages, reached through the test server."""
    monkeypatch.setenv("http_proxy", server)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    return f"http://news.{uuid.uuid4().hex[:8]}.test"


def _phase(server: str, news: str, n: int) -> None:
    site = news.split(".")[1]
    with urllib.request.urlopen(f"{server}/_phase?site={site}&n={n}") as response:
        assert response.read() == b"ok"


def _by_url(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["url"]: r for r in rows}


def _cli(home: Path, *args: str) -> list[dict[str, Any]]:
    proc = run(home, *args)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    return lines(proc)


@pytest.mark.slow  # crawls, a server, CLI processes
def test_a_date_line_rule_turns_changed_into_unchanged_and_keeps_the_raw_change(
        server: str, home: Path, proxied: str) -> None:
    config = make_config(home, retry_times=1)
    dated, boxed = proxied + "/v/dated", proxied + "/v/dated-box"
    assert all(r["outcome"] == "captured" for r in capture_urls(config, [dated, boxed]))
    _phase(server, proxied, 2)

    before = _by_url(run_checks(config, [CheckTarget(url=dated), CheckTarget(url=boxed)], seed=1))
    assert before[dated]["status"] == "changed" and before[boxed]["status"] == "changed"
    assert before[dated]["raw_status"] is None and before[dated]["ignored"] == []

    date_rule = _cli(home, "ignore", "add", "--url", dated, "--regex", r"^Updated: .*$", "--note", "date",
                     "--json")[0]
    assert date_rule["scope"] == "url" and date_rule["kind"] == "regex"
    xpath_rule = _cli(home, "ignore", "add", "--global", "--xpath", "//p[@class='dateline']", "--json")[0]

    after = _by_url(run_checks(config, [CheckTarget(url=dated), CheckTarget(url=boxed)], seed=1))
    row = after[dated]
    assert row["status"] == "unchanged" and row["similarity"] == 1.0
    assert row["raw_status"] == "changed" and row["raw_similarity"] == before[dated]["similarity"] < 1
    assert "Updated: 2 December" in row["raw_diff"] and "Updated: 1 December" in row["raw_diff"]
    applied = {r["id"]: r for r in row["ignored"]}
    assert set(applied) == {date_rule["id"], xpath_rule["id"]}
    assert applied[date_rule["id"]]["removed"] == ["Updated: 1 December 2026, 09:11",
                                                   "Updated: 2 December 2026, 09:12"]
    # the other page changed more than its date line: the global rule applied, the verdict stays
    assert after[boxed]["status"] == "changed" and after[boxed]["raw_status"] == "changed"
    assert [r["id"] for r in after[boxed]["ignored"]] == [xpath_rule["id"]]
    assert after[boxed]["raw_similarity"] < after[boxed]["similarity"] < 1  # one difference left of two

    sessions = connect(config.db_url)
    stored = checks_of(sessions, dated)[-1]
    assert (stored.status, stored.raw_status) == ("unchanged", "changed")
    assert set(stored.ignored_rules) == {date_rule["id"], xpath_rule["id"]}
    assert checks_of(sessions, dated)[0].raw_status is None
    sessions.kw["bind"].dispose()

    # a CSS rule for the changed paragraph of the other page: unchanged too
    added = run(home, "ignore", "add", "--url", boxed, "--css", "p.agenda")
    assert f"css 'p.agenda' for url {boxed}" in added.stdout.decode()
    assert _by_url(run_checks(config, [CheckTarget(url=boxed)], seed=1))[boxed]["status"] == "unchanged"

    # diff: the raw diff, its ignored lines marked, and the filtered comparison
    shown = _cli(home, "diff", dated, "--json")[0]
    assert shown["identical"] is False and shown["filtered_identical"] is True
    assert {r["id"] for r in shown["ignored"]} == {date_rule["id"], xpath_rule["id"]}
    text = run(home, "diff", dated)
    out = text.stdout.decode()
    assert (f"-Updated: 1 December 2026, 09:11    [ignored: rule {date_rule['id']}, {xpath_rule['id']}]"
            in out)
    assert "after the ignore rules: identical" in text.stderr.decode()

    # the diff page: the raw change shown, the ignored text struck through, the filtered result said
    with running(ServerContext(config=config, sessions=connect(config.db_url))) as base:
        page = fetch(f"{base}/diff?url={quote(dated)}").text
        data = json.loads(fetch(f"{base}/diff.json?url={quote(dated)}").body)
        timeline = fetch(f"{base}/timeline?url={quote(dated)}").text
    assert f"before ignore rules {date_rule['id']}, {xpath_rule['id']}: changed" in timeline
    assert data["filtered_identical"] is True and data["identical"] is False
    struck = re.search(r"<td class='left'><s class='ignored'[^>]*>(.*?)</s></td>", page)
    assert struck and re.sub("<[^>]+>", "", struck.group(1)) == "Updated: 1 December 2026, 09:11"
    assert "<del>" in struck.group(1)  # the raw change inside the struck-through line
    assert "the texts are <b>identical</b>" in page
    replaced = next(r for r in data["rows"] if r["op"] == "replace")
    assert any(kind == "ignored" for _, _, kind in replaced["left_spans"])
    assert any(kind == "del" for _, _, kind in replaced["left_spans"])  # the raw change still shown

    events = [e for e in _cli(home, "history", dated, "--json") if e["type"] == "check"]
    assert [(e["status"], e["raw_status"]) for e in events] == [("changed", None), ("unchanged", "changed")]

    # list, remove; removing again names the id
    assert {r["id"] for r in _cli(home, "ignore", "list", "--json")} == {
        date_rule["id"], xpath_rule["id"], date_rule["id"] + 2}
    assert [r["id"] for r in _cli(home, "ignore", "list", "--url", dated, "--json")] == [date_rule["id"]]
    assert _cli(home, "ignore", "remove", str(xpath_rule["id"]), "--json") == [
        {"id": xpath_rule["id"], "removed": True}]
    again = run(home, "ignore", "remove", str(xpath_rule["id"]))
    assert again.returncode == 1 and f"no ignore rule {xpath_rule['id']}" in again.stderr.decode()


@pytest.mark.parametrize(("args", "message"), [
    (["--regex", "(", "--global"], "not a valid regular expression"),
    (["--css", "p", "--regex", "x", "--global"], "exactly one of --css"),
    (["--css", "p"], "exactly one of --report NAME, --url URL or --global"),
    (["--css", "p", "--report", "nope"], "no report named 'nope'"),
])
def test_ignore_add_refuses_bad_input_by_name(home: Path, args: list[str], message: str) -> None:
    proc = run(home, "ignore", "add", *args)
    no_traceback(proc)
    assert proc.returncode in (1, 2) and message in proc.stderr.decode()


def test_rules_for_scopes_on_both_databases(db_url: str) -> None:
    from datetime import UTC, datetime

    sessions = connect(db_url)
    now = datetime.now(UTC)
    url = "https://Example.org/a?utm_source=x"  # another spelling of https://example.org/a
    mine = add_rule(sessions, scope="url", target=url, kind="regex", pattern="a", note=None, now=now)
    other = add_rule(sessions, scope="url", target="https://example.org/b", kind="regex", pattern="b",
                     note=None, now=now)
    report = add_rule(sessions, scope="report", target="peru", kind="css", pattern="p", note="n", now=now)
    every = add_rule(sessions, scope="global", target="ignored", kind="xpath", pattern="//p", note=None,
                     now=now)
    assert every.target is None
    found = rules_for(sessions, ["https://example.org/a"], ["peru"])
    key = next(iter({k for k, _ in found}))
    assert [r.id for r in found[(key, "peru")]] == [mine.id, report.id, every.id]
    assert [r.id for r in found[(key, None)]] == [mine.id, every.id]
    assert other.id not in [r.id for r in found[(key, "peru")]]
    assert [r.id for r in list_rules(sessions, scope="url", target="https://example.org/a")] == [mine.id]
    assert remove_rule(sessions, report.id) and not remove_rule(sessions, report.id)
    assert json.loads(json.dumps(mine.to_json()))["created_at"].endswith("Z")
    # a check's raw verdict and the rules that applied, stored and read back
    add_checks(sessions, [CheckRecord(url=url, checked_at=now, capture_id=None, baseline_id=None,
                                      status="unchanged", similarity=1.0, raw_status="changed",
                                      raw_similarity=0.97, ignored_rules=(mine.id, every.id)),
                          CheckRecord(url=url, checked_at=now, capture_id=None, baseline_id=None,
                                      status="changed", similarity=0.5)])
    stored = checks_of(sessions, "https://example.org/a")
    assert [(c.raw_status, c.raw_similarity, c.ignored_rules) for c in stored] == [
        ("changed", 0.97, (mine.id, every.id)), (None, None, ())]
    sessions.kw["bind"].dispose()
