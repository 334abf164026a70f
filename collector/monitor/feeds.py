"""Feed monitoring: add feeds, poll them (conditional GET), record new entries, capture the articles.

A poll fetches every feed document through Scrapy (``collector.monitor.feedcrawl``: one capture row and WARC
records per attempt, ``304 Not Modified`` included), parses the archived bytes with feedparser, stores
the entries not seen before (GUID, then canonical link, then normalized title within the feed and
day), matches keywords on title, summary and feed content, and captures the articles of the matching
entries (or all of them with ``--all``). Entries still unmatched are captured too when the feed has
keywords and matches article text: their extracted text is matched afterwards. The polling interval
adapts to how busy the feed is; failing and silent feeds are flagged, never dropped.

A feed the crawl refuses to fetch (``private-address``, ``robots-txt``, ``unsupported-scheme``) is not
failing: the server was never asked, and asking more rarely changes nothing. Its poll is recorded as
``refused`` with the reason, its interval is kept (no back-off), and ``feed list`` shows it ``refused``
until a poll gets through. Each document is parsed in a worker process with memory and time limits
(``collector.monitor.feedworker``), so whatever one feed holds, its poll is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from collector.capture.run import Target, capture_urls, check_url
from collector.config import Config, MonitorConfig
from collector.errors import InputError, NotFoundError
from collector.monitor.feedcrawl import fetch_feeds
from collector.monitor.feedparse import ParsedFeed, discover_feeds
from collector.monitor.feedworker import FeedParserPool
from collector.monitor.keywords import Keyword, find_matches
from collector.workers.queue import enqueue
from storage import feeds as db
from storage import retrieve
from storage.database import connect
from storage.errors import ContentDecodeError, StorageError
from storage.feeds import EntryRecord, FeedRecord, FeedUpdate
from storage.jobs import FETCHING
from storage.queries import captures_by_ids
from storage.timefmt import iso_z

__all__ = ["REFUSED_REASONS", "FeedPollResult", "PollReport", "add_feed", "discover", "feed_status",
           "next_interval", "pause_feed", "poll_feeds"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # the CLI reports problems itself; the daemon logs them
Sessions = Any
# capture reasons that mean the feed was not fetched by choice (ours or the site's), not a failure
REFUSED_REASONS = frozenset({"private-address", "robots-txt", "unsupported-scheme"})


def next_interval(current: float, base: float, *, outcome: str, new_entries: int,
                  settings: MonitorConfig) -> float:
    """The next polling interval: halved for a busy feed, longer for a quiet one, doubled on errors,
    kept when the fetch was refused, always within ``[base * feed_min_factor, base * feed_max_factor]``."""
    if outcome == "refused":
        value = current
    elif outcome == "failed":
        value = current * 2
    elif new_entries >= settings.feed_busy_entries:
        value = current / 2
    elif new_entries > 0:
        value = current
    else:
        value = current * settings.feed_quiet_factor
    return min(max(value, base * settings.feed_min_factor), base * settings.feed_max_factor)


def feed_status(feed: FeedRecord, now: datetime, settings: MonitorConfig) -> str:
    """What the feed's latest polls say: ``never-polled``; ``failing`` (the latest poll failed:
    ``feed.consecutive_failures`` in a row); ``refused`` (the latest fetch was refused, e.g. a private
    address); else ``silent`` (no new entry for long), ``warning`` (the last document was broken) or
    ``ok``."""
    if feed.last_polled_at is None or feed.last_outcome is None:
        return "never-polled"
    if feed.last_outcome == "failed":
        return "failing"
    if feed.last_outcome == "refused":
        return "refused"
    quiet_since = feed.last_new_entry_at or feed.added_at
    if (now - quiet_since).total_seconds() > max(settings.feed_silent_after, 20 * feed.base_interval):
        return "silent"
    return "warning" if feed.warning else "ok"


def _sessions(config: Config) -> Sessions:
    return connect(config.db_url)


def _close(sessions: Sessions) -> None:
    sessions.kw["bind"].dispose()


def add_feed(config: Config, url: str, *, name: str | None = None, keywords: Sequence[Keyword] = (),
             every: float | None = None, capture_all: bool = False, match_text: bool = True,
             now: datetime | None = None) -> FeedRecord:
    """Add a feed to watch (due for polling at once); the name defaults to the URL's host and path."""
    checked = check_url(url)
    if name is None:
        parts = urlsplit(checked)
        name = (parts.netloc + parts.path).rstrip("/")
    if not name.strip():
        raise InputError("the feed name is empty")
    interval = every or config.monitor.feed_interval
    if interval <= 0:
        raise InputError("--every must be positive")
    sessions = _sessions(config)
    try:
        return db.add_feed(sessions, name=name.strip(), url=checked, keywords=[k.text for k in keywords],
                           capture_all=capture_all, match_text=match_text, interval=interval,
                           now=now or datetime.now(UTC))
    except db.DuplicateNameError as exc:
        raise InputError(str(exc)) from exc
    finally:
        _close(sessions)


