"""Checks through the queue (``collector check --queue``): a check job, its fetches by the workers, and
its verdicts, made as a local ``collector check`` makes them.

A check job is a job (``storage.jobs``) of kind ``check`` whose ``spec`` holds what a local run keeps in
memory: the targets (citations, quotes, access dates), the baseline choice and one probe URL per host.
Its items are the checked URLs (context ``check``), fetched by the workers with a check's request
metadata (``spiders.queued``: a check's retries). The verdicts are made **in a worker** (``judge_job``,
run by each worker's finisher thread, ``collector.workers.finisher``):

0. while the job is fetching, a URL whose verdict cannot depend on the probe nor on the other URLs
   (``collector.check.verdict.needs_probe`` is false: an error status or failed fetch, or the
   baseline's content again; a local check decides these as soon as their capture is in too) is judged
   as soon as its capture is archived (and its text extracted): its check rows, ledger entries and
   verdict lines are stored at once, in one transaction (``storage.jobs.record_verdicts``), so
   ``jobs ID --wait`` prints it then (the last URLs answered too: before the job moves to ``probing``
   below). The others wait for the steps below;
1. every checked URL answered (and its text extracted): the ``Judge`` of a local run
   (``collector.check.judge``) takes their capture rows as one batch, the baselines being the URLs'
   captures made before the job was created (the shared database holds them). When a verdict depends
   on a probe, the job moves to stage ``probing`` and gets one probe item per host (a local run probes
   then too, and only then);
2. every probe answered: the probes are the second batch, then the redirects' landing counts, as at the
   end of a local run;
3. the check rows, their ledger entries and the verdict lines of every item not judged early are stored
   in **one transaction that also moves the job to ``judged``** (``storage.jobs.record_verdicts``).

Each store first updates the job's row, and skips an item whose verdicts are already stored: two workers
judging the same job at once store each URL's verdicts once, and a worker killed while judging stores
nothing (another does it at its next pass). Webhooks and Apprise notifications follow from the check
rows, as for a local run (the daemon's notifier reads them).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from collector.capture.extraction import awaits_extraction
from collector.capture.run import check_url
from collector.check.modes import looked_up_modes
from collector.check.run import CheckTarget, probe_urls
from collector.config import Config
from collector.errors import InputError
from collector.inputs import parse_time
from collector.workers.progress import job_summary
from collector.workers.queue import Enqueued, QueueKeys, enqueue, push
from storage import jobs, queries
from storage.database import connect
from storage.jobs import FETCHING, JUDGED, PROBING, JobItemRecord, JobSummary
from storage.timefmt import iso_z

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.orm import Session, sessionmaker

    from collector.check.judge import Judge
    from storage.records import CaptureRecord, CheckRecord

__all__ = ["enqueue_checks", "judge_job", "judge_pending", "wait_for_checks"]

log = logging.getLogger(__name__)


def enqueue_checks(config: Config, targets: Sequence[CheckTarget], *, baseline: str = "first",
                   at: datetime | None = None, source: str | None = None, seed: int | None = None,
                   sessions: sessionmaker[Session] | None = None, server: Redis | None = None) -> Enqueued:
    """Record a check job of ``targets`` and queue its URLs for the workers (the arguments of
    ``collector.check.run.run_checks``); InputError for an invalid URL, as a local check."""
    if not targets:
        raise InputError("nothing to check")
    urls = [check_url(t.url) for t in targets]
    spec = {"targets": [dataclasses.asdict(t) for t in targets], "baseline": baseline,
            "at": iso_z(at) if at is not None else None,
            "probes": probe_urls(urls, random.Random(seed))}
    modes = _baseline_modes(config, targets, urls, how=baseline, at=at, sessions=sessions)
    contexts = {u: {"check": True, **({"mode": modes[u][0], "mode_reason": modes[u][1]}
                                      if u in modes else {})} for u in urls}
    return enqueue(config, urls, contexts=contexts, kind="check",
                   source=source, sessions=sessions, server=server, spec=spec, stage=FETCHING)


def _baseline_modes(config: Config, targets: Sequence[CheckTarget], urls: list[str], *, how: str,
                    at: datetime | None, sessions: sessionmaker[Session] | None
                    ) -> dict[str, tuple[str, str]]:
    """URL -> (mode, reason) of each checked URL's baseline capture, as a local check fetches it
    (``collector.check.modes``), under ``browser = "auto"``; ``always``/``never`` decide without it. A
    worker follows the mode only when its own ``browser`` is ``auto`` (``spiders.queued``)."""
    if config.browser != "auto":
        return {}
    owned = sessions is None
    sessions = sessions or connect(config.db_url)
    try:
        return looked_up_modes(sessions, targets, urls, how=how, at=at)
    finally:
        if owned:
            sessions.kw["bind"].dispose()


def _targets(spec: dict[str, Any]) -> list[CheckTarget]:
    """The check targets a job's ``spec`` holds (``enqueue_checks`` wrote them)."""
    return [CheckTarget(url=t["url"], quotes=tuple(t.get("quotes") or ()), report=t.get("report"),
                        ref=t.get("ref"), access_date=t.get("access_date"), extra=t.get("extra") or {})
            for t in spec["targets"]]


