"""Which mode a check fetches each URL in: its baseline's (``collector.check.modes``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.check.modes import baseline_modes, follows_baselines, mode_reason
from collector.check.run import CheckTarget
from storage.records import CaptureMode
from tests.conftest import make_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _capture(id_: int, mode: str, at: datetime, *, outcome: str = "captured", status: int | None = 200,
             page_id: int | None = None) -> CaptureMode:
    return CaptureMode(id=id_, captured_at=at, outcome=outcome, http_status=status, mode=mode,
                       page_id=page_id)


def test_each_url_takes_its_baselines_mode() -> None:
    earlier = {
        "https://a.example/": [_capture(1, "browser", T0), _capture(2, "http", T0 + DAY)],
        "https://b.example/": [_capture(3, "http", T0, status=404), _capture(4, "browser", T0 + DAY),
                               _capture(5, "http", T0 + 2 * DAY)],
        "https://c.example/": [],
        "https://d.example/": [_capture(6, "media", T0)],
        "https://e.example/logo.png": [_capture(7, "browser", T0, page_id=1)],
        "https://f.example/": [_capture(8, "http", T0, outcome="failed", status=None)],
    }
    urls = list(earlier)
    targets = [CheckTarget(url=u) for u in urls]
    first = baseline_modes(targets, urls, earlier, how="first", at=None)
    # the first good capture: a's browser one, b's browser one (its 404 is no baseline)
    assert first == {"https://a.example/": ("browser", mode_reason(earlier[urls[0]][0])),
                     "https://b.example/": ("browser", mode_reason(earlier[urls[1]][1]))}
    latest = baseline_modes(targets, urls, earlier, how="latest", at=None)
    assert {url: mode for url, (mode, _) in latest.items()} == {"https://a.example/": "http",
                                                                "https://b.example/": "http"}
    assert "2" in latest["https://a.example/"][1] and "http" in latest["https://a.example/"][1]


def test_a_citations_access_date_picks_its_baseline_and_the_browser_wins_a_tie() -> None:
    url = "https://a.example/"
    earlier = {url: [_capture(1, "http", T0), _capture(2, "browser", T0 + 10 * DAY)]}
    cited = CheckTarget(url=url, access_date=(T0 + 9 * DAY).date().isoformat())
    assert baseline_modes([cited], [url], earlier, how="first", at=None) == {
        url: ("browser", mode_reason(earlier[url][1]))}
    # two targets of one URL, an HTTP and a browser baseline: one capture in the browser serves both
    both = baseline_modes([CheckTarget(url=url), cited], [url, url], earlier, how="first", at=None)
    assert both[url][0] == "browser"


def test_only_auto_with_a_browser_follows_the_baselines(home: Path) -> None:
    assert follows_baselines(make_config(home))  # auto, Debian's chromium on PATH
    assert not follows_baselines(make_config(home, browser="always"))
    assert not follows_baselines(make_config(home, browser="never"))
    assert not follows_baselines(make_config(home, browser_executable=str(home / "no-chromium")))
