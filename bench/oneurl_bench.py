"""One-URL command benchmark: the fixed cost of ``collector capture URL`` and ``collector check URL``.

    .venv/bin/python bench/oneurl_bench.py [--runs 6] [--parts-runs 3] [--no-parts]

Starts the test page server (tests/server.py, 127.0.0.1), makes a fresh archive home (SQLite, in a
temporary directory), then runs, each as a new command line (``python -m collector``), ``runs`` times:

- ``collector capture --allow-private URL`` of a new article page each time;
- ``collector check --allow-private URL`` of a page captured once beforehand (unchanged: no probe).

Reported: best and median wall time of each (and every run). With parts (the default), where the
fixed cost goes, each part timed in a fresh interpreter (best of ``parts-runs``), as the command's
processes pay it: the interpreter itself, the CLI's imports, the crawl process's imports (Scrapy,
Twisted, the spiders), the writer's imports and the opening of the (current) database, the extraction
fork server's start (light, as for a few pages, and warmed, as for a long run), the first extraction
of a page in a fresh worker, and an in-process crawl of one 404 page (reactor start, fetch, commit,
shutdown: no extraction) measured inside its process after its imports. The processes run side by
side (crawl and writer, extraction server), so the parts add up to more than the wall time.

Each command's CPU time is reported too: user + system seconds of its whole process tree (the
command, its crawl and writer processes, the extraction fork server and workers, multiprocessing's
resource tracker), each command being run under a small reaper that outlives them all
(``PR_SET_CHILD_SUBREAPER``). On a loaded machine the wall time is mostly waiting for a core; the
CPU time is what the command costs. ``--baseline DIR`` runs the same commands from another checkout
(e.g. ``git archive main | tar -x -C /tmp/base``), interleaved with this one, each in its own home,
and reports both. ``--nice N`` runs the commands at that niceness (negative, as root: an
approximation of an idle machine on a shared one). Commands run with Python's bytecode cache on
(``PYTHONDONTWRITEBYTECODE`` is dropped): an installed collector has its modules compiled.

Written to bench/out/oneurl_bench.json. No asserts; measure before and after a change in the same
session (other work on the machine moves every figure).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import serve_script  # noqa: E402 - the tests' server starter, from the repository

OUT = ROOT / "bench" / "out" / "oneurl_bench.json"

PARTS = {
    "interpreter": "pass",
    "cli_imports": "import collector.cli.main",
    "crawl_imports": "import collector.capture.run, scrapy.crawler, collector.capture.pipeline, "
                     "spiders.capture",
    "writer_imports_and_open_db": "from storage.archive import Archive; "
                                  "import collector.capture.writer, collector.capture.extract_pool; "
                                  "Archive.open({db!r}, __import__('pathlib').Path({warc!r})).close()",
    "extract_server_light": "import trafilatura, collector.capture.extraction",
    "extract_server_warmed": "import collector.capture.extract_preload",
    "first_extraction": "import sys, time; sys.path.append('tests'); from server import article; "
                        "from collector.capture.extraction import extract_html; import trafilatura; "
                        "t = time.perf_counter(); extract_html(article('x'), 'http://x.invalid/'); "
                        "print('T', time.perf_counter() - t)",
    "crawl_one_404_in_process": "import time; from collector.capture.run import crawl_in_process, Target; "
                                "from collector.config import load_config; "
                                "import scrapy.crawler, collector.capture.pipeline, spiders.capture; "
                                "c = load_config({{'home': __import__('pathlib').Path({home!r}), "
                                "'allow_private': True, 'retry_times': 0}}, env={{}}); "
                                "t = time.perf_counter(); crawl_in_process(c, [Target(url={url!r}, "
                                "given={url!r})], lambda r: None, extract=False); "
                                "print('T', time.perf_counter() - t)",
}


PR_SET_CHILD_SUBREAPER = 36


def _env(root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled once, not at every start
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def reap_tree(command: list[str], nice: int = 0) -> None:
    """Run ``command`` (its output kept), wait for it and for every process it left behind;
    print the JSON of its wall time, the tree's CPU seconds and its exit status."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if nice:
        os.nice(nice)
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    took = time.perf_counter() - began
    while True:  # the orphans of the tree are this process's children now
        try:
            os.wait4(-1, 0)
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall_s": took, "tree_cpu_s": usage.ru_utime + usage.ru_stime,
                      "returncode": done.returncode, "output": (done.stdout + done.stderr)[-4000:]}))


