"""Caps on a response's header section, enforced while it is read (before it is buffered whole).

Twisted's response parser keeps every header line until the blank line that ends them: a server that
sends header lines without end grew the crawl process to ~900 MB. Its one limit, LineReceiver's 16 KiB
per line, closed the connection without a word on a 60 KB ``Set-Cookie`` (``connection-lost``).
Here a line may be up to the whole cap (``max_bytes``, 512 KiB by default: Chrome allows 256 KiB), and
once the header section passes ``max_bytes`` bytes or ``max_count`` lines the response fails with
``HeadersTooLargeError``, recorded as ``too-large`` with a detail that says which cap it passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scrapy.core.downloader.handlers.http11 import (
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)

__all__ = ["BoundedClientFactory", "HeaderLimits", "HeadersTooLargeError"]


class HeadersTooLargeError(Exception):
    """A response's header section passed its cap (bytes or lines)."""


@dataclass(frozen=True)
class HeaderLimits:
    """The caps on one response's status line and headers."""

    max_bytes: int = 512 * 1024
    max_count: int = 1000


class BoundedHTTPClientParser(_LenientHTTPClientParser):
    """Scrapy's lenient response parser, counting the bytes and lines of the header section."""

    limits = HeaderLimits()
    _head_bytes = 0
    _head_lines = 0

    def lineReceived(self, line: bytes) -> None:
        """Count the line against the caps, then parse it."""
        self._head_bytes += len(line) + 1
        self._head_lines += 1
        if self._head_bytes > self.limits.max_bytes:
            raise HeadersTooLargeError(
                f"response headers larger than {self.limits.max_bytes} bytes (the cap): not read")
        if self._head_lines > self.limits.max_count + 1:  # + 1: the status line
            raise HeadersTooLargeError(
                f"more than {self.limits.max_count} response header lines (the cap): not read")
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        """A line longer than the whole cap, still without its end: the response fails."""
        raise HeadersTooLargeError(
            f"a response header line longer than {self.limits.max_bytes} bytes (the cap): not read")


class BoundedHTTP11ClientProtocol(_LenientHTTP11ClientProtocol):
    """HTTP/1.1 client protocol whose response parser enforces ``HeaderLimits``."""

    def __init__(self, quiescentCallback: Any, limits: HeaderLimits) -> None:
        super().__init__(quiescentCallback)  # type: ignore[no-untyped-call]
        self.limits = limits

    def request(self, request: Any) -> Any:
        """Send ``request``; its response is parsed under the caps."""
        d = super().request(request)
        parser = self._parser
        assert parser is not None
        parser.__class__ = BoundedHTTPClientParser
        parser.limits = self.limits  # type: ignore[attr-defined]
        parser.MAX_LENGTH = self.limits.max_bytes
        return d


class BoundedClientFactory(_LenientHTTP11ClientFactory):
    """Builds ``BoundedHTTP11ClientProtocol``s (an ``HTTPConnectionPool``'s ``_factory``)."""

    limits = HeaderLimits()

    @classmethod
    def with_limits(cls, limits: HeaderLimits) -> type[BoundedClientFactory]:
        """A subclass whose protocols use ``limits``."""
        return type("BoundedClientFactory", (cls,), {"limits": limits})

    def buildProtocol(self, addr: Any) -> BoundedHTTP11ClientProtocol:
        """A protocol with this factory's caps."""
        return BoundedHTTP11ClientProtocol(self._quiescentCallback, self.limits)