def pause_feed(config: Config, name: str, paused: bool = True, *, now: datetime | None = None) -> FeedRecord:
    """Pause a feed (the daemon polls it no more; ``feed poll NAME`` still can) or, with
    ``paused=False``, resume it (due at once). NotFoundError for an unknown name."""
    sessions = _sessions(config)
    try:
        record = db.set_feed_paused(sessions, name, paused, now or datetime.now(UTC))
    finally:
        _close(sessions)
    if record is None:
        raise NotFoundError(f"no feed named {name!r} (see `collector feed list`)")
    return record


def discover(config: Config, page_url: str) -> list[dict[str, str | None]]:
    """Capture a page and list the feeds it announces (or the page itself when it is a feed).

    Only what ``feed poll`` reads is offered: RSS, Atom, RDF and JSON Feed links, and a page that is
    itself one of those.
    """
    result = capture_urls(config, [page_url])[0]
    if result["outcome"] != "captured" or not result.get("id"):
        raise NotFoundError(f"{page_url}: the page could not be captured ({result.get('reason')}: "
                            f"{result.get('reason_detail') or ''})")
    sessions = _sessions(config)
    try:
        body, headers, record = _document(config, sessions, result["id"])
    finally:
        _close(sessions)
    final = record.final_url or record.url
    with FeedParserPool(config.monitor) as parser:
        parsed = parser.parse(body, headers, final)
    if parsed.version:
        return [{"url": final, "title": parsed.title, "type": headers.get("content-type")}]
    return discover_feeds(body, final)


def _document(config: Config, sessions: Sessions, capture_id: int) -> tuple[bytes, dict[str, str], Any]:
    """The archived payload of a capture (content-decoded when it can be) with its response headers."""
    record = captures_by_ids(sessions, [capture_id])[0]
    response = retrieve.archived_response(config.warc_dir, record)
    try:
        body = response.decoded(config.max_body_bytes)
    except ContentDecodeError:  # the feed parser may still make sense of it
        body = response.payload
    return body, _by_name(response.headers), record


def _fetched(config: Config, sessions: Sessions, result: dict[str, Any], parser: FeedParserPool
             ) -> tuple[ParsedFeed, dict[str, str]]:
    body, headers, record = _document(config, sessions, result["id"])
    return parser.parse(body, headers, record.final_url or record.url), headers


@dataclass(frozen=True, kw_only=True)
class FeedPollResult:
    """How the poll of one feed went."""

    feed: str
    outcome: str  # fetched | not-modified | failed | refused
    http_status: int | None
    new_entries: int
    interval: float
    capture_id: int | None
    warning: str | None = None
    error: str | None = None
    unchanged: bool = False  # fetched (200), but the same document as the last one read: not parsed


@dataclass(kw_only=True)
class PollReport:
    """Every feed's poll result and every new entry (as printed by ``feed poll --json``), oldest first."""

    feeds: list[FeedPollResult] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    job: int | None = None  # the job of the articles, when they were queued for the capture workers


