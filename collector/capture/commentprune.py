"""trafilatura's pruning of comment sections, found without XPath regular expressions.

With comments off (collector's setting), trafilatura deletes from the raw page every element its
``REMOVE_COMMENTS_AND_LISTS_XPATH`` selects. That XPath's ``re:test`` calls back into Python for every
div, section and list of the page: ~1.4 ms a page on trafilatura's evaluation corpus, 5% of
collector's extraction CPU (bench/extraction_bench.py). ``comment_sections`` selects the same elements,
in the same order, with the same regular expressions run by Python directly (~0.3 ms).
``fast_comment_pruning`` puts it in the XPath's place for the duration of one extraction, and only
when trafilatura's XPath is the one it mirrors (compared as text): a trafilatura whose XPath changed
keeps its own. tests/collector/capture/test_commentprune.py holds both to the same elements.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import trafilatura.core
from lxml.html import HtmlElement
from trafilatura.xpaths import _COMMENTS_CLASS, _COMMENTS_ID

__all__ = ["MIRRORED_XPATH", "comment_sections", "fast_comment_pruning", "mirrors_trafilatura"]

_TAGS = ("div", "list", "section", "details", "ol", "ul")
_ID = re.compile(f"^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)")
_LIST_ID = re.compile(f"^(?:{_COMMENTS_ID})")
_CLASS = re.compile(_COMMENTS_CLASS)
# the XPath comment_sections mirrors (trafilatura 2.3's, whitespace folded)
MIRRORED_XPATH = (
    f".//*[self::div or self::list or self::section or self::details or self::ol or self::ul]["
    f" re:test(@id, '^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)') or"
    f" re:test(@class, '{_COMMENTS_CLASS}')]["
    f" not(self::ol or self::ul) or re:test(@id, '^(?:{_COMMENTS_ID})')"
    f" or re:test(@class, '{_COMMENTS_CLASS}')]"
)


def comment_sections(tree: HtmlElement) -> list[HtmlElement]:
    """The descendants of ``tree`` that trafilatura's comment XPath selects, in document order.

    A div, section, details or (converted) list whose id or class names comments; an ``ol`` or ``ul``
    only by a comment id or class of its own (not by a Disqus id). A missing attribute tests as "",
    as in EXSLT's ``re:test``.
    """
    found = []
    for elem in tree.iterdescendants(*_TAGS):
        ident, cls = elem.get("id", ""), elem.get("class", "")
        by_class = _CLASS.search(cls) is not None
        if not (by_class or _ID.search(ident)):
            continue
        if elem.tag in ("ol", "ul") and not (by_class or _LIST_ID.search(ident)):
            continue
        found.append(elem)
    return found


def mirrors_trafilatura() -> bool:
    """True when trafilatura's comment XPath is the one ``comment_sections`` mirrors."""
    xpaths = trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH
    return (len(xpaths) == 1 and callable(xpaths[0])
            and " ".join(getattr(xpaths[0], "path", "").split()) == MIRRORED_XPATH)


@contextmanager
def fast_comment_pruning() -> Iterator[None]:
    """Within the block, trafilatura prunes comment sections with ``comment_sections`` (when it
    mirrors trafilatura's XPath; otherwise nothing changes). Not for threads sharing trafilatura."""
    original = trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH
    if not mirrors_trafilatura():
        yield
        return
    trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH = [comment_sections]  # type: ignore[list-item]
    try:
        yield
    finally:
        trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH = original
