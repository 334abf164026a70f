"""Page requisites in HTTP mode: real crawls of a local site whose pages need images, stylesheets
(with their own url()s and @imports), scripts, fonts and icons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from collector.capture.run import capture_urls, stream_captures
from collector.cli.main import cli
from storage import retrieve
from storage.archive import Archive
from storage.queries import archive_counts, captures_by_ids, latest_captures, page_requisites, snapshots
from tests.collector.capture import requisite_site
from tests.collector.capture.requisite_site import PHOTO_RGB, hits, png
from tests.conftest import make_config, warcio_check

# what /article/<n> needs, found in its HTML and in its stylesheets (fetched once per run)
ARTICLE_NEEDS = {"/static/site.css", "/static/more.css", "/img/bg.png", "/img/more.png",
                 "/fonts/body.woff2", "/static/app.js", "/img/favicon.png", "/img/shared.png",
                 "/img/shared-2x.png", "/img/missing.png", "/img/reset.png"}


site = pytest.fixture(scope="module")(requisite_site.serving)


@pytest.fixture(scope="module")
def run(site: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two articles (sharing a stylesheet and an image) and a page without requisites, one run."""
    home = tmp_path_factory.mktemp("requisites")
    config = make_config(home, per_host_concurrency=4)
    requisites: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    outcomes = stream_captures(config, [f"{site}/article/1", f"{site}/article/2", f"{site}/plain"],
                               on_result=results.append, on_requisite=requisites.append)
    archive = Archive.open(config.db_url, config.warc_dir)
    yield {"home": home, "config": config, "results": {r["url"]: r for r in results},
           "requisites": requisites, "outcomes": outcomes, "archive": archive}
    archive.close()


def test_pages_are_the_results_and_requisites_come_apart(run: dict[str, Any], site: str) -> None:
    assert set(run["results"]) == {f"{site}/article/1", f"{site}/article/2", f"{site}/plain"}
    assert dict(run["outcomes"]) == {"captured": 3}
    paths = [r["url"].removeprefix(site) for r in run["requisites"]]
    # each article's own photo, and every shared requisite once for the two pages
    assert sorted(paths) == sorted([*ARTICLE_NEEDS, "/img/photo-1.png", "/img/photo-2.png"])


def test_each_requisite_row_points_at_its_page(run: dict[str, Any], site: str) -> None:
    sessions = run["archive"].sessions
    pages = {url: r["id"] for url, r in run["results"].items()}
    for result in run["requisites"]:
        assert result["page_id"] in (pages[f"{site}/article/1"], pages[f"{site}/article/2"])
        assert result["mode"] == "http"
    own = {r["url"]: r["page_id"] for r in run["requisites"]}
    assert own[f"{site}/img/photo-1.png"] == pages[f"{site}/article/1"]
    assert own[f"{site}/img/photo-2.png"] == pages[f"{site}/article/2"]
    listed = page_requisites(sessions, pages[f"{site}/article/2"])
    assert {r.url for r in listed} >= {f"{site}/img/photo-2.png"}
    assert all(r.page_id == pages[f"{site}/article/2"] for r in listed)
    assert page_requisites(sessions, pages[f"{site}/plain"]) == []


def test_requisites_are_archived_byte_for_byte(run: dict[str, Any], site: str) -> None:
    photo = next(r for r in run["requisites"] if r["url"] == f"{site}/img/photo-1.png")
    assert photo["outcome"] == "captured" and photo["content_type"] == "image/png"
    record = captures_by_ids(run["archive"].sessions, [photo["id"]])[0]
    body = retrieve.capture_payload(run["config"].warc_dir, record)
    assert body == png(40, 30, PHOTO_RGB)
    css = next(r for r in run["requisites"] if r["url"] == f"{site}/static/more.css")
    assert css["outcome"] == "captured" and css["http_status"] == 200
    warcio_check(run["home"])


def test_failed_requisites_are_rows_with_their_reason(run: dict[str, Any], site: str) -> None:
    by_url = {r["url"]: r for r in run["requisites"]}
    missing = by_url[f"{site}/img/missing.png"]
    assert missing["outcome"] == "captured" and missing["http_status"] == 404
    reset = by_url[f"{site}/img/reset.png"]
    assert reset["outcome"] == "failed" and reset["reason"] and reset["id"] is not None