def _select(sessions: Sessions, names: Sequence[str] | None, due_only: bool, now: datetime
            ) -> list[FeedRecord]:
    if names:
        feeds = []
        for name in names:
            feed = db.get_feed(sessions, name)
            if feed is None:
                raise InputError(f"no feed named {name!r} (see `collector feed list`)")
            feeds.append(feed)
        return feeds
    if not due_only:
        return db.list_feeds(sessions, counts=False)
    claimed = []
    for feed in db.due_feeds(sessions, now):  # claimed so that a concurrent poller skips them
        if db.claim_feed(sessions, feed.id, now, now + timedelta(seconds=feed.interval)):
            claimed.append(feed)
    return claimed


def _targets(feeds: Sequence[FeedRecord]) -> list[Target]:
    by_url: dict[str, list[FeedRecord]] = {}
    for feed in feeds:
        by_url.setdefault(feed.url, []).append(feed)
    targets = []
    for url, group in by_url.items():
        validators = {(f.etag, f.last_modified) for f in group}
        etag, modified = validators.pop() if len(validators) == 1 else (None, None)
        targets.append(Target(url=url, given=url, context={
            "feed": group[0].name, "validators": {"etag": etag, "last_modified": modified}}))
    return targets


def _by_name(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Response headers by lower-cased name (the last of repeated ones)."""
    return {key.lower(): value for key, value in headers}


Wanted = tuple[FeedRecord, EntryRecord, list[str]]
EntryCallback = Callable[[dict[str, Any]], None]


class _Poll:
    """One poll cycle: reads each feed document as soon as it is archived, then captures articles.

    Callbacks run inside the crawl's result loop, where an exception must not escape (the crawl
    child would be left writing to a pipe nobody reads): the first error is kept and raised once the
    crawl is over (``check``).
    """

    def __init__(self, config: Config, sessions: Sessions, feeds: Sequence[FeedRecord], *,
                 settings: MonitorConfig, clock: Callable[[], datetime], capture_all: bool,
                 on_entry: EntryCallback | None, on_feed: Callable[[FeedPollResult], None] | None,
                 parser: FeedParserPool) -> None:
        self.config, self.sessions, self.settings, self.clock = config, sessions, settings, clock
        self.parser = parser
        self.capture_all = capture_all
        self.on_entry, self.on_feed = on_entry, on_feed
        self.by_url: dict[str, list[FeedRecord]] = {}
        for feed in feeds:
            self.by_url.setdefault(feed.url, []).append(feed)
        self.report = PollReport()
        self.updates: list[tuple[int, FeedUpdate]] = []
        self.wanted: dict[int, Wanted] = {}
        self.error: BaseException | None = None

    def _guard(self, func: Callable[[], None]) -> None:
        if self.error is not None:
            return
        try:
            func()
        except Exception as exc:
            self.error = exc

    def check(self) -> None:
        """Raise the first error a callback met."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _emit(self, line: dict[str, Any]) -> None:
        self.report.entries.append(line)
        if self.on_entry:
            self.on_entry(line)

    # -- feeds ---------------------------------------------------------------------------------------
    def fetched(self, result: dict[str, Any]) -> None:
        """One feed document's capture result (from the crawl): read it, store its new entries."""
        self._guard(lambda: self._read(result))

    def _read(self, result: dict[str, Any]) -> None:
        for feed in self.by_url.get(result["url"], []):
            polled, entries, update = _after_fetch(self.config, self.sessions, feed, result,
                                                   self.settings, self.clock(), self.parser)
            self.report.feeds.append(polled)
            self.updates.append((feed.id, update))
            db.add_matches(self.sessions, feed.id,
                           [(e.id, k, f) for e, found in entries for k, f in found], self.clock())
            for entry, found in entries:
                matched = [k for k, _ in found]
                wants = (self.capture_all or feed.capture_all or matched
                         or (feed.keywords and feed.match_text))
                if wants and entry.link:
                    self.wanted[entry.id] = (feed, entry, matched)
                else:
                    self._emit(_line(entry, matched, None))
            if self.on_feed:
                self.on_feed(polled)

    # -- articles ------------------------------------------------------------------------------------
    def articles(self) -> list[Wanted]:
        """The articles to capture: this poll's, and those a crashed poll of these feeds left pending."""
        by_id = {f.id: f for group in self.by_url.values() for f in group}
        wanted = dict(self.wanted)
        for entry in db.pending_entries(self.sessions, list(by_id)):
            if entry.id not in wanted and entry.link:
                wanted[entry.id] = (by_id[entry.feed_id], entry, list(entry.matched))
        return list(wanted.values())

    def capture(self, wanted: list[Wanted]) -> None:
        """Capture the articles; each entry's line is emitted once its article is archived."""
        if not wanted:
            return
        db.set_entry_captures(self.sessions, [(e.id, None, "pending") for _, e, _ in wanted])
        by_key: dict[str, list[Wanted]] = {}
        contexts: dict[str, dict[str, Any]] = {}
        for item in wanted:
            link = item[1].link or ""
            contexts.setdefault(link, {"feed": item[0].name, "feed_entry": item[1].id})
            by_key.setdefault(link, []).append(item)
            try:
                checked = check_url(link)
            except InputError:
                continue
            if checked != link:
                by_key.setdefault(checked, []).append(item)
        done: set[int] = set()

        def captured(result: dict[str, Any]) -> None:
            for item in by_key.get(result.get("url") or "", []):
                if item[1].id not in done:
                    done.add(item[1].id)
                    self._guard(lambda item=item: self._article(item, result))  # type: ignore[misc]

        # keywords are matched in the extracted text: a feed's articles are always extracted
        capture_urls(self.config.replace(extract=True), list(contexts), contexts=contexts,
                     on_result=captured)
        for item in wanted:  # never silently lose an entry
            if item[1].id not in done:
                done.add(item[1].id)
                self._guard(lambda item=item: self._article(  # type: ignore[misc]
                    item, {"outcome": "skipped", "id": None}))

    def enqueue(self, wanted: list[Wanted]) -> None:
        """``dispatch = "queue"``: the articles become a job of kind ``feed`` for the capture workers
        (one item per article URL, the entries it answers in the job's spec). Each entry is ``queued``
        until the worker that captured it (or any other) links it to the capture and matches the
        feed's keywords in its text; its line says ``queued``."""
        if not wanted:
            return
        entries: dict[str, list[int]] = {}
        contexts: dict[str, dict[str, Any]] = {}
        outcomes: list[tuple[int, int | None, str]] = []
        for feed, entry, _ in wanted:
            try:
                url = check_url(entry.link or "")
            except InputError:  # as a local capture: an entry whose link is no URL is skipped
                outcomes.append((entry.id, None, "skipped"))
                continue
            entries.setdefault(url, []).append(entry.id)
            contexts.setdefault(url, {"feed": feed.name, "feed_entry": entry.id})
            outcomes.append((entry.id, None, "queued"))
        db.set_entry_captures(self.sessions, outcomes)  # before the job: a worker may settle at once
        try:
            done = enqueue(self.config, list(entries), contexts=contexts, kind="feed",
                           source="feeds", sessions=self.sessions, spec={"entries": entries},
                           stage=FETCHING)
        except BaseException:  # not queued: the next poll captures them (pending_entries)
            db.set_entry_captures(self.sessions, [(e, None, "pending") for e, _, o in outcomes
                                                  if o == "queued"])
            raise
        self.report.job = done.job_id
        by_entry = {e: o for e, _, o in outcomes}
        for _, entry, matched in wanted:
            self._emit(_line(entry, matched, {"outcome": by_entry[entry.id], "id": None}))

    def _article(self, item: Wanted, result: dict[str, Any]) -> None:
        feed, entry, matched = item
        if not matched:
            found = article_matches(self.config, self.sessions, feed, result.get("id"))
            db.add_matches(self.sessions, feed.id, [(entry.id, k, f) for k, f in found], self.clock())
            matched = [k for k, _ in found]
        db.set_entry_captures(self.sessions, [(entry.id, result.get("id"),
                                               result.get("outcome") or "failed")])
        self._emit(_line(entry, matched, result))


