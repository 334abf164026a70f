"""js_shell_signal on real pages: the static pages of the trafilatura evaluation corpus are not shells
(auto mode must pick the browser for under 5% of them), the JavaScript apps of the tests' social web
and typical framework shells are."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from spiders.jsshell import js_shell_signal, visible_length, visible_text
from tests.collector.capture import socialweb

CORPUS = Path("/work/shared/corpora/trafilatura-eval/html")
if not CORPUS.exists():  # the repository's own copy, where the shared one is not mounted
    CORPUS = Path(__file__).resolve().parents[2] / "../shared/corpora/trafilatura-eval/html"


def corpus_pages() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name.endswith((".html", ".gz")))


def test_static_corpus_pages_are_not_shells() -> None:
    pages = corpus_pages()
    if not pages:
        pytest.fail(f"the trafilatura-eval corpus is not at {CORPUS}")
    picked = []
    for path in pages:
        data = path.read_bytes()
        html = gzip.decompress(data) if path.name.endswith(".gz") else data
        signal = js_shell_signal(html)
        if signal is not None:
            picked.append((path.name, signal))
    share = len(picked) / len(pages)
    print(f"\njs_shell_signal picked {len(picked)} of {len(pages)} static corpus pages "
          f"({100 * share:.2f}%): {picked[:10]}")
    assert len(pages) >= 500
    assert share < 0.05


@pytest.mark.parametrize(("html", "signal"), [
    (socialweb.SHELL % "1", "noscript"),
    ("<html><body><div id=\"root\"></div><script src=/main.js></script></body></html>",
     "empty app root"),
    ("<html><body><div id='__next'><!-- app --></div></body></html>", "empty app root"),
    ("<html><body><app-root></app-root></body></html>", "empty app root"),
    ("<html><head><script>" + "var a=1;" * 5000 + "</script></head><body><p>Loading</p></body></html>",
     "script-heavy"),
])
def test_shells_are_named(html: str, signal: str) -> None:
    assert js_shell_signal(html) == signal


@pytest.mark.parametrize("html", [
    socialweb.STATIC,
    socialweb.LAZY,
    # a noscript that does not ask for JavaScript (a tracking pixel) on an article
    "<html><body><noscript><img src=/pixel.gif></noscript><article>" + "<p>Words of the story.</p>" * 40
    + "</article></body></html>",
    # an app root that the server filled in (server-side rendering)
    "<html><body><div id=\"root\"><article>" + "<p>Rendered on the server, read by all.</p>" * 30
    + "</article></div></body></html>",
    # a JavaScript-requiring noscript on a page that has its text anyway
    "<html><body><noscript>Please enable JavaScript</noscript>" + "<p>The full article text.</p>" * 80
    + "</body></html>",
])
def test_pages_with_text_are_not_shells(html: str) -> None:
    assert js_shell_signal(html) is None


def test_given_text_is_used_instead_of_the_visible_text() -> None:
    html = socialweb.SHELL % "1"
    assert js_shell_signal(html, text="A long extracted text. " * 100) is None
    assert js_shell_signal(html, text="") == "noscript"


def test_visible_text_drops_scripts_styles_and_noscript() -> None:
    text = visible_text(b"<style>p{}</style><p>Shown &amp; kept</p><script>hidden()</script>"
                        b"<noscript>enable JS</noscript><!-- c -->")
    assert text == "Shown & kept"


def test_visible_text_collapses_every_kind_of_whitespace_to_one_space() -> None:
    # no-break, em and ideographic spaces, tabs and line breaks, as the reader sees them: one gap
    html = "<p>\n\t a\u00a0\u00a0b\u2003 c</p>\r\n<p>d\u3000e </p>\n".encode()
    assert visible_text(html) == "a b c d e"


def test_visible_length_is_the_visible_texts_up_to_the_limit_on_real_pages() -> None:
    # the spider's one-pass count stops once the page shows enough; below that it must be exact,
    # else auto mode would judge pages by another measure than the one the tests above check
    pages = corpus_pages()[::3]
    assert len(pages) >= 300
    for path in pages:
        data = path.read_bytes()
        html = gzip.decompress(data) if path.name.endswith(".gz") else data
        full = len(visible_text(html))
        assert min(visible_length(html, enough=1600), 1600) == min(full, 1600), path.name
        assert visible_length(html, enough=10**9) == full, path.name


@pytest.mark.parametrize("html", [
    b"", b"  \n ", b"<p>a</p>", b"<p>\n\t a\xc2\xa0\xc2\xa0b</p> c &amp; d",
    b"<style>p{}</style><p>Shown &amp; kept</p><script>hidden()</script><noscript>x</noscript><!-- c -->",
    b"<SCRIPT type=x>var a = '<p>no</p>';</SCRIPT ><p>yes</p>", b"<script>unclosed <p>text</p>",
])
def test_visible_length_counts_what_visible_text_shows(html: bytes) -> None:
    assert visible_length(html, enough=10**9) == len(visible_text(html))
    assert visible_length(html, enough=1) >= min(1, len(visible_text(html)))
