"""A login profile in the capture spider's browser requests: its own context per capture, never
shared, and a recorder that redacts (spiders.browsercapture.BrowserProfile)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spiders.browser import RECORDER_KEY
from spiders.browsercapture import BrowserCapture, BrowserProfile
from tests.spiders.test_redaction import STATE


def _noop(*_: Any) -> None:
    """A callback never called here."""


def test_every_capture_with_a_profile_gets_a_context_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "news.json"
    path.write_text(json.dumps({**STATE, "collector": {"source": "login"}}))
    profile = BrowserProfile.from_setting({"name": "news", "path": str(path)})
    assert profile is not None and profile.reason == "profile: news"
    with_profile = BrowserCapture(profile=profile)
    without = BrowserCapture()
    requests = [with_profile.request("https://example.org/a", {}, profile.reason, callback=_noop,
                                     errback=_noop),
                with_profile.request("https://example.org/b", {}, profile.reason, callback=_noop,
                                     errback=_noop),
                without.request("https://example.org/a", {}, "--browser", callback=_noop,
                                errback=_noop)]
    contexts = [r.meta["playwright_context"] for r in requests]
    assert len(set(contexts)) == len(contexts)  # never reused, with or without the profile
    states = [r.meta["playwright_context_kwargs"].get("storage_state") for r in requests]
    assert states == [{"cookies": STATE["cookies"], "origins": STATE["origins"]}] * 2 + [None]
    redactions = [r.meta[RECORDER_KEY].redaction for r in requests]
    assert redactions[0] is profile.redaction and redactions[2] is None


def test_no_profile_setting_is_no_profile() -> None:
    assert BrowserProfile.from_setting(None) is None