def article_matches(config: Config, sessions: Sessions, feed: FeedRecord,
                    capture_id: int | None) -> list[tuple[str, str]]:
    """The feed's keywords found in the text of its article's capture ``capture_id``: (keyword, field)
    pairs; none for a feed without keywords, a failed capture or one without text."""
    if not feed.keywords or not capture_id:
        return []
    record = captures_by_ids(sessions, [capture_id])[0]
    text = None
    if record.text_file:
        try:
            text = retrieve.capture_text(config.warc_dir, record).get("text")
        except Exception:  # no text: nothing to match, the capture stands
            text = None
    return find_matches([Keyword(k) for k in feed.keywords], {"text": text})


def poll_feeds(config: Config, names: Sequence[str] | None = None, *, capture_all: bool = False,
               due_only: bool = False, on_entry: EntryCallback | None = None,
               on_feed: Callable[[FeedPollResult], None] | None = None,
               on_phase: Callable[[str, int], None] | None = None,
               clock: Callable[[], datetime] | None = None, queue: bool = False) -> PollReport:
    """Poll feeds (named, all, or only those due), record new entries and capture articles (``queue``:
    queue the article captures for the capture workers, who then link each entry to its capture:
    ``collector.workers.feedjobs``).

    Progress is reported as it happens: ``on_phase(name, total)`` starts the ``"feeds"`` phase (every
    feed fetched, conditionally, in one crawl) and the ``"articles"`` phase; ``on_feed`` gets each
    feed's result once its document is read; ``on_entry`` gets each new entry's line as soon as it is
    known (when its feed is read, or when its article capture is done). With either callback, each
    feed is read as soon as its document is archived, while the crawl goes on; without, after the
    crawl. The report lists them all, entries oldest first.
    """
    clock = clock or (lambda: datetime.now(UTC))
    sessions = _sessions(config)
    try:
        feeds = _select(sessions, names, due_only, clock())
        if not feeds:
            return PollReport()
        with FeedParserPool(config.monitor) as parser:
            return _poll(config, sessions, feeds, parser, clock=clock, capture_all=capture_all,
                         on_entry=on_entry, on_feed=on_feed, on_phase=on_phase, queue=queue)
    finally:
        _close(sessions)


