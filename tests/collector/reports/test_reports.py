"""Reports end to end: add, manifest, capture --report, status, robustify, versions, bad input."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.reports.exports import export_report
from collector.reports.status import report_status
from collector.reports.versions import add_report
from storage.checks import add_checks
from storage.database import connect
from storage.records import CheckRecord
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.conftest import make_config

SEED = Path(__file__).resolve().parents[4] / "shared" / "reports" / "islamism-peru-report.txt"
NO_ENTRY = {"4", "5", "6", "7", "8", "10", "11", "12", "13", "23", "25", "26", "30", "31", "36", "41"}


@pytest.fixture
def seed() -> Path:
    if not SEED.exists():
        pytest.skip(f"seed report not found at {SEED} (it lives in ../shared/reports)")
    return SEED


def test_seed_report_parses_and_lists_what_needs_a_url(seed: Path, home: Path) -> None:
    proc = run(home, "report", "add", str(seed), "--name", "peru", "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    summary = lines(proc)[0]
    assert summary["entries"] == 16 and summary["markers"] == 32
    assert set(summary["needs_url"]) >= NO_ENTRY
    assert not {"3", "9", "32", "33", "24"} & set(summary["needs_url"])
    status = {row["ref"]: row for row in lines(run(home, "report", "status", "peru", "--json"))}
    assert {status[r]["kind"] for r in ("3", "9", "32")} == {"book"}
    assert status["33"]["kind"] == "ibid" and status["33"]["ibid_of"] == "32"
    assert status["24"]["kind"] == "note"
    assert all(status[r]["needs_url"] for r in NO_ENTRY)
    quotes = status["2"]["quotes"]
    assert quotes and quotes[0]["archived"] is None  # nothing captured yet


def test_same_document_again_is_not_a_new_version(seed: Path, home: Path) -> None:
    assert run(home, "report", "add", str(seed), "--name", "peru").returncode == 0
    again = lines(run(home, "report", "add", str(seed), "--name", "peru", "--json"))[0]
    assert again["version"] == 1 and again["new_version"] is False


def test_manifest_capture_status_and_robustify(seed: Path, server: str, home: Path,
                                               tmp_path: Path) -> None:
    manifest = tmp_path / "links.csv"
    manifest.write_text(
        "ref,url,quote\n"
        f"4,{server}/page/four,This paragraph is long enough for the extractor\n"
        f"1,{server}/page/one,\n"
        f"2,{server}/status/404,\n")
    added = run(home, "report", "add", str(seed), "--name", "peru", "--manifest", str(manifest),
                "--json")
    assert added.returncode == 0, added.stderr.decode()
    assert "4" not in lines(added)[0]["needs_url"]
    captured = run(home, "capture", "--report", "peru", "--allow-private", "--json")
    no_traceback(captured)
    assert captured.returncode == 0, captured.stderr.decode()
    assert {o["url"] for o in lines(captured)} == {server + "/page/four", server + "/page/one",
                                                   server + "/status/404"}
    status = {row["ref"]: row for row in lines(run(home, "report", "status", "peru", "--json"))}
    four = status["4"]
    assert four["url"] == server + "/page/four"
    assert four["latest_capture"]["outcome"] == "captured"
    assert four["latest_capture"]["sha256"]
    assert [q["archived"] for q in four["quotes"]] == [True]
    assert status["2"]["latest_capture"]["http_status"] == 404
    assert status["2"]["quotes"][0]["archived"] is False  # the report's quote is not on that page
    assert four["archive_link"].startswith("http://127.0.0.1:8080/web/")
    for fmt, needle in (("markdown", "| 4 |"), ("html", "<table")):
        out = run(home, "report", "status", "peru", "--format", fmt)
        assert out.returncode == 0 and needle in out.stdout.decode()
    checked = run(home, "check", "--report", "peru", "--allow-private", "--json")
    no_traceback(checked)
    assert checked.returncode == 0, checked.stderr.decode()
    verdicts = {o["ref"]: o for o in lines(checked)}
    assert verdicts["4"]["status"] == "unchanged"
    assert verdicts["4"]["quotes"][0]["archived"] is True and verdicts["4"]["quotes"][0]["live"] is True
    assert verdicts["2"]["status"] == "gone"
    status = {row["ref"]: row for row in lines(run(home, "report", "status", "peru", "--json"))}
    assert status["4"]["check"]["status"] == "unchanged" and status["4"]["state"] == "ok"
    assert status["2"]["check"]["status"] == "gone" and status["2"]["state"] == "suspect"
    robust = run(home, "report", "robustify", "peru", "--base-url", "https://arch.example")
    text = robust.stdout.decode()
    assert robust.returncode == 0
    assert f"[4] {server}/page/four (archived on " in text or "archived on" in text
    assert "https://arch.example/web/" in text


def test_html_report_from_url_is_captured_with_its_links(server: str, home: Path) -> None:
    src = server.replace("127.0.0.1", "localhost")
    added = run(home, "report", "add", server + "/report.html", "--name", "web",
                "--allow-private", "--json")
    no_traceback(added)
    assert added.returncode == 0, added.stderr.decode()
    status = {row["ref"]: row for row in lines(run(home, "report", "status", "web", "--json"))}
    urls = {u for row in status.values() for u in row["urls"]}
    assert {src + "/page/first", src + "/page/second"} <= urls
    assert not any("twitter.com/share" in u or u.endswith("/about") for u in urls)
    captured = run(home, "capture", "--report", "web", "--allow-private", "--json")
    assert captured.returncode == 0, captured.stderr.decode()
    got = {o["url"] for o in lines(captured)}
    assert server + "/report.html" in got and src + "/page/first" in got
    robust = run(home, "report", "robustify", "web").stdout.decode()
    assert 'data-versionurl="http://127.0.0.1:8080/web/' in robust
    assert "data-versiondate=" in robust


def test_new_version_lists_changes(home: Path, tmp_path: Path) -> None:
    doc = tmp_path / "r.md"
    doc.write_text("Claim one[^a]. Claim two[^b].\n\n[^a]: First source, https://a.example/x\n"
                   "[^b]: Second source, https://b.example/y\n")
    assert run(home, "report", "add", str(doc), "--name", "r").returncode == 0
    doc.write_text("Claim one[^a]. Claim three[^c].\n\n[^a]: First source, https://a.example/x2\n"
                   "[^c]: Third source, https://c.example/z\n")
    second = lines(run(home, "report", "add", str(doc), "--name", "r", "--json"))[0]
    assert second["version"] == 2 and second["new_version"]
    assert second["changes"] == {"added": ["^c"], "removed": ["^b"], "changed": ["^a"]}


def test_bad_manifest_names_file_and_line_and_writes_nothing(seed: Path, home: Path,
                                                             tmp_path: Path) -> None:
    manifest = tmp_path / "bad.csv"
    manifest.write_text("ref,url\n4,https://ok.example/a\n999,https://x.example/\n5,file:///etc/passwd\n")
    proc = run(home, "report", "add", str(seed), "--name", "peru", "--manifest", str(manifest))
    no_traceback(proc)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "bad.csv:3" in err and "999" in err and "bad.csv:4" in err
    listed = run(home, "report", "list", "--json")
    assert lines(listed) == []


@pytest.mark.parametrize("content", [b"", b"   \n\n"])
def test_empty_report_is_refused(home: Path, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    proc = run(home, "report", "add", str(path))
    no_traceback(proc)
    assert proc.returncode == 2 and b"empty.txt" in proc.stderr


def test_missing_report_file_and_unknown_report(home: Path) -> None:
    proc = run(home, "report", "add", "/nonexistent/report.pdf")
    no_traceback(proc)
    assert proc.returncode == 2 and b"/nonexistent/report.pdf" in proc.stderr
    proc = run(home, "report", "status", "nope")
    no_traceback(proc)
    assert proc.returncode == 1 and b"nope" in proc.stderr


def test_resolve_ref_accepts_what_users_type() -> None:
    from collector.reports.versions import resolve_ref

    known = {"4", "^src", "link-1"}
    assert resolve_ref("[4]", known) == "4"
    assert resolve_ref("src", known) == "^src"
    assert resolve_ref("^src", known) == "^src"
    assert resolve_ref("5", known) is None


def test_status_and_exports_agree_on_the_configured_state(db_url: str, home: Path, tmp_path: Path) -> None:
    """Two failing checks two hours apart: dead with dead_after_checks=2 (the default, 3, says suspect),
    in ``report status`` and in the CSV and JSON exports alike."""
    config = make_config(home, database_url=db_url, dead_after_checks=2, dead_after_hours=1.0)
    doc = tmp_path / "r.md"
    doc.write_text("Claim one[^a]. Claim two[^b].\n\n[^a]: First source, https://a.example/x\n"
                   "[^b]: Second source, https://b.example/y\n")
    add_report(config, str(doc), name="r")
    start = datetime(2027, 6, 1, tzinfo=UTC)
    sessions = connect(config.db_url)
    try:
        add_checks(sessions, [
            CheckRecord(url=url, checked_at=start + timedelta(hours=hours), capture_id=None, baseline_id=None,
                        status=status)
            for url, hours, status in (("https://a.example/x", 0, "gone"), ("https://a.example/x", 2, "gone"),
                                       ("https://b.example/y", 0, "unchanged"))])
    finally:
        sessions.kw["bind"].dispose()
    status = {row["ref"]: row["state"] for row in report_status(config, "r")}
    assert status == {"^a": "dead", "^b": "ok"}
    assert {row["ref"]: row["state"] for row in report_status(config.replace(dead_after_checks=3), "r")
            } == {"^a": "suspect", "^b": "ok"}
    out = io.BytesIO()
    export_report(config, "r", "json", out)
    citations = json.loads(out.getvalue())["citations"]
    assert {row["ref"]: row["state"] for row in citations} == status
    assert {row["ref"]: row["verdict"] for row in citations} == {"^a": "gone", "^b": "unchanged"}
    out = io.BytesIO()
    export_report(config, "r", "csv", out)
    rows = csv.DictReader(io.StringIO(out.getvalue().decode()))
    assert {row["ref"]: row["state"] for row in rows} == status
