"""Checks: re-capture each source, compare it with a baseline capture, and store a verdict.

A check is a capture (same spider, WARC records and rows) plus a comparison. Per host and run, one
probe URL (a random URL shaped like a checked one) is captured too, so a site that answers every
URL with the same page is recognized (soft-404). The verdict logic itself is in ``collector.check.verdict``,
the verdicts of a run are made by ``collector.check.judge``. Each URL is fetched in the mode of its
baseline capture (``collector.check.modes``). This module imports neither storage nor SQLAlchemy at
import: ``run_checks`` starts the crawl process first, and imports them meanwhile (and, when
``browser = "auto"`` can use them, looks up the baselines' modes, which the crawl process waits for
once its own imports are done, before its crawl starts).
"""

from __future__ import annotations

import queue
import random
import string
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from collector.capture.run import check_url, stream_captures
from collector.check.probe import probe_url
from collector.config import Config
from collector.errors import InputError
from collector.inputs import parse_time

if TYPE_CHECKING:
    from storage.records import CheckRecord

__all__ = ["CheckTarget", "baseline_rule", "choose_baseline", "probe_urls", "run_checks"]

PROBE_TRIES = 20  # draws of a probe URL before one below the checked URL is taken

FAILING = ("gone", "soft-404", "unreachable", "server-error", "blocked")


@dataclass(frozen=True)
class CheckTarget:
    """One URL to check, with the citation it belongs to (if any)."""

    url: str
    quotes: tuple[str, ...] = ()
    report: str | None = None
    ref: str | None = None
    access_date: str | None = None  # ISO date the report accessed the source, when known
    extra: dict[str, Any] = field(default_factory=dict)


class _Capture(Protocol):
    """What choosing a baseline reads of a capture (a CaptureRecord, or a light CaptureMode)."""

    @property
    def outcome(self) -> str: ...

    @property
    def http_status(self) -> int | None: ...

    @property
    def captured_at(self) -> datetime: ...


_C = TypeVar("_C", bound=_Capture)


def choose_baseline(captures: Sequence[_C], how: str, at: datetime | None = None) -> _C | None:
    """The baseline among earlier captures: ``first``, ``latest`` or the closest to ``at``."""
    good = [c for c in captures if c.outcome == "captured" and (c.http_status or 0) < 400]
    if not good:
        return None
    if how == "latest":
        return good[-1]
    if how == "time" and at is not None:
        return min(good, key=lambda c: (abs((c.captured_at - at).total_seconds()), c.captured_at))
    return good[0]


def baseline_rule(target: CheckTarget, how: str, at: datetime | None
                  ) -> tuple[str, datetime | None]:
    """(how, at) of ``choose_baseline`` for one target: a citation's access date, when the run asks
    for the ``first`` capture and no time, picks the capture closest to that date."""
    if target.access_date and how == "first" and at is None:
        return "time", parse_time(target.access_date)
    return how, at


