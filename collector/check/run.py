"""Checks: re-capture each source, compare it with a baseline capture, and store a verdict.

A check is a capture (same spider, WARC records and rows) plus a comparison. Per host and run, one
probe URL (a random URL shaped like a checked one) is captured too, so a site that answers every
URL with the same page is recognized (soft-404). The verdict logic itself is in ``collector.check.verdict``.
"""

from __future__ import annotations

import queue
import random
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from collector.capture.run import check_url, stream_captures
from collector.check.probe import probe_url
from collector.check.quotes import find_quote
from collector.check.verdict import Observation, decide, needs_probe
from collector.config import Config
from collector.errors import InputError
from collector.inputs import parse_time
from storage import retrieve
from storage.archive import Archive
from storage.canonical import url_key
from storage.checks import add_checks
from storage.errors import StorageError
from storage.queries import captures_by_ids, snapshots_of
from storage.records import CaptureRecord, CheckRecord
from storage.timefmt import iso_z

__all__ = ["CheckTarget", "choose_baseline", "run_checks"]

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


def choose_baseline(captures: Sequence[CaptureRecord], how: str,
                    at: datetime | None = None) -> CaptureRecord | None:
    """The baseline among earlier captures: ``first``, ``latest`` or the closest to ``at``."""
    good = [c for c in captures if c.outcome == "captured" and (c.http_status or 0) < 400]
    if not good:
        return None
    if how == "latest":
        return good[-1]
    if how == "time" and at is not None:
        return min(good, key=lambda c: (abs((c.captured_at - at).total_seconds()), c.captured_at))
    return good[0]


def _observation(record: CaptureRecord | dict[str, Any] | None, text: str | None) -> Any:
    if record is None:
        return None
    data = record.to_json() if isinstance(record, CaptureRecord) else record
    chain = tuple((h["url"], h["status"]) for h in data.get("redirect_chain") or [])
    return Observation(
        outcome=data["outcome"], reason=data.get("reason"), http_status=data.get("http_status"),
        url=data["url"], final_url=data.get("final_url"), redirect_chain=chain,
        content_type=data.get("content_type"), sha256=data.get("sha256"), text=text,
        text_sha256=data.get("text_sha256"), title=data.get("title"))


def _text(config: Config, record: CaptureRecord | None,
          cache: dict[tuple[str, int], str | None] | None = None) -> str | None:
    """The extracted text of a capture (a revisit shares its original's text record: read once)."""
    if record is None or record.text_file is None:
        return None
    key = (record.text_file, record.text_offset or 0)
    if cache is not None and key in cache:
        return cache[key]
    try:
        text = retrieve.capture_text(config.warc_dir, record).get("text")
    except StorageError:
        text = None
    if cache is not None:
        cache[key] = text
    return text


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
    probes = _probes(urls, random.Random(seed))
    config = config.replace(retry_times=max(config.retry_times, 2))
    started = datetime.now(UTC)
    wanted = list(dict.fromkeys(urls))
    crawls = _Crawls(config)
    crawls.start(wanted, {u: {"check": True} for u in wanted})
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        judge = _Judge(config, archive, targets, urls, probes, baseline=baseline, at=at,
                       before=started, on_result=on_result)
        probing = False
        for batch in crawls.batches():
            judge.add(batch)
            if judge.waiting and not probing:  # a verdict depends on a probe: probe every host
                probing = True
                crawls.start(list(probes.values()), {p: {"probe": True} for p in probes.values()})
        judge.finish()
        add_checks(archive.sessions, judge.stored)
        if config.ledger:  # the verdicts' ledger entries under a checkpoint now (issue 15)
            from collector.ledger import checkpoint_after_run  # lazy: cryptography, with a key only

            checkpoint_after_run(archive, config)
    finally:
        crawls.stop()
        archive.close()
    return judge.rows()


def _probes(urls: Sequence[str], rng: random.Random) -> dict[str, str]:
    """One probe URL per host (a random URL shaped like the host's first checked URL)."""
    probes: dict[str, str] = {}
    for url in urls:
        host = urlsplit(url).netloc
        if host not in probes:
            probes[host] = probe_url(url, rng)
    return probes


