"""Capture workers benchmark (issue 16). Run from the repository root, with PostgreSQL and Redis up:

    .venv/bin/python bench/worker_bench.py [--urls 2000] [--latency 0.05] [--kill-urls 600]

The 2,000-page proxied web of bench/capture_bench.py (pages of the trafilatura-eval corpus, 10 URLs per
host name, reached through ``http_proxy``), extraction off, on a PostgreSQL database of its own and a
Redis key prefix of its own. Phases, each on a fresh database (targets in brackets):

1. ``local``: ``collector capture --no-extract`` of the URLs (its path: ``stream_captures``);
   ``worker1``: one ``collector worker`` already started and idle, the same URLs enqueued, timed from
   the enqueue to the job's end [worker1 >= 0.8x local];
2. the same web answering each response after ``--latency`` seconds: one worker vs two
   [two >= 1.5x one] (``--latency-concurrency C``: each worker with ``--concurrency C``;
   ``--latency-rounds N``: N rounds, one and two workers, and each tree, interleaved in each), with
   the CPU per URL of each role: the workers' crawl processes, their writers, the web, Redis, and the
   PostgreSQL backends of the run's database (on 2 cores, two workers can beat one by as much as
   the second core takes: a crawl process runs on one core, and the other roles share both);
3. three workers on ``--kill-urls`` URLs, one SIGKILLed once a fifth is answered and started again:
   URLs never answered, and URLs without exactly one captured row [0];
4. round trips per captured URL of one worker, in a run of its own (``--count-urls``; MONITOR slows
   Redis): Redis commands on the run's keys as MONITOR sees them (a Lua script is one; its commands
   inside are not),
   SQL statements sent by the worker's processes (SQLAlchemy's before_cursor_execute, counted in every
   process of the worker).

Besides wall time, each run gives the CPU seconds per URL of the process trees (the local capture's;
the workers', from /proc; Redis's apart): on a shared machine wall time is noise, CPU much less so.
``--compare DIR`` measures another checkout's worker (e.g. main's, ``git archive main | tar -x -C DIR``)
in the same run, interleaved with this one's (figures prefixed ``base_``); ``--rounds N`` repeats
phase 1. Pages and media are captured alone (requisites and media off: they reach outside hosts).
Figures are printed and written to bench/out/worker_bench.json, with the load average before each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing as mp
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from capture_bench import CORPUS, ProxySite, make_urls  # noqa: E402  # the same web as the capture bench

OUT = Path(__file__).resolve().parent / "out" / "worker_bench.json"
PG_ADMIN = os.environ.get("COLLECTOR_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COLLECTOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CREATED: list[str] = []  # the databases made, dropped at the end
PREFIXES: list[str] = []  # the Redis key prefixes used, their keys deleted at the end

# counts SQL statements in every process of a worker (the writer is forked from it): the count is
# written to <dir>/<pid> every 10 statements and when the process ends
SQL_COUNTER = r'''
import atexit, os, sys
from multiprocessing import util
from sqlalchemy import event
from sqlalchemy.engine import Engine
_dir = os.environ["BENCH_SQL_COUNT_DIR"]
_n = [0]
def _dump():
    with open(os.path.join(_dir, str(os.getpid())), "w") as fh:
        fh.write(str(_n[0]))
def _count(*_args, **_kwargs):
    _n[0] += 1
    if _n[0] % 10 == 0:
        _dump()
event.listen(Engine, "before_cursor_execute", _count)
atexit.register(_dump)
def _child():
    _n[0] = 0
    util.Finalize(None, _dump, exitpriority=100)
os.register_at_fork(after_in_child=_child)
from collector.cli.main import main
sys.argv[0] = "collector"
main()
'''


# -- the web (own process): capture_bench's site, each answer written ``latency`` seconds late --------
class LateTransport:
    """A transport whose writes happen ``latency`` seconds after they are asked for (in order)."""

    def __init__(self, transport: Any, latency: float) -> None:
        self.transport, self.latency = transport, latency

    def write(self, data: bytes) -> None:
        if self.latency:
            asyncio.get_running_loop().call_later(self.latency, self._write, data)
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        self.transport.close()


class Site(ProxySite):
    """capture_bench's proxy site (corpus pages, robots.txt allowing all), answering late."""

    def __init__(self, pages: list[bytes], latency: float) -> None:
        super().__init__(pages)
        self.latency = latency

    def connection_made(self, transport: Any) -> None:
        self.transport = LateTransport(transport, self.latency)


