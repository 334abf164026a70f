"""The mode each checked URL is fetched in: the mode of the baseline capture it is compared with.

A page archived through the browser (its text was the rendered DOM's) is re-checked through the
browser, a page archived over HTTP over HTTP: otherwise a JavaScript shell fetched over HTTP would
read as ``changed`` against its rendered baseline. Precedence (docs/browser.md): ``--browser`` or
``browser = "always"`` fetch every URL through the browser, ``browser = "never"`` every URL over
HTTP; under ``auto`` (the default) a URL with a baseline takes its baseline's mode (an HTTP baseline
is not re-captured with the browser when the page is a JavaScript shell), a URL without one follows
``auto``'s own rules (``browser_hosts``, JavaScript shells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from collector.capture.browser import browser_problem
from collector.check.run import CheckTarget, baseline_rule, choose_baseline
from collector.config import Config
from storage.records import CaptureMode

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["baseline_modes", "follows_baselines", "looked_up_modes", "mode_reason"]

BROWSER, HTTP = "browser", "http"


def follows_baselines(config: Config) -> bool:
    """True when a check takes its baselines' modes: ``browser = "auto"`` and a browser can run
    here (``always`` and ``never`` decide every URL's mode themselves)."""
    return config.browser == "auto" and browser_problem(config) is None


def mode_reason(baseline: CaptureMode) -> str:
    """The ``mode_reason`` of a check's capture fetched in its baseline's mode."""
    return f"baseline capture {baseline.id} ({baseline.mode})"


def baseline_modes(targets: Sequence[CheckTarget], urls: Sequence[str],
                   earlier: Mapping[str, Sequence[CaptureMode]], *, how: str,
                   at: datetime | None) -> dict[str, tuple[str, str]]:
    """URL -> (mode, reason) for each checked URL (``urls[i]`` is ``targets[i]``'s) whose baseline
    among its ``earlier`` captures is an HTTP or browser page capture. When targets of one URL have
    baselines of both modes, the browser wins (one capture serves them all)."""
    modes: dict[str, tuple[str, str]] = {}
    for target, url in zip(targets, urls, strict=True):
        rule, when = baseline_rule(target, how, at)
        base = choose_baseline(earlier.get(url, ()), rule, when)
        if base is None or base.mode not in (BROWSER, HTTP) or base.page_id is not None:
            continue  # no baseline, a media download, or a page's requisite: auto decides
        if url not in modes or (base.mode == BROWSER and modes[url][0] != BROWSER):
            modes[url] = (base.mode, mode_reason(base))
    return modes


def looked_up_modes(sessions: sessionmaker[Session], targets: Sequence[CheckTarget], urls: Sequence[str],
                    *, how: str, at: datetime | None) -> dict[str, tuple[str, str]]:
    """:func:`baseline_modes` of ``targets`` (``urls[i]`` is ``targets[i]``'s), their captures looked
    up in the database first (one light query)."""
    # lazy: storage and SQLAlchemy (~0.5 s), only when the baselines' modes matter
    from storage.queries import capture_modes_of

    earlier = capture_modes_of(sessions, list(dict.fromkeys(urls)))
    return baseline_modes(targets, urls, earlier, how=how, at=at)
