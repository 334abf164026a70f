"""A login profile's cookies for yt-dlp, and its secrets kept out of what a media download records.

A capture made with a login profile (``browser_profile``) downloads its media with the same login:
the profile's cookies a browser would send to the media's URL (``http.cookiejar``'s matching of
domain, path, ``secure`` and expiry: a host-only cookie for its host, a domain cookie for the domain
and its subdomains) go to yt-dlp in a Netscape cookie file (``MozillaCookieJar``), written 0600 in a
private (0700) temporary directory and removed with it after the download. Cookies of other sites
are not handed over. What is archived of the download (yt-dlp's info JSON, an error's detail) passes
through the profile's redaction (``spiders.redaction``): the ``cookies`` yt-dlp reports and any value
of the profile become the marker, as for browser captures.
"""

from __future__ import annotations

import contextlib
import tempfile
import urllib.request
from collections.abc import Iterator
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy, MozillaCookieJar
from pathlib import Path
from typing import Any

from spiders.redaction import REDACTED, ProfileRedaction

__all__ = ["cookie_file", "matching_cookies", "redact_info", "redact_text"]


class _SentCookies(DefaultCookiePolicy):
    """The stdlib's policy of what a browser sends (domain, path, ``secure``, expiry), host-only
    cookies for their host only (``DomainStrictNonDomain``), recording the cookies it lets through."""

    def __init__(self) -> None:
        super().__init__(strict_ns_domain=DefaultCookiePolicy.DomainStrictNonDomain)
        self.sent: list[Cookie] = []

    def return_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        """Whether ``cookie`` goes with ``request`` (the jar asks after its domain and path matched)."""
        ok = bool(super().return_ok(cookie, request))
        if ok:
            self.sent.append(cookie)
        return ok


def _cookie(state_cookie: dict[str, Any]) -> Cookie:
    """A Playwright storage state's cookie as the stdlib's (a session cookie is discarded at exit)."""
    domain = str(state_cookie.get("domain") or "").lower()
    host_only = not domain.startswith(".")
    if host_only and "." not in domain:
        # the stdlib (and yt-dlp, whose jar it is) holds a dotless host's cookie under "host.local"
        domain += ".local"
    expires = state_cookie.get("expires")
    when = int(expires) if isinstance(expires, int | float) and expires > 0 else None
    return Cookie(version=0, name=str(state_cookie["name"]), value=str(state_cookie["value"]),
                  port=None, port_specified=False, domain=domain, domain_specified=not host_only,
                  domain_initial_dot=not host_only, path=str(state_cookie.get("path") or "/"),
                  path_specified=True, secure=bool(state_cookie.get("secure")), expires=when,
                  discard=when is None, comment=None, comment_url=None, rest={})


def matching_cookies(state: dict[str, Any], url: str) -> list[Cookie]:
    """The cookies of a storage state (``cookies``, as Playwright writes them) a browser would send
    to ``url``: domain, path, ``secure`` and expiry matched by ``http.cookiejar``, in the state's
    order."""
    policy = _SentCookies()
    jar = CookieJar(policy)
    order: dict[tuple[str, str, str], int] = {}
    for c in state.get("cookies", []):
        if isinstance(c, dict) and c.get("domain"):
            cookie = _cookie(c)
            jar.set_cookie(cookie)
            order.setdefault((cookie.domain, cookie.path, cookie.name), len(order))
    jar.add_cookie_header(urllib.request.Request(url))
    return sorted(policy.sent, key=lambda c: order[(c.domain, c.path, c.name)])


@contextlib.contextmanager
def cookie_file(cookies: list[Cookie]) -> Iterator[Path | None]:
    """A Netscape cookie file of ``cookies`` (None when there are none), the form yt-dlp's
    ``cookiefile`` reads, mode 0600 in a private (0700) temporary directory removed on leaving."""
    if not cookies:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="collector-cookies-") as directory:
        path = Path(directory) / "cookies.txt"
        jar = MozillaCookieJar()
        for cookie in cookies:
            jar.set_cookie(cookie)
        # session cookies (discard) too: the profile's login is mostly those
        jar.save(str(path), ignore_discard=True, ignore_expires=True)  # written 0600
        yield path


def redact_text(text: str, redaction: ProfileRedaction) -> str:
    """``text`` with every value of the profile replaced by the marker."""
    for secret in sorted(redaction.secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_info(value: Any, redaction: ProfileRedaction) -> Any:
    """yt-dlp's info JSON without the profile's secrets: ``cookies`` fields are the marker, request
    headers redacted as a browser capture's, every other string without the profile's values."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "cookies" and item:
                out[key] = REDACTED
            elif key == "http_headers" and isinstance(item, dict):
                out[key] = dict(redaction.request_headers((str(k), str(v)) for k, v in item.items()))
            else:
                out[key] = redact_info(item, redaction)
        return out
    if isinstance(value, list):
        return [redact_info(item, redaction) for item in value]
    if isinstance(value, str):
        return redact_text(value, redaction)
    return value