def serve(files: list[str], latency: float, conn: Any) -> None:
    """Server process: load the pages, send the port, serve until terminated."""
    pages = [gzip.decompress(Path(f).read_bytes()) for f in files]

    async def run() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Site(pages, latency), "127.0.0.1", 0, backlog=2048)
        conn.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(run())


def start_site(files: list[str], latency: float) -> tuple[Any, int]:
    receive, send = mp.get_context("spawn").Pipe(duplex=False)
    proc = mp.get_context("spawn").Process(target=serve, args=(files, latency, send), daemon=True)
    proc.start()
    return proc, receive.recv()


# -- the cluster ------------------------------------------------------------------------------------
class Bench:
    """A fresh database and Redis prefix per phase; worker processes with homes under ``root``."""

    def __init__(self, root: Path, proxy_port: int, start_delay: float, code: Path = ROOT) -> None:
        self.root, self.proxy_port, self.start_delay = root, proxy_port, start_delay
        self.code = code  # the tree whose collector the processes run (PYTHONPATH)
        root.mkdir(parents=True, exist_ok=True)
        self.db_url = ""
        self.prefix = ""
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def fresh(self, name: str) -> None:
        """A new database and prefix for phase ``name``."""
        import sqlalchemy as sa

        db = f"worker_bench_{name}_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        self.db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
        CREATED.append(db)
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        PREFIXES.append(self.prefix)

    def env(self, home: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        env.update({"COLLECTOR_HOME": str(self.root / home), "COLLECTOR_DATABASE_URL": self.db_url,
                    "COLLECTOR_REDIS_URL": REDIS_URL, "COLLECTOR_REDIS_PREFIX": self.prefix,
                    "COLLECTOR_ALLOW_PRIVATE": "1", "COLLECTOR_EXTRACT": "0",
                    # the pages only: their images (outside hosts) and media are other benches' work
                    "COLLECTOR_REQUISITES": "0", "COLLECTOR_MEDIA": "never",
                    "COLLECTOR_AUTOTHROTTLE_START_DELAY": str(self.start_delay),
                    "COLLECTOR_JOB_LEASE": "40", "COLLECTOR_REAP_INTERVAL": "2",
                    "http_proxy": f"http://127.0.0.1:{self.proxy_port}", "PYTHONPATH": str(self.code),
                    **extra})
        for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
            env.pop(name, None)
        return env

    def config(self) -> Any:
        from collector.config import load_config

        return load_config({"home": self.root / "enqueuer", "database_url": self.db_url,
                            "redis_url": REDIS_URL, "redis_prefix": self.prefix}, env={})

    def start_worker(self, name: str, *, count_sql: Path | None = None,
                     concurrency: int | None = None) -> None:
        extra = {"BENCH_SQL_COUNT_DIR": str(count_sql)} if count_sql else {}
        (self.root / name).mkdir(parents=True, exist_ok=True)
        command = ([sys.executable, "-c", SQL_COUNTER] if count_sql else
                   [sys.executable, "-m", "collector"]) + ["worker", "--name", f"{self.prefix}-{name}"]
        if concurrency:
            command += ["--concurrency", str(concurrency)]
        # cwd: `python -m` puts it first on sys.path, before PYTHONPATH
        self.procs[name] = subprocess.Popen(command, env=self.env(name, **extra), cwd=self.code,
                                            stdout=subprocess.DEVNULL,
                                            stderr=(self.root / f"{name}.err").open("ab"))

    def wait_ready(self, names: list[str]) -> None:
        """Until every worker's spider is connected to Redis (its client is named for the worker)."""
        from redis import Redis

        server = Redis.from_url(REDIS_URL)
        wanted = {f"{self.prefix}-{name}" for name in names}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if wanted <= {c.get("name") for c in server.client_list()}:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # the spiders' first polls
        server.close()

    def stop_all(self) -> dict[str, int]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {name: proc.wait(timeout=120) for name, proc in self.procs.items()}
        self.procs = {}
        return codes

    def run_job(self, urls: list[str], *, on_progress: Any = None) -> tuple[float, int]:
        """Enqueue ``urls`` and wait for the job; (seconds, job id). The CPU seconds the workers'
        process trees used meanwhile are left in ``self.cpu``."""
        from collector.workers.queue import enqueue
        from storage import jobs
        from storage.database import connect

        sessions = connect(self.db_url)
        cpu_before = sum(tree_cpu(p.pid) for p in self.procs.values())
        started = time.perf_counter()
        done = enqueue(self.config(), urls, sessions=sessions)
        assert done.job_id is not None
        while not (summary := jobs.list_jobs(sessions, done.job_id)[0]).finished:
            if on_progress is not None:
                on_progress(summary)
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        self.cpu = sum(tree_cpu(p.pid) for p in self.procs.values()) - cpu_before
        sessions.kw["bind"].dispose()
        return seconds, done.job_id


def local_capture(bench: Bench, urls: list[str]) -> tuple[float, float]:
    """``collector capture --no-extract --from-file`` in its own process; (seconds, CPU seconds of its
    process tree)."""
    listing = bench.root / "urls.txt"
    listing.write_text("\n".join(urls))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "collector", "capture", "--no-extract", "--json",
                    "--from-file", str(listing)], env=bench.env("local"), stdout=subprocess.DEVNULL,
                   cwd=bench.code, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system, its waited-for children's included) of ``pid`` and its descendants."""
    procs: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            procs[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, (parent, _) in procs.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return sum(procs[p][1] for p in tree if p in procs) / os.sysconf("SC_CLK_TCK")


def redis_cpu() -> float:
    """CPU seconds the Redis server used so far (INFO cpu)."""
    from redis import Redis

    server = Redis.from_url(REDIS_URL)
    info = server.info("cpu")
    server.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def count_redis(stop: threading.Event, counts: Counter[str], prefix: str) -> None:
    """Count the commands Redis receives from clients on keys of ``prefix`` (MONITOR; a script's own
    commands excluded; so are commands on no key of the run, e.g. other processes' on a shared Redis)."""
    from redis import Redis

    server = Redis.from_url(REDIS_URL)
    with server.monitor() as monitor:
        while not stop.is_set():
            try:
                command = monitor.next_command()
            except Exception:  # the connection's read timeout once the run is quiet
                return
            if command.get("client_type") == "lua" or prefix not in str(command.get("command", "")):
                continue
            counts[str(command.get("command", "")).split(" ", 1)[0].strip('"').upper()] += 1


def load() -> float:
    return os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--latency-urls", type=int, default=1000)
    parser.add_argument("--latency-concurrency", type=int, default=None,
                        help="--concurrency of the workers of the latency phase (default: setting)")
    parser.add_argument("--latency-rounds", type=int, default=1,
                        help="phase 2 repeated, one and two workers (and each tree) interleaved")
    parser.add_argument("--kill-urls", type=int, default=600)
    parser.add_argument("--count-urls", type=int, default=500)
    parser.add_argument("--start-delay", type=float, default=0.1)
    parser.add_argument("--skip", default="", help="phases to skip: local,count,latency,kill")
    parser.add_argument("--rounds", type=int, default=1,
                        help="phase 1 repeated, local and worker runs interleaved (figures summed)")
    parser.add_argument("--compare", default="",
                        help="another checkout (e.g. main's, by `git archive`) whose worker is measured "
                             "too, interleaved with this one's: its figures are prefixed base_")
    args = parser.parse_args()
    files = sorted(str(CORPUS / json.loads(line)["stored_as"])
                   for line in (CORPUS / "manifest.jsonl").read_text().splitlines() if line.strip())
    summary: dict[str, Any] = {"urls": args.urls, "cpus": os.cpu_count(), "latency": args.latency,
                               "started": datetime.now(UTC).isoformat()}
    skip = set(args.skip.split(","))
    site, port = start_site(files, 0.0)
    slow_site, slow_port = start_site(files, args.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="worker-bench-") as tmp:
            root = Path(tmp)
            urls = make_urls(args.urls)
            trees = {"": ROOT, **({"base_": Path(args.compare).resolve()} if args.compare else {})}
            if "local" not in skip:
                summary.update(local_phase(root, port, args, urls, trees))
                print(json.dumps(summary), flush=True)
            if "count" not in skip:
                for tag, code in trees.items():
                    counted = count_phase(Bench(root / f"{tag}count", port, args.start_delay, code),
                                          make_urls(args.count_urls))
                    summary.update({f"{tag}{k}": v for k, v in counted.items()})
                print(json.dumps({k: v for k, v in summary.items() if "count" in k or "per_url" in k}),
                      flush=True)
            if "latency" not in skip:
                summary.update(latency_phase(root, slow_port, slow_site.pid, args, trees))
                print(json.dumps({k: v for k, v in summary.items() if "latency" in k}), flush=True)
            if "kill" not in skip:
                summary.update(kill_phase(root / "kill", port, args))
                print(json.dumps({k: v for k, v in summary.items() if k.startswith("kill")}), flush=True)
    finally:
        site.terminate()
        slow_site.terminate()
        drop_databases()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(summary, indent=2, default=str))
        print(f"summary written to {OUT}")
    return 0


