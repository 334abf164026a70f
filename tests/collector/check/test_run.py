"""Checks against a local web that changes: one page per verdict, and the hard cases."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.capture.run import capture_urls
from collector.check.run import CheckTarget, run_checks
from tests.conftest import make_config

PAGES = {
    "/v/unchanged": "unchanged",
    "/v/chrome": "unchanged",
    "/v/charset": "unchanged",
    "/v/moved": "unchanged",
    "/v/gone": "gone",
    "/v/root": "soft-404",
    "/v/reused": "changed",
    "/v/correction": "changed",
    "/v/pdf": "unchanged",
    "/v/image": "unchanged",
    "/v/blocked": "blocked",
    "/v/error": "server-error",
    "/v/down": "unreachable",
}


@pytest.fixture(scope="module")
def checked(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Capture every page (phase 1), change the web (phase 2), check every page."""
    site = uuid.uuid4().hex[:8]
    home = tmp_path_factory.mktemp("check")
    saved = {k: os.environ.get(k) for k in ("http_proxy", "no_proxy", "NO_PROXY")}
    os.environ["http_proxy"] = server
    os.environ.pop("no_proxy", None)
    os.environ.pop("NO_PROXY", None)
    try:
        config = make_config(home, retry_times=1)
        news = f"http://news.{site}.test"
        urls = {news + p: verdict for p, verdict in PAGES.items()}
        urls[f"http://social.{site}.test/posts/8812"] = "soft-404"
        urls[f"http://video.{site}.test/watch?v=dQw4w9WgXcQ"] = "soft-404"
        first = capture_urls(config, list(urls))
        assert all(r["outcome"] == "captured" for r in first), first
        with urllib.request.urlopen(f"{server}/_phase?site={site}&n=2") as response:
            assert response.read() == b"ok"
        targets = [CheckTarget(url=u) for u in urls]
        targets[0] = CheckTarget(url=news + "/v/unchanged",
                                 quotes=("This paragraph is long enough for the extractor",
                                         "words that were never on the page"))
        results = run_checks(config, targets, seed=7)
        yield {"expected": urls, "results": {r["url"]: r for r in results}, "config": config,
               "news": news}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_every_url_has_one_verdict(checked: dict[str, Any]) -> None:
    assert set(checked["results"]) == set(checked["expected"])


@pytest.mark.parametrize("path", [*PAGES, "social", "video"])
def test_verdict(checked: dict[str, Any], path: str) -> None:
    url = next(u for u in checked["expected"] if u.endswith(path) or f"//{path}." in u)
    result = checked["results"][url]
    assert result["status"] == checked["expected"][url], result


def test_contract_fields(checked: dict[str, Any]) -> None:
    fields = {"url", "status", "http_status", "final_url", "redirected", "similarity", "quotes",
              "baseline_captured_at", "checked_at", "sha256", "text_sha256"}
    for result in checked["results"].values():
        assert fields <= result.keys()


def test_moved_page_is_redirected_not_soft_404(checked: dict[str, Any]) -> None:
    result = checked["results"][checked["news"] + "/v/moved"]
    assert result["redirected"] is True
    assert result["final_url"].endswith("/v/moved-new")


def test_correction_is_similar_and_reuse_is_not(checked: dict[str, Any]) -> None:
    correction = checked["results"][checked["news"] + "/v/correction"]["similarity"]
    reused = checked["results"][checked["news"] + "/v/reused"]["similarity"]
    assert correction > 0.9 > reused


def test_quotes_archived_and_live(checked: dict[str, Any]) -> None:
    quotes = checked["results"][checked["news"] + "/v/unchanged"]["quotes"]
    assert [(q["archived"], q["live"]) for q in quotes] == [(True, True), (False, False)]


def test_history_and_diff(checked: dict[str, Any], tmp_path: Path) -> None:
    from tests.collector.cli.test_cli import lines, run

    home = checked["config"].home
    url = checked["news"] + "/v/correction"
    events = lines(run(home, "history", url, "--json"))
    assert [e["type"] for e in events] == ["capture", "capture", "check"]
    assert events[-1]["status"] == "changed"
    diff = run(home, "diff", url).stdout.decode()
    assert "-" in diff and "six votes to three" in diff and "seven votes to two" in diff


