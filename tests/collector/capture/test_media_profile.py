"""Media of a login profile's capture: yt-dlp downloads a members-only video of the social web with
the profile's cookies (its generic extractor on the walled page, then the walled mp4), never hands
them to another site, and leaves no secret of the profile in the WARC files or the database."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from spiders.redaction import REDACTED
from storage.warcread import read_record_at, scan_file
from tests.collector.capture import socialweb
from tests.collector.profiles.test_login import Walled, invoke, login_args
from tests.conftest import capture_rows, make_config, warcio_check

pytest.importorskip("yt_dlp")


@pytest.fixture(scope="module")
def walled_video(social: str, tmp_path_factory: pytest.TempPathFactory) -> Walled:
    """A home with profile ``social``; /wall-video/1 captured with it (media "auto": the <video> the
    browser's DOM holds) and /wall-video/3 too (media "always": the page itself goes to yt-dlp's
    generic extractor as well), /wall-video/2 without it (media "always")."""
    home = tmp_path_factory.mktemp("media-profile") / "home"
    created = invoke(home, *login_args(social), env={"SITE_PASSWORD": socialweb.LOGIN_PASSWORD})
    assert created.exit_code == 0, created.output
    profile = json.loads((home / "profiles" / "social.json").read_text())
    first = invoke(home, "capture", "--profile", "social", "--json", social + "/wall-video/1")
    assert first.exit_code == 0, first.output
    always = invoke(home, "capture", "--profile", "social", "--media", "always", "--json",
                    social + "/wall-video/3")
    assert always.exit_code == 0, always.output
    second = invoke(home, "capture", "--browser", "--media", "always", "--json",
                    social + "/wall-video/2")
    assert second.exit_code == 0, second.output
    return Walled(home, social, profile, json.loads(first.output), json.loads(second.output))


pytestmark = pytest.mark.slow  # Chromium


def _media_rows(walled: Walled, page: str) -> list[Any]:
    """The media rows of the capture of ``page`` (the CLI prints the page's row only)."""
    config = make_config(walled.home)
    rows = capture_rows(config.db_url)
    [page_id] = [row.id for row in rows if row.url == page and row.mode == "browser"]
    return [row for row in rows if row.mode == "media" and row.page_id == page_id]


def test_the_walled_video_is_downloaded_with_the_profile(walled_video: Walled) -> None:
    base = walled_video.base
    [clip] = _media_rows(walled_video, base + "/wall-video/1")
    assert clip.outcome == "captured" and clip.url == base + "/wall-media/1.mp4"
    config = make_config(walled_video.home)
    record = read_record_at(config.warc_dir, clip.warc_file, clip.warc_offset)
    assert record.payload == socialweb.VIDEO
    assert clip.mode_reason == "<video> on the page"


def test_the_walled_page_goes_to_yt_dlp_with_the_profile(walled_video: Walled) -> None:
    base = walled_video.base
    media = _media_rows(walled_video, base + "/wall-video/3")
    assert {row.mode_reason for row in media} == {"<video> on the page", "--media always"}
    assert {(row.outcome, row.url) for row in media} == {("captured", base + "/wall-media/3.mp4")}


def test_without_the_profile_the_video_is_lost(walled_video: Walled) -> None:
    media = _media_rows(walled_video, walled_video.base + "/wall-video/2")
    assert [row.outcome for row in media] == ["failed"]


def test_no_secret_of_the_profile_is_recorded(walled_video: Walled) -> None:
    [clip] = _media_rows(walled_video, walled_video.base + "/wall-video/1")
    config = make_config(walled_video.home)
    [meta] = [r for r in scan_file(config.warc_dir / clip.warc_file) if not isinstance(r, Exception)
              and r.type == "metadata" and r.headers.get("WARC-Refers-To") == clip.warc_record_id]
    info = json.loads(meta.payload)["media"]
    assert info["cookies"] == REDACTED  # yt-dlp's own record of the cookies it sent
    archived = walled_video.warc_bytes()
    stored = b"".join(p.read_bytes() for p in walled_video.home.glob("collector.db*"))
    with sqlite3.connect(walled_video.home / "collector.db") as db:  # as SQLite gives it back
        stored += repr(db.execute("SELECT * FROM captures").fetchall()).encode()
    assert walled_video.secrets()
    for secret in walled_video.secrets():
        assert secret.encode() not in archived
        assert secret.encode() not in stored
    warcio_check(walled_video.home)