def local_phase(root: Path, port: int, args: argparse.Namespace, urls: list[str],
                trees: dict[str, Path]) -> dict[str, Any]:
    """Phase 1: ``--rounds`` times, a local capture then one worker of each tree, on fresh databases;
    wall and CPU seconds (of the process trees; Redis's apart) summed over the rounds."""
    totals: Counter[str] = Counter()
    loads: list[float] = []
    for round_ in range(args.rounds):
        bench = Bench(root / f"p1-{round_}", port, args.start_delay)
        bench.fresh("local")
        loads.append(load())
        seconds, cpu = local_capture(bench, urls)
        totals["local_s"] += seconds
        totals["local_cpu"] += cpu
        for tag, code in trees.items():
            bench = Bench(root / f"p1-{round_}-{tag}w", port, args.start_delay, code)
            bench.fresh("worker1")
            bench.start_worker("w1")
            bench.wait_ready(["w1"])
            loads.append(load())
            redis_before = redis_cpu()
            seconds, _ = bench.run_job(urls)
            totals[f"{tag}redis_cpu"] += redis_cpu() - redis_before
            bench.stop_all()
            totals[f"{tag}worker1_s"] += seconds
            totals[f"{tag}worker1_cpu"] += bench.cpu
    count = len(urls) * args.rounds
    out: dict[str, Any] = {"rounds": args.rounds, "load_phase1": [round(x, 1) for x in loads],
                           "local_s": round(totals["local_s"], 2),
                           "local_pages_s": round(count / totals["local_s"], 1),
                           "local_cpu_ms_per_url": round(1000 * totals["local_cpu"] / count, 2)}
    for tag in trees:
        out.update({
            f"{tag}worker1_s": round(totals[f"{tag}worker1_s"], 2),
            f"{tag}worker1_pages_s": round(count / totals[f"{tag}worker1_s"], 1),
            f"{tag}worker1_vs_local": round(totals["local_s"] / totals[f"{tag}worker1_s"], 2),
            f"{tag}worker1_cpu_ms_per_url": round(1000 * totals[f"{tag}worker1_cpu"] / count, 2),
            f"{tag}worker1_redis_cpu_ms_per_url": round(1000 * totals[f"{tag}redis_cpu"] / count, 2)})
    return out


