"""Capturing URLs: validate the input, run the Scrapy crawl in a child process, stream results back.

The crawl runs in a fresh child process for every call (Twisted's reactor cannot be restarted, and a
child keeps memory and threads from leaking into a long-lived caller). Inside the child: the crawl, the
archive writer thread and the extraction worker pool. Each URL's result comes back as one dict as soon
as the URL is archived and, for HTML, extracted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

from collector.capture.browser import profile_setting
from collector.capture.crawlproc import ChildSetup, crawl_context, import_slow_modules
from collector.capture.heap import map_large_blocks
from collector.capture.mediatargets import media_targets
from collector.capture.scrapy_settings import scrapy_settings
from collector.capture.writeproc import WriterLink, describe_run
from collector.config import Config
from collector.errors import CollectorError, InputError

__all__ = ["FALLBACK_REASONS", "LateModes", "Target", "capture_urls", "check_url", "crawl_in_process",
           "crawl_targets", "http_fallback", "http_only", "run_crawl", "stream_captures", "with_modes"]

ALLOWED_SCHEMES = ("http", "https")

# failures of a guessed https URL after which it is tried as http (as browsers do): the server may
# speak only http, or not listen on 443 at all
FALLBACK_REASONS = frozenset({"tls-error", "connection-refused", "connection-lost", "timeout"})


@dataclass(frozen=True)
class Target:
    """One URL to capture, with the text the user gave and why it is fetched."""

    url: str
    given: str
    context: dict[str, Any] | None = None
    mode: str | None = None  # "http" or "browser": fetched so, whatever the browser setting says
    mode_reason: str | None = None  # why that mode (a check: its baseline's)

    def spider_target(self) -> dict[str, Any]:
        """The target as the capture spider takes it (``spiders.capture.CaptureSpider``)."""
        mode = {"mode": self.mode, "mode_reason": self.mode_reason} if self.mode else {}
        return {"url": self.url, "context": self.context, **mode}


# URL -> (mode, reason) of the targets fetched in a set mode, known once the crawl has started
LateModes = Callable[[], Mapping[str, tuple[str, str]]]


def with_modes(targets: list[Target], modes: Mapping[str, tuple[str, str]]) -> list[Target]:
    """``targets`` with the (mode, reason) ``modes`` gives their URLs (the others as they are)."""
    return [dataclasses.replace(t, mode=modes[t.url][0], mode_reason=modes[t.url][1])
            if t.url in modes else t for t in targets]


def http_only(config: Config, targets: list[Target]) -> Config:
    """``config`` for a crawl of ``targets``: under ``browser = "auto"``, a crawl whose every target is
    set to ``http`` mode (a check of pages archived over HTTP) has the settings of ``never``: no
    target can go through the browser (``spiders.capture``), so its handler and Playwright (~0.3 s
    of imports) are not loaded, and plain requests are fetched exactly as they are beside it."""
    if (config.browser == "auto" and not config.browser_profile and targets
            and all(t.mode == "http" for t in targets)):
        return config.replace(browser="never")
    return config


def check_url(given: str) -> str:
    """Validate a URL the user typed; return it ready to fetch or raise InputError naming it.

    A URL without a scheme (``example.com/page``) is taken as https. Only http and https are fetched.
    """
    text = given.strip()
    if not text:
        raise InputError("empty URL")
    if any(ch.isspace() for ch in text) or any(ord(ch) < 32 for ch in text):
        raise InputError(f"{given!r} is not a URL: it contains spaces or control characters")
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if "://" not in text:
        if scheme and scheme.isalpha() and not text.split(":", 1)[1][:1].isdigit():
            raise InputError(f"{given!r}: unsupported scheme {scheme + ':'!r} "
                             "(only http and https are captured)")
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise InputError(f"{given!r}: unsupported scheme {parts.scheme + ':'!r} "
                         "(only http and https are captured)")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{given!r} is not a valid URL: {exc}") from exc
    if not host:
        raise InputError(f"{given!r} is not a valid URL: it has no host")
    if port == 0:
        raise InputError(f"{given!r} is not a valid URL: port 0")
    try:
        host.encode("idna")
    except UnicodeError as exc:
        raise InputError(f"{given!r} is not a valid URL: bad host name {host!r}") from exc
    return text


def skipped_result(given: str, reason: str) -> dict[str, Any]:
    """The result line of an input that was not fetched."""
    return {"url": given, "captured_at": None, "outcome": "skipped", "reason": "invalid-input",
            "reason_detail": reason, "http_status": None, "final_url": None, "sha256": None,
            "text_sha256": None, "warc_file": None, "warc_offset": None}


CAPTURE_SPIDER = "spiders.capture.CaptureSpider"


def crawl_in_process(config: Config, targets: list[Target], emit: Callable[[dict], None],
                     *, run: dict[str, Any] | None = None, spider: str = CAPTURE_SPIDER,
                     extract: bool = True, late_modes: LateModes | None = None) -> None:
    """Run a crawl in this process (the reactor starts and stops here: once per process).

    ``spider`` is the import path of the spider (the capture spider, or the feed spider for feed
    polls); ``extract`` False starts no extraction pool (feed documents are not HTML pages).
    ``late_modes``, if given, is called once the crawl's imports are done, just before it starts:
    (mode, reason) by target URL of the targets fetched in a set mode (the caller looks them up
    while this process starts: ``crawl_targets``).
    """
    map_large_blocks()  # response bodies come and go: give each back when it goes
    run_info, info = describe_run(config, run)
    # the archive is written by a process of its own, forked here (in a thread it would fight the
    # reactor for the GIL: see collector.capture.writeproc), before Scrapy and Twisted are imported: a
    # process spawned for this crawl has not loaded them yet, so the writer neither holds nor
    # copies them
    # pages sizes the extraction pool; none (a writer run to finish pending extractions): unknown
    lock = threading.Lock()  # the writer link's thread and the media sink both send

    def send(result: dict[str, Any]) -> None:
        with lock:
            emit(result)

    writer = WriterLink(config, emit=send, extract=extract, info=info, pages=len(targets) or None,
                        software=f"collector ({config.ua})").start()
    try:
        # here, after the writer is forked: it must not inherit Scrapy and Twisted
        import_slow_modules()  # at the top of the stack, without reading every frame's source
        from scrapy.crawler import CrawlerProcess  # after the fork
        from scrapy.utils.misc import load_object  # after the fork

        from collector.capture.pipeline import (  # after the fork: imports Scrapy
            register_media_sink,
            register_writer,
        )

        if late_modes is not None:
            targets = with_modes(targets, late_modes())
        config = http_only(config, targets)
        if targets:
            process = CrawlerProcess(
                settings=scrapy_settings(config, COLLECTOR_WRITER=register_writer(writer),
                                         COLLECTOR_MEDIA_SINK=register_media_sink(send),
                                         COLLECTOR_RUN=run_info))
            process.crawl(load_object(spider), targets=[t.spider_target() for t in targets])
            process.start()
    except BaseException:
        with contextlib.suppress(Exception):  # the crawl's own failure is the one to report
            writer.close()
        raise
    writer.close()


def _child(config: Config, targets: list[Target], conn: Any, spider: str, extract: bool,
           setup: ChildSetup | None = None, modes_conn: Any = None) -> None:
    done = False
    try:
        if setup is not None:
            setup.apply()
        crawl_in_process(config, targets, lambda result: conn.send(("result", result)),
                         spider=spider, extract=extract,
                         late_modes=None if modes_conn is None else modes_conn.recv)
        conn.send(("done", None))
        done = True
    except BaseException as exc:  # report, never hang the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()
    if done:
        leave()


def leave(code: int = 0) -> NoReturn:
    """End a crawl process that is done: its results are sent, its writer process has archived
    everything and ended, its reactor has stopped. Logs and standard streams are flushed; Python's
    own ending is skipped: it would tear down every module Scrapy, Twisted and Playwright loaded,
    one object at a time (0.1 s idle, up to 0.7 s on a loaded machine, while the caller waits)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream has nothing to flush
            stream.flush()
    os._exit(code)