def _poll(config: Config, sessions: Sessions, feeds: Sequence[FeedRecord], parser: FeedParserPool, *,
          clock: Callable[[], datetime], capture_all: bool, on_entry: EntryCallback | None,
          on_feed: Callable[[FeedPollResult], None] | None,
          on_phase: Callable[[str, int], None] | None, queue: bool = False) -> PollReport:
    """``poll_feeds``' cycle over the selected feeds, documents parsed by ``parser``."""
    poll = _Poll(config, sessions, feeds, settings=config.monitor, clock=clock, capture_all=capture_all,
                 on_entry=on_entry, on_feed=on_feed, parser=parser)
    if on_phase:
        on_phase("feeds", len(feeds))
    # someone watching (the CLI) sees each feed as soon as it is archived; otherwise (the daemon)
    # the feeds are read after the crawl, which keeps the parent's writes out of the crawl's way
    live = on_entry is not None or on_feed is not None
    try:
        results = fetch_feeds(config, _targets(feeds), on_result=poll.fetched if live else None)
        for result in () if live else results.values():
            poll.fetched(result)
    finally:
        parser.close()  # every document is read: the parser's memory goes back before the articles
        db.record_polls(sessions, poll.updates)  # what was read is on record, whatever happens
    poll.check()
    wanted = poll.articles()
    if on_phase:
        on_phase("articles", len(wanted))
    if queue:
        poll.enqueue(wanted)
    else:
        poll.capture(wanted)
    poll.check()
    poll.report.entries.sort(key=lambda line: line["entry_id"])
    return poll.report


