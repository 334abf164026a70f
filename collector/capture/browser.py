"""Browser capture's Scrapy settings, and whether a browser can run here.

``browser = "never"`` (or no browser available under ``auto``) gives a crawl exactly the settings it
had before browser capture existed. Otherwise the http/https handler is
``spiders.browserhandler.BrowserDownloadHandler`` (plain requests still go to the pooled HTTP handler)
and scrapy-playwright is set up to launch the local Chromium by executable path: Playwright's own
browser downloads are never used. Under ``auto``, a missing Chromium or Playwright is said once on
stderr and the crawl goes on over HTTP; ``always`` (``--browser``) fails with what to install.

A login profile (``browser_profile``, ``--profile NAME``) implies ``always``: every target of the crawl
is loaded in a context made from the profile's storage state (``COLLECTOR_BROWSER_PROFILE``: its name
and file, read by ``spiders.browsercapture``), and a profile that cannot be used fails the crawl
before it starts.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

from collector.config import Config
from collector.errors import ConfigError
from collector.profiles.store import profile_path

__all__ = ["BROWSER_HANDLER", "BROWSER_NAMES", "browser_problem", "browser_settings", "find_browser",
           "profile_setting"]

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

BROWSER_HANDLER = "spiders.browserhandler.BrowserDownloadHandler"  # for http and https

_said: set[str] = set()  # the fallback notices already given in this process


def find_browser(config: Config) -> str | None:
    """The Chromium executable to launch: ``browser_executable`` when it exists (a name is looked up
    on PATH), else the first of ``BROWSER_NAMES`` on PATH; None when there is none."""
    if config.browser_executable:
        given = config.browser_executable
        if Path(given).is_file():
            return str(Path(given))
        return shutil.which(given)
    return next((path for path in map(shutil.which, BROWSER_NAMES) if path), None)


def browser_problem(config: Config) -> str | None:
    """Why no browser capture can run with ``config`` (None: it can)."""
    if importlib.util.find_spec("scrapy_playwright") is None:
        return "scrapy-playwright is not installed (pip install scrapy-playwright)"
    if find_browser(config) is None:
        if config.browser_executable:
            return (f"browser_executable {config.browser_executable!r} was not found "
                    "(COLLECTOR_BROWSER_EXECUTABLE)")
        return ("no Chromium found on PATH (tried " + ", ".join(BROWSER_NAMES) + "): install "
                "Debian's chromium package, or set browser_executable")
    return None


def profile_setting(config: Config) -> dict[str, str] | None:
    """``COLLECTOR_BROWSER_PROFILE`` of ``config``: the profile's name and file (None: no profile);
    a bad name or a missing profile is an error naming it."""
    if not config.browser_profile:
        return None
    return {"name": config.browser_profile,
            "path": str(profile_path(config, config.browser_profile).resolve())}


def browser_settings(config: Config) -> dict[str, Any]:
    """The Scrapy settings of browser capture under ``config`` (see the module docstring)."""
    mode = "always" if config.browser_profile else config.browser
    problem = browser_problem(config) if mode != "never" else None
    if problem is not None:
        if config.browser_profile:
            raise ConfigError(f"--profile {config.browser_profile}: browser capture cannot run: "
                              f"{problem}")
        if mode == "always":
            raise ConfigError(f"--browser: browser capture cannot run: {problem}")
        if problem not in _said:
            _said.add(problem)
            print(f"collector: browser capture unavailable ({problem}); pages are captured over "
                  "HTTP only", file=sys.stderr)
        mode = "never"
    if mode == "never":
        return {"COLLECTOR_BROWSER": "never"}
    return {
        "COLLECTOR_BROWSER": mode,
        "COLLECTOR_BROWSER_HOSTS": config.browser_host_list,
        "COLLECTOR_BROWSER_TIMEOUT": config.browser_timeout,
        "COLLECTOR_BROWSER_MAX_RESOURCES": config.browser_max_resources,
        "COLLECTOR_BROWSER_SCROLL_STEPS": config.browser_scroll_steps,
        "COLLECTOR_BROWSER_RESTART_PAGES": config.browser_restart_pages,
        "COLLECTOR_BROWSER_PROFILE": profile_setting(config),
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": find_browser(config), "headless": True,
                                      "args": ["--disable-dev-shm-usage", "--mute-audio",
                                               "--autoplay-policy=user-gesture-required"]},
        # one context per capture (spiders.browsercapture): this many pages at once
        "PLAYWRIGHT_MAX_CONTEXTS": config.browser_concurrency,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": config.browser_timeout * 1000,
        "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
    }