def _captures(sessions: sessionmaker[Session], items: Sequence[JobItemRecord]) -> dict[int, CaptureRecord]:
    """The capture rows of the answered ``items``, by id (one query)."""
    ids = [i.capture_id for i in items if i.capture_id is not None]
    return {r.id: r for r in queries.captures_by_ids(sessions, ids)}


def _results(records: Mapping[int, CaptureRecord], items: Sequence[JobItemRecord]) -> list[dict[str, Any]]:
    """Each answered item's capture row (``records``: by id) as a crawl result line (keyed by the URL
    the job asked for)."""
    results = []
    for item in items:
        record = records.get(item.capture_id) if item.capture_id is not None else None
        line = record.to_json() if record is not None else {
            "url": item.url, "outcome": item.outcome or "failed", "id": None, "reason": "not-attempted"}
        results.append({**line, "url": item.url})
    return results


def _judge(config: Config, sessions: sessionmaker[Session], spec: dict[str, Any], created_at: datetime,
           *, only: set[str] | None = None, skip: set[str] | frozenset[str] = frozenset()) -> Judge:
    """The ``Judge`` of a local run for the job's targets (``only``: those of these URLs), the baselines
    being the captures made before the job; ``skip``: URLs judged already."""
    from collector.check.judge import Judge  # lazy: storage queries and the verdict logic, judges only
    from storage.archive import Archive  # lazy: with the judge

    targets = [t for t in _targets(spec) if only is None or check_url(t.url) in only]
    urls = [check_url(t.url) for t in targets]
    at = parse_time(spec["at"]) if spec.get("at") else None
    archive = Archive(sessions, config.warc_dir, ledger=config.ledger)
    return Judge(config, archive, targets, urls, dict(spec["probes"]), baseline=spec["baseline"], at=at,
                 before=created_at, on_result=None, skip=skip)


def _store(sessions: sessionmaker[Session], job_id: int, judge: Judge, items: Sequence[JobItemRecord], *,
           stage: str, final: bool) -> list[CheckRecord] | None:
    """Store the judge's verdicts of ``items`` (``storage.jobs.record_verdicts``)."""
    lines: dict[str, list[dict[str, Any]]] = {}
    for row in judge.rows():
        lines.setdefault(row["url"], []).append(row)
    checks: dict[str, list[CheckRecord]] = {}
    for check in judge.stored:
        checks.setdefault(check.url, []).append(check)
    return jobs.record_verdicts(sessions, job_id, stage=stage, final=final,
                               checks={i.id: checks.get(i.url, []) for i in items},
                               verdicts={i.id: lines.get(i.url, []) for i in items})


def _decided(judge: Judge, items: Sequence[JobItemRecord]) -> list[JobItemRecord]:
    """Those of ``items`` whose verdicts ``judge`` has made (those that need no probe, before it)."""
    decided = {row["url"] for row in judge.rows()}
    return [i for i in items if i.url in decided]


def judge_early(config: Config, sessions: sessionmaker[Session], job_id: int, spec: dict[str, Any],
                created_at: datetime, items: Sequence[JobItemRecord], *,
                deferred: set[int] | None = None) -> int:
    """Judge and store now the answered ``items`` of a fetching job whose verdicts need no probe (step 0
    of the module docstring); how many items' verdicts were stored. ``deferred``: the items found to need
    the probe, looked at again only in the final step (this function adds to it)."""
    deferred = deferred if deferred is not None else set()
    answered = [i for i in items if i.status not in (jobs.QUEUED, jobs.CLAIMED) and i.verdicts is None
                and i.id not in deferred]
    records = _captures(sessions, answered)
    ready = [i for i in answered
             if not (i.capture_id in records and awaits_extraction(records[i.capture_id]))]
    if not ready:
        return 0
    judge = _judge(config, sessions, spec, created_at, only={i.url for i in ready})
    judge.add(_results(records, ready))
    early = _decided(judge, ready)
    deferred.update({i.id for i in ready} - {i.id for i in early})
    if not early or _store(sessions, job_id, judge, early, stage=FETCHING, final=False) is None:
        return 0
    log.info("check job %d: %d early verdict(s) stored", job_id, len(early))
    return len(early)


