"""Ignore rules from the interface's forms: a source's timeline and a report's dashboard list the rules
that apply and, with a session, offer the form that adds one and a remove button per rule. The forms go
through the session, CSRF and Origin checks of every write form and the API's validation (400 naming
the problem), and answer 303 back to the page."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import quote

from collector.capture.run import capture_urls
from collector.check.rules import list_ignore_rules
from storage.database import connect
from tests.collector.server.helpers import fetch
from tests.collector.server.workbench import REPORT, Served, csrf_of, login, multipart, post_form, served

DATE_LINE = r"^Updated: .*$"


def _rules(s: Served) -> list[dict[str, object]]:
    sessions = connect(s.config.db_url)
    try:
        return [r.to_json() for r in list_ignore_rules(sessions)]
    finally:
        sessions.kw["bind"].dispose()


def _add_report(s: Served, session: str, csrf: str) -> None:
    ctype, body = multipart({"csrf": csrf, "name": "ferries"},
                            {"document": (REPORT.name, REPORT.read_bytes())})
    added = fetch(s.base + "/reports", method="POST", body=body,
                  headers={"Content-Type": ctype, "Cookie": session, "Origin": s.base})
    assert added.status == 303, added.text[:300]


def test_a_rule_is_added_and_removed_from_the_timeline_and_the_dashboard(home: Path, db_url: str) -> None:
    with served(home, db_url) as s:
        assert [r["outcome"] for r in capture_urls(s.config, [s.cited])] == ["captured"]
        timeline = "/timeline?url=" + quote(s.cited, safe="")
        anonymous = fetch(s.base + timeline)
        assert anonymous.status == 200 and "action='/ignore-rules'" not in anonymous.text
        assert "No ignore rule applies here" in anonymous.text
        assert "Log in</a> to add or remove ignore rules" in anonymous.text

        session = login(s.base, s.token)
        page = fetch(s.base + timeline, headers={"Cookie": session}).text
        assert "action='/ignore-rules'" in page and f"name='target' value='{s.cited}'" in page
        csrf = csrf_of(s.base, session, timeline)
        here = "/timeline?url=" + quote(s.cited, safe=":/")
        added = post_form(s.base, "/ignore-rules", {
            "csrf": csrf, "next": here, "scope": "url", "target": s.cited, "kind": "regex",
            "pattern": DATE_LINE, "note": "date line"}, cookie=session)
        assert added.status == 303 and added.header("location") == here
        [rule] = _rules(s)
        assert (rule["scope"], rule["target"], rule["kind"], rule["pattern"], rule["note"]) == (
            "url", s.cited, "regex", DATE_LINE, "date line")
        data = json.loads(fetch(s.base + "/timeline.json?url=" + quote(s.cited, safe="")).body)
        assert data["ignore_rules"] == [rule]
        page = fetch(s.base + timeline, headers={"Cookie": session}).text
        assert f"action='/ignore-rules/{rule['id']}/remove'" in page and "^Updated: .*$" in page

        # the dashboard: report-wide and global rules; a global rule shows on the timeline too
        _add_report(s, session, csrf)
        board = fetch(s.base + "/reports/ferries", headers={"Cookie": session}).text
        assert re.search(r"<option value='report'>this report</option>", board)
        for fields in ({"scope": "report", "target": "ferries", "kind": "css", "pattern": "aside.related"},
                       {"scope": "global", "target": "ferries", "kind": "xpath",
                        "pattern": "//p[@class='views']"},
                       {"scope": "report:ferries", "target": s.cited, "kind": "regex",
                        "pattern": r"Seen by \d+"}):
            reply = post_form(s.base, "/ignore-rules", {"csrf": csrf, "next": "/reports/ferries", **fields},
                              cookie=session)
            assert reply.status == 303 and reply.header("location") == "/reports/ferries", reply.text[:300]
        rules = _rules(s)
        assert [(r["scope"], r["target"]) for r in rules] == [
            ("url", s.cited), ("report", "ferries"), ("global", None), ("report", "ferries")]
        shown = json.loads(fetch(s.base + "/reports/ferries.json").body)["ignore_rules"]
        assert [r["id"] for r in shown] == [r["id"] for r in rules[1:]]  # not the URL's rule
        on_timeline = json.loads(fetch(s.base + "/timeline.json?url=" + quote(s.cited, safe="")).body)
        assert [r["id"] for r in on_timeline["ignore_rules"]] == [rules[0]["id"], rules[2]["id"]]

        removed = post_form(s.base, f"/ignore-rules/{rules[1]['id']}/remove",
                            {"csrf": csrf, "next": "/reports/ferries"}, cookie=session)
        assert removed.status == 303 and removed.header("location") == "/reports/ferries"
        assert [r["id"] for r in _rules(s)] == [rules[0]["id"], rules[2]["id"], rules[3]["id"]]
        gone = post_form(s.base, f"/ignore-rules/{rules[1]['id']}/remove", {"csrf": csrf}, cookie=session)
        assert gone.status == 404 and f"no ignore rule {rules[1]['id']}" in gone.text

        # without a safe "next", back to the page of the rule's scope (never another site)
        reply = post_form(s.base, "/ignore-rules", {"csrf": csrf, "next": "//evil.test/x", "scope": "global",
                                                    "kind": "regex", "pattern": "Share"}, cookie=session)
        assert reply.status == 303 and reply.header("location") == "/reports"
        reply = post_form(s.base, "/ignore-rules", {"csrf": csrf, "scope": "report", "target": "ferries",
                                                    "kind": "regex", "pattern": "Share"}, cookie=session)
        assert reply.status == 303 and reply.header("location") == "/reports/ferries"


def test_a_bad_rule_is_answered_400_naming_the_problem_and_stores_nothing(home: Path) -> None:
    with served(home) as s:
        session = login(s.base, s.token)
        csrf = csrf_of(s.base, session)
        good = {"csrf": csrf, "next": "/reports", "scope": "url", "target": "https://example.org/a",
                "kind": "regex", "pattern": DATE_LINE}
        bad = {
            "is not a valid regular expression": {"pattern": "Updated: (", "status": "400"},
            "matches the empty text": {"pattern": ".*", "status": "400"},
            "empty regex pattern": {"pattern": " ", "status": "400"},
            "unknown rule kind 'jq'": {"kind": "jq", "status": "400"},
            "CSS selector 'p[' is not valid": {"kind": "css", "pattern": "p[", "status": "400"},
            '"scope" must be': {"scope": "page", "status": "400"},
            "give exactly one of": {"target": "", "status": "400"},
            "no report named 'nope'": {"scope": "report", "target": "nope", "status": "404"},
        }
        for message, change in bad.items():
            status = int(change.pop("status"))
            reply = post_form(s.base, "/ignore-rules", {**good, **change}, cookie=session)
            assert reply.status == status and message in html.unescape(reply.text), (
                message, reply.status, reply.text[-400:])
        assert _rules(s) == []


def test_a_rule_form_without_session_csrf_or_from_another_origin_is_refused(home: Path) -> None:
    with served(home) as s:
        session = login(s.base, s.token)
        csrf = csrf_of(s.base, session)
        fields = {"csrf": csrf, "scope": "global", "kind": "regex", "pattern": DATE_LINE}
        refusals = {
            "no session": post_form(s.base, "/ignore-rules", fields, cookie=None),
            "no csrf": post_form(s.base, "/ignore-rules", {**fields, "csrf": ""}, cookie=session),
            "another origin": post_form(s.base, "/ignore-rules", fields, cookie=session,
                                        origin="https://evil.test"),
            "no origin": post_form(s.base, "/ignore-rules", fields, cookie=session, origin=None),
        }
        assert {k: r.status for k, r in refusals.items()} == {
            "no session": 401, "no csrf": 403, "another origin": 403, "no origin": 403}
        assert _rules(s) == []
        assert post_form(s.base, "/ignore-rules", fields, cookie=session).status == 303
        [rule] = _rules(s)
        remove = f"/ignore-rules/{rule['id']}/remove"
        assert post_form(s.base, remove, {"csrf": csrf}, cookie=None).status == 401
        assert post_form(s.base, remove, {"csrf": "stale"}, cookie=session).status == 403
        assert post_form(s.base, remove, {"csrf": csrf}, cookie=session, origin="https://evil.test"
                         ).status == 403
        assert _rules(s) == [rule]