def latency_phase(root: Path, port: int, site_pid: int, args: argparse.Namespace,
                  trees: dict[str, Path]) -> dict[str, Any]:
    """Phase 2: ``--latency-rounds`` times, one worker then two of each tree on the late web, on fresh
    databases (rounds interleaved); wall seconds and CPU seconds per role summed over the rounds."""
    urls = make_urls(args.latency_urls)
    totals: Counter[str] = Counter()
    loads: dict[str, list[float]] = {}
    for round_ in range(args.latency_rounds):
        for tag, code in trees.items():
            for count in (1, 2):
                bench = Bench(root / f"{tag}lat{count}-{round_}", port, args.start_delay, code)
                bench.fresh(f"lat{count}")
                names = [f"w{i}" for i in range(1, count + 1)]
                for name in names:
                    bench.start_worker(name, concurrency=args.latency_concurrency)
                bench.wait_ready(names)
                loads.setdefault(f"{tag}load_latency_{count}", []).append(round(load(), 1))
                before = role_cpu(bench, site_pid)
                seconds, _ = bench.run_job(urls)
                used = role_cpu(bench, site_pid)
                used.subtract(before)
                bench.stop_all()
                totals[f"{tag}{count}_s"] += seconds
                for role, cpu in used.items():
                    totals[f"{tag}{count}_{role}"] += cpu
    n = len(urls) * args.latency_rounds
    out: dict[str, Any] = {"latency_rounds": args.latency_rounds,
                           "latency_concurrency": args.latency_concurrency, **loads}
    for tag in trees:
        for count in (1, 2):
            out[f"{tag}latency_workers{count}_pages_s"] = round(n / totals[f"{tag}{count}_s"], 1)
            out[f"{tag}latency_workers{count}_cpu_ms_per_url"] = round(
                1000 * (totals[f"{tag}{count}_crawl"] + totals[f"{tag}{count}_writer"]) / n, 2)
            out[f"{tag}latency_workers{count}_cpu_ms_per_url_by_role"] = {
                role: round(1000 * totals[f"{tag}{count}_{role}"] / n, 2) for role in ROLES}
        out[f"{tag}latency_two_vs_one"] = round(totals[f"{tag}1_s"] / totals[f"{tag}2_s"], 2)
    return out


