"""Turn a failed download into a stable reason code and a human explanation.

The explanation (``reason_detail``) is one line for people: the underlying error's own message (never
the repr of a list of Twisted Failures), led by what went wrong when the message does not say it, e.g.
``TLS handshake failed: wrong version number``.
"""

from __future__ import annotations

import re

from scrapy import exceptions as sx
from twisted.internet import error as te

from spiders.headercaps import HeadersTooLargeError
from spiders.safety import PrivateAddressError, UnsupportedSchemeError
from spiders.tls import UntrustedCertificateError

__all__ = ["REASONS", "classify_exception", "describe_exception"]

REASONS = {
    "dns-failure": "the host name could not be resolved",
    "connection-refused": "the server refused the connection",
    "connection-lost": "the connection was reset or closed before a full response",
    "timeout": "no complete response within the download timeout",
    "tls-error": "the TLS handshake failed",
    "tls-untrusted": "the certificate chain did not verify and tls_verify is on (the response is "
                     "archived as evidence)",
    "robots-txt": "blocked by the site's robots.txt",
    "too-large": "the body is larger than the maximum size",
    "too-large-decoded": "the decoded body is larger than the maximum size (decompression bomb)",
    "too-many-redirects": "more redirects than allowed",
    "private-address": "the target is a private, loopback or reserved address",
    "unsupported-scheme": "only http and https URLs are fetched",
    "browser-error": "the browser could not load the page (it crashed, or the page closed)",
    "error": "the download failed",
}

# the words a detail starts with, unless the underlying message already says it
LEADS = {
    "dns-failure": "DNS lookup failed",
    "connection-refused": "connection refused",
    "connection-lost": "connection lost",
    "timeout": "timed out",
    "tls-error": "TLS handshake failed",
}

# Chromium's network errors (net::ERR_...) as collector's reasons; any other browser error is
# "browser-error"
_CHROMIUM_ERRORS = (
    (r"ERR_NAME_NOT_RESOLVED|ERR_NAME_RESOLUTION_FAILED", "dns-failure"),
    (r"ERR_CONNECTION_REFUSED", "connection-refused"),
    (r"ERR_CONNECTION_(RESET|CLOSED|ABORTED)|ERR_EMPTY_RESPONSE|ERR_INCOMPLETE_CHUNKED", "connection-lost"),
    (r"ERR_(CONNECTION_)?TIMED_OUT", "timeout"),
    (r"ERR_CERT_|ERR_SSL_|ERR_BAD_SSL", "tls-error"),
    (r"ERR_TOO_MANY_REDIRECTS", "too-many-redirects"),
    (r"ERR_DISALLOWED_URL_SCHEME|ERR_UNKNOWN_URL_SCHEME", "unsupported-scheme"),
)

# a Twisted Failure's repr, as it shows in the message of an exception that wraps a list of them
_FAILURE_REPR = re.compile(r"\[?<twisted\.python\.failure\.Failure ([\w.]+)(?:: ([^>]*))?>\]?")


def describe_exception(exc: BaseException) -> str:
    """A one-line human message for ``exc``: its own message, or that of the errors it wraps.

    Scrapy re-raises Twisted's errors with ``str()`` of the original, which for Twisted's
    ``ResponseFailed`` family is the repr of a list of Failures; those are unwrapped to the messages
    of the errors inside (an OpenSSL error as its reason strings).
    """
    reasons = getattr(exc, "reasons", None)  # twisted.web's ResponseFailed and kin: Failures
    if isinstance(reasons, list) and reasons:
        parts = [describe_exception(_failure_value(r)) for r in reasons]
        return "; ".join(dict.fromkeys(p for p in parts if p))
    text = _own_message(exc)
    cause = exc.__cause__
    if cause is not None and cause is not exc and (
            not text or "<twisted.python.failure.Failure" in text or text == str(cause)):
        return describe_exception(cause)
    return _FAILURE_REPR.sub(lambda m: m.group(2) or m.group(1), text) or type(exc).__name__


def _wraps(exc: BaseException, kind: type[BaseException], depth: int = 0) -> bool:
    """True when ``exc`` is a ``kind``, or wraps one (as a cause, or among Twisted's Failures)."""
    if isinstance(exc, kind):
        return True
    if depth > 5:
        return False
    inner = [_failure_value(r) for r in getattr(exc, "reasons", None) or []
             if isinstance(getattr(exc, "reasons", None), list)]
    if exc.__cause__ is not None:
        inner.append(exc.__cause__)
    return any(_wraps(e, kind, depth + 1) for e in inner)


def _failure_value(reason: object) -> BaseException:
    value = getattr(reason, "value", reason)
    return value if isinstance(value, BaseException) else RuntimeError(str(value))


def _own_message(exc: BaseException) -> str:
    args = exc.args
    if (type(exc).__module__.startswith("OpenSSL") and args and isinstance(args[0], list)
            and all(isinstance(t, tuple) for t in args[0])):
        # OpenSSL.SSL.Error([(library, function, reason), ...])
        return ", ".join(dict.fromkeys(str(t[-1]) for t in args[0] if t and t[-1])) or "TLS error"
    return str(exc).strip()


def _detail(reason: str, message: str) -> str:
    lead = LEADS.get(reason)
    if lead is None or lead.lower() in message.lower():
        return message
    return f"{lead}: {message}"


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """(reason code, human detail) for an exception raised while downloading."""
    reason, message = _classify(exc)
    return reason, _detail(reason, message)


def _classify(exc: BaseException) -> tuple[str, str]:
    name = type(exc).__name__
    text = describe_exception(exc)
    if isinstance(exc, PrivateAddressError):
        return "private-address", text
    if type(exc).__module__.startswith("playwright"):  # a browser capture (spiders.browser)
        text = text.splitlines()[0] if text else name
        if name == "TimeoutError":
            return "timeout", f"the top document did not arrive within browser_timeout: {text}"
        for pattern, reason in _CHROMIUM_ERRORS:
            if re.search(pattern, text):
                return reason, text
        return "browser-error", text
    if isinstance(exc, UntrustedCertificateError):
        return "tls-untrusted", text
    if _wraps(exc, HeadersTooLargeError):
        return "too-large", text
    if isinstance(exc, (UnsupportedSchemeError, sx.UnsupportedURLSchemeError)):
        return "unsupported-scheme", text
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
    if re.search(r"\bssl\b|openssl|\btls\b|certificate|handshake", f"{name} {exc} {text}", re.I):
        return "tls-error", text
    if isinstance(exc, (sx.ResponseDataLossError, sx.DownloadFailedError,
                        te.ConnectionLost, te.ConnectionDone)) or "Connection" in name:
        return "connection-lost", text
    return "error", f"{name}: {text}"
