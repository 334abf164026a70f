"""Markdown reports: footnotes, inline, reference and numbered links, <sup>, (n) and a notes list."""

from __future__ import annotations

import pytest

from collector.citations import ParsedReport, parse_report

from .samples import REPORTS


@pytest.fixture(scope="module")
def report() -> ParsedReport:
    path = REPORTS / "night-ferries.md"
    return parse_report(path.read_bytes(), filename=path.name)


def test_every_marker_style(report: ParsedReport) -> None:
    assert report.format == "markdown"
    assert report.title == "Night Ferries on the Lower Delta"
    assert report.markers == ("^count", "^review", "3", "^inquiry", "4", "5", "6", "7")
    assert "(1992)" in report.body and "1. the crossings were nightly;" in report.body
    assert "[^count]:" not in report.body and "## Notes" not in report.body


def test_order_is_numbers_then_appearance(report: ParsedReport) -> None:
    assert [c.ref for c in report.citations] == [
        "3", "4", "5", "6", "7", "^count", "^review", "link-1", "link-2", "^inquiry", "link-3", "link-4",
    ]


def test_footnote_definitions(report: ParsedReport) -> None:
    count = report.citation("^count")
    assert count.kind == "web"
    assert count.urls == ("https://port.example.gov/stats/2023",)
    assert count.anchor_text == "port.example.gov"
    assert count.title == "Annual Crossing Statistics 2023"
    assert count.raw.startswith("Delta Port Authority, “Annual Crossing Statistics 2023”")
    assert "(https://port.example.gov/stats/2023)" in count.raw  # raw is the source as written
    assert count.where == "line 30"
    review = report.citation("^review")
    assert (review.kind, review.ibid_of, review.pages) == ("ibid", "^count", "12")
    inquiry = report.citation("^inquiry")
    assert inquiry.kind == "book"
    assert inquiry.authors == ("Samuel Okafor", "Lena Brandt")
    assert inquiry.title == "Rivers Without Borders"
    assert (inquiry.publisher, inquiry.pages) == ("Harbour House Press", "88-91")


def test_notes_list_under_a_heading(report: ParsedReport) -> None:
    assert report.citation("3").kind == "web" and report.citation("3").needs_url
    assert report.citation("3").authors == ("Ana Lucía Ferreira",)
    assert report.citation("4").kind == "social" and report.citation("4").needs_url
    assert report.citation("5").kind == "note" and not report.citation("5").needs_url
    assert report.citation("6").kind == "unknown" and report.citation("6").needs_url  # <sup>6</sup>, no entry


def test_numbered_reference_definition(report: ParsedReport) -> None:
    seven = report.citation("7")
    assert seven.urls == ("https://stats.example.gov/tides-2023",)
    assert seven.title == "Tide tables 2023"
    assert seven.has_entry and seven.in_body and not seven.needs_url


def test_links_without_footnotes(report: ParsedReport) -> None:
    links = {c.ref: c for c in report.citations if c.ref.startswith("link-")}
    assert [(c.urls[0], c.anchor_text, c.kind) for c in links.values()] == [
        ("https://coop.example.org/statement-2023", "cooperative's statement", "web"),
        ("https://www.youtube.com/watch?v=abc123XYZ", "YouTube", "social"),
        ("https://news.example.net/delta/ferries", None, "web"),
        ("https://archive.example.com/harbour", "the harbour archive", "web"),
    ]
    assert all(not c.needs_url and not c.has_entry for c in links.values())
    context = links["link-2"].context
    assert context is not None and context.startswith("Fishermen gave a different account")


def test_quotes(report: ParsedReport) -> None:
    assert report.citation("^review").quotes == (
        "Most of the night traffic carries no manifest at all. "
        "Inspectors see the boats only when they are already moored.",
    )
    assert report.citation("3").quotes == (
        "never ask what is in the crates, because ‘not knowing’ is the job",
    )
    assert report.citation("5").quotes == ("We will publish everything.",)
    assert report.citation("^count").quotes == ()


def test_linked_marker_and_footnote_label_forms() -> None:
    text = (
        "Crossings doubled [[1]](https://stats.example.org/crossings) and the docks filled[^a].\n\n"
        "[^a]: Dock register, 2024; see [the register](https://docks.example.org/register).\n"
    )
    report = parse_report(text.encode(), filename="short.md")
    assert report.markers == ("1", "^a")
    assert report.citation("1").urls == ("https://stats.example.org/crossings",)
    assert report.citation("1").kind == "web" and not report.citation("1").has_entry
    assert report.citation("^a").urls == ("https://docks.example.org/register",)
    assert report.citation("^a").anchor_text == "the register"
