"""The workbench's actions over real HTTP on SQLite and PostgreSQL: each through the JSON API (bearer
token) and through the interface's forms (session + CSRF), with the same effects."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from collector.monitor.scheduler import list_schedules
from collector.reports.status import report_status
from storage.checks import checks_of
from storage.database import connect
from storage.reports import links_of
from tests.collector.server.helpers import fetch
from tests.collector.server.workbench import (
    QUOTE,
    REPORT,
    api,
    csrf_of,
    login,
    multipart,
    post_form,
    served,
    wait_job,
)


def _upload(base: str, token: str | None) -> tuple[int, dict[str, object]]:
    content = base64.b64encode(REPORT.read_bytes()).decode()
    return api(base, "/api/reports/upload", {"filename": REPORT.name, "name": "ferries",
                                             "content_base64": content}, token=token)


def test_api_upload_manifest_feeds_webhooks(home: Path, db_url: str) -> None:
    with served(home, db_url) as s:
        assert _upload(s.base, None)[0] == 401
        status, summary = _upload(s.base, s.token)
        assert status == 201, summary
        assert summary["report"] == "ferries" and "6" in summary["needs_url"]  # type: ignore[operator]
        content = base64.b64encode(REPORT.read_bytes()).decode()
        status, odd = api(s.base, "/api/reports/upload",
                          {"filename": "../../x/brief.md", "content_base64": content}, token=s.token)
        assert status == 201 and odd["report"] == "brief"  # only the file's own name counts
        for bad in ({"filename": "..", "content_base64": content},
                    {"filename": "a.md", "content_base64": "%%"},
                    {"filename": "a.md", "content_base64": ""}, {"content_base64": content}):
            assert api(s.base, "/api/reports/upload", bad, token=s.token)[0] == 400, bad
        bad = api(s.base, "/api/reports/ferries/manifest", {"manifest": f"ref,url\n99,{s.cited}\n"},
                  token=s.token)
        assert bad[0] == 400 and "99" in bad[1]["error"]
        status, imported = api(s.base, "/api/reports/ferries/manifest",
                               {"manifest": f"ref,url,quote\n6,{s.cited},{QUOTE}\n"}, token=s.token)
        assert status == 201 and imported["links_added"] == 1, imported
        sessions = connect(s.config.db_url)
        try:
            assert [(k.ref, k.url, k.quote) for k in links_of(sessions, "ferries")] == [("6", s.cited, QUOTE)]
        finally:
            sessions.kw["bind"].dispose()
        rows = report_status(s.config, "ferries")
        assert "needs_url" not in next(r for r in rows if r["ref"] == "6")["health"]

        feed = s.web.base_url + "/feed.xml"
        assert api(s.base, "/api/feeds", {"url": feed, "name": "pilots"})[0] == 401
        assert api(s.base, "/api/feeds", {"url": feed, "name": "pilots", "keywords": "ferry, manifest"},
                   token=s.token)[0] == 201
        listed = api(s.base, "/api/feeds")[1]["feeds"]
        assert [(f["name"], f["paused"]) for f in listed] == [("pilots", False)]
        assert api(s.base, "/api/feeds/pilots/pause", {}, token=s.token) == (200, {"name": "pilots",
                                                                                  "paused": True})
        assert api(s.base, "/api/feeds")[1]["feeds"][0]["paused"] is True
        assert api(s.base, "/api/feeds/pilots/resume", {})[0] == 401
        assert api(s.base, "/api/feeds/pilots/resume", {}, token=s.token)[1]["paused"] is False
        assert api(s.base, "/api/feeds/nope/pause", {}, token=s.token)[0] == 404
        assert api(s.base, "/api/feeds/pilots", token=s.token, method="DELETE") == (
            200, {"name": "pilots", "removed": True})
        assert api(s.base, "/api/feeds/pilots", token=s.token, method="DELETE")[0] == 404
        assert api(s.base, "/api/feeds")[1]["feeds"] == []

        hook = "http://127.0.0.1:9/hook"
        assert api(s.base, "/api/webhooks", {"url": hook, "events": "nonsense"}, token=s.token)[0] == 400
        status, made = api(s.base, "/api/webhooks", {"url": hook, "events": ["change", "gone"]},
                           token=s.token)
        assert status == 201 and made["events"] == ["change", "gone"]
        assert api(s.base, "/api/webhooks")[1]["webhooks"] == [made]

        assert api(s.base, "/api/jobs/0123456789abcdef")[0] == 404
        assert api(s.base, "/api/jobs/..%2Fsecret")[0] == 404
        status, refused = api(s.base, "/api/reports/ferries/check", {"ref": "3"}, token=s.token)
        assert status == 400 and "no URL" in refused["error"]  # ref 3 still needs one
        assert api(s.base, "/api/reports/ferries/nonsense", {}, token=s.token)[0] == 400
        assert api(s.base, "/api/reports/nope/check", {}, token=s.token)[0] == 404


def test_forms_manifest_schedules_feeds_webhooks(home: Path, db_url: str) -> None:
    with served(home, db_url) as s:
        assert _upload(s.base, s.token)[0] == 201
        session = login(s.base, s.token)
        csrf = csrf_of(s.base, session, "/reports/ferries")
        ctype, body = multipart({"csrf": csrf}, {"manifest": ("links.csv",
                                                              f"ref,url\n6,{s.cited}\n".encode())})
        reply = fetch(s.base + "/reports/ferries/manifest", method="POST", body=body,
                      headers={"Content-Type": ctype, "Cookie": session, "Origin": s.base})
        assert reply.status == 303, reply.text[:300]
        sessions = connect(s.config.db_url)
        try:
            assert [k.url for k in links_of(sessions, "ferries")] == [s.cited]
        finally:
            sessions.kw["bind"].dispose()
        dashboard = fetch(s.base + "/reports/ferries", headers={"Cookie": session}).text
        assert s.cited in dashboard.replace("<wbr>", "") and "Check all now" in dashboard  # URLs wrap

        def form(path: str, **fields: str) -> int:
            return post_form(s.base, path, {"csrf": csrf, **fields}, cookie=session).status

        assert form("/schedules", report="ferries", action="check", every="6h") == 303
        [made] = list_schedules(s.config)
        assert (made.schedule.kind, made.schedule.targets, made.schedule.every_seconds) == (
            "report", ("ferries",), 6 * 3600.0)
        assert form(f"/schedules/{made.schedule.id}/pause") == 303
        assert list_schedules(s.config)[0].schedule.paused
        assert form(f"/schedules/{made.schedule.id}/resume") == 303
        assert not list_schedules(s.config)[0].schedule.paused
        assert form("/schedules", report="", urls="", every="1d") == 400  # nothing to schedule
        assert form(f"/schedules/{made.schedule.id}/remove") == 303
        assert list_schedules(s.config) == []

        assert form("/feeds", url=s.web.base_url + "/feed.xml", name="harbour/night") == 303
        page = fetch(s.base + "/schedules", headers={"Cookie": session}).text
        assert "harbour/night" in page and "/feeds/harbour/night/remove" in page
        assert form("/schedules", feed="harbour/night", every="1h") == 303
        [polled] = list_schedules(s.config)
        assert (polled.schedule.kind, polled.schedule.targets) == ("feed", ("harbour/night",))
        assert form("/feeds/harbour/night/pause") == 303
        assert api(s.base, "/api/feeds")[1]["feeds"][0]["paused"] is True
        assert "/feeds/harbour/night/resume" in fetch(s.base + "/schedules", headers={"Cookie": session}).text
        assert form("/feeds/harbour/night/resume") == 303
        assert api(s.base, "/api/feeds")[1]["feeds"][0]["paused"] is False
        assert form("/feeds/harbour/night/explode") == 400
        assert form("/feeds/harbour/night/remove") == 303
        assert api(s.base, "/api/feeds")[1]["feeds"] == []
        assert form("/webhooks", url="http://127.0.0.1:9/hook", events="change,soft-404") == 303
        assert [h["events"] for h in api(s.base, "/api/webhooks")[1]["webhooks"]] == [["change", "soft-404"]]


@pytest.mark.slow
def test_check_and_capture_jobs_give_the_cli_results(home: Path, db_url: str) -> None:
    """A job over one reference (a real crawl): its results arrive in /api/jobs/{id} and are the rows
    `collector check` stores and `collector report status` shows."""
    with served(home, db_url) as s:
        assert _upload(s.base, s.token)[0] == 201
        assert api(s.base, "/api/reports/ferries/links", {"ref": "6", "url": s.cited, "quote": QUOTE},
                   token=s.token)[0] == 201
        assert api(s.base, "/api/reports/ferries/capture", {"ref": "6"})[0] == 401
        status, job = api(s.base, "/api/reports/ferries/capture", {"ref": "6"}, token=s.token)
        assert status == 202 and job["state"] == "queued" and job["total"] == 1 and job["by"] == "alice"
        done = wait_job(s.base, job["id"])
        assert done["state"] == "done", done
        [captured] = done["results"]
        assert captured["url"] == s.cited and captured["outcome"] == "captured"

        status, job = api(s.base, "/api/reports/ferries/check", {"ref": "6"}, token=s.token)
        assert status == 202
        done = wait_job(s.base, job["id"])
        assert done["state"] == "done", done
        [verdict] = done["results"]
        assert verdict["status"] == "unchanged" and verdict["ref"] == "6"
        assert [q["live"] for q in verdict["quotes"]] == [True]
        sessions = connect(s.config.db_url)
        try:
            [stored] = checks_of(sessions, s.cited)
        finally:
            sessions.kw["bind"].dispose()
        assert (stored.status, stored.report, stored.ref) == ("unchanged", "ferries", "6")
        row = next(r for r in report_status(s.config, "ferries") if r["ref"] == "6")
        assert row["check"]["status"] == verdict["status"] and "archived" in row["health"]
        html = fetch(f"{s.base}/jobs/{job['id']}").text
        assert "unchanged" in html and s.cited in html