_DONE = object()


class _Crawls:
    """Crawls (``stream_captures``) in background threads; ``batches()`` yields their results as
    they come, until every crawl started (also while iterating) has ended."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._queue: queue.Queue[Any] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._running = 0

    def start(self, urls: list[str], contexts: dict[str, dict[str, Any]]) -> None:
        """Start a crawl of ``urls``."""
        thread = threading.Thread(target=self._run, args=(urls, contexts), name="check-crawl",
                                  daemon=True)
        self._threads.append(thread)
        self._running += 1
        thread.start()

    def _run(self, urls: list[str], contexts: dict[str, dict[str, Any]]) -> None:
        try:
            stream_captures(self.config, urls, on_result=self._queue.put, contexts=contexts)
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


class _Judge:
    """Makes each target's verdict once what it depends on has arrived."""

    def __init__(self, config: Config, archive: Any, targets: Sequence[CheckTarget],
                 urls: list[str], probes: dict[str, str], *, baseline: str, at: datetime | None,
                 before: datetime, on_result: Any) -> None:
        self.config, self.archive, self.targets, self.urls = config, archive, targets, urls
        self.probes, self.baseline, self.at, self.on_result = probes, baseline, at, on_result
        # the captures made before this run (the crawl may already be committing new ones)
        self.before = {u: [c for c in found if c.captured_at < before]
                       for u, found in snapshots_of(archive.sessions, urls).items()}
        self.by_url: dict[str, list[int]] = {}
        for index, url in enumerate(urls):
            self.by_url.setdefault(url, []).append(index)
        self.results: dict[str, dict[str, Any]] = {}
        self.records: dict[int, CaptureRecord] = {}
        self.probe_hosts = {probe: host for host, probe in probes.items()}
        self.waiting: dict[str, list[str]] = {}  # host -> checked URLs waiting for its probe
        self.out: dict[int, dict[str, Any]] = {}
        self.stored: list[CheckRecord] = []
        self.texts: dict[tuple[str, int], str | None] = {}

    def add(self, batch: list[dict[str, Any]]) -> None:
        """Take a batch of crawl results; decide every target that can be decided now: those the
        probe cannot change, and those whose host's probe is in (unless redirected elsewhere:
        those wait for the landing counts at the end)."""
        fresh, released = [], []
        for result in batch:
            url = result["url"]
            self.results[url] = result
            if url in self.by_url:
                fresh.append(url)
            host = self.probe_hosts.get(url)
            if host is not None:
                waiting = self.waiting.get(host, [])
                released += [u for u in waiting if not self._moved(u)]
                self.waiting[host] = [u for u in waiting if self._moved(u)]
        self._load(fresh + released)
        ready = released
        for url in fresh:  # most verdicts (same content, an error status) need no probe
            host = urlsplit(url).netloc
            probed = self.probes[host] in self.results and not self._moved(url)
            if probed or not self._needs_probe(url):
                ready.append(url)
            else:
                self.waiting.setdefault(host, []).append(url)
        self._decide(ready, Counter())

    def _moved(self, url: str) -> bool:
        final = self.results[url].get("final_url")
        return bool(final) and url_key(final) != url_key(url)

    def finish(self) -> None:
        """Decide the verdicts that waited for their probe, with the landing counts of redirects."""
        landing = Counter(url_key(r["final_url"]) for u, r in self.results.items()
                          if u in self.by_url and r.get("final_url"))
        rest = [u for waiting in self.waiting.values() for u in waiting]
        self.waiting = {}
        self._load(rest)
        self._decide(rest, landing)

    def rows(self) -> list[dict[str, Any]]:
        """The verdict rows in target order."""
        return [self.out[i] for i in sorted(self.out)]

    def _probe_of(self, url: str) -> str:
        return self.probes[urlsplit(url).netloc]

    def _load(self, urls: list[str]) -> None:
        """Fetch the capture rows of these URLs' results and of their probes (one query)."""
        results = [self.results.get(u) for u in urls] + [self.results.get(self._probe_of(u))
                                                          for u in urls]
        ids = {r["id"] for r in results if r is not None and r.get("id")} - set(self.records)
        self.records.update((r.id, r) for r in captures_by_ids(self.archive.sessions, list(ids)))

    def _baseline(self, index: int, url: str) -> CaptureRecord | None:
        target = self.targets[index]
        when, how = self.at, self.baseline
        if target.access_date and self.baseline == "first" and self.at is None:
            when, how = parse_time(target.access_date), "time"
        return choose_baseline(self.before[url], how, when)

    def _current(self, url: str) -> tuple[dict[str, Any], CaptureRecord | None, str | None]:
        result = self.results[url]
        current = self.records.get(result.get("id") or -1)
        return result, current, _text(self.config, current, self.texts)

    def _needs_probe(self, url: str) -> bool:
        result, current, text = self._current(url)
        observed = _observation(current or result, text)
        for index in self.by_url[url]:
            base = self._baseline(index, url)
            if needs_probe(_observation(base, _text(self.config, base, self.texts)), observed):
                return True
        return False

    def _decide(self, urls: list[str], landing: Counter[str]) -> None:
        for url in urls:
            for index in self.by_url[url]:
                self._verdict(index, url, landing)

    def _verdict(self, index: int, url: str, landing: Counter[str]) -> None:
        target, config = self.targets[index], self.config
        result, current, current_text = self._current(url)
        base = self._baseline(index, url)
        probe_result = self.results.get(self._probe_of(url))
        probe_record = self.records.get((probe_result or {}).get("id") or -1)
        base_text = _text(config, base, self.texts)
        verdict = decide(
            _observation(base, base_text),
            _observation(current or result, current_text),
            probe=_observation(probe_record or probe_result,
                               _text(config, probe_record, self.texts)),
            landing_counts=landing,
        )
        checked_at = datetime.now(UTC)  # after the capture, and after its probe
        quotes = [_quote_status(quote, base_text, current_text) for quote in target.quotes]
        self.stored.append(CheckRecord(
            url=url, checked_at=checked_at, capture_id=current.id if current else None,
            baseline_id=base.id if base else None, probe_id=probe_record.id if probe_record else None,
            status=verdict.status, similarity=verdict.similarity, redirected=verdict.redirected,
            http_status=result.get("http_status"), final_url=result.get("final_url"),
            sha256=result.get("sha256"), text_sha256=result.get("text_sha256"),
            signals=tuple(verdict.signals), quotes=tuple(quotes), report=target.report,
            ref=target.ref))
        row = {
            "url": url, "status": verdict.status, "http_status": result.get("http_status"),
            "final_url": result.get("final_url"), "redirected": verdict.redirected,
            "similarity": verdict.similarity, "quotes": quotes,
            "baseline_captured_at": base.to_json()["captured_at"] if base else None,
            "checked_at": iso_z(checked_at),
            "captured_at": result.get("captured_at"),
            "sha256": result.get("sha256"), "text_sha256": result.get("text_sha256"),
            "signals": list(verdict.signals), "diff": verdict.diff,
            "report": target.report, "ref": target.ref,
            "capture_id": current.id if current else None,
            "baseline_id": base.id if base else None,
            "outcome": result.get("outcome"), "reason": result.get("reason"),
        }
        self.out[index] = row
        if self.on_result:
            self.on_result(row)


def _quote_status(quote: str, base_text: str | None, current_text: str | None) -> dict[str, Any]:
    archived = find_quote(quote, base_text) if base_text is not None else None
    live = find_quote(quote, current_text) if current_text is not None else None
    return {"text": quote,
            "archived": archived.found if archived else None,
            "live": live.found if live else None,
            "live_offset": live.offset if live and live.found else None,
            "live_similarity": live.similarity if live else None,
            "closest": live.closest if live and not live.found else None}


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
