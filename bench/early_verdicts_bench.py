"""Check jobs through the queue: how soon verdicts are stored, and what judging costs, before and after
early verdicts (a URL whose verdict needs no probe is judged as soon as its capture is archived).

No workers: each round answers a check job's URLs itself, in batches, by committing capture rows as a
worker's writer does (most the baselines' content again, some failed, some changed), and runs a
finisher pass (``judge_pending``) after each batch, then the final steps (probes, landing counts). The
same steps run on two trees, interleaved round by round in fresh processes: ``--base`` (a worktree of
main, before) and this tree (after). Printed per tree: how many URLs were answered when the first
verdict was stored, the share of verdicts stored before the last URL was answered, the judging's wall
and CPU seconds (the finisher passes and the final steps; and those from the last answer to the job's
end), and the load average.

    git -C /work/main worktree add /tmp/base-h7 main
    COLLECTOR_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      python bench/early_verdicts_bench.py --base /tmp/base-h7 --urls 400 --batch 40 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def child(urls: int, batch: int, db_url: str) -> dict[str, Any]:
    """One round in this process's tree: the figures of one check job judged as a finisher would."""
    import dataclasses
    import inspect
    from datetime import UTC, datetime, timedelta

    from redis import Redis

    from collector.check.run import CheckTarget
    from collector.config import load_config
    from collector.workers import checkjobs
    from collector.workers.queue import QueueKeys
    from storage import jobs
    from storage.archive import Archive
    from tests.storage.helpers import HTML, failed_capture, html_capture

    other = HTML.replace(b"</body>", b"<p>A paragraph that was not there before.</p></body>")
    home = Path(tempfile.mkdtemp(prefix="early-bench-"))
    prefix = f"bench-{uuid.uuid4().hex[:12]}"
    config = load_config({"home": home, "database_url": db_url or f"sqlite:///{home / 'c.db'}",
                          "redis_prefix": prefix})
    server = Redis.from_url(config.redis_url)
    archive = Archive.from_settings(config)
    wanted = [f"https://h{i % 10}.example.org/page/{i}" for i in range(urls)]
    archive.commit_captures([html_capture(u, datetime.now(UTC) - timedelta(days=1)) for u in wanted])
    done = checkjobs.enqueue_checks(config, [CheckTarget(url=u) for u in wanted],
                                    sessions=archive.sessions, server=server, seed=1)
    assert done.job_id is not None
    start = QueueKeys(prefix).start

    def pop() -> list[dict[str, Any]]:
        messages = [json.loads(m) for m in server.lrange(start, 0, -1)]
        server.delete(start)
        return messages

    def answer(message: dict[str, Any], index: int) -> Any:
        at = datetime.now(UTC)
        if message["context"].get("probe"):
            made = html_capture(message["url"], at, body=b"<html><body><p>Not found.</p></body></html>")
        elif index % 10 == 7:
            made = failed_capture(message["url"], at, reason="dns-failure")
        else:
            made = html_capture(message["url"], at, body=other if index % 10 == 3 else HTML)
        return dataclasses.replace(made, context=message["context"])

    deferred: dict[int, set[int]] = {}
    extra = {"deferred": deferred} if "deferred" in inspect.signature(checkjobs.judge_pending).parameters \
        else {}
    messages = pop()
    wall = cpu = end_wall = end_cpu = 0.0
    first_at, stored_early = None, 0
    for offset in range(0, len(messages), batch):
        chunk = messages[offset:offset + batch]
        archive.commit_captures([answer(m, offset + i) for i, m in enumerate(chunk)])
        w0, c0 = time.perf_counter(), time.process_time()
        checkjobs.judge_pending(config, archive.sessions, server, **extra)
        wall, cpu = wall + time.perf_counter() - w0, cpu + time.process_time() - c0
        if offset + len(chunk) >= len(messages):  # the pass after the last answer: the job's end
            end_wall, end_cpu = time.perf_counter() - w0, time.process_time() - c0
        stored = sum(i.verdicts is not None for i in jobs.items_of(archive.sessions, job_id=done.job_id))
        if offset + len(chunk) < len(messages):
            stored_early = stored
        if stored and first_at is None:
            first_at = offset + len(chunk)
    later = datetime.now(UTC) + timedelta(seconds=config.job_lease + 1)
    step = ""
    for _ in range(3):  # the final steps: probes (queued by now or by this step), then the verdicts
        probes = pop()
        if probes:
            archive.commit_captures([answer(m, 0) for m in probes])
        w0, c0 = time.perf_counter(), time.process_time()
        step = checkjobs.judge_job(config, archive.sessions, server, done.job_id, now=later)
        wall, cpu = wall + time.perf_counter() - w0, cpu + time.process_time() - c0
        end_wall, end_cpu = end_wall + time.perf_counter() - w0, end_cpu + time.process_time() - c0
        if step in ("judged", "done"):
            break
    assert jobs.list_jobs(archive.sessions, done.job_id)[0].stage == jobs.JUDGED, step
    items = [i for i in jobs.items_of(archive.sessions, job_id=done.job_id) if i.context.get("check")]
    statuses: dict[str, int] = {}
    for item in items:
        for line in item.verdicts or ():
            statuses[line["status"]] = statuses.get(line["status"], 0) + 1
    archive.close()
    keys = list(server.scan_iter(f"{prefix}:*"))
    if keys:
        server.delete(*keys)
    return {"first_at": first_at or len(messages), "early_share": stored_early / len(items),
            "wall": wall, "cpu": cpu, "end_wall": end_wall, "end_cpu": end_cpu, "statuses": statuses}


def main() -> int:
    """Run the rounds, interleaved, and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--base", required=True, help="a worktree of main (the before)")
    parser.add_argument("--urls", type=int, default=400)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    db_url = os.environ.get("COLLECTOR_TEST_DATABASE_URL", "")
    if args.child:
        print(json.dumps(child(args.urls, args.batch, db_url)))
        return 0
    trees = {"before": Path(args.base).resolve(), "after": ROOT}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree)}
            # this script in both (the child imports collector from PYTHONPATH: the tree's)
            done = subprocess.run([sys.executable, __file__, "--child", "--base", "-", "--urls",
                                   str(args.urls), "--batch", str(args.batch)],
                                  env=env, cwd=tree, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{name}: the round failed\n{done.stderr[-3000:]}")
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{args.urls} URLs on 10 hosts, answered {args.batch} at a time; "
          f"database {'PostgreSQL' if db_url else 'SQLite'}; load average {os.getloadavg()[0]:.1f}")
    for name, rounds in results.items():
        for r in rounds:
            print(f"  {name:6}  first verdict stored after {r['first_at']:4} answered; "
                  f"{r['early_share']:.0%} stored before the last answer; judging {r['wall']:.2f} s wall, "
                  f"{r['cpu']:.2f} s CPU (after the last answer: {r['end_wall']:.2f} s wall, "
                  f"{r['end_cpu']:.2f} s CPU); {r['statuses']}")
    cpu = {name: sum(r["cpu"] for r in rounds) for name, rounds in results.items()}
    end = {name: sum(r["end_cpu"] for r in rounds) for name, rounds in results.items()}
    print(f"  judging CPU after/before: {cpu['after'] / cpu['before']:.2f}x; after the last answer: "
          f"{end['after'] / end['before']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
