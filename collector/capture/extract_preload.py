"""Imported by the extraction fork server only: loads and warms trafilatura once for every worker.

Extraction workers are forked from this server, so what it loads is shared between them (copy on
write) instead of loaded again by each. Beyond the imports, trafilatura fills large caches on first
use: dateparser compiles the regular expressions of every locale the first time a date string
matches none (~20 MB), and jusText builds its stop-word sets. Warming them here, on the project's own
demo pages and a few date strings, puts them in the shared pages too. ``gc.freeze()`` then keeps the
collector from writing to (and so copying) every shared object in every worker.
"""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

from collector.capture.extraction import extract_html

__all__ = ["DATE_STRINGS", "warm"]

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


if __name__ != "__main__":
    warm()
