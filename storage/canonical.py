"""Canonical URL keys: one key for every spelling of the same URL.

The key is SURT-style (Internet Archive's ``surt`` package): host reversed, lower-cased, ``www.`` and
default ports dropped, fragment dropped, query parameters sorted, trailing slash dropped. Before that,
tracking parameters (``utm_*``, ``fbclid``, ``gclid`` ...) are removed, and the scheme is ignored, so
``http://www.Example.com/a/?utm_source=x#top`` and ``https://example.com/a`` share one key.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from storage.deferred import defer_module
from storage.errors import InvalidUrlError

# surt imports tldextract at its top for two methods url_key never calls: loading it (requests,
# urllib3, chardet, filelock: ~0.1 s in every process that makes URL keys) waits for its first use
defer_module("tldextract")
import surt  # noqa: E402 - after the deferral above

__all__ = ["TRACKING_PARAMS", "strip_tracking", "url_key"]

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wt_mc", "_ga",
        "twclid", "ttclid", "li_fat_id", "srsltid",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """Return ``url`` without tracking query parameters and without its fragment."""
    parts = urlsplit(url)
    if parts.query:
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if not _is_tracking(k)]
        query = urlencode(kept, doseq=True)
    else:
        query = ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@functools.lru_cache(maxsize=16384)
def url_key(url: str) -> str:
    """The canonical lookup key of ``url`` (scheme-less SURT without tracking parameters).

    Cached: a check or a batch asks for the same URL's key several times, and SURT costs ~0.1 ms.
    Raises InvalidUrlError (a ValueError) for a URL that cannot be parsed (``http://[::1``, a bad port).
    """
    given = url
    url = url.strip()
    if not _SCHEME.match(url):
        url = "http://" + url
    try:
        return str(surt.surt(strip_tracking(url), with_scheme=False))
    except ValueError as exc:
        raise InvalidUrlError(f"{given!r} is not a valid URL ({exc})") from exc
