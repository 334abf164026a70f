"""Turn a failed download into a stable reason code and a human explanation."""

from __future__ import annotations

import re

from scrapy import exceptions as sx
from twisted.internet import error as te

from spiders.safety import PrivateAddressError

__all__ = ["REASONS", "classify_exception"]

REASONS = {
    "dns-failure": "the host name could not be resolved",
    "connection-refused": "the server refused the connection",
    "connection-lost": "the connection was reset or closed before a full response",
    "timeout": "no complete response within the download timeout",
    "tls-error": "the TLS handshake failed",
    "robots-txt": "blocked by the site's robots.txt",
    "too-large": "the body is larger than the maximum size",
    "too-large-decoded": "the decoded body is larger than the maximum size (decompression bomb)",
    "too-many-redirects": "more redirects than allowed",
    "private-address": "the target is a private, loopback or reserved address",
    "unsupported-scheme": "only http and https URLs are fetched",
    "error": "the download failed",
}


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """(reason code, detail) for an exception raised while downloading."""
    name = type(exc).__name__
    text = str(exc) or name
    if isinstance(exc, PrivateAddressError):
        return "private-address", text
    if isinstance(exc, sx.IgnoreRequest):
        lowered = text.lower()
        if "robots.txt" in lowered:
            return "robots-txt", text
        if "decompression" in lowered or ("maxsize" in lowered and "decod" in lowered):
            return "too-large-decoded", text
        if "max redirections" in lowered or "redirect" in lowered:
            return "too-many-redirects", text
        if "maxsize" in lowered or "exceeded" in lowered:
            return "too-large", text
        return "error", text
    if isinstance(exc, (sx.CannotResolveHostError, te.DNSLookupError)):
        return "dns-failure", text
    if isinstance(exc, (sx.DownloadConnectionRefusedError, te.ConnectionRefusedError)):
        return "connection-refused", text
    if isinstance(exc, (sx.DownloadTimeoutError, te.TimeoutError, te.TCPTimedOutError)):
        return "timeout", text
    if isinstance(exc, sx.DownloadCancelledError) and re.search(r"maxsize|larger than", text, re.I):
        return "too-large", text
    if re.search(r"\bssl\b|openssl|\btls\b|certificate|handshake", f"{name} {text}", re.I):
        return "tls-error", text
    if isinstance(exc, (sx.ResponseDataLossError, sx.DownloadFailedError,
                        te.ConnectionLost, te.ConnectionDone)) or "Connection" in name:
        return "connection-lost", text
    return "error", f"{name}: {text}"
