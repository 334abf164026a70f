"""The main text of a parsed HTML page by trafilatura's own cascade, without copying the page.

``trafilatura.bare_extraction`` copies a tree it is given before pruning it (the caller may still need
it): on the pages of trafilatura's evaluation corpus the copy was ~1.5% of collector's extraction CPU
(bench/extraction_bench.py). collector reads the page's title and date first (``pagemeta``, which does
not change the tree), then has no further use for the tree, so ``main_text`` runs the steps of
``bare_extraction(with_metadata=False)`` with collector's options on the tree itself, in its order:
the cascade (``trafilatura_sequence``, its raw-page prunes by ``rawprune``), the minimum-size
check, the text serialization. It uses trafilatura below its public API (pinned to one major version
in pyproject.toml); tests/collector/capture/test_pagemeta.py compares the result with
``bare_extraction``'s on real pages.
"""

from __future__ import annotations

from lxml.etree import strip_tags
from lxml.html import HtmlElement
from trafilatura.core import trafilatura_sequence
from trafilatura.settings import Extractor
from trafilatura.xml import xmltotxt

from collector.capture.rawprune import fast_pruning

__all__ = ["main_text"]


def main_text(tree: HtmlElement, url: str | None) -> str | None:
    """The main text of ``tree`` (changed: pruned in place), or None where trafilatura finds none.

    The options are ``bare_extraction``'s for ``include_comments=False, include_tables=True,
    deduplicate=False``; the text is its ``Document.text``, not normalized.
    """
    options = Extractor(output_format="python", comments=False, tables=True, dedup=False, url=url)
    try:
        with fast_pruning():
            body, text, _, comments = trafilatura_sequence(tree, options, options.url)
        if options.max_tree_size and len(body) > options.max_tree_size:
            strip_tags(body, "hi")
            if len(body) > options.max_tree_size:
                return None
        if len(text) < options.min_output_size and len(comments) < options.min_output_comm_size:
            return None
    except (TypeError, ValueError):  # bare_extraction's own: the page is discarded
        return None
    return xmltotxt(body, options.formatting)  # type: ignore[no-any-return]
