"""A login through Chromium, kept as a storage state: scripted (fill, submit, wait) or interactive.

The scripted login opens ``login_url`` in a fresh headless context, fills each ``--fill`` field,
clicks ``--submit`` and waits for ``--wait-for`` (a selector, or ``url:SUBSTRING`` of the address
the login lands on); then the context's storage state (cookies, local storage) is the profile. The
interactive one opens the page in a headed Chromium (a display is needed) for a person to log in,
and takes the state when ``--wait-for`` is met or the window is closed.

Every request of the login passes the browser's private-address guard (``spiders.browser.
RequestGuard``), the login URL first: a private target is refused unless allowed
(``--allow-private``, ``allow_hosts``). Downloads are refused, service workers blocked.

Fill values: ``$env:NAME`` takes an environment variable, ``$secret:KEY`` a line ``KEY=VALUE`` of
the ``--secrets-file``, anything else is the value itself; so a password need not be on the command
line (where other users can see it in the process list).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from collector.capture.browser import browser_problem, find_browser
from collector.capture.run import check_url
from collector.config import Config
from collector.errors import CollectorError, ConfigError, InputError
from spiders.browser import RequestGuard
from spiders.safety import allowed_hosts

__all__ = ["LoginScript", "has_display", "parse_fill", "read_secrets", "record_login"]

INTERACTIVE_SECONDS = 600.0  # how long an interactive login may take
URL_PREFIX = "url:"


@dataclass(frozen=True, kw_only=True)
class LoginScript:
    """What a login does: the page, the fields to fill (selector, value), the button, the sign."""

    login_url: str
    fills: list[tuple[str, str]] = field(default_factory=list)
    submit: str | None = None
    wait_for: str | None = None  # a selector, or "url:SUBSTRING"
    timeout: float = 30.0  # seconds per step
    interactive: bool = False


def read_secrets(path: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of a secrets file (blank lines and ``#`` comments skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--secrets-file {str(path)!r} cannot be read: {exc.strerror}") from exc
    out = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--secrets-file {str(path)!r}, line {number}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def _split_fill(text: str) -> tuple[str, str]:
    """``SELECTOR=VALUE`` split at the first ``=`` outside brackets and quotes
    (``input[name=pass]=x`` is the selector ``input[name=pass]``)."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth = max(0, depth - 1)
        elif ch == "=" and depth == 0 and i > 0:
            return text[:i], text[i + 1:]
    raise InputError(f"--fill {text!r}: expected SELECTOR=VALUE")


def parse_fill(text: str, env: Mapping[str, str], secrets: Mapping[str, str] | None) -> tuple[str, str]:
    """One ``--fill SELECTOR=VALUE`` as (selector, value), ``$env:NAME`` and ``$secret:KEY`` resolved."""
    selector, value = _split_fill(text)
    if value.startswith("$env:"):
        name = value.removeprefix("$env:")
        if name not in env:
            raise InputError(f"--fill {selector}: environment variable {name!r} is not set")
        return selector, env[name]
    if value.startswith("$secret:"):
        key = value.removeprefix("$secret:")
        if secrets is None:
            raise InputError(f"--fill {selector}: $secret:{key} needs --secrets-file")
        if key not in secrets:
            raise InputError(f"--fill {selector}: the secrets file has no {key!r}")
        return selector, secrets[key]
    return selector, value


def has_display(env: Mapping[str, str]) -> bool:
    """Whether a headed browser can open a window here (X11 or Wayland)."""
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def record_login(config: Config, script: LoginScript, env: Mapping[str, str]) -> dict[str, Any]:
    """Run the login ``script`` in Chromium; return the storage state it ends with."""
    url = check_url(script.login_url)
    if script.interactive and not has_display(env):
        raise InputError("--interactive needs a display (DISPLAY or WAYLAND_DISPLAY is not set); "
                         "use the scripted login (--fill, --submit, --wait-for) here")
    problem = browser_problem(config)
    if problem is not None:
        raise ConfigError(f"profile create: no browser can run: {problem}")
    guard = RequestGuard(allow_private=config.allow_private,
                         allow_hosts=allowed_hosts(config.allow_host_list))
    return asyncio.run(_login(script, url, guard, executable=str(find_browser(config)),
                              ignore_https_errors=not config.tls_verify))


async def _login(script: LoginScript, url: str, guard: RequestGuard, *, executable: str,
                 ignore_https_errors: bool) -> dict[str, Any]:
    reason = await guard.refusal(url, navigation=True)
    if reason is not None:
        raise InputError(f"login URL {url!r} refused: {reason}")
    refused: list[str] = []

    async def route(route: Any, request: Any) -> None:
        why = await guard.refusal(request.url, navigation=request.is_navigation_request())
        if why is None:
            await route.continue_()
        else:
            refused.append(f"{request.url} ({why})")
            await route.abort("blockedbyclient")

    step = script.timeout * 1000
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(
                executable_path=executable, headless=not script.interactive,
                args=["--disable-dev-shm-usage", "--mute-audio"])
        except PlaywrightError as exc:  # no display after all, a broken Chromium
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            shown = "a visible" if script.interactive else "a headless"
            raise CollectorError(f"{shown} Chromium ({executable}) could not start: {detail} "
                                 "(no profile saved)") from exc
        try:
            context = await browser.new_context(accept_downloads=False, service_workers="block",
                                                ignore_https_errors=ignore_https_errors)
            await context.route("**/*", route)
            page = await context.new_page()
            doing = f"opening {url}"
            try:
                await page.goto(url, timeout=step)
                for selector, value in script.fills:
                    doing = f"filling {selector!r}"
                    await page.fill(selector, value, timeout=step)
                if script.submit:
                    doing = f"clicking {script.submit!r}"
                    await page.click(script.submit, timeout=step)
                doing = f"waiting for {script.wait_for!r}" if script.wait_for else "waiting for the page"
                await _wait(page, script)
            except PlaywrightError as exc:
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                also = f"; requests refused: {', '.join(refused)}" if refused else ""
                raise CollectorError(f"login at {url} failed while {doing}: {detail}{also} "
                                     "(no profile saved)") from exc
            return dict(await context.storage_state())
        finally:
            await browser.close()


async def _wait(page: Any, script: LoginScript) -> None:
    """Wait for the sign that the login went through (``wait_for``), or for the page to settle;
    interactive without ``wait_for``: for the person to close the window."""
    timeout = (INTERACTIVE_SECONDS if script.interactive else script.timeout) * 1000
    wanted = script.wait_for
    if wanted and wanted.startswith(URL_PREFIX):
        part = wanted.removeprefix(URL_PREFIX)
        await page.wait_for_url(lambda address: part in address, timeout=timeout)
    elif wanted:
        await page.wait_for_selector(wanted, state="attached", timeout=timeout)
    elif script.interactive:
        await page.wait_for_event("close", timeout=timeout)
    else:
        await page.wait_for_load_state("networkidle", timeout=timeout)
