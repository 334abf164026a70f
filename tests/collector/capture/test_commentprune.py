"""``comment_sections`` selects what trafilatura's comment XPath selects, and is used only in its place.

On pages written to reach each branch of the XPath (ids, classes, Disqus, lists, "commentary",
attributes missing) and, when ``../shared/corpora/trafilatura-eval`` is next to the repository, on all
of its real pages.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import trafilatura.core
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from collector.capture.commentprune import (
    comment_sections,
    fast_comment_pruning,
    mirrors_trafilatura,
)

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "trafilatura-eval"
SECTIONS = [
    '<div id="comments">a</div>', '<div id="Comment-12">b</div>', '<div id="commentary">c</div>',
    '<div class="comment-body">d</div>', '<div class="commentary">e</div>',
    '<section class="x post-comments">f</section>', '<details class="article-comments">g</details>',
    '<div id="disqus_thread">h</div>', '<div id="dsq-comments">i</div>', '<div id="comol">j</div>',
    '<ol id="disqus_thread"><li>k</li></ol>', '<ul id="comments"><li>l</li></ul>',
    '<ul class="comment-list"><li>m</li></ul>', '<ol class="x"><li>n</li></ol>',
    '<div id="my-comments">o</div>', '<div class="a" id="comments"><div class="comment">p</div></div>',
    '<span id="comments">q</span>', '<div>r</div>', '<ul id="dsq-comments"><li>s</li></ul>',
]
PAGE = f"<html><body><article>{''.join(SECTIONS)}</article></body></html>"


def _xpath_selection(tree: HtmlElement) -> list[HtmlElement]:
    (xpath,) = trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH
    return list(xpath(tree))


def test_the_pinned_trafilatura_has_the_mirrored_xpath() -> None:
    assert mirrors_trafilatura()


def test_each_branch_of_the_xpath_selects_the_same_elements() -> None:
    tree = load_html(PAGE.encode())
    expected = _xpath_selection(tree)
    assert len(expected) >= 8  # the page reaches the XPath's selecting branches, not only its others
    assert comment_sections(tree) == expected


def test_real_pages_of_the_evaluation_corpus_select_the_same_elements() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (it is outside the repository)")
    selecting = 0
    for line in (CORPUS / "manifest.jsonl").read_text().splitlines():
        html = gzip.decompress((CORPUS / json.loads(line)["stored_as"]).read_bytes())
        tree = load_html(html)
        if tree is None:
            continue
        expected = _xpath_selection(tree)
        selecting += bool(expected)
        assert comment_sections(tree) == expected
    assert selecting > 100  # many real pages have comment sections to prune


def test_the_fast_pruning_is_in_place_within_the_block_only() -> None:
    original = trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH
    with fast_comment_pruning():
        assert trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH == [comment_sections]
    assert trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH is original
    with pytest.raises(RuntimeError), fast_comment_pruning():
        raise RuntimeError("an extraction that fails")
    assert trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH is original


def test_a_changed_xpath_of_trafilatura_is_left_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = [trafilatura.core.REMOVE_COMMENTS_XPATH[0]]  # another XPath than the mirrored one
    monkeypatch.setattr(trafilatura.core, "REMOVE_COMMENTS_AND_LISTS_XPATH", changed)
    assert not mirrors_trafilatura()
    with fast_comment_pruning():
        assert trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH is changed
