"""Checks: re-capture each source, compare it with a baseline capture, and store a verdict.

A check is a capture (same spider, WARC records and rows) plus a comparison. Per host and run, one
probe URL (a random URL shaped like a checked one) is captured too, so a site that answers every
URL with the same page is recognized (soft-404). The verdict logic itself is in ``collector.verdict``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from collector.capture import capture_urls, check_url
from collector.config import Config
from collector.errors import InputError
from collector.quotes import find_quote
from storage.canonical import url_key
from storage.records import CaptureRecord, CheckRecord

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
    from collector.verdict import Observation

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
    from storage import retrieve
    from storage.errors import StorageError

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
    """Check every target; return one verdict dict per target (and store it)."""
    from collector.verdict import decide, probe_url
    from storage.archive import Archive
    from storage.checks import add_checks
    from storage.queries import captures_by_ids, snapshots_of

    if not targets:
        raise InputError("nothing to check")
    urls = [check_url(t.url) for t in targets]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        before = snapshots_of(archive.sessions, urls)
    finally:
        archive.close()
    rng = random.Random(seed)
    probes: dict[str, str] = {}
    for url in urls:
        host = urlsplit(url).netloc
        if host not in probes:
            probes[host] = probe_url(url, rng)
    contexts = {u: {"check": True} for u in urls}
    contexts.update({p: {"probe": True} for p in probes.values()})
    config = config.replace(retry_times=max(config.retry_times, 2))
    wanted = list(dict.fromkeys(urls + list(probes.values())))
    results = {r["url"]: r for r in capture_urls(config, wanted, contexts=contexts)}
    checked_at = datetime.now(UTC)  # the verdict is made now, after every capture of the run
    landing = Counter(url_key(r["final_url"]) for u, r in results.items()
                      if u in contexts and contexts[u].get("check") and r.get("final_url"))
    archive = Archive.open(config.db_url, config.warc_dir)
    out: list[dict[str, Any]] = []
    stored: list[CheckRecord] = []
    texts: dict[tuple[str, int], str | None] = {}
    try:
        ids = [r["id"] for r in results.values() if r.get("id")]
        records = {r.id: r for r in captures_by_ids(archive.sessions, ids)}
        for target, url in zip(targets, urls, strict=True):
            result = results.get(url)
            if result is None:
                continue
            current = records.get(result.get("id") or -1)
            when = at
            how = baseline
            if target.access_date and baseline == "first" and at is None:
                from collector.timeparse import parse_time

                when, how = parse_time(target.access_date), "time"
            base = choose_baseline(before[url], how, when)
            probe_result = results.get(probes[urlsplit(url).netloc])
            probe_record = records.get((probe_result or {}).get("id") or -1)
            current_text = _text(config, current, texts)
            base_text = _text(config, base, texts)
            verdict = decide(
                _observation(base, base_text),
                _observation(current or result, current_text),
                probe=_observation(probe_record or probe_result, _text(config, probe_record, texts)),
                landing_counts=landing,
            )
            quotes = []
            for quote in target.quotes:
                archived = find_quote(quote, base_text) if base_text is not None else None
                live = find_quote(quote, current_text) if current_text is not None else None
                quotes.append({"text": quote,
                               "archived": archived.found if archived else None,
                               "live": live.found if live else None,
                               "live_offset": live.offset if live and live.found else None,
                               "live_similarity": live.similarity if live else None,
                               "closest": live.closest if live and not live.found else None})
            check = CheckRecord(
                url=url, checked_at=checked_at, capture_id=current.id if current else None,
                baseline_id=base.id if base else None, probe_id=probe_record.id if probe_record else None,
                status=verdict.status, similarity=verdict.similarity, redirected=verdict.redirected,
                http_status=result.get("http_status"), final_url=result.get("final_url"),
                sha256=result.get("sha256"), text_sha256=result.get("text_sha256"),
                signals=tuple(verdict.signals), quotes=tuple(quotes), report=target.report,
                ref=target.ref)
            stored.append(check)
            row = {
                "url": url, "status": verdict.status, "http_status": result.get("http_status"),
                "final_url": result.get("final_url"), "redirected": verdict.redirected,
                "similarity": verdict.similarity, "quotes": quotes,
                "baseline_captured_at": base.to_json()["captured_at"] if base else None,
                "checked_at": checked_at.isoformat().replace("+00:00", "Z"),
                "captured_at": result.get("captured_at"),
                "sha256": result.get("sha256"), "text_sha256": result.get("text_sha256"),
                "signals": list(verdict.signals), "diff": verdict.diff,
                "report": target.report, "ref": target.ref,
                "capture_id": current.id if current else None,
                "baseline_id": base.id if base else None,
                "outcome": result.get("outcome"), "reason": result.get("reason"),
            }
            out.append(row)
            if on_result:
                on_result(row)
        add_checks(archive.sessions, stored)
    finally:
        archive.close()
    return out


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