def run_checks(config: Config, targets: Sequence[CheckTarget], *, baseline: str = "first",
               at: datetime | None = None, on_result: Any = None,
               seed: int | None = None) -> list[dict[str, Any]]:
    """Check every target; return one verdict dict per target, in target order (and store them).

    The crawl runs in a thread beside this one: baselines are looked up while its process starts,
    and each verdict that the probe cannot change (the page's content is the baseline's, or an
    error status says it all) is made as soon as its capture is in (``on_result`` is called then).
    Once a verdict depends on a probe, a second crawl beside the first fetches one probe per host;
    each waiting verdict is made when its host's probe is in, except for URLs redirected elsewhere,
    judged at the end with how many checked URLs landed on the same page. A run over unchanged
    sources sends no probe at all.
    """
    if not targets:
        raise InputError("nothing to check")
    urls = [check_url(t.url) for t in targets]
    probes = probe_urls(urls, random.Random(seed))
    config = config.replace(retry_times=max(config.retry_times, 2))
    started = datetime.now(UTC)
    wanted = list(dict.fromkeys(urls))
    crawls = _Crawls(config)
    # the crawl process starts first; the baselines' modes, when they matter, are looked up while it
    # starts (storage and SQLAlchemy: ~0.5 s) and handed to it before its crawl starts
    late = _LateModes(config)
    crawls.start(wanted, {u: {"check": True} for u in wanted}, late.modes if late.wanted else {})
    try:
        sessions = late.look_up(targets, urls, how=baseline, at=at)
        # here, once the crawl process is started: storage and SQLAlchemy load (~1 s) while it starts
        from collector.check.judge import Judge  # lazy: after the crawl starts
        from storage.archive import Archive  # lazy: after the crawl starts
        from storage.checks import add_checks  # lazy: after the crawl starts

        archive = (Archive(sessions, config.warc_dir, worker=config.worker_label) if sessions is not None
                   else Archive.open(config.db_url, config.warc_dir, worker=config.worker_label))
    except BaseException:
        crawls.stop()
        raise
    try:
        judge = Judge(config, archive, targets, urls, probes, baseline=baseline, at=at,
                      before=started, on_result=on_result)
        probing = False
        for batch in crawls.batches():
            judge.add(batch)
            if judge.waiting and not probing:  # a verdict depends on a probe: probe every host
                probing = True
                crawls.start(list(probes.values()), {p: {"probe": True} for p in probes.values()},
                             _probe_modes(probes, wanted, late.modes()))
        judge.finish()
        add_checks(archive.sessions, judge.stored)
        if config.ledger:  # the verdicts' ledger entries under a checkpoint now (issue 15)
            from collector.evidence.ledger import checkpoint_after_run  # lazy: cryptography, with a key only

            checkpoint_after_run(archive, config)
    finally:
        crawls.stop()
        archive.close()
    return judge.rows()


class _LateModes:
    """The baselines' modes of a run's URLs (``collector.check.modes``), looked up by the caller's
    thread while the crawl process starts, and waited for by the crawl's thread."""

    def __init__(self, config: Config) -> None:
        # lazy: collector.check.modes imports this module
        from collector.check.modes import follows_baselines

        self.config = config
        self.wanted = follows_baselines(config)  # else the configuration decides every URL's mode
        self._found: Future[dict[str, tuple[str, str]]] = Future()
        if not self.wanted:
            self._found.set_result({})

    def look_up(self, targets: Sequence[CheckTarget], urls: list[str], *, how: str,
                at: datetime | None) -> Any:
        """Look the modes up (when wanted): URL -> (mode, reason); return the database's session
        factory it opened, or None. A failure is the crawl's too (it stops without fetching)."""
        if not self.wanted:
            return None
        try:
            # lazy: only when the baselines' modes matter (storage and SQLAlchemy: ~0.5 s)
            from collector.check.modes import looked_up_modes
            from storage.database import connect

            sessions = connect(self.config.db_url)
            self._found.set_result(looked_up_modes(sessions, targets, urls, how=how, at=at))
        except BaseException as exc:
            self._found.set_exception(exc)
            raise
        return sessions

    def modes(self) -> dict[str, tuple[str, str]]:
        """URL -> (mode, reason), once looked up (waits for ``look_up``)."""
        return self._found.result()


def _probe_modes(probes: dict[str, str], urls: list[str], modes: dict[str, tuple[str, str]]
                 ) -> dict[str, tuple[str, str]]:
    """Each probe in the mode of its host's first checked URL (``probe_urls`` shapes it after that URL):
    a page and its probe are compared like for like."""
    first: dict[str, str] = {}  # probe -> the first checked URL of its host
    for url in urls:
        first.setdefault(probes[urlsplit(url).netloc], url)
    return {probe: modes[url] for probe, url in first.items() if url in modes}


