"""A login profile's cookies for yt-dlp, and its secrets kept out of what a media download records.

A capture made with a login profile (``browser_profile``) downloads its media with the same login:
the profile's cookies whose domain matches the media's URL (RFC 6265 domain and path matching: a
host-only cookie for its host, a domain cookie for the domain and its subdomains) go to yt-dlp in a
Netscape cookie file, written 0600 in a private (0700) temporary directory and removed with it after
the download. Cookies of other sites are not handed over. What is archived of the download (yt-dlp's
info JSON, an error's detail) passes through the profile's redaction (``spiders.redaction``): the
``cookies`` yt-dlp reports and any value of the profile become the marker, as for browser captures.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from spiders.redaction import REDACTED, ProfileRedaction

__all__ = ["cookie_file", "matching_cookies", "netscape_cookies", "redact_info", "redact_text"]


def _domain_matches(host: str, cookie: dict[str, Any]) -> bool:
    domain = str(cookie.get("domain") or "").lower()
    bare = domain.lstrip(".")
    if not bare:
        return False
    # Playwright writes a host-only cookie's domain without a leading dot, a domain cookie's with one
    return host == bare or (domain.startswith(".") and host.endswith("." + bare))


def _path_matches(path: str, cookie: dict[str, Any]) -> bool:
    prefix = str(cookie.get("path") or "/")
    return path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


def matching_cookies(state: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The cookies of a storage state (``cookies``, as Playwright writes them) a browser would send
    to ``url``: domain, path and ``secure`` matched (expiry is the site's to judge)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    return [c for c in state.get("cookies", []) if isinstance(c, dict)
            and _domain_matches(host, c) and _path_matches(path, c)
            and (parts.scheme == "https" or not c.get("secure"))]


def netscape_cookies(cookies: list[dict[str, Any]]) -> str:
    """``cookies`` (Playwright's form) as a Netscape cookie file, the form yt-dlp's ``cookiefile``
    reads (a session cookie's expiry is 0)."""
    lines = ["# Netscape HTTP Cookie File"]
    for c in cookies:
        domain = str(c["domain"])
        expires = c.get("expires")
        when = int(expires) if isinstance(expires, int | float) and expires > 0 else 0
        lines.append("\t".join([domain, "TRUE" if domain.startswith(".") else "FALSE",
                                str(c.get("path") or "/"), "TRUE" if c.get("secure") else "FALSE",
                                str(when), str(c["name"]), str(c["value"])]))
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def cookie_file(cookies: list[dict[str, Any]]) -> Iterator[Path | None]:
    """A Netscape cookie file of ``cookies`` (None when there are none), mode 0600 in a private
    temporary directory, removed with it on leaving."""
    if not cookies:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="collector-cookies-"))  # 0700
    try:
        path = directory / "cookies.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(netscape_cookies(cookies))
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


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
