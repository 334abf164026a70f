"""robots.txt middleware that answers every waiting request with the parsed rules.

Scrapy's RobotsTxtMiddleware lets the requests that arrive while robots.txt is being fetched wait on
one shared Deferred through ``asFuture``, which consumes the result: the first waiter gets the
parser, later ones get ``None`` and are let through. This subclass gives each waiter its own
Deferred fed from the shared one, so a page disallowed by robots.txt is never fetched.

Only the first ``ROBOTS_MAX_BYTES`` (500 KiB, Google's limit) of a robots.txt are parsed, up to its
last full line there: a 40 MB robots.txt drove the parser (Protego) past 2.7 GB.

:class:`SubresourceRobots` applies the same rules to the requests a browser page makes on its own
(scripts, images, XHR), which never pass Scrapy's middlewares: a crawl that obeys robots.txt obeys it
for them too, as for the page requisites of a plain capture. It asks the crawl's middleware, so each
host's robots.txt is fetched once per crawl and shared with the plain requests.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from spiders.outcomes import REASONS

if TYPE_CHECKING:
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

__all__ = ["ROBOTS_MAX_BYTES", "QuietFetchErrors", "RobotsMiddleware", "SubresourceRobots", "robots_head"]

ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"
ROBOTS_MAX_BYTES = 500 * 1024  # as Google: rules past the first 500 KiB are ignored


def robots_head(body: bytes, max_bytes: int = ROBOTS_MAX_BYTES) -> bytes:
    """The part of a robots.txt that is parsed: all of it, or its first ``max_bytes`` bytes up to the
    last line break in them (a rule cut in half is no rule)."""
    if len(body) <= max_bytes:
        return body
    head = body[:max_bytes]
    end = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return head[:end + 1] if end >= 0 else head


class QuietFetchErrors(logging.Filter):
    """Turns "Error downloading .../robots.txt" records into one DEBUG line without a traceback.

    A host that cannot be reached (dead domains are this tool's main case) is recorded once, as the
    capture's outcome; Scrapy's robots.txt middleware would also print a 45-60 line traceback for it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for an error record with a traceback (logged again at DEBUG, message only)."""
        if record.levelno >= logging.ERROR and record.exc_info:
            logging.getLogger(record.name).debug("robots.txt not fetched: %s", record.getMessage())
            return False
        return True


class RobotsMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware with a fan-out of the parsed rules to every waiting request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        robots_log = logging.getLogger(ROBOTS_LOGGER)
        if not any(isinstance(f, QuietFetchErrors) for f in robots_log.filters):
            robots_log.addFilter(QuietFetchErrors())

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """The parser of the request's host (fetched once per host)."""
        shared = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(shared, Deferred):
            waiter: Deferred[Any] = Deferred()

            def relay(result: Any) -> Any:
                waiter.callback(result)
                return result

            shared.addBoth(relay)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        """Scrapy's, given at most the first ``ROBOTS_MAX_BYTES`` of the body."""
        if len(response.body) > ROBOTS_MAX_BYTES:
            response = response.replace(body=robots_head(response.body))
        await super()._parse_robots(response, netloc, request)


class SubresourceRobots:
    """robots.txt for a browser page's own requests, through the crawl's robots.txt middleware (its
    per-host cache: one robots.txt fetch per host). A host's parsed rules, once the middleware has
    them, are kept here by ``netloc`` as the middleware keys them: a page's sub-resources are then
    checked without a Scrapy request and a deferred each."""

    def __init__(self, middleware: RobotsTxtMiddleware, user_agent: str | None) -> None:
        self.middleware = middleware
        self.user_agent = user_agent or "*"
        self._parsers: dict[str, Any] = {}

    async def refusal(self, url: str) -> str | None:
        """Why robots.txt forbids ``url`` (None: it allows it, or has no rules for it)."""
        netloc = urlsplit(url).netloc
        parser = self._parsers.get(netloc)
        if parser is None:
            request = Request(url)
            parser = await self.middleware.robot_parser(request)
            if parser is not None and urlparse_cached(request).netloc == netloc:
                self._parsers[netloc] = parser
        if parser is None or parser.allowed(url, self.user_agent):
            return None
        return REASONS["robots-txt"]