def capture_urls(
    config: Config,
    urls: Iterable[str],
    *,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Capture every URL; return one result dict per input (skipped, failed or captured).

    Results are also passed to ``on_result`` as they arrive. Invalid inputs are reported as skipped and
    the rest of the batch is captured. ``stream_captures`` does the same without keeping the results.
    """
    results: list[dict[str, Any]] = []

    def keep(result: dict[str, Any]) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    stream_captures(config, urls, on_result=keep, contexts=contexts)
    return results


def stream_captures(
    config: Config,
    urls: Iterable[str],
    *,
    on_result: Callable[[dict[str, Any]], None],
    contexts: dict[str, dict[str, Any]] | None = None,
    on_requisite: Callable[[dict[str, Any]], None] | None = None,
    modes: Mapping[str, tuple[str, str]] | Callable[[], Mapping[str, tuple[str, str]]] | None = None,
) -> Counter[str]:
    """Capture every URL, passing each result to ``on_result`` as it arrives and keeping none of
    them (a batch of any size costs the caller no memory); return the count of each outcome.

    A URL given without a scheme is fetched as https; when that fails at the connection or TLS level
    (``FALLBACK_REASONS``) it is fetched once more as http, after the batch. Both attempts are rows;
    the URL's one result is the http attempt's, with the https one summed up in ``fallback_from``.
    The page requisites captured with the pages, and their media (``collector.capture.media``,
    downloaded after the crawl), are not counted: each one's result (with its ``page_id``) goes to
    ``on_requisite``, if given. ``modes`` (by given URL, like ``contexts``): (mode, reason) of the
    URLs fetched in a set mode (``http`` or ``browser``), whatever the browser setting says; or a
    function that returns them, called once the crawl process is started (it may wait for them: the
    caller looks them up meanwhile) and before its crawl starts.
    """
    outcomes: Counter[str] = Counter()
    # the captured pages (id, URL) and the media they embed, downloaded after the crawl
    pages: list[tuple[int, str]] = []
    embedded: dict[int, list[dict[str, Any]]] = {}

    def count(result: dict[str, Any]) -> None:
        outcomes[str(result["outcome"])] += 1
        if result["outcome"] == "captured" and result.get("id") is not None:
            pages.append((int(result["id"]), str(result.get("final_url") or result["url"])))
        on_result(result)

    def media(found: dict[str, Any]) -> None:
        embedded[int(found["media_of"])] = list(found["media"])

    late = functools.cache(modes) if callable(modes) else None
    set_modes: Mapping[str, tuple[str, str]] = {} if callable(modes) else modes or {}
    targets: list[Target] = []
    seen: set[str] = set()
    fallbacks: dict[str, Target] = {}  # https URL guessed for a scheme-less input -> its http target
    for given in urls:
        try:
            url = check_url(given)
        except InputError as exc:
            count(skipped_result(given, str(exc)))
            continue
        if url in seen:
            continue
        seen.add(url)
        context = (contexts or {}).get(given)
        mode, why = set_modes.get(given, (None, None))
        target = Target(url=url, given=given, context=context, mode=mode, mode_reason=why)
        targets.append(target)
        http = http_fallback(given, url)
        if http is not None:
            fallbacks[url] = dataclasses.replace(target, url=http)

    held: dict[str, dict[str, Any]] = {}  # http URL -> the failed https result it stands in for

    def first(result: dict[str, Any]) -> None:
        retry = fallbacks.get(result["url"])
        if (retry is not None and retry.url not in seen and result["outcome"] == "failed"
                and result.get("reason") in FALLBACK_REASONS):
            held[retry.url] = result
        else:
            count(result)

    givens = {t.url: t.given for t in targets} | {f.url: f.given for f in fallbacks.values()}

    def by_url() -> Mapping[str, tuple[str, str]]:  # the late modes, by target (or fallback) URL
        found = late() if late is not None else {}
        return {url: found[g] for url, g in givens.items() if g in found}

    crawl_targets(config, targets, on_result=first, on_requisite=on_requisite, on_media=media,
                  late_modes=by_url if late is not None else None)
    if held:
        def second(result: dict[str, Any]) -> None:
            failed = held.pop(result["url"], None)
            count({**result, "fallback_from": _attempt(failed)} if failed is not None else result)

        try:
            crawl_targets(config, with_modes([fallbacks[r["url"]] for r in held.values()], by_url()),
                          on_result=second, on_requisite=on_requisite, on_media=media)
        finally:
            for failed in list(held.values()):  # the http attempt never came: report the https one
                count(failed)
    if pages and media_targets(config.media, pages, embedded):
        # here, with media to download: it loads storage (SQLAlchemy) and the SSRF guard (Scrapy),
        # which importing this module must not (check start-up), nor a run without media (~0.5 s)
        from collector.capture.media import capture_media

        capture_media(config, pages, embedded, on_requisite or (lambda _result: None))
    return outcomes


def http_fallback(given: str, url: str) -> str | None:
    """The http URL to try when ``url`` (``check_url(given)``) fails at https, if the scheme was ours:
    ``given`` had none."""
    if "://" in given or not url.startswith("https://"):
        return None
    return "http://" + url.removeprefix("https://")


def _attempt(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result.get(key) for key in ("id", "url", "captured_at", "outcome", "reason",
                                             "reason_detail")}


def run_crawl(config: Config, targets: list[Target], *, spider: str = CAPTURE_SPIDER,
              extract: bool = True, on_result: Callable[[dict[str, Any]], None] | None = None,
              start_method: str = "auto") -> list[dict[str, Any]]:
    """Crawl already-validated targets in a fresh child process; one result dict per target.

    Like ``crawl_targets``, but the results are returned as a list as well.
    """
    results: list[dict[str, Any]] = []

    def keep(result: dict[str, Any]) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    crawl_targets(config, targets, spider=spider, extract=extract, on_result=keep,
                  start_method=start_method)
    return results


def crawl_targets(config: Config, targets: list[Target], *, on_result: Callable[[dict[str, Any]], None],
                  spider: str = CAPTURE_SPIDER, extract: bool = True,
                  start_method: str = "auto",
                  on_requisite: Callable[[dict[str, Any]], None] | None = None,
                  on_media: Callable[[dict[str, Any]], None] | None = None,
                  late_modes: LateModes | None = None) -> None:
    """Crawl already-validated targets in a fresh child process; pass each result to ``on_result``.

    A target the crawl ended without answering gets a ``failed`` result, reason ``not-attempted``.
    The child is forked from a warm fork server or spawned (``start_method``: ``auto`` chooses, see
    ``collector.capture.crawlproc.auto_start_method``; ``forkserver`` or ``spawn`` force one). Only the
    answered URLs are kept here, not the results. A page requisite's result (``page_id`` set) is no
    target's: it goes to ``on_requisite`` (if given), not to ``on_result``; the media a page embeds
    (``{"media_of": page id, "media": [...]}``) to ``on_media``. A login profile (``browser_profile``)
    that does not exist fails here, before any child is started. ``late_modes``: the (mode, reason)
    of targets fetched in a set mode, by URL, asked for once the child is started and sent to it
    (its crawl starts once it has them, after its imports: see ``crawl_in_process``).
    """
    profile_setting(config)
    ctx = crawl_context(start_method)
    receive, send = ctx.Pipe(duplex=False)
    modes_receive, modes_send = ctx.Pipe(duplex=False) if late_modes is not None else (None, None)
    child = ctx.Process(target=_child, name="collector-crawl",
                        args=(config, targets, send, spider, extract, ChildSetup.of_caller(ctx),
                              modes_receive))
    child.start()
    send.close()
    error = None
    answered: set[str] = set()
    try:
        if modes_send is not None and modes_receive is not None:
            modes_receive.close()
            with modes_send:  # a failure to find them closes the pipe: the child stops, unanswered
                modes_send.send(dict(late_modes() if late_modes is not None else {}))
        while True:
            try:
                kind, payload = receive.recv()
            except EOFError:
                child.join()
                error = f"the capture process stopped unexpectedly (exit code {child.exitcode})"
                break
            if kind == "result" and "media_of" in payload:  # a page's embedded media, no attempt
                if on_media is not None:
                    on_media(payload)
            elif kind == "result" and payload.get("page_id") is not None:
                if on_requisite is not None:
                    on_requisite(payload)
            elif kind == "result":
                answered.add(payload["url"])
                on_result(payload)
            elif kind == "error":
                error = payload
                break
            else:
                break
    finally:
        child.join()
        receive.close()
    if error:
        raise CollectorError(f"capture failed: {error}")
    for target in targets:
        if target.url not in answered:  # never silently lose an input
            on_result({**skipped_result(target.url, "the crawl ended without an attempt for this "
                                        "URL (a bug: see the log above)"),
                       "outcome": "failed", "reason": "not-attempted", "id": None})


def now_utc() -> datetime:
    """The current time, UTC, with microseconds."""
    return datetime.now(UTC)
