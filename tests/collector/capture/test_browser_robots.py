"""robots.txt on a browser capture's redirects: a top page redirected to a path robots.txt forbids is
refused as an HTTP capture's redirect is (same outcome and reason), its target's response not kept;
with robots.txt ignored by the user's setting, the browser follows it (the social web's /robots.txt
disallows /blocked/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collector.capture.run import capture_urls
from tests.conftest import capture_rows, make_config

pytestmark = pytest.mark.slow  # Chromium


def _capture(home: Path, url: str, **flags: Any) -> dict[str, Any]:
    [result] = capture_urls(make_config(home, browser_timeout=8.0, browser_scroll_steps=1, **flags),
                            [url])
    return result


def test_a_redirect_to_a_disallowed_path_is_refused_like_an_http_one(social: str, home: Path) -> None:
    target = social + "/blocked/secret.png"
    url = f"{social}/redirect?to={target}"
    plain = _capture(home, url, browser="never")
    browsed = _capture(home, url, browser="always")
    assert plain["outcome"] == "failed" and plain["reason"] == "robots-txt"
    assert (browsed["outcome"], browsed["reason"], browsed["mode"]) == (
        plain["outcome"], plain["reason"], "browser")
    assert target in (browsed["reason_detail"] or "")
    # nothing of the target was kept as a capture, by either mode
    assert not [row for row in capture_rows(make_config(home).db_url) if row.outcome == "captured"
                and (row.url == target or row.final_url == target)]


def test_with_robots_ignored_the_browser_follows_the_redirect(social: str, home: Path) -> None:
    target = social + "/blocked/open.png"
    browsed = _capture(home, f"{social}/redirect?to={target}", browser="always", obey_robots=False)
    assert browsed["outcome"] == "captured" and browsed["final_url"] == target