def test_requisites_have_no_text_and_stay_out_of_lists(run: dict[str, Any], site: str) -> None:
    sessions = run["archive"].sessions
    for result in run["requisites"]:
        assert result["text_sha256"] is None and result.get("extraction") in (None, "none")
    counts = archive_counts(sessions)
    assert counts["captures"] == 3 and counts["urls"] == 3
    assert {r.url for r in latest_captures(sessions, 100)} == set(run["results"])
    # asked for by URL, a requisite is found like any capture
    assert [r.url for r in snapshots(sessions, f"{site}/img/shared.png")] == [f"{site}/img/shared.png"]


def test_shared_requisites_are_fetched_once_per_run(run: dict[str, Any], site: str) -> None:
    for path in ("/img/shared.png", "/static/site.css", "/static/more.css", "/img/bg.png"):
        assert hits(site, path) == 1, path


def test_a_second_run_stores_unchanged_requisites_as_revisits(run: dict[str, Any], site: str) -> None:
    requisites: list[dict[str, Any]] = []
    capture_urls(run["config"].replace(requisites=True), [f"{site}/article/1"])
    stream_captures(run["config"], [f"{site}/article/1"], on_result=lambda _r: None,
                    on_requisite=requisites.append)
    shared = next(r for r in requisites if r["url"] == f"{site}/img/shared.png")
    assert shared["outcome"] == "captured" and shared["revisit_of"] is not None


def test_no_requisites_fetches_the_page_alone(site: str, tmp_path: Path) -> None:
    config = make_config(tmp_path / "home", requisites=False)
    requisites: list[dict[str, Any]] = []
    stream_captures(config, [f"{site}/article/7"], on_result=lambda _r: None,
                    on_requisite=requisites.append)
    assert requisites == [] and hits(site, "/img/photo-7.png") == 0


def test_count_limit(site: str, tmp_path: Path) -> None:
    config = make_config(tmp_path / "home", requisites_max=5)
    requisites: list[dict[str, Any]] = []
    stream_captures(config, [f"{site}/many?n=40"], on_result=lambda _r: None,
                    on_requisite=requisites.append)
    assert len(requisites) == 5
    assert [r["url"] for r in requisites].count(f"{site}/img/many-0.png") == 1


def test_byte_limit(site: str, tmp_path: Path) -> None:
    """Six 100 KiB images with a 250 KiB budget: each request may take only what is left, so the
    bodies archived stay within the budget plus the requests already in flight."""
    config = make_config(tmp_path / "home", requisites_max_bytes=250 * 1024, per_host_concurrency=1,
                         concurrency=1)
    requisites: list[dict[str, Any]] = []
    stream_captures(config, [f"{site}/heavy?n=6&kb=100"], on_result=lambda _r: None,
                    on_requisite=requisites.append)
    captured = [r for r in requisites if r["outcome"] == "captured"]
    too_large = [r for r in requisites if r["reason"] == "too-large"]
    assert len(captured) == 2 and len(too_large) == 1  # the third was cut at the 50 KiB left
    assert len(requisites) == 3  # the rest were not requested: the budget was spent


def test_the_command_line_sums_up_the_requisites_apart(site: str, tmp_path: Path) -> None:
    """``collector capture``: one line per URL given (the exit status theirs), the requisites summed up
    on stderr with each failure named; ``--no-requisites`` fetches the page alone."""
    env = {"COLLECTOR_ALLOW_PRIVATE": "1"}
    home = tmp_path / "home"
    done = CliRunner().invoke(cli, ["--home", str(home), "capture", "--json", f"{site}/article/11"], env=env)
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [line["url"] for line in lines] == [f"{site}/article/11"]
    assert hits(site, "/img/photo-11.png") == 1
    done = CliRunner().invoke(cli, ["--home", str(home), "capture", f"{site}/article/12"], env=env)
    assert "page requisites: " in done.stderr and "requisite failed: " in done.stderr
    assert f"{site}/img/reset.png" in done.stderr
    done = CliRunner().invoke(cli, ["--home", str(home), "capture", "--no-requisites", "--json",
                                    f"{site}/article/13"], env=env)
    assert done.exit_code == 0 and hits(site, "/img/photo-13.png") == 0
