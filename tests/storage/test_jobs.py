"""The job ledger (storage.jobs) on both databases: claims, leases, acks in the capture's transaction."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage import jobs
from storage.checks import checks_of
from storage.models import Capture, JobItem
from storage.records import CheckRecord
from tests.storage.conftest import OpenArchive
from tests.storage.helpers import T0, failed_capture, html_capture

URLS = ["https://example.org/a", "https://example.org/b", "https://example.org/c"]


def _job(archive: object) -> tuple[int, list[jobs.JobItemRecord]]:
    return jobs.create_job(archive.sessions, "capture",  # type: ignore[attr-defined]
                           [(u, {"citation": i}) for i, u in enumerate(URLS)], now=T0, source="test")


def _with_item(capture: object, item: jobs.JobItemRecord) -> object:
    return dataclasses.replace(capture, context=item.message()["context"])  # type: ignore[type-var]


def test_enqueue_claim_and_ack_in_the_capture_transaction(open_archive: OpenArchive) -> None:
    archive = open_archive()
    job_id, items = _job(archive)
    assert [i.status for i in items] == ["queued"] * 3
    assert items[0].message() == {"url": URLS[0], "context": {"citation": 0, "job": job_id,
                                                             "job_item": items[0].id, "attempt": 1}}
    assert jobs.claim(archive.sessions, items[0].id, 1, "w1", now=T0, lease=60)
    assert jobs.claim(archive.sessions, items[1].id, 1, "w2", now=T0, lease=60)
    [summary] = jobs.list_jobs(archive.sessions, job_id)
    assert summary.to_json()["in_flight"] == 2 and summary.to_json()["queued"] == 1

    records = archive.commit_captures([_with_item(html_capture(URLS[0]), items[0]),
                                       _with_item(failed_capture(URLS[1]), items[1])])
    done = {i.id: i for i in jobs.items_of(archive.sessions, job_id=job_id)}
    assert (done[items[0].id].status, done[items[0].id].capture_id) == ("done", records[0].id)
    assert (done[items[1].id].status, done[items[1].id].capture_id) == ("failed", records[1].id)
    assert done[items[1].id].outcome == "failed" and done[items[2].id].status == "queued"
    # an answered item is not claimed again (a stale copy of its request is dropped)
    assert not jobs.claim(archive.sessions, items[0].id, 1, "w3", now=T0, lease=60)
    assert not jobs.list_jobs(archive.sessions, job_id)[0].finished
    assert [i.id for i in jobs.items_of(archive.sessions, job_id=job_id, answered=True)] == [
        items[0].id, items[1].id]


def test_a_capture_of_an_unknown_item_acks_nothing(open_archive: OpenArchive) -> None:
    archive = open_archive()
    _, items = _job(archive)
    jobs.claim(archive.sessions, items[0].id, 1, "w1", now=T0, lease=60)
    with archive.sessions() as session:
        archive.commit_captures([dataclasses.replace(html_capture(URLS[2]),
                                                     context={"job_item": 999_999, "attempt": 1})])
        assert session.scalar(select(JobItem.status).where(JobItem.id == items[0].id)) == "claimed"
        assert session.scalar(select(Capture.id).where(Capture.url == URLS[2])) is not None


def test_reaper_requeues_expired_leases_and_stale_attempts_are_refused(open_archive: OpenArchive) -> None:
    archive = open_archive()
    _, items = _job(archive)
    assert jobs.claim(archive.sessions, items[0].id, 1, "dead", now=T0, lease=30)
    assert jobs.claim(archive.sessions, items[1].id, 1, "alive", now=T0, lease=300)
    assert jobs.reap(archive.sessions, now=T0 + timedelta(seconds=10)) == []
    reaped = jobs.reap(archive.sessions, now=T0 + timedelta(seconds=31))
    assert [(i.id, i.attempt, i.status, i.worker) for i in reaped] == [(items[0].id, 2, "queued", None)]
    assert reaped[0].message()["context"]["attempt"] == 2
    # a second reaper finds nothing more to do
    assert jobs.reap(archive.sessions, now=T0 + timedelta(seconds=31)) == []
    # the dead worker's copy (attempt 1) cannot be claimed; the re-enqueued attempt can
    assert not jobs.claim(archive.sessions, items[0].id, 1, "w", now=T0, lease=30)
    assert jobs.claim(archive.sessions, items[0].id, 2, "w", now=T0, lease=30)
    # both attempts answer: the first commit wins, both rows stay
    first = archive.commit_captures([_with_item(html_capture(URLS[0], body=b"<p>one</p>"), items[0])])
    archive.commit_captures([_with_item(html_capture(URLS[0], body=b"<p>two</p>"), reaped[0])])
    [item] = jobs.items_of(archive.sessions, ids=[items[0].id])
    assert item.capture_id == first[0].id and item.status == "done"
    with archive.sessions() as session:
        assert len(session.scalars(select(Capture.id).where(Capture.url == URLS[0])).all()) == 2


def test_reaper_requeues_items_lost_before_a_claim_only_when_asked(open_archive: OpenArchive) -> None:
    archive = open_archive()
    _, items = _job(archive)
    later = T0 + timedelta(seconds=600)
    assert jobs.reap(archive.sessions, now=later) == []
    reaped = jobs.reap(archive.sessions, now=later, queued_before=T0 + timedelta(seconds=1))
    assert sorted(i.id for i in reaped) == sorted(i.id for i in items)
    assert {i.attempt for i in reaped} == {2}


def test_claim_many_takes_the_wanted_attempts_in_one_statement(open_archive: OpenArchive) -> None:
    archive = open_archive()
    _, items = _job(archive)
    a, b, c = (i.id for i in items)
    assert jobs.claim(archive.sessions, c, 1, "other", now=T0, lease=30)
    archive.commit_captures([_with_item(html_capture(URLS[2]), items[2])])  # c is answered
    held = jobs.claim_many(archive.sessions, [(a, 1), (b, 7), (c, 1)], "w", now=T0, lease=30)
    assert held == {(a, 1)}  # b: no such attempt; c: answered
    [item] = jobs.items_of(archive.sessions, ids=[a])
    assert (item.status, item.worker, item.lease_until) == ("claimed", "w", T0 + timedelta(seconds=30))
    assert jobs.claim_many(archive.sessions, [], "w", now=T0, lease=30) == set()


def test_renew_extends_the_claims_still_held_and_nothing_else(open_archive: OpenArchive) -> None:
    archive = open_archive()
    _, items = _job(archive)
    a, b, c = (i.id for i in items)
    assert jobs.claim_many(archive.sessions, [(a, 1), (b, 1), (c, 1)], "w1", now=T0, lease=30)
    archive.commit_captures([_with_item(html_capture(URLS[2]), items[2])])  # c is answered
    later = T0 + timedelta(seconds=20)
    # (b, 7): no such attempt; c answered: neither is touched
    renewed = jobs.renew(archive.sessions, [(a, 1), (b, 7), (c, 1)], now=later, lease=30)
    assert renewed == {(a, 1)}
    held = {i.id: i for i in jobs.items_of(archive.sessions, job_id=items[0].job_id)}
    assert (held[a].status, held[a].worker, held[a].lease_until) == (
        "claimed", "w1", later + timedelta(seconds=30))
    assert held[b].lease_until == T0 + timedelta(seconds=30) and held[c].status == "done"
    # past the first lease only b, never renewed, goes back on the queue
    assert [(i.id, i.attempt) for i in jobs.reap(archive.sessions, now=T0 + timedelta(seconds=31))] == [
        (b, 2)]
    # a re-enqueued attempt is not renewed by the holder of the old one
    assert jobs.renew(archive.sessions, [(b, 1)], now=later, lease=30) == set()
    assert jobs.renew(archive.sessions, [], now=later, lease=30) == set()


def test_job_summary_counts_and_json(open_archive: OpenArchive) -> None:
    archive = open_archive()
    first, _ = _job(archive)
    second, items = jobs.create_job(archive.sessions, "check", [(URLS[0], None)], now=T0)
    listed = jobs.list_jobs(archive.sessions)
    assert [j.id for j in listed] == [second, first]
    archive.commit_captures([_with_item(html_capture(URLS[0]), items[0])])
    [summary] = jobs.list_jobs(archive.sessions, second)
    assert summary.finished and summary.to_json() == {
        "id": second, "kind": "check", "created_at": "2024-05-01T12:00:00.250000Z", "source": None,
        "queued": 0, "in_flight": 0, "done": 1, "failed": 0, "total": 1, "finished": True,
        "stage": None}
    assert jobs.items_of(archive.sessions, job_id=second)[0].to_json()["finished_at"] is not None


def test_verdicts_stored_early_are_not_stored_again_by_the_final_store(open_archive: OpenArchive) -> None:
    archive = open_archive()
    job_id, items = jobs.create_job(archive.sessions, "check", [(u, {"check": True}) for u in URLS[:2]],
                                    now=T0, stage=jobs.FETCHING)
    first, second = items

    def check(url: str, status: str) -> CheckRecord:
        return CheckRecord(url=url, checked_at=T0, capture_id=None, baseline_id=None, status=status)

    def line(url: str, status: str) -> list[dict[str, Any]]:
        return [{"url": url, "status": status}]

    early = jobs.record_verdicts(archive.sessions, job_id, stage=jobs.FETCHING, final=False,
                                 checks={first.id: [check(URLS[0], "unchanged")]},
                                 verdicts={first.id: line(URLS[0], "unchanged")})
    assert early is not None and [c.url for c in early] == [URLS[0]]
    assert jobs.list_jobs(archive.sessions, job_id)[0].stage == jobs.FETCHING  # not judged yet
    # the final store of a judge that read the items before the early store: the first is skipped
    final = jobs.record_verdicts(archive.sessions, job_id, stage=jobs.FETCHING,
                                 checks={first.id: [check(URLS[0], "changed")],
                                         second.id: [check(URLS[1], "gone")]},
                                 verdicts={first.id: line(URLS[0], "changed"),
                                           second.id: line(URLS[1], "gone")})
    assert final is not None and [c.url for c in final] == [URLS[1]]
    assert jobs.list_jobs(archive.sessions, job_id)[0].stage == jobs.JUDGED
    stored = {i.url: i.verdicts for i in jobs.items_of(archive.sessions, job_id=job_id, judged=True)}
    assert stored == {URLS[0]: line(URLS[0], "unchanged"), URLS[1]: line(URLS[1], "gone")}
    assert [[c.status for c in checks_of(archive.sessions, u)] for u in URLS[:2]] == [["unchanged"], ["gone"]]
    # and nothing more once the job moved on
    assert jobs.record_verdicts(archive.sessions, job_id, stage=jobs.FETCHING, final=False, checks={},
                                verdicts={second.id: line(URLS[1], "changed")}) is None
