"""Crawl children forked from a warm server: fresh reactor, caller's environment and stderr, fast."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from collector.capture.crawlproc import PRELOAD, ChildSetup, crawl_context, sourceless_stack
from collector.capture.run import Target, run_crawl
from storage.database import connect, head_revision
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[3]


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_preload_installs_no_reactor_and_starts_no_thread() -> None:
    out = _python("import sys, threading\n"
                  "from collector.capture.crawlproc import warm\n"
                  "print(warm(), 'twisted.internet.reactor' in sys.modules, "
                  "threading.active_count(), 'scrapy.crawler' in sys.modules)")
    assert out == "[] False 1 True"


def test_preload_skips_missing_modules() -> None:
    out = _python("from collector.capture.crawlproc import warm\n"
                  "print(warm(('no_such_module_xyz', 'twisted.internet.reactor', 'json')))\n"
                  "import sys; print('twisted.internet.reactor' in sys.modules)")
    assert out.splitlines() == ["['no_such_module_xyz', 'twisted.internet.reactor']", "False"]
    assert "twisted.internet.reactor" not in PRELOAD


def test_slow_scrapy_modules_are_imported_without_reading_source() -> None:
    """Scrapy's TLS modules call inspect.stack() at import: read no source for it (~0.3-1 s)."""
    out = _python("import inspect, linecache\n"
                  "read = []\n"
                  "real = linecache.getlines\n"
                  "linecache.getlines = lambda name, *a: read.append(name) or real(name, *a)\n"
                  "from collector.capture.crawlproc import import_slow_modules\n"
                  "stack, getmodule = inspect.stack, inspect.getmodule\n"
                  "import_slow_modules()\n"
                  "from scrapy.core.downloader.contextfactory import ScrapyClientContextFactory\n"
                  "from scrapy.core.downloader.tls import ScrapyClientTLSOptions\n"
                  "print(read, ScrapyClientContextFactory.__module__, ScrapyClientTLSOptions.__module__,"
                  " inspect.stack is stack, inspect.getmodule is getmodule)")
    assert out == ("[] scrapy.core.downloader.contextfactory scrapy.core.downloader.tls True True")


def test_sourceless_stack_lists_the_callers_frames() -> None:
    with sourceless_stack():
        here = inspect.stack()[0]
        module = inspect.getmodule(here.frame)
    assert (here.function, here.code_context) == ("test_sourceless_stack_lists_the_callers_frames", None)
    assert module is sys.modules[__name__]
    assert inspect.stack()[0].code_context is not None  # the real one is back


def test_unknown_start_method_is_refused() -> None:
    with pytest.raises(ValueError, match="bogus"):
        crawl_context("bogus")


def _report(conn: Any, setup: ChildSetup | None) -> None:
    if setup is not None:
        setup.apply()
    import twisted.internet

    print("child on stderr", file=sys.stderr, flush=True)
    conn.send((os.environ.get("COLLECTOR_TEST_MARK"), hasattr(twisted.internet, "reactor"),
               "twisted.internet.reactor" in sys.modules))
    conn.close()


def test_forked_child_gets_the_callers_environment_and_stderr(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    ctx = crawl_context("forkserver")
    for mark in ("first", "second"):  # the second child comes from the already running server
        monkeypatch.setenv("COLLECTOR_TEST_MARK", mark)
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_report, args=(send, ChildSetup.of_caller(ctx)))
        child.start()
        send.close()
        assert receive.recv() == (mark, False, False)
        child.join()
        assert child.exitcode == 0
    assert capfd.readouterr().err.count("child on stderr") == 2


@pytest.mark.parametrize("start", ["forkserver", "spawn"])
def test_consecutive_crawls(server: str, home: Path, start: str) -> None:
    config = make_config(home, extract_workers=1)
    for i in range(2):
        url = f"{server}/page/start-{start}-{i}"
        results = run_crawl(config, [Target(url=url, given=url)], start_method=start)
        assert [(r["url"], r["outcome"], r["http_status"]) for r in results] == [
            (url, "captured", 200)]
        assert results[0]["extraction"] == "ok"


def test_head_revision_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    from storage.database import _alembic_config

    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _versions(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, source in files.items():
        (path / name).write_text(source)
    return path


def test_head_revision_is_none_when_the_files_are_unclear(tmp_path: Path) -> None:
    chain = {"a.py": 'revision = "a"\ndown_revision = None\n',
             "b.py": 'revision: str = "b"\ndown_revision: str | None = "a"\n'}
    assert head_revision(_versions(tmp_path / "chain", chain)) == "b"
    two_heads = {**chain, "c.py": 'revision = "c"\ndown_revision = "a"\n'}
    assert head_revision(_versions(tmp_path / "two", two_heads)) is None
    unreadable = {**chain, "c.py": "revision = make_id()\ndown_revision = 'b'\n"}
    assert head_revision(_versions(tmp_path / "odd", unreadable)) is None


def test_a_database_at_head_is_opened_without_alembic(db_url: str) -> None:
    connect(db_url).kw["bind"].dispose()  # creates the schema
    out = _python(f"import sys\nfrom storage.database import connect\nconnect({db_url!r})\n"
                  "print('alembic' in sys.modules)")
    assert out == "False"


def test_auto_spawns_the_first_crawl_and_forks_later_ones() -> None:
    out = _python("from collector.capture.crawlproc import auto_start_method, server_running\n"
                  "print(server_running(), auto_start_method(), auto_start_method())")
    assert out == "False spawn forkserver"
    out = _python("from multiprocessing import forkserver\n"
                  "from collector.capture.crawlproc import auto_start_method, server_running\n"
                  "forkserver.ensure_running()\n"
                  "print(server_running(), auto_start_method())")
    assert out == "True forkserver"  # a server already running (the daemon's) is used at once


_FORKED_CHILD = """
import multiprocessing, os
from multiprocessing import forkserver
from collector.capture.crawlproc import forget_inherited_server, server_running

def child(forget):
    pid = os.fork()
    if pid == 0:  # the child: start one process through the forkserver context
        code = 3
        try:
            if forget:
                forget_inherited_server()
            proc = multiprocessing.get_context("forkserver").Process(target=int)
            proc.start()
            proc.join(60)
            code = 0 if proc.exitcode == 0 else 4
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

forkserver.ensure_running()
print(server_running(), child(False), child(True), server_running())
"""


def test_a_forked_child_starts_its_own_fork_server() -> None:
    """The writer process is forked from a crawl process that may run a fork server already: the
    inherited record of the parent's server must not break the child's extraction pool (a fresh
    interpreter, so that this process's own fork server state is left alone)."""
    # parent's server up; without forgetting it the child fails (ChildProcessError: exit 3), with
    # it the child starts its own; the parent's server is untouched
    assert _python(_FORKED_CHILD).split() == ["True", "3", "0", "True"]