def test_dead_only_after_spaced_failures() -> None:
    from datetime import UTC, datetime, timedelta

    from collector.check.run import source_state
    from storage.records import CheckRecord

    start = datetime(2026, 1, 1, tzinfo=UTC)

    def chk(hours: float, status: str) -> CheckRecord:
        return CheckRecord(url="https://x.example/", checked_at=start + timedelta(hours=hours),
                           capture_id=None, baseline_id=None, status=status)

    assert source_state([]) is None
    assert source_state([chk(0, "unchanged")]) == "ok"
    assert source_state([chk(0, "gone"), chk(1, "gone"), chk(2, "gone")]) == "suspect"
    assert source_state([chk(0, "gone"), chk(24, "gone"), chk(48, "unreachable")]) == "dead"
    assert source_state([chk(0, "gone"), chk(24, "unchanged"), chk(48, "gone")]) == "suspect"
    assert source_state([chk(0, "gone"), chk(24, "gone"), chk(48, "gone"), chk(49, "changed")]) == "ok"


def test_verdicts_come_while_the_crawl_goes_on(server: str, home: Path) -> None:
    """A verdict is made once its capture and probe are in, not after the whole crawl; rows come
    back in target order; the check's own capture is never its baseline.

    Causality, not wall time: the slow page is a gate that the server opens only when the fast
    page's verdict has been reported. Were verdicts held back until the crawl ended, the gate would
    never open and the slow page would end as a timeout, not as "unchanged".
    """
    config = make_config(home)
    gate = f"verdict-{home.parent.name}"
    fast, slow = f"{server}/page/fast-check", f"{server}/gate/{gate}"
    urllib.request.urlopen(f"{server}/open/{gate}").read()
    first = capture_urls(config, [fast, slow])
    assert all(r["outcome"] == "captured" for r in first)
    urllib.request.urlopen(f"{server}/close/{gate}").read()
    order: list[str] = []

    def seen(row: dict[str, Any]) -> None:
        order.append(row["url"])
        if row["url"] == fast and len(order) == 1:
            urllib.request.urlopen(f"{server}/open/{gate}").read()

    # the host's probe is shaped like its first URL (here the fast one: /page/<random>)
    targets = [CheckTarget(url=fast), CheckTarget(url=slow), CheckTarget(url=fast, ref="again")]
    rows = run_checks(config, targets, baseline="latest", on_result=seen)
    assert order[0] == fast  # reported while the slow page was still held at the gate
    assert [(r["url"], r["ref"]) for r in rows] == [(fast, None), (slow, None), (fast, "again")]
    assert {r["url"]: r["status"] for r in rows}[slow] == "unchanged"
    by_url = {r["url"]: r for r in rows}
    assert by_url[fast]["status"] == "unchanged"
    baseline = next(r["id"] for r in first if r["url"] == fast)
    assert by_url[fast]["baseline_id"] == baseline != by_url[fast]["capture_id"]
    from storage.archive import Archive
    from storage.checks import checks_of

    archive = Archive.open(config.db_url, config.warc_dir)
    try:  # unchanged sources need no probe: none was fetched
        assert [c.probe_id for c in checks_of(archive.sessions, fast)] == [None, None]
    finally:
        archive.close()


def test_a_verdict_that_depends_on_the_probe_gets_one(checked: dict[str, Any]) -> None:
    from storage.archive import Archive
    from storage.checks import checks_of

    config = checked["config"]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        social = next(u for u in checked["expected"] if "/posts/" in u)
        assert checks_of(archive.sessions, social)[-1].probe_id is not None
        unchanged = checked["news"] + "/v/unchanged"
        assert checks_of(archive.sessions, unchanged)[-1].probe_id is None
    finally:
        archive.close()


