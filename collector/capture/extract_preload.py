"""Imported by the extraction fork server only: loads and warms trafilatura once for every worker.

Extraction workers are forked from this server, so what it loads is shared between them (copy on
write) instead of loaded again by each. Beyond the imports, trafilatura fills large caches on first
use: dateparser compiles the regular expressions of every locale the first time a date string
matches none (~20 MB), and jusText builds its stop-word sets. Warming them here, on the project's own
demo pages and a few date strings, puts them in the shared pages too. ``gc.freeze()`` then keeps the
collector from writing to (and so copying) every shared object in every worker.

It also installs ``quiet_orphan_start`` as the fork server's ``sys.excepthook``: when a worker
times out on the last page, pebble starts its replacement while the pool is closing; by the time
the new process reads its start-up data, the pool's semaphores are gone and multiprocessing printed
a 14-line ``FileNotFoundError`` traceback at the end of an otherwise good run. That process has no
work to do: it now exits without a word.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
from pathlib import Path
from types import TracebackType

from collector.capture.extraction import extract_html

__all__ = ["DATE_STRINGS", "quiet_orphan_start", "warm"]

log = logging.getLogger(__name__)

# strings that no locale parses, so dateparser tries (and compiles) every one of them
DATE_STRINGS = ("zzqx 31 zzqx", "12 qqq 2019", "Monday")
DEMO_PAGES = Path(__file__).resolve().parents[1] / "demo" / "site"


def warm(pages: Path = DEMO_PAGES) -> None:
    """Import trafilatura, run it over the demo pages and the date strings, then freeze the heap."""
    with contextlib.suppress(Exception):  # a speed-up only: workers import what they need
        # here, under suppress: a speed-up only, and htmldate is trafilatura's dependency, not ours
        from htmldate.extractors import get_external_parser

        for string in DATE_STRINGS:
            get_external_parser().get_date_data(string)
    with contextlib.suppress(Exception):
        for page in sorted(pages.glob("*.html")):
            extract_html(page.read_bytes(), f"http://demo.invalid/{page.name}")
    with contextlib.suppress(Exception):  # PDFs are extracted with pypdf
        import pypdf  # noqa: F401
    gc.collect()
    gc.freeze()


def _while_starting(tb: TracebackType | None) -> bool:
    """True when the traceback passes through the unpickling of a multiprocessing lock."""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "__setstate__" and code.co_filename.endswith("synchronize.py"):
            return True
        tb = tb.tb_next
    return False


def quiet_orphan_start(kind: type[BaseException], value: BaseException,
                       tb: TracebackType | None) -> None:
    """Excepthook of the fork server (and so of the workers it forks): silent for a worker that
    started after its pool closed (its pool's locks are gone); anything else as usual."""
    if isinstance(value, FileNotFoundError) and _while_starting(tb):
        log.debug("an extraction worker started after its pool closed; it exits")
        return
    sys.__excepthook__(kind, value, tb)


if __name__ != "__main__":
    sys.excepthook = quiet_orphan_start
    warm()