def _after_fetch(config: Config, sessions: Sessions, feed: FeedRecord, result: dict[str, Any],
                 settings: MonitorConfig, when: datetime, parser: FeedParserPool
                 ) -> tuple[FeedPollResult, list[tuple[EntryRecord, list[tuple[str, str]]]], FeedUpdate]:
    status = result.get("http_status")
    new: list[tuple[EntryRecord, list[tuple[str, str]]]] = []
    parsed: ParsedFeed | None = None
    headers: dict[str, str] = {}
    error = None
    unchanged = False
    if result["outcome"] != "captured" or status is None:
        outcome = "refused" if result.get("reason") in REFUSED_REASONS else "failed"
        error = f"{result.get('reason')}: {result.get('reason_detail') or ''}".strip()
    elif status == 304:
        outcome = "not-modified"
    elif status >= 400:
        outcome, error = "failed", f"HTTP {status}"
    else:
        outcome = "fetched"
        try:
            if _same_document(sessions, feed, result):
                unchanged = True  # nothing new in it: keep the validators, read nothing else

                headers = _by_name(retrieve.response_headers(
                    config.warc_dir, captures_by_ids(sessions, [result["id"]])[0]))
            else:
                parsed, headers = _fetched(config, sessions, result, parser)
        except StorageError as exc:  # the archived document cannot be read back
            parsed, outcome, error = None, "failed", f"cannot read the archived feed: {exc}"
        if parsed is not None and parsed.error:
            outcome, error = "failed", parsed.error
        elif parsed is not None and not parsed.is_feed:
            why = parsed.warning or ""
            outcome = "failed"
            error = why if why.startswith("not a feed") else f"not a feed ({why})"
    if parsed is not None and outcome == "fetched":
        keywords = tuple(Keyword(k) for k in feed.keywords)
        # oldest first (feeds list the newest first), so that the first version of a story is kept
        ordered = sorted(reversed(parsed.entries), key=lambda e: e.published or when)
        stored = db.store_entries(sessions, feed, [e.to_new(when.date()) for e in ordered],
                                  now=when, feed_capture_id=result.get("id"))
        by_key = {(e.guid, e.link, e.title): e for e in parsed.entries}
        for entry in stored:
            source = by_key.get((entry.guid, entry.link, entry.title))
            fields = {"title": entry.title, "summary": entry.summary,
                      "content": source.content if source else None}
            new.append((entry, find_matches(keywords, fields) if keywords else []))
        if parsed.warning:
            log.warning("feed.warning", extra={"fields": {"feed": feed.name, "warning": parsed.warning,
                                                          "entries": len(parsed.entries)}})
    interval = next_interval(feed.interval, feed.base_interval, outcome=outcome, new_entries=len(new),
                             settings=settings)
    if outcome == "refused":
        log.warning("feed.refused", extra={"fields": {"feed": feed.name, "error": error}})
    if outcome == "failed":  # an error from feed_failing_after failures in a row on
        failures = feed.consecutive_failures + 1
        level = logging.ERROR if failures >= settings.feed_failing_after else logging.WARNING
        log.log(level, "feed.failed", extra={"fields": {"feed": feed.name, "error": error,
                                                        "failures": failures}})
    warning = feed.warning if unchanged else (parsed.warning if parsed else None)
    update = FeedUpdate(
        polled_at=when, outcome=outcome, http_status=status, capture_id=result.get("id"),
        interval=interval, next_poll_at=when + timedelta(seconds=interval), new_entries=len(new),
        etag=headers.get("etag"), last_modified=headers.get("last-modified"),
        title=parsed.title if parsed else None, warning=warning, error=error)
    return FeedPollResult(feed=feed.name, outcome=outcome, http_status=status, new_entries=len(new),
                          interval=interval, capture_id=result.get("id"), warning=warning, error=error,
                          unchanged=unchanged), new, update


def _same_document(sessions: Sessions, feed: FeedRecord, result: dict[str, Any]) -> bool:
    """True when a fetched document is byte for byte the one this feed's last read document was.

    Servers that ignore conditional GET re-send unchanged feeds; the archive stores them as revisits
    (``revisit_of``), and there is nothing in them that was not stored when they were first read.
    """
    if not result.get("revisit_of") or not result.get("sha256"):
        return False
    return db.last_document_digest(sessions, feed.id) == result["sha256"]


def _line(entry: EntryRecord, matched: Sequence[str], result: dict[str, Any] | None) -> dict[str, Any]:
    captured = bool(result and result.get("outcome") == "captured")
    return {"feed": entry.feed, "title": entry.title, "link": entry.link,
            "published": iso_z(entry.published),
            "matched": list(matched), "captured": captured,
            "outcome": result.get("outcome") if result else "recorded",
            "entry_id": entry.id, "guid": entry.guid, "capture_id": result.get("id") if result else None}
