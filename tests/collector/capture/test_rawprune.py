"""The functions of ``rawprune`` select what trafilatura's raw-page XPaths select, and stand in for them
only within ``fast_pruning``.

On a page written to reach each branch of the XPaths (ids, classes, Disqus, lists, "commentary",
follow-up containers with and without an h1, share buttons, attributes missing) and, when
``../shared/corpora/trafilatura-eval`` is next to the repository, on all of its real pages.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import trafilatura.core
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from collector.capture.rawprune import MIRRORED, fast_pruning, mirrors

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
    '<div class="infinite-scroll"><p>t</p></div>', '<div id="infinitescroll"><h1>u</h1></div>',
    '<section class="mvp-post-add-box"><h1>v</h1></section>', '<aside id="mvp-post-add-wrap">w</aside>',
    '<span class="infinite-scroll">x</span>', '<div class="elementor-share-buttons y">y</div>',
    '<aside class="elementor-share-buttons">z</aside>', '<p class="elementor-share-buttons">0</p>',
]
PAGE = f"<html><body><article>{''.join(SECTIONS)}</article></body></html>"


def _selections(tree: HtmlElement) -> dict[str, tuple[list[HtmlElement], list[HtmlElement]]]:
    """Per mirrored XPath: (what trafilatura's XPath selects, what its mirror selects) in ``tree``."""
    found = {}
    for name, pairs in MIRRORED.items():
        for xpath, (text, select) in zip(getattr(trafilatura.core, name), pairs, strict=True):
            found[text] = (list(xpath(tree)), select(tree))
    return found


def test_the_pinned_trafilatura_has_the_mirrored_xpaths() -> None:
    assert all(mirrors(name) for name in MIRRORED)


def test_each_branch_of_the_xpaths_selects_the_same_elements() -> None:
    tree = load_html(PAGE.encode())
    for text, (expected, selected) in _selections(tree).items():
        assert expected, text  # the page reaches each XPath's selecting branches, not only its others
        assert selected == expected, text


def test_real_pages_of_the_evaluation_corpus_select_the_same_elements() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (it is outside the repository)")
    selecting = dict.fromkeys((text for pairs in MIRRORED.values() for text, _ in pairs), 0)
    for line in (CORPUS / "manifest.jsonl").read_text().splitlines():
        tree = load_html(gzip.decompress((CORPUS / json.loads(line)["stored_as"]).read_bytes()))
        if tree is None:
            continue
        for text, (expected, selected) in _selections(tree).items():
            selecting[text] += bool(expected)
            assert selected == expected, text
    assert sum(selecting.values()) > 100  # many real pages have sections to prune


def test_the_mirrors_stand_in_within_the_block_only() -> None:
    originals = {name: getattr(trafilatura.core, name) for name in MIRRORED}
    with fast_pruning():
        for name, pairs in MIRRORED.items():
            assert getattr(trafilatura.core, name) == [select for _, select in pairs]
    assert {name: getattr(trafilatura.core, name) for name in MIRRORED} == originals
    with pytest.raises(RuntimeError), fast_pruning():
        raise RuntimeError("an extraction that fails")
    assert all(getattr(trafilatura.core, name) is value for name, value in originals.items())


def test_a_changed_xpath_of_trafilatura_is_left_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = [trafilatura.core.REMOVE_COMMENTS_XPATH[0]]  # another XPath than the mirrored one
    monkeypatch.setattr(trafilatura.core, "REMOVE_COMMENTS_AND_LISTS_XPATH", changed)
    assert not mirrors("REMOVE_COMMENTS_AND_LISTS_XPATH")
    with fast_pruning():
        assert trafilatura.core.REMOVE_COMMENTS_AND_LISTS_XPATH is changed
        raw = [select for _, select in MIRRORED["RAW_TREE_PRUNE_XPATH"]]
        assert raw == trafilatura.core.RAW_TREE_PRUNE_XPATH  # the other list is still stood in for