def probe_urls(urls: Sequence[str], rng: random.Random) -> dict[str, str]:
    """One probe URL per host (a random URL shaped like the host's first checked URL), never one of
    the checked URLs: a short last segment (``/a``) can be reshaped into a checked URL (``/b``), and a
    page that exists would be taken for the host's answer to a page that does not."""
    checked = set(urls)
    probes: dict[str, str] = {}
    for url in urls:
        host = urlsplit(url).netloc
        if host not in probes:
            probe = probe_url(url, rng)
            for _ in range(PROBE_TRIES):
                if probe not in checked:
                    break
                probe = probe_url(url, rng)
            else:  # every shape of that segment is checked here: a random segment below it
                below = "".join(rng.choice(string.ascii_lowercase) for _ in range(12))
                probe = url.split("#", 1)[0].split("?", 1)[0].rstrip("/") + "/" + below
            probes[host] = probe
    return probes


_DONE = object()
_Modes = Mapping[str, tuple[str, str]] | Callable[[], Mapping[str, tuple[str, str]]]


class _Crawls:
    """Crawls (``stream_captures``) in background threads; ``batches()`` yields their results as
    they come, until every crawl started (also while iterating) has ended."""

    def __init__(self, config: Config) -> None:
        # a check compares texts: it always extracts, but only the pages that changed (a revisit's
        # text is its original's): its extraction pool starts at the first of those, if any
        self.config = config.replace(extract=True, extract_on_demand=True)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._running = 0

    def start(self, urls: list[str], contexts: dict[str, dict[str, Any]],
              modes: _Modes | None = None) -> None:
        """Start a crawl of ``urls`` (``modes``: URL -> (mode, reason) of those fetched in a set mode,
        or a function that waits for them, called once the crawl process is started)."""
        thread = threading.Thread(target=self._run, args=(urls, contexts, modes), name="check-crawl",
                                  daemon=True)
        self._threads.append(thread)
        self._running += 1
        thread.start()

    def _run(self, urls: list[str], contexts: dict[str, dict[str, Any]],
             modes: _Modes | None) -> None:
        try:
            # a check compares texts: media are downloaded by captures, not again by every check
            stream_captures(self.config.replace(media="never"), urls, on_result=self._queue.put,
                            contexts=contexts, modes=modes)
        except BaseException as exc:  # handed to the caller's thread, raised there
            self._queue.put(_Failure(exc))
        finally:
            self._queue.put(_DONE)

    def batches(self, size: int = 64) -> Iterator[list[dict[str, Any]]]:
        """Lists of results: each waits for one, then takes what else has arrived (up to ``size``)."""
        while self._running:
            batch = [self._queue.get()]
            while len(batch) < size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for item in batch:
                if isinstance(item, _Failure):
                    raise item.exc
            self._running -= sum(1 for item in batch if item is _DONE)
            results = [r for r in batch if r is not _DONE]
            if results:
                yield results

    def stop(self) -> None:
        """Wait for the crawl threads (each ends with its crawl process)."""
        for thread in self._threads:
            thread.join()


@dataclass(frozen=True)
class _Failure:
    exc: BaseException


def source_state(checks: Sequence[CheckRecord], *, min_checks: int = 3, min_hours: float = 24.0
                 ) -> str | None:
    """``dead`` after ``min_checks`` failing checks at least ``min_hours`` apart with no good check
    since; ``suspect`` while fewer; ``ok`` when the latest check is good; None without checks."""
    if not checks:
        return None
    ordered = sorted(checks, key=lambda c: c.checked_at)
    if ordered[-1].status not in FAILING:
        return "ok"
    streak: list[CheckRecord] = []
    for check in reversed(ordered):
        if check.status not in FAILING:
            break
        streak.append(check)
    spaced = 0
    last: datetime | None = None
    for check in reversed(streak):  # oldest first
        if last is None or (check.checked_at - last).total_seconds() >= min_hours * 3600:
            spaced += 1
            last = check.checked_at
    return "dead" if spaced >= min_checks else "suspect"
