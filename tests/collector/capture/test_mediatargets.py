"""Choosing what media a run downloads (pure: no yt-dlp, no archive)."""

from __future__ import annotations

import pytest

from collector.capture.mediatargets import MediaTarget, media_targets
from collector.errors import InputError

PAGES = [(1, "https://www.youtube.com/watch?v=x"), (2, "https://news.example/a")]
EMBEDDED = {2: [{"url": "https://cdn.example/clip.mp4", "kind": "video"}]}


def test_auto_takes_video_hosts_and_embedded_media() -> None:
    assert media_targets("auto", PAGES, EMBEDDED) == [
        MediaTarget(PAGES[0][1], 1, "a video host"),
        MediaTarget("https://cdn.example/clip.mp4", 2, "<video> on the page")]


def test_a_page_without_media_off_video_hosts_gives_nothing() -> None:
    assert media_targets("auto", [PAGES[1]], {}) == []


def test_always_takes_every_page_and_never_nothing() -> None:
    assert [t.url for t in media_targets("always", PAGES, {})] == [url for _, url in PAGES]
    assert media_targets("never", PAGES, EMBEDDED) == []


def test_an_unknown_mode_is_an_error_naming_it() -> None:
    with pytest.raises(InputError, match="'sometimes'"):
        media_targets("sometimes", PAGES, {})