ROLES = ("crawl", "writer", "site", "redis", "postgres")


def role_cpu(bench: Bench, site_pid: int) -> Counter[str]:
    """CPU seconds so far of each role: the workers' crawl processes (their own), the rest of the
    workers' trees (the writer and what it starts), the web, Redis, and the PostgreSQL backends
    connected to the run's database now (the workers', and this bench's enqueue and polling)."""
    import sqlalchemy as sa

    crawl = sum(proc_cpu(p.pid) for p in bench.procs.values())
    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        backends = [row[0] for row in conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": bench.db_url.rsplit("/", 1)[1]})]
    engine.dispose()
    return Counter({"crawl": crawl, "writer": sum(tree_cpu(p.pid) for p in bench.procs.values()) - crawl,
                    "site": tree_cpu(site_pid), "redis": redis_cpu(),
                    "postgres": sum(proc_cpu(pid) for pid in backends)})


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` alone; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def count_phase(bench: Bench, urls: list[str]) -> dict[str, Any]:
    """Round trips per URL of one worker: Redis commands (MONITOR, which slows Redis: a run of its own)
    and SQL statements (every process of the worker, and the enqueuer's)."""
    bench.fresh("count")
    sql_dir = bench.root / "sql"
    sql_dir.mkdir(parents=True, exist_ok=True)
    bench.start_worker("w1", count_sql=sql_dir)
    bench.wait_ready(["w1"])
    redis_counts: Counter[str] = Counter()
    stop = threading.Event()
    threading.Thread(target=count_redis, args=(stop, redis_counts, bench.prefix), daemon=True).start()
    time.sleep(1.0)
    before = Counter(redis_counts)
    bench.run_job(urls)
    during = redis_counts - before
    stop.set()
    bench.stop_all()
    sql = sum(int(p.read_text() or 0) for p in sql_dir.iterdir())
    return {"count_urls": len(urls),
            "redis_commands_per_url": round(sum(during.values()) / len(urls), 2),
            "redis_commands": dict(during.most_common()),
            "sql_statements_per_url_worker": round(sql / len(urls), 2)}


def drop_databases() -> None:
    """Drop the databases this run made, and delete its Redis keys."""
    import sqlalchemy as sa
    from redis import Redis

    server = Redis.from_url(REDIS_URL)
    for prefix in PREFIXES:
        keys = list(server.scan_iter(f"{prefix}:*"))
        if keys:
            server.delete(*keys)
    server.close()

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in CREATED:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()


def kill_phase(root: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    """Three workers, one SIGKILLed once a fifth of the URLs is answered, then started again."""
    from storage import jobs, queries
    from storage.database import connect

    bench = Bench(root, port, args.start_delay)
    bench.fresh("kill")
    names = ["w1", "w2", "w3"]
    for name in names:
        bench.start_worker(name)
    bench.wait_ready(names)
    urls = make_urls(args.kill_urls)
    killed: list[bool] = []

    def progress(summary: Any) -> None:
        answered = summary.counts.get("done", 0) + summary.counts.get("failed", 0)
        if not killed and answered >= len(urls) // 5:
            bench.procs["w2"].send_signal(signal.SIGKILL)
            bench.procs["w2"].wait()
            killed.append(True)
            bench.start_worker("w2")

    seconds, job_id = bench.run_job(urls, on_progress=progress)
    bench.stop_all()
    sessions = connect(bench.db_url)
    items = jobs.items_of(sessions, job_id=job_id)
    captured = Counter(c.url for c in queries.iter_captures(sessions) if c.outcome == "captured")
    sessions.kw["bind"].dispose()
    return {"kill_urls": len(urls), "kill_s": round(seconds, 2),
            "kill_unanswered": sum(1 for i in items if i.status not in ("done", "failed")),
            "kill_urls_without_one_captured_row": sum(1 for u in urls if captured.get(u) != 1),
            "kill_reattempted": sum(1 for i in items if i.attempt > 1)}


if __name__ == "__main__":
    sys.exit(main())
