"""Feed polls with ``dispatch = "queue"``: the daemon reads the feeds, the workers capture the articles.

The design: the daemon (one active at a time, by its lease) still fetches and reads every feed document
itself (``collector.monitor.feeds.poll_feeds(queue=True)``): a poll is one small conditional request,
and the per-feed state it updates (ETag and Last-Modified, the entries seen, the adaptive interval) then
has one writer, as without workers. What costs (the articles: pages, requisites, extraction) is queued
as a job of kind ``feed``: one item per article URL, the entries each answers in the job's ``spec``;
the entries are ``queued`` meanwhile (not ``pending``, which a later poll would capture again).

Each worker's finisher (``collector.workers.finisher``) then settles what is answered, as a local
poll's article step does (``_Poll._article``): an entry that no keyword matched at poll time gets the
feed's keywords matched in its article's extracted text, and is linked to the capture row with its
outcome, in one transaction that moves it from ``queued`` (``storage.feeds.settle_entry``: two workers
never settle one entry twice). A job whose every entry is settled moves to stage ``settled``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from collector.capture.extraction import awaits_extraction
from collector.config import Config
from collector.monitor.feeds import article_matches
from storage import feeds as db
from storage import jobs
from storage.feeds import FeedRecord
from storage.jobs import ANSWERED, FETCHING, SETTLED
from storage.queries import captures_by_ids

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["settle_feed_job", "settle_feed_jobs"]

log = logging.getLogger(__name__)


def settle_feed_job(config: Config, sessions: sessionmaker[Session], job_id: int, *,
                    now: datetime | None = None) -> int:
    """Settle the answered articles of feed job ``job_id`` (those whose text is extracted, or was waited
    for a lease); how many entries were settled now. The job moves to ``settled`` with its last."""
    now = now or datetime.now(UTC)
    found = jobs.job_spec(sessions, job_id)
    if found is None or found[0] != "feed" or found[2] != FETCHING:
        return 0
    entries: dict[str, list[int]] = found[1].get("entries") or {}
    items = jobs.items_of(sessions, job_id=job_id)
    answered = [i for i in items if i.status in ANSWERED]
    wanted = [e for i in answered for e in entries.get(i.url, [])]
    queued = {e.id: e for e in db.entries_of(sessions, ids=wanted, outcome="queued", limit=len(wanted))
              } if wanted else {}
    records = {r.id: r for r in captures_by_ids(
        sessions, [i.capture_id for i in answered if i.capture_id is not None])}
    feeds: dict[str, FeedRecord | None] = {}
    settled = 0
    for item in answered:
        record = records.get(item.capture_id) if item.capture_id is not None else None
        since = now - (item.finished_at or now)
        if record is not None and awaits_extraction(record) and since < timedelta(seconds=config.job_lease):
            continue  # its text is on its way (the writer extracts after the ack)
        for entry_id in entries.get(item.url, []):
            entry = queued.get(entry_id)
            if entry is None:
                continue
            if entry.feed not in feeds:
                feeds[entry.feed] = db.get_feed(sessions, entry.feed)
            feed = feeds[entry.feed]
            found_matches = ([] if entry.matched or feed is None
                             else article_matches(config, sessions, feed, item.capture_id))
            settled += db.settle_entry(sessions, entry_id, capture_id=item.capture_id,
                                       outcome=item.outcome or "failed", matches=found_matches, now=now)
    every = [e for ids in entries.values() for e in ids]
    if len(answered) == len(items) and not db.entries_of(sessions, ids=every, outcome="queued",
                                                           limit=1):
        jobs.add_stage_items(sessions, job_id, stage=FETCHING, new_stage=SETTLED, targets=[], now=now)
    return settled


def settle_feed_jobs(config: Config, sessions: sessionmaker[Session]) -> int:
    """``settle_feed_job`` for every feed job not settled yet; how many entries were settled."""
    settled = 0
    for job_id in jobs.staged_jobs(sessions, "feed", FETCHING):
        try:
            settled += settle_feed_job(config, sessions, job_id)
        except Exception:  # one job's failure must not stop the others (nor the worker)
            log.exception("feed job %d: settling failed (tried again at the next pass)", job_id)
    return settled
