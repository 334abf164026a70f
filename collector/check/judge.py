"""The verdicts of a check run: each target's capture compared with its baseline (and its host's
probe), made as soon as what it depends on is in, and stored.

Imported by ``collector.check.run`` once the crawl process is started: this module's imports
(storage, SQLAlchemy, the URL canonicalizer: ~1 s) overlap the crawl's start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from collector.capture.extraction import is_html
from collector.check.ignore import filter_text, summarize
from collector.check.quotes import find_quote
from collector.check.run import CheckTarget, baseline_rule, choose_baseline
from collector.check.verdict import Observation, decide, needs_probe
from collector.config import Config
from storage import retrieve
from storage.canonical import url_key
from storage.errors import StorageError
from storage.ignorerules import IgnoreRuleRecord, rules_for
from storage.queries import captures_by_ids, snapshots_of
from storage.records import CaptureRecord, CheckRecord
from storage.timefmt import iso_z

__all__ = ["Judge"]


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


class Judge:
    """Makes each target's verdict once what it depends on has arrived."""

    def __init__(self, config: Config, archive: Any, targets: Sequence[CheckTarget],
                 urls: list[str], probes: dict[str, str], *, baseline: str, at: datetime | None,
                 before: datetime, on_result: Any, skip: set[str] | frozenset[str] = frozenset()) -> None:
        """``skip``: URLs not to judge (judged already elsewhere); their results still count for the
        redirects' landing counts."""
        self.skip = skip
        self.config, self.archive, self.targets, self.urls = config, archive, targets, urls
        self.probes, self.baseline, self.at, self.on_result = probes, baseline, at, on_result
        # the captures made before this run (the crawl may already be committing new ones)
        judged = [u for u in urls if u not in skip]
        self.before = {u: [c for c in found if c.captured_at < before]
                       for u, found in snapshots_of(archive.sessions, judged).items()}
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
        self.rules = rules_for(archive.sessions, judged, [t.report for t, u in zip(targets, urls, strict=True)
                                                          if u not in skip])
        self.html: dict[int, bytes | None] = {}

    def add(self, batch: list[dict[str, Any]]) -> None:
        """Take a batch of crawl results; decide every target that can be decided now: those the
        probe cannot change, and those whose host's probe is in (unless redirected elsewhere:
        those wait for the landing counts at the end)."""
        fresh, released = [], []
        for result in batch:
            url = result["url"]
            self.results[url] = result
            if url in self.by_url and url not in self.skip:
                fresh.append(url)
            host = self.probe_hosts.get(url)
            if host is not None:
                waiting = self.waiting.pop(host, [])
                released += [u for u in waiting if not self._moved(u)]
                kept = [u for u in waiting if self._moved(u)]
                if kept:  # ``waiting`` holds only hosts with a URL still waiting
                    self.waiting[host] = kept
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
        how, when = baseline_rule(self.targets[index], self.baseline, self.at)
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
        base_obs = _observation(base, base_text)
        current_obs = _observation(current or result, current_text)
        probe_obs = _observation(probe_record or probe_result, _text(config, probe_record, self.texts))
        verdict = decide(base_obs, current_obs, probe=probe_obs, landing_counts=landing)
        raw, ignored = None, []
        rules = self.rules.get((url_key(url), target.report), [])
        if rules and base_text is not None and current_text is not None:
            base_filtered, base_spans = filter_text(base_text, rules, self._html(base, rules))
            current_filtered, current_spans = filter_text(current_text, rules, self._html(current, rules))
            ignored = summarize(rules, base_spans, current_spans)
            if ignored:  # the verdict is on the filtered texts; the raw one is kept beside it
                raw = verdict
                verdict = decide(replace(base_obs, text=base_filtered, text_sha256=None),
                                 replace(current_obs, text=current_filtered, text_sha256=None),
                                 probe=probe_obs, landing_counts=landing)
                verdict = replace(verdict, signals=(*verdict.signals, *(
                    f"ignore rule {i['id']} ({i['kind']} {i['pattern']!r}) removed {len(i['removed'])} "
                    f"text(s); raw verdict {raw.status}" for i in ignored)))
        checked_at = datetime.now(UTC)  # after the capture, and after its probe
        quotes = [_quote_status(quote, base_text, current_text) for quote in target.quotes]
        self.stored.append(CheckRecord(
            url=url, checked_at=checked_at, capture_id=current.id if current else None,
            baseline_id=base.id if base else None, probe_id=probe_record.id if probe_record else None,
            status=verdict.status, similarity=verdict.similarity, redirected=verdict.redirected,
            http_status=result.get("http_status"), final_url=result.get("final_url"),
            sha256=result.get("sha256"), text_sha256=result.get("text_sha256"),
            signals=tuple(verdict.signals), quotes=tuple(quotes), report=target.report,
            ref=target.ref, raw_status=raw.status if raw else None,
            raw_similarity=raw.similarity if raw else None,
            ignored_rules=tuple(i["id"] for i in ignored)))
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
            "raw_status": raw.status if raw else None, "raw_similarity": raw.similarity if raw else None,
            "raw_diff": raw.diff if raw else None, "ignored": ignored,
        }
        self.out[index] = row
        if self.on_result:
            self.on_result(row)


    def _html(self, record: CaptureRecord | None, rules: Sequence[IgnoreRuleRecord]) -> bytes | None:
        """The archived HTML of a capture, when a CSS or XPath rule needs it (read once per capture)."""
        if record is None or not is_html(record.content_type) or not any(r.kind in ("css", "xpath")
                                                                          for r in rules):
            return None
        if record.id not in self.html:
            self.html[record.id] = _archived_html(self.config, record)
        return self.html[record.id]


def _archived_html(config: Config, record: CaptureRecord) -> bytes | None:
    """The capture's payload with its Content-Encoding undone; None when it cannot be read."""
    try:
        return retrieve.archived_response(config.warc_dir, record).decoded(config.extract_max_bytes)
    except StorageError:
        return None


def _quote_status(quote: str, base_text: str | None, current_text: str | None) -> dict[str, Any]:
    archived = find_quote(quote, base_text) if base_text is not None else None
    live = find_quote(quote, current_text) if current_text is not None else None
    return {"text": quote,
            "archived": archived.found if archived else None,
            "live": live.found if live else None,
            "live_offset": live.offset if live and live.found else None,
            "live_similarity": live.similarity if live else None,
            "closest": live.closest if live and not live.found else None}
