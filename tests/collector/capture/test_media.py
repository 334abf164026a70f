"""Media with yt-dlp: a page's HTML5 video (a direct file) and HLS stream (a playlist of .ts segments,
yt-dlp's native downloader), served locally; the limits, the SSRF guard on yt-dlp's connections, and
the media given back by ``get`` and ``serve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from collector.capture.media import capture_media
from collector.capture.run import stream_captures
from collector.cli.main import cli
from collector.server import ServerContext
from storage.database import connect
from storage.queries import captures_by_ids, page_requisites
from storage.verify import verify_archive
from storage.warcread import read_record_at, scan_file
from tests.collector.capture import requisite_site
from tests.collector.capture.requisite_site import MP4, hits, ts_segment
from tests.collector.server.helpers import fetch, running
from tests.conftest import make_config, warcio_check

pytest.importorskip("yt_dlp")


site = pytest.fixture(scope="module")(requisite_site.serving)


def run(config: Any, urls: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    pages: list[dict[str, Any]] = []
    loaded: list[dict[str, Any]] = []
    stream_captures(config, urls, on_result=pages.append, on_requisite=loaded.append)
    return {r["url"]: r for r in pages}, {r["url"]: r for r in loaded}


@pytest.fixture(scope="module")
def media(site: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("media")
    config = make_config(home)
    pages, loaded = run(config, [f"{site}/video.html", f"{site}/hls.html"])
    return {"home": home, "config": config, "pages": pages, "loaded": loaded}


def test_an_html5_video_is_archived_under_its_own_url(media: dict[str, Any], site: str) -> None:
    clip = media["loaded"][f"{site}/media/clip.mp4"]
    page = media["pages"][f"{site}/video.html"]
    assert clip["outcome"] == "captured" and clip["mode"] == "media"
    assert clip["page_id"] == page["id"] and clip["content_type"] == "video/mp4"
    assert clip["content_length"] == len(MP4)
    record = read_record_at(media["config"].warc_dir, clip["warc_file"], clip["warc_offset"])
    assert record.type == "resource" and record.headers["WARC-Target-URI"] == f"{site}/media/clip.mp4"
    assert record.payload == MP4
    # yt-dlp's info JSON in a metadata record beside it
    metadata = [r for r in scan_file(media["config"].warc_dir / clip["warc_file"])
                if not isinstance(r, Exception) and r.type == "metadata"
                and r.headers.get("WARC-Refers-To") == record.headers["WARC-Record-ID"]]
    assert len(metadata) == 1
    info = json.loads(metadata[0].payload)["media"]
    assert info["extractor"] == "generic" and info["webpage_url"] == f"{site}/media/clip.mp4"
    sessions = connect(media["config"].db_url)
    assert [r.url for r in page_requisites(sessions, page["id"])] == [f"{site}/media/clip.mp4"]
    warcio_check(media["home"])
    report = verify_archive(sessions, media["config"].warc_dir)  # digests, sha256, every row's records
    assert report.ok, report.problems


def test_an_hls_stream_is_downloaded_segment_by_segment(media: dict[str, Any], site: str) -> None:
    stream = media["loaded"][f"{site}/media/stream.m3u8"]
    assert stream["outcome"] == "captured" and stream["page_id"] == media["pages"][f"{site}/hls.html"]["id"]
    record = read_record_at(media["config"].warc_dir, stream["warc_file"], stream["warc_offset"])
    assert record.payload == b"".join(ts_segment(f"/media/seg{i}.ts") for i in range(3))
    for i in range(3):
        assert hits(site, f"/media/seg{i}.ts") >= 1


def test_get_and_serve_return_the_media_bytes(media: dict[str, Any], site: str) -> None:
    config = media["config"]
    result = CliRunner().invoke(cli, ["--home", str(config.home), "get", f"{site}/media/clip.mp4", "--raw"],
                                env={"COLLECTOR_DATABASE_URL": config.db_url})
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == MP4
    clip = media["loaded"][f"{site}/media/clip.mp4"]
    stamp = clip["captured_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    with running(ServerContext(config=config, sessions=connect(config.db_url))) as base:
        reply = fetch(f"{base}/web/{stamp}id_/{site}/media/clip.mp4")
        while reply.status == 302:
            reply = fetch(reply.header("location") or "")
        assert reply.status == 200 and reply.body == MP4 and reply.header("content-type") == "video/mp4"


def test_limits_make_too_large_rows(site: str, tmp_path: Path) -> None:
    config = make_config(tmp_path / "home", media_max_bytes=len(MP4) - 1)
    _, loaded = run(config, [f"{site}/video.html"])
    clip = loaded[f"{site}/media/clip.mp4"]
    assert clip["outcome"] == "failed" and clip["reason"] == "too-large"
    assert clip["id"] is not None and clip["sha256"] is None


def test_the_ssrf_guard_refuses_yt_dlp_private_targets(media: dict[str, Any], site: str) -> None:
    """The pages were captured with private targets allowed; their media, downloaded without, are
    refused at the guard: a failed row each, and the server never asked."""
    before = hits(site, "/media/clip.mp4")
    config = media["config"].replace(allow_private=False)
    results: list[dict[str, Any]] = []
    page = media["pages"][f"{site}/video.html"]["id"]
    capture_media(config, [(page, f"{site}/video.html")],
                  {page: [{"url": f"{site}/media/clip.mp4", "kind": "video"}]}, results.append)
    assert len(results) == 1 and results[0]["outcome"] == "failed"
    assert results[0]["reason"] == "private-address" and "127.0.0.1" in results[0]["reason_detail"]
    assert hits(site, "/media/clip.mp4") == before
    row = captures_by_ids(connect(config.db_url), [results[0]["id"]])[0]
    assert row.page_id == media["pages"][f"{site}/video.html"]["id"]


def test_media_never_downloads_nothing(site: str, tmp_path: Path) -> None:
    before = hits(site, "/media/clip.mp4")
    _, loaded = run(make_config(tmp_path / "home", media="never"), [f"{site}/video.html"])
    assert f"{site}/media/clip.mp4" not in loaded and hits(site, "/media/clip.mp4") == before


def test_a_stream_longer_than_media_max_seconds_is_too_large(site: str, tmp_path: Path) -> None:
    """The HLS stream is 3 segments of 2 s: 6 s is over a 3 s limit; nothing of it is downloaded."""
    config = make_config(tmp_path / "home", media_max_seconds=3.0)
    before = hits(site, "/media/seg0.ts")
    _, loaded = run(config, [f"{site}/hls.html"])
    stream = loaded[f"{site}/media/stream.m3u8"]
    assert stream["outcome"] == "failed" and stream["reason"] == "too-large", stream
    assert "media_max_seconds" in stream["reason_detail"]
    assert hits(site, "/media/seg0.ts") == before
