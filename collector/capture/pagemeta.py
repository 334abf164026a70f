"""The title and publication date of an HTML page, as trafilatura finds them, and nothing else.

``trafilatura.bare_extraction(with_metadata=True)`` also looks for authors, site name, categories,
tags and licence, which collector does not keep: on the pages of trafilatura's evaluation corpus that
was a quarter of the extraction's CPU (bench/extraction_bench.py). These functions run trafilatura's
own steps for the two fields collector keeps, in its order (meta tags, then JSON-LD, then the title
element; the date by htmldate with trafilatura's date settings), so the values are the same ones.
They use trafilatura's metadata module below its public API: trafilatura is pinned to one major
version in pyproject.toml, and tests/collector/capture/test_pagemeta.py compares the result with
``bare_extraction``'s on real pages.
"""

from __future__ import annotations

import contextlib
from typing import Any

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url
from trafilatura.settings import Document, set_date_params

__all__ = ["page_metadata"]


def page_metadata(tree: HtmlElement, url: str | None) -> dict[str, Any]:
    """``{"title": ..., "published": ...}`` of a parsed page (``published`` as ``YYYY-MM-DD``).

    ``tree`` is not changed (htmldate searches a copy of it).
    """
    meta: Document = examine_meta(tree)
    with contextlib.suppress(Exception):  # trafilatura's own guard: bugs in its JSON-LD reader
        meta = extract_meta_json(tree, meta)
    if not meta.title:
        meta.title = extract_title(tree)
    page_url = meta.url or extract_url(tree, url)
    # EXTENSIVE_DATE_SEARCH is on in trafilatura's default settings, which bare_extraction uses
    params = set_date_params(True)
    params["url"] = page_url
    published = find_date(tree, **params)
    found = Document()
    found.title = meta.title
    found.clean_and_trim()  # entities, spacing and length, as bare_extraction leaves its fields
    return {"title": found.title, "published": published}
