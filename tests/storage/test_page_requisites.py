"""Page requisites and media rows in storage, on SQLite and PostgreSQL: ``page_id`` links a requisite to
its page, lists and counts leave requisites out, Memento finds them by URL; a media download is a
``resource`` record with its metadata beside it and a row the archive verifies."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

from storage import retrieve
from storage.archive import Archive
from storage.media import MediaInput, commit_media
from storage.queries import archive_counts, latest_captures, mementos, page_requisites, snapshots
from storage.verify import verify_archive
from storage.warcread import read_record_at, scan_file
from tests.storage.helpers import T0, html_capture

PAGE = "https://news.example/story"
IMAGE = "https://cdn.news.example/photo.jpg"
VIDEO = "https://cdn.news.example/clip.mp4"


def test_requisites_point_at_their_page_and_stay_out_of_lists(db_url: str, tmp_path: Path) -> None:
    archive = Archive.open(db_url, tmp_path / "warcs")
    try:
        [page] = archive.commit_captures([html_capture(PAGE, T0)])
        [image] = archive.commit_captures([dataclasses.replace(
            html_capture(IMAGE, T0 + timedelta(seconds=1), body=b"\xff\xd8jpeg", content_type="image/jpeg"),
            page_id=page.id, mode="http")])
        assert image.page_id == page.id and image.mode == "http"
        assert [r.id for r in page_requisites(archive.sessions, page.id)] == [image.id]
        assert page_requisites(archive.sessions, image.id) == []
        assert archive_counts(archive.sessions)["captures"] == 1
        assert [r.id for r in latest_captures(archive.sessions)] == [page.id]
        assert [r.id for r in snapshots(archive.sessions, IMAGE)] == [image.id]
        assert [m.id for m in mementos(archive.sessions, IMAGE)] == [image.id]
    finally:
        archive.close()


def test_a_media_download_is_a_resource_with_its_info_beside_it(db_url: str, tmp_path: Path) -> None:
    archive = Archive.open(db_url, tmp_path / "warcs")
    body = tmp_path / "clip.mp4"
    body.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(5000))
    info = {"extractor": "generic", "duration": 3}  # yt-dlp's info JSON, kept beside the media
    try:
        [page] = archive.commit_captures([html_capture(PAGE, T0)])
        media = commit_media(archive, MediaInput(
            url=VIDEO, captured_at=T0 + timedelta(seconds=2), outcome="captured", body=body,
            content_type="video/mp4", info=info, page_id=page.id,
            mode_reason="<video> on the page"))
        failed = commit_media(archive, MediaInput(
            url=VIDEO + "?long", captured_at=T0 + timedelta(seconds=3), outcome="failed",
            reason="too-large", reason_detail="20000 s is over media_max_seconds", page_id=page.id))
        assert media.outcome == "captured" and media.mode == "media" and media.page_id == page.id
        assert media.content_length == body.stat().st_size and media.content_type == "video/mp4"
        assert retrieve.capture_payload(tmp_path / "warcs", media) == body.read_bytes()
        record = read_record_at(tmp_path / "warcs", media.warc_file or "", media.warc_offset or 0)
        assert record.type == "resource" and record.headers["WARC-Target-URI"] == VIDEO
        meta = [r for r in scan_file(tmp_path / "warcs" / (media.warc_file or ""))
                if not isinstance(r, Exception) and r.type == "metadata"
                and r.headers.get("WARC-Refers-To") == record.headers["WARC-Record-ID"]]
        assert json.loads(meta[0].payload)["media"] == info  # the info JSON round-trips as given
        assert failed.outcome == "failed" and failed.reason == "too-large" and failed.payload_file is None
        assert [r.id for r in page_requisites(archive.sessions, page.id)] == [media.id, failed.id]
        assert [m.id for m in mementos(archive.sessions, VIDEO)] == [media.id]
        report = verify_archive(archive.sessions, tmp_path / "warcs")
        assert report.ok, report.problems
    finally:
        archive.close()
