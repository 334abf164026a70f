"""trafilatura's prunes of the raw page, selected without XPath regular expressions.

Before its cascade, trafilatura deletes from the raw page the follow-up articles of infinite-scroll
containers and share-button blocks (``RAW_TREE_PRUNE_XPATH``) and, with comments off (collector's
setting), comment sections (``REMOVE_COMMENTS_AND_LISTS_XPATH``). Their ``re:test`` calls back into
Python for every div, section and list of the page: ~1.5 ms and ~1.4 ms a page on trafilatura's
evaluation corpus, together 10% of collector's extraction CPU (bench/extraction_bench.py). The
functions here select the same elements, in the same order, with the same regular expressions run by
Python directly (~0.3 ms each). ``fast_pruning`` puts them in the XPaths' place for the duration of one
extraction, and only where trafilatura's XPaths are the ones they mirror (compared as text): a
trafilatura whose XPaths changed keeps its own. tests/collector/capture/test_rawprune.py holds both to
the same elements.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import trafilatura.core
from lxml.html import HtmlElement
from trafilatura.xpaths import _COMMENTS_CLASS, _COMMENTS_ID

__all__ = ["MIRRORED", "comment_sections", "fast_pruning", "follow_up_sections", "mirrors",
           "share_button_sections"]

Select = Callable[[HtmlElement], list[HtmlElement]]
_FOLLOW_UP = re.compile("mvp-post-add-(?:box|wrap)|infinite-?scroll")
_FOLLOW_UP_ONLY = re.compile("mvp-post-add-(?:box|wrap)")
_COMMENT_ID = re.compile(f"^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)")
_COMMENT_LIST_ID = re.compile(f"^(?:{_COMMENTS_ID})")
_COMMENT_CLASS = re.compile(_COMMENTS_CLASS)
_BLOCKS = ("div", "section", "aside")


def follow_up_sections(tree: HtmlElement) -> list[HtmlElement]:
    """RAW_TREE_PRUNE_XPATH's first: a div, section or aside whose id or class names a follow-up or
    infinite-scroll container, unless it holds an h1 and is only an infinite-scroll one."""
    found = []
    for elem in tree.iterdescendants(*_BLOCKS):
        ident, cls = elem.get("id", ""), elem.get("class", "")  # missing: "", as in re:test
        if not (_FOLLOW_UP.search(ident) or _FOLLOW_UP.search(cls)):
            continue
        if (next(elem.iterdescendants("h1"), None) is None
                or _FOLLOW_UP_ONLY.search(ident) or _FOLLOW_UP_ONLY.search(cls)):
            found.append(elem)
    return found


def share_button_sections(tree: HtmlElement) -> list[HtmlElement]:
    """RAW_TREE_PRUNE_XPATH's second: a div, section or aside of class elementor-share-buttons."""
    return [elem for elem in tree.iterdescendants(*_BLOCKS)
            if "elementor-share-buttons" in elem.get("class", "")]


def comment_sections(tree: HtmlElement) -> list[HtmlElement]:
    """REMOVE_COMMENTS_AND_LISTS_XPATH's: a div, section, details or (converted) list whose id or
    class names comments; an ``ol`` or ``ul`` only by a comment id or class, not by a Disqus id."""
    found = []
    for elem in tree.iterdescendants("div", "list", "section", "details", "ol", "ul"):
        ident, cls = elem.get("id", ""), elem.get("class", "")
        by_class = _COMMENT_CLASS.search(cls) is not None
        if not (by_class or _COMMENT_ID.search(ident)):
            continue
        if elem.tag in ("ol", "ul") and not (by_class or _COMMENT_LIST_ID.search(ident)):
            continue
        found.append(elem)
    return found


# trafilatura.core's XPath lists mirrored here (trafilatura 2.3's, whitespace folded), and their mirrors
MIRRORED: dict[str, tuple[tuple[str, Select], ...]] = {
    "RAW_TREE_PRUNE_XPATH": (
        (".//*[self::div or self::section or self::aside]["
         " re:test(@id, 'mvp-post-add-(?:box|wrap)|infinite-?scroll') or"
         " re:test(@class, 'mvp-post-add-(?:box|wrap)|infinite-?scroll')]["
         " not(.//h1) or re:test(@id, 'mvp-post-add-(?:box|wrap)')"
         " or re:test(@class, 'mvp-post-add-(?:box|wrap)')]", follow_up_sections),
        (".//*[self::div or self::section or self::aside][contains(@class, 'elementor-share-buttons')]",
         share_button_sections),
    ),
    "REMOVE_COMMENTS_AND_LISTS_XPATH": (
        (f".//*[self::div or self::list or self::section or self::details or self::ol or self::ul]["
         f" re:test(@id, '^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)') or"
         f" re:test(@class, '{_COMMENTS_CLASS}')]["
         f" not(self::ol or self::ul) or re:test(@id, '^(?:{_COMMENTS_ID})')"
         f" or re:test(@class, '{_COMMENTS_CLASS}')]", comment_sections),
    ),
}


def mirrors(name: str) -> bool:
    """True when trafilatura.core's XPath list ``name`` is the one ``MIRRORED[name]`` mirrors."""
    xpaths = getattr(trafilatura.core, name)
    texts = [" ".join(getattr(xpath, "path", "").split()) for xpath in xpaths]
    return texts == [text for text, _ in MIRRORED[name]]


@contextmanager
def fast_pruning() -> Iterator[None]:
    """Within the block, trafilatura prunes the raw page with the functions here (each XPath list
    that they mirror; the others are left). They select what the XPaths select, so another thread's
    trafilatura call meanwhile extracts the same text (threads may at worst leave them in place)."""
    originals = {name: getattr(trafilatura.core, name) for name in MIRRORED}
    try:
        for name, pairs in MIRRORED.items():
            if mirrors(name):
                setattr(trafilatura.core, name, [select for _, select in pairs])
        yield
    finally:
        for name, value in originals.items():
            setattr(trafilatura.core, name, value)