def _command(home: Path, *args: str, root: Path = ROOT, nice: int = 0) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of one ``collector`` command."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--reap", str(nice), "--",
                           sys.executable, "-m", "collector", "--home", str(home), *args],
                          cwd=root, env=_env(root), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"reaper failed: {done.stderr}")
    figures = json.loads(done.stdout)
    if figures["returncode"] != 0:
        raise SystemExit(f"{' '.join(args)} failed ({figures['returncode']}):\n{figures['output']}")
    return figures["wall_s"], figures["tree_cpu_s"]


def _figures(runs: list[tuple[float, float]]) -> dict[str, Any]:
    times = [wall for wall, _ in runs]
    cpu = [used for _, used in runs]
    return {"best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
            "all_s": [round(t, 3) for t in times], "cpu_median_s": round(statistics.median(cpu), 3),
            "cpu_all_s": [round(c, 3) for c in cpu]}


def _part(code: str, runs: int) -> float:
    """Best of ``runs``: the wall time of a fresh interpreter running ``code``, or the time it prints
    after ``T``."""
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(),
                              capture_output=True, text=True)
        took = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"part failed: {code}\n{done.stderr}")
        inner = [line for line in done.stdout.splitlines() if line.startswith("T ")]
        best = min(best, float(inner[-1].split()[1]) if inner else took)
    return best


def main() -> None:
    """Run the benchmark and print/write the figures."""
    if sys.argv[1:2] == ["--reap"]:  # the reaper of one command (see _command)
        reap_tree(sys.argv[4:], nice=int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--parts-runs", type=int, default=3)
    parser.add_argument("--no-parts", action="store_true")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout to measure interleaved with this one")
    parser.add_argument("--nice", type=int, default=0, help="niceness of the measured commands")
    args = parser.parse_args()
    server, base = serve_script(ROOT / "tests" / "server.py")
    figures: dict[str, Any] = {"runs": args.runs, "cpus": os.cpu_count(), "nice": args.nice,
                               "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}
    roots = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            homes = {name: Path(tmp) / name for name in roots}
            for name, root in roots.items():  # creates the home
                _command(homes[name], "capture", "--allow-private", f"{base}/page/checked", root=root)
            for command in ("capture", "check"):
                runs: dict[str, list[tuple[float, float]]] = {name: [] for name in roots}
                for i in range(args.runs):
                    for name, root in roots.items():  # interleaved: the same load for both
                        url = f"{base}/page/bench-{i}" if command == "capture" else f"{base}/page/checked"
                        runs[name].append(_command(homes[name], command, "--allow-private", url,
                                                   root=root, nice=args.nice))
                for name in roots:
                    key = command if name == "this" else f"{command}_baseline"
                    figures[key] = _figures(runs[name])
                    print(f"{key + ':':18} {figures[key]}", flush=True)
            home = homes["this"]
            if not args.no_parts:
                values = {"db": f"sqlite:///{home / 'collector.db'}", "warc": str(home / "warcs"),
                          "home": str(home), "url": f"{base}/status/404"}
                parts = {}
                for name, code in PARTS.items():
                    parts[name] = round(_part(code.format(**values), args.parts_runs), 3)
                    print(f"  {name:28} {parts[name]:.3f} s", flush=True)
                figures["parts_best_s"] = parts
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(figures, indent=2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
