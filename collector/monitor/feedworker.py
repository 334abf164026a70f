"""Parsing feed documents in a worker process with a memory limit and a time limit.

feedparser builds a dictionary per element and runs its HTML sanitizer over every entry's content; a
document built for it (hundreds of thousands of entries, content made of endless unclosed tags) can
make one parse take gigabytes or minutes. A poll must stay bounded and on record whatever one feed
does, so each document is parsed in a worker process whose address space is capped
(``RLIMIT_AS``: ``monitor.feed_parse_memory``) and whose parse is cut off after
``monitor.feed_parse_timeout`` seconds. A parse that goes over either is a ``parse-error`` of that feed
(its poll row says which); the worker is replaced and the other feeds go on.

The worker is spawned on the first document a poll cycle reads (a poll of ``304`` answers starts
none), and parses the cycle's documents one at a time.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from concurrent.futures import TimeoutError
from types import TracebackType

from pebble import ProcessExpired, ProcessPool

from collector.capture.heap import trim
from collector.config import MonitorConfig
from collector.monitor.feedparse import ParsedFeed, parse_feed

__all__ = ["FeedParserPool", "parse_in_worker"]

MAX_TASKS = 50  # documents a worker parses before it is replaced (its heap starts afresh)


def _limit(memory: int) -> None:
    """Worker start-up: cap the address space (the parent is not affected)."""
    import resource  # lazy: worker start-up only (POSIX)

    if memory > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def parse_in_worker(body: bytes, headers: dict[str, str], url: str, max_bytes: int,
                    max_entries: int) -> ParsedFeed:
    """One document in the worker: ``parse_feed`` with the caps, then a heap trim."""
    try:
        return parse_feed(body, headers, url, max_bytes=max_bytes, max_entries=max_entries)
    finally:
        trim()


def _failed(error: str) -> ParsedFeed:
    return ParsedFeed(title=None, version=None, entries=(), warning=None, error=error[:500])


class FeedParserPool:
    """A worker process that parses feed documents within ``settings``' memory and time limits."""

    def __init__(self, settings: MonitorConfig) -> None:
        self.settings = settings
        self._pool: ProcessPool | None = None

    def __enter__(self) -> FeedParserPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _start(self) -> ProcessPool:
        if self._pool is None:
            memory = int(self.settings.feed_parse_memory * 1024 * 1024)
            self._pool = ProcessPool(max_workers=1, max_tasks=MAX_TASKS, initializer=_limit,
                                     initargs=(memory,), context=multiprocessing.get_context("spawn"))
        return self._pool

    def parse(self, body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
        """Parse one document (see ``parse_feed``); a parse over the limits is a ``parse-error``."""
        settings = self.settings
        future = self._start().schedule(
            parse_in_worker, args=(body, dict(headers), url, settings.feed_max_bytes,
                                   settings.feed_max_entries),
            timeout=settings.feed_parse_timeout or None)
        try:
            result: ParsedFeed = future.result()
            return result
        except TimeoutError:
            return _failed(f"parse-error: parsing took longer than {settings.feed_parse_timeout:g} s "
                           "(monitor.feed_parse_timeout)")
        except MemoryError:
            return _failed(f"parse-error: parsing needed more than {settings.feed_parse_memory:g} MB "
                           "(monitor.feed_parse_memory)")
        except ProcessExpired as exc:
            return _failed(f"parse-error: the parser process died ({exc}); it may have run out of "
                           f"memory (monitor.feed_parse_memory: {settings.feed_parse_memory:g} MB)")
        except Exception as exc:  # the document broke the parser: recorded as this feed's error
            return _failed(f"parse-error: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Stop the worker (if one was started)."""
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None