def judge_job(config: Config, sessions: sessionmaker[Session], server: Redis, job_id: int, *,
              now: datetime | None = None, deferred: set[int] | None = None) -> str:
    """Take check job ``job_id`` one step: ``waiting`` (items unanswered, or texts not extracted yet;
    the answered items whose verdicts need no probe are judged now: ``judge_early``, with ``deferred``),
    ``probing`` (its probes are queued now), ``judged`` (its verdicts are stored now), ``done`` (they
    were already, or another process moved the job meanwhile)."""
    now = now or datetime.now(UTC)
    found = jobs.job_spec(sessions, job_id)
    if found is None or found[0] != "check" or found[2] not in (FETCHING, PROBING):
        return "done"
    _, spec, stage = found
    assert stage is not None
    summary = job_summary(sessions, job_id)
    if any(summary.counts.get(state, 0) for state in (jobs.QUEUED, jobs.CLAIMED)):
        if stage == FETCHING:
            judge_early(config, sessions, job_id, spec, summary.created_at, jobs.items_of(
                sessions, job_id=job_id, answered=True, judged=False), deferred=deferred)
        return "waiting"
    items = jobs.items_of(sessions, job_id=job_id)
    last = max((i.finished_at for i in items if i.finished_at is not None), default=now)
    # a worker that died between the ack and the text leaves its extraction to its next start: after a
    # lease, judge without the text rather than never
    records = _captures(sessions, items)
    texts_pending = any(awaits_extraction(r) for r in records.values())
    if texts_pending and now - last < timedelta(seconds=config.job_lease):
        if stage == FETCHING:
            judge_early(config, sessions, job_id, spec, summary.created_at, items, deferred=deferred)
        return "waiting"
    checked = [i for i in items if i.context.get("check")]
    probed = [i for i in items if i.context.get("probe")]
    judge = _judge(config, sessions, spec, summary.created_at,
                   skip={i.url for i in checked if i.verdicts is not None})
    judge.add(_results(records, checked))
    if judge.waiting and stage == FETCHING:  # a verdict depends on a probe: probe every host
        # the verdicts made without it are stored now (step 0), not after every host's probe
        early = _decided(judge, [i for i in checked if i.verdicts is None])
        if early and _store(sessions, job_id, judge, early, stage=FETCHING, final=False) is None:
            return "done"
        probes = [(p, {"probe": True}) for p in spec["probes"].values()]
        added = jobs.add_stage_items(sessions, job_id, stage=FETCHING, new_stage=PROBING, targets=probes,
                                     now=now)
        if added is None:
            return "done"
        push(server, QueueKeys(config.redis_prefix), added)
        return "probing"
    if probed:
        judge.add(_results(records, probed))
    judge.finish()
    stored = _store(sessions, job_id, judge, [i for i in checked if i.verdicts is None], stage=stage,
                    final=True)
    if stored is None:
        return "done"
    log.info("check job %d: %d verdict(s) stored", job_id, len(stored))
    if config.ledger:  # the verdicts' ledger entries under a checkpoint now, as after a local check
        from collector.evidence.ledger import checkpoint_after_run  # lazy: cryptography, with a key only

        checkpoint_after_run(judge.archive, config)
    return "judged"


def judge_pending(config: Config, sessions: sessionmaker[Session], server: Redis, *,
                  deferred: dict[int, set[int]] | None = None) -> int:
    """``judge_job`` for every check job whose items are all answered, or that has answered items
    without verdicts; how many moved on. ``deferred``: job -> its items known to wait for the probe
    (kept by the caller from one pass to the next, so they are not judged early again and again)."""
    moved = 0
    pending = jobs.check_jobs_to_judge(sessions)
    if deferred is not None:
        for gone in set(deferred) - set(pending):
            del deferred[gone]
    for job_id in pending:
        try:
            moved += judge_job(config, sessions, server, job_id, deferred=None if deferred is None
                               else deferred.setdefault(job_id, set())) in ("probing", "judged")
        except Exception:  # one job's failure must not stop the others (nor the worker)
            log.exception("check job %d: judging failed (tried again at the next pass)", job_id)
    return moved


def wait_for_checks(sessions: sessionmaker[Session], job_id: int, *,
                    on_result: Callable[[dict[str, Any]], None], poll: float = 0.5,
                    sleep: Callable[[float], None] = time.sleep) -> JobSummary:
    """Pass each URL's verdict lines to ``on_result`` as they are stored (the lines of a local
    ``check --json``, with ``job`` and ``job_item``; those stored together in the order of the targets),
    until check job ``job_id`` is judged."""
    shown: set[int] = set()
    while True:
        summary = job_summary(sessions, job_id)
        if summary.stage is None:
            raise InputError(f"job {job_id} is a {summary.kind} job, not a check job")
        for item in jobs.items_of(sessions, job_id=job_id, judged=True):
            if item.id not in shown:
                shown.add(item.id)
                for line in item.verdicts or ():
                    on_result({**line, "job": job_id, "job_item": item.id})
        if summary.stage == JUDGED:  # read before the items: they had all their verdicts
            return summary
        sleep(poll)

