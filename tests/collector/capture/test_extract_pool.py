"""Extraction workers are forked from a server that has trafilatura loaded and warmed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from collector.capture.heap import Trimmer, trim

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
from collector.capture.extract_pool import extraction_context
from pebble import ProcessPool
from tests.collector.capture.test_extract_pool import worker_state as state

pool = ProcessPool(max_workers=1, max_tasks=1, context=extraction_context())
first = pool.schedule(state).result(timeout=120)
second = pool.schedule(state).result(timeout=120)  # a new worker (max_tasks=1), same server
pool.close(); pool.join()
print(first, second)
"""


def worker_state() -> tuple[bool, int, bool]:
    """In a worker: (preload module loaded, dateparser parser built, heap frozen)."""
    import gc

    from htmldate.extractors import get_external_parser

    return ("collector.capture.extract_preload" in sys.modules, get_external_parser.cache_info().currsize,
            gc.get_freeze_count() > 0)


def test_workers_start_from_a_warm_server() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "(True, 1, True) (True, 1, True)"


def test_trimmer_trims_at_most_once_per_interval() -> None:
    trim()  # the real glibc call: no error (nothing elsewhere)
    calls: list[int] = []
    slow = Trimmer(interval=3600.0, release=lambda: calls.append(1))
    for _ in range(5):
        slow()
    assert calls == []  # asked within the interval: nothing done
    eager = Trimmer(interval=0.0, release=lambda: calls.append(2))
    eager()
    eager()
    assert calls == [2, 2]


def test_the_fork_server_warms_on_pages_that_exist() -> None:
    """The warm-up reads the demo pages; a moved folder would silently skip it (a speed-up only)."""
    from collector.capture.extract_preload import DEMO_PAGES

    assert len(list(DEMO_PAGES.glob("*.html"))) >= 4


def test_a_small_run_starts_few_workers_from_a_server_that_does_not_warm() -> None:
    from collector.capture.extract_pool import WARM_FROM, pool_plan

    assert pool_plan(4, 1) == (1, False)  # one page: one worker, no warm-up (seconds of CPU)
    assert pool_plan(4, WARM_FROM - 1) == (4, False)
    assert pool_plan(4, WARM_FROM) == (4, True)
    assert pool_plan(4, None) == (4, True)  # unknown size (a daemon's crawl): warm
    assert pool_plan(2, 0) == (1, False)


def light_state() -> tuple[bool, bool, bool]:
    """In a worker: (trafilatura loaded, preload module loaded, heap frozen)."""
    import gc

    return ("trafilatura" in sys.modules, "collector.capture.extract_preload" in sys.modules,
            gc.get_freeze_count() > 0)


def test_workers_of_a_small_run_have_trafilatura_loaded_but_not_warmed() -> None:
    probe = (PROBE.replace("extraction_context()", "extraction_context(warm=False)")
             .replace("worker_state as state", "light_state as state"))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "(True, False, False) (True, False, False)"


LATE_START = """
import os, signal, sys, tempfile
from multiprocessing import forkserver, get_context

from collector.capture.extract_pool import ExtractionPool

signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as the writer process does before its pool starts
get_context("forkserver").set_forkserver_preload(["tests.collector.capture.late_worker"])
forkserver.ensure_running()
pool = ExtractionPool(tempfile.mkdtemp(), workers=2, timeout=30, max_bytes=2**20)
pool.close()  # the first worker runs the warm-up task; the second is still starting
print("closed")
"""


def test_a_worker_still_starting_when_its_pool_closes_finds_its_locks(tmp_path: Path) -> None:
    """Issue 13's FileNotFoundError from the fork server: pebble removes the pool's semaphores
    before it stops the workers; a worker that had not opened them yet (a loaded machine) failed
    with a traceback. The pool keeps them until every worker has stopped."""
    env = {**os.environ, "COLLECTOR_TEST_LATE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", LATE_START], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=180)
    assert (tmp_path / "first").exists() and (tmp_path / "late").exists()  # a worker was late
    assert done.returncode == 0 and done.stdout.strip() == "closed", done.stderr
    assert "Traceback" not in done.stderr and "FileNotFoundError" not in done.stderr, done.stderr


GATED_START = """
import os, sys
from multiprocessing import forkserver, get_context

from collector.capture.extract_pool import ExtractionPool

get_context("forkserver").set_forkserver_preload(["tests.collector.capture.gated_preload"])
forkserver.ensure_running()
pool = ExtractionPool(sys.argv[1], workers=1, timeout=30, max_bytes=2**20)
print("constructed", flush=True)  # while the fork server is still importing its preload
open(os.environ["COLLECTOR_TEST_GATE"], "w").close()
pool.close()
print("closed")
"""


def test_the_pool_starts_its_workers_while_its_caller_goes_on(tmp_path: Path) -> None:
    """The writer process opens the database while its pool's fork server imports trafilatura: the
    pool's constructor returns before its first worker has started (here, before the server's
    preload may even finish: it waits for a file the caller writes after the constructor)."""
    gate = tmp_path / "gate"
    env = {**os.environ, "COLLECTOR_TEST_GATE": str(gate), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", GATED_START, str(tmp_path)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["constructed", "closed"] and gate.exists()


ON_DEMAND = """
import io, multiprocessing, sys, threading
from pathlib import Path
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from collector.capture.crawlproc import server_running
from collector.capture.extract_pool import ExtractionPool

warcs = Path(sys.argv[1])
idle = ExtractionPool(warcs, workers=1, timeout=60, max_bytes=2**20, warm=False, on_demand=True)
idle.close()  # no page: nothing was started
print("idle", server_running(), len(multiprocessing.active_children()))

html = (b"<html><body><article><p>" + b"A sentence of the archived page. " * 40
        + b"</p></article></body></html>")
with (warcs / "page.warc.gz").open("wb") as out:
    writer = WARCWriter(out, gzip=True)
    offset = out.tell()
    head = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record("http://example.org/p", "response",
                                                  payload=io.BytesIO(html), http_headers=head))
pool = ExtractionPool(warcs, workers=1, timeout=60, max_bytes=2**20, warm=False, on_demand=True)
print("constructed", server_running(), flush=True)  # on demand: no server before the first page
got = threading.Event()
results = []
pool.submit("page.warc.gz", offset, "http://example.org/p", lambda r: (results.append(r), got.set()))
got.wait(120)
pool.close()
print("page", server_running(), results[0]["status"], "archived page" in (results[0].get("text") or ""))
"""


def test_a_pool_on_demand_starts_at_its_first_page(tmp_path: Path) -> None:
    """A check's pool (``extract_on_demand``) starts no process until a page needs extracting:
    an unchanged check (revisits only) starts none; a changed page is extracted all the same."""
    done = subprocess.run([sys.executable, "-c", ON_DEMAND, str(tmp_path)], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["idle False 0", "constructed False", "page True ok True"]
