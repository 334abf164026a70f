"""A login profile's cookies handed to yt-dlp (``collector.capture.mediacookies``): only those a browser
would send to the media's URL, in a private cookie file that yt-dlp's own jar reads back as sent."""

from __future__ import annotations

import stat
import time
from typing import Any

import pytest

from collector.capture.mediacookies import cookie_file, matching_cookies

cookies = pytest.importorskip("yt_dlp.cookies")

_STATE: dict[str, Any] = {"cookies": [
    {"name": "sid", "value": "s" * 16, "domain": "video.example", "path": "/", "expires": -1},
    {"name": "pref", "value": "p" * 16, "domain": ".example", "path": "/",
     "expires": time.time() + 86400.5},
    {"name": "deep", "value": "d" * 16, "domain": "video.example", "path": "/members"},
    {"name": "safe", "value": "x" * 16, "domain": "video.example", "path": "/", "secure": True},
    {"name": "other", "value": "o" * 16, "domain": "other.example", "path": "/"},
    {"name": "host", "value": "h" * 16, "domain": "example", "path": "/"},
    {"name": "site", "value": "t" * 16, "domain": ".tube.example", "path": "/"},
    {"name": "local", "value": "l" * 16, "domain": "localhost", "path": "/"},
    {"name": "stale", "value": "e" * 16, "domain": "video.example", "path": "/", "expires": 1000.0}]}

# URL -> the cookies a browser sends there (RFC 6265)
_SENT = {
    "http://video.example/watch/1": ["sid", "pref"],
    "https://video.example/members/1.mp4": ["sid", "pref", "deep", "safe"],
    "http://video.example/members": ["sid", "pref", "deep"],
    "http://video.example/membership": ["sid", "pref"],  # a path prefix, not a string prefix
    "http://cdn.video.example/1.mp4": ["pref"],  # a host-only cookie: its host alone
    "http://tube.example/": ["pref", "site"],  # a domain cookie: the domain itself too
    "http://localhost:8080/v.mp4": ["local"],  # a host without a dot
    "http://127.0.0.1/": [],
}


def _names(found: list[Any]) -> list[str]:
    return [c.name for c in found]


@pytest.mark.parametrize("url", list(_SENT))
def test_a_browser_s_cookies_of_the_url_are_chosen(url: str) -> None:
    assert _names(matching_cookies(_STATE, url)) == _SENT[url]


@pytest.mark.parametrize("url", [u for u, sent in _SENT.items() if sent])
def test_yt_dlp_sends_every_cookie_of_the_file(url: str) -> None:
    with cookie_file(matching_cookies(_STATE, url)) as path:
        assert path is not None
        jar = cookies.YoutubeDLCookieJar(str(path))
        jar.load()
        assert sorted(_names(jar.get_cookies_for_url(url))) == sorted(_SENT[url])
        assert sorted(c.name for c in jar) == sorted(_SENT[url])  # nothing more is handed over


def test_the_file_is_private_and_removed() -> None:
    with cookie_file(matching_cookies(_STATE, "http://video.example/")) as path:
        assert path is not None
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        lines = path.read_text().splitlines()
        assert lines[0] == "# Netscape HTTP Cookie File"
        rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
        assert [row[5] for row in rows] == ["sid", "pref"]
        assert [row[4] for row in rows] == ["", str(int(_STATE["cookies"][1]["expires"]))]
    assert not path.parent.exists()  # removed after the download
    with cookie_file([]) as none:
        assert none is None