def test_the_check_module_loads_no_storage_before_its_crawl_starts() -> None:
    """``run_checks`` starts the crawl process, then loads storage, SQLAlchemy and the URL
    canonicalizer (~1 s) while the crawl starts: importing the module loads none of them."""
    code = ("import sys, collector.check.run; heavy = ('sqlalchemy', 'storage.archive', "
            "'storage.canonical', 'surt', 'collector.check.judge'); "
            "print(sorted(m for m in sys.modules if m.startswith(heavy)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_verdicts_are_in_the_ledger_under_a_checkpoint(checked: dict[str, Any]) -> None:
    import sqlalchemy as sa

    from storage.archive import Archive
    from storage.ledgerverify import verify_ledger

    config = checked["config"]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        with archive.sessions() as session:
            checks = session.scalar(sa.text("SELECT count(*) FROM checks"))
            entries = session.scalar(sa.text("SELECT count(*) FROM ledger_entries WHERE kind = 'check'"))
            size = session.scalar(sa.text("SELECT max(tree_size) FROM ledger_checkpoints"))
            total = session.scalar(sa.text("SELECT count(*) FROM ledger_entries"))
        assert checks == entries == len(checked["results"])
        assert size == total  # the check run ended with a checkpoint over its verdicts
        report = verify_ledger(archive.sessions, config.warc_dir)
        assert report.ok, report.problems
    finally:
        archive.close()


IMPORT_LOG = Path(__file__).parent / "importlog"  # its sitecustomize notes watched imports
# what a one-URL check of an unchanged page archived over HTTP needs in none of its processes:
# Playwright (its crawl cannot use the browser), trafilatura (a revisit's text is its original's: no
# extraction process starts); and in the command's own process, no crawl modules either
NOWHERE = ("playwright", "scrapy_playwright", "trafilatura")
NOT_IN_COMMAND = ("scrapy", "twisted", "lxml", "rich", *NOWHERE)


def test_a_check_of_an_unchanged_page_loads_nothing_it_does_not_need(server: str, home: Path,
                                                                      tmp_path: Path) -> None:
    """Issue 18: ``collector check URL`` of an unchanged page is cheap: its command process never
    loads Scrapy, Twisted or the extractor, and no process of it loads Playwright or trafilatura."""
    root = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")
           and k.lower() not in ("http_proxy", "https_proxy")}
    env["PYTHONPATH"] = str(root)
    url = f"{server}/page/lean-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "collector", "--home", str(home)]
    done = subprocess.run([*command, "capture", "--allow-private", url], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    log = tmp_path / "imports.log"
    watched = {**env, "PYTHONPATH": f"{IMPORT_LOG}{os.pathsep}{root}",
               "COLLECTOR_TEST_IMPORT_LOG": str(log),
               "COLLECTOR_TEST_IMPORT_WATCH": ",".join(NOT_IN_COMMAND)}
    check = subprocess.Popen([*command, "check", "--allow-private", "--json", url], env=watched,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = check.communicate(timeout=300)
    assert check.returncode == 0, err
    assert '"status": "unchanged"' in out, out + err
    lines = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    assert ["scrapy"] in [[name] for _pid, name in lines]  # the log works: the crawl process loads it
    assert sorted({name for pid, name in lines if int(pid) == check.pid}) == []
    assert sorted({name for _pid, name in lines if name in NOWHERE}) == []


class _Counting(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a small page and notes its path (``hits``)."""

    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body><p>a page</p></body></html>")

    def log_message(self, *_: Any) -> None:
        pass


def test_a_check_whose_baselines_cannot_be_looked_up_fetches_nothing(home: Path) -> None:
    """The crawl process starts before the baselines' modes are looked up and waits for them: when
    the lookup fails (the database cannot be opened), the check fails with that error and the
    crawl stops without fetching anything."""
    from storage.errors import StorageError

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = make_config(home, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing")
        with pytest.raises(StorageError, match="cannot open database"):
            run_checks(config, [CheckTarget(url=f"http://127.0.0.1:{server.server_port}/page")])
    finally:
        server.shutdown()
        server.server_close()
    assert _Counting.hits == []
