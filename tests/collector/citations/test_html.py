"""HTML reports: footnote structures, outbound links as candidates, chrome left out."""

from __future__ import annotations

import pytest

from collector.citations import ParsedReport, parse_report

from .samples import REPORTS

BRIEF = REPORTS / "delta-brief.html"


@pytest.fixture(scope="module")
def report() -> ParsedReport:
    return parse_report(BRIEF.read_bytes(), filename=BRIEF.name)


def test_title_body_and_markers(report: ParsedReport) -> None:
    assert report.format == "html"
    assert report.title == "Night ferries on the lower delta"
    assert report.markers == ("1", "2", "3", "4", "5")
    assert "moored.”[2]" in report.body
    for chrome in ("River Watch", "Briefs", "Share", "Buy now", "Privacy", "By Staff", "tracking"):
        assert chrome not in report.body
    assert "Delta Port Authority" not in report.body  # footnotes are entries, not body


def test_footnote_lists(report: ParsedReport) -> None:
    first = report.citation("1")
    assert first.urls == ("https://port.example.gov/stats/2023",)
    assert first.anchor_text == "port.example.gov/stats/2023"
    assert first.raw.startswith("Delta Port Authority, “Annual Crossing Statistics 2023”")
    assert "↩" not in first.raw
    assert first.where == "line 37"
    second = report.citation("2")
    assert (second.kind, second.ibid_of, second.pages) == ("ibid", "1", "12")
    assert second.quotes == (
        "Most of the night traffic carries no manifest. "
        "Inspectors see the boats only when they are already moored.",
    )


def test_word_style_footnote(report: ParsedReport) -> None:
    note = report.citation("5")
    assert note.kind == "social"
    assert note.urls == ("https://t.me/pilots_union/412",)
    assert note.raw == "Pilots’ union, post on Telegram, 5 May 2024."
    assert note.context == "A Word-style note follows the union’s claim.[5]"


def test_plain_sup_and_linked_marker(report: ParsedReport) -> None:
    three = report.citation("3")
    assert (three.kind, three.has_entry, three.needs_url) == ("unknown", False, True)
    assert three.quotes == ("routine, as ‘everyone’ knows",)
    four = report.citation("4")
    assert four.urls == ("https://ministry.example.gov/statements/77",)
    assert (four.kind, four.has_entry, four.needs_url) == ("web", False, False)


def test_outbound_links_are_candidates_and_chrome_is_not(report: ParsedReport) -> None:
    links = [c for c in report.citations if c.ref.startswith("link-")]
    assert [(c.urls[0], c.anchor_text) for c in links] == [
        ("https://courier.example.net/2024/02/floating-markets", "the Delta Courier"),
        ("https://www.youtube.com/watch?v=abc123XYZ", "posted on YouTube"),
        ("https://riverwatch.example.org/briefs/delta-2022", "on this site"),  # same site, in the text
        ("https://www.youtube.com/embed/abc999", None),  # an embedded video
    ]
    assert [c.kind for c in links] == ["web", "social", "web", "social"]
    context = links[0].context
    assert context == (
        "Pilots told the Delta Courier that the crossings were “routine, as ‘everyone’ knows”.[3]"
    )
    every_url = {u for c in report.citations for u in c.urls}
    for excluded in ("sharer", "intent/tweet", "/tag/ferries", "ads.example.com", "instagram.com",
                     "twitter.com/riverwatch", "/privacy", "#section-2"):
        assert not any(excluded in url for url in every_url)


def test_base_url_resolves_relative_links() -> None:
    page = (
        b"<html><body><p>The archive keeps <a href='/files/ledger.pdf'>the ledger</a>; "
        b"the <a href='/category/ferries'>ferries category</a> is chrome; "
        b"<a href='https://other.example.com/x'>elsewhere</a>.</p></body></html>"
    )
    report = parse_report(page, content_type="text/html; charset=utf-8", base_url="https://site.example.org/a/b")
    assert [c.urls[0] for c in report.citations] == [
        "https://site.example.org/files/ledger.pdf", "https://other.example.com/x",
    ]
    unresolved = parse_report(page, content_type="text/html")
    assert [c.urls[0] for c in unresolved.citations] == ["https://other.example.com/x"]


def test_paragraph_notes_and_links_inside_them() -> None:
    page = """<!doctype html><html><head><title>Jetty log</title></head><body>
      <p>Night crossings rose sharply.[1] The pilots said “we only follow the lights”.[2]</p>
      <p>[1] Jetty log, <a href="https://log.example.org/2024">entry of 3 May 2024</a>.</p>
      <p>[2] Pilots’ association, statement, 2024.</p>
    </body></html>"""
    report = parse_report(page.encode(), filename="jetty.html")
    assert report.title == "Jetty log"
    assert report.citation("1").urls == ("https://log.example.org/2024",)
    assert report.citation("1").anchor_text == "entry of 3 May 2024"
    assert report.citation("2").needs_url
    assert report.citation("2").quotes == ("we only follow the lights",)
    assert not any(c.ref.startswith("link-") for c in report.citations)


def test_footnotes_outside_the_main_content() -> None:
    page = b"""<html><body><main><p>Boats left at night.<sup><a href="#fn1">1</a></sup></p></main>
      <footer><div class="footnotes"><ol><li id="fn1">Port log, 3 May 2024,
      <a href="https://log.example.org/may">the log</a> <a href="#fnref1">&#8617;</a></li></ol></div>
      <a href="/privacy">Privacy</a></footer></body></html>"""
    report = parse_report(page, filename="outside.html")
    assert report.body.strip() == "Boats left at night.[1]"
    assert [(c.ref, c.urls, c.date_iso) for c in report.citations] == [
        ("1", ("https://log.example.org/may",), "2024-05-03"),
    ]


def test_wikipedia_style_references() -> None:
    page = """<html><body><div id="content"><h1>Delta</h1>
      <p>The delta has 40 jetties.<sup class="reference"><a href="#cite_note-1">[1]</a></sup>
         Most are unlit.<sup class="reference"><a href="#cite_note-1">[1]</a></sup></p>
      <ol class="references"><li id="cite_note-1"><span class="mw-cite-backlink"><a href="#cite_ref-1">^</a>
        </span><span class="reference-text"><a href="https://board.example.gov/jetties">“Jetty register”</a>.
        Delta Board. 2022.</span></li></ol></div></body></html>"""
    report = parse_report(page.encode(), filename="wiki.html")
    assert report.markers == ("1",)
    entry = report.citation("1")
    assert entry.urls == ("https://board.example.gov/jetties",)
    assert entry.title == "Jetty register"
    assert entry.raw.startswith("“Jetty register”")
