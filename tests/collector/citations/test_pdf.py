"""PDF reports: text layer, superscript markers, page footnotes, endnotes and /Link /URI annotations.

The PDFs are written here with fpdf2, which puts real text and link annotations in the file.
"""

from __future__ import annotations

import pytest
from fpdf import FPDF

from collector.citations import ParsedReport, ReportParseError, parse_report


def _ledger_pdf() -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title("Harbour Ledger")
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.cell(0, 10, "Harbour Ledger", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, 'The ledger kept by the harbour office lists every boat that leaves after dark. '
                   'Its keeper wrote: "Nothing moves on the water at night without somebody seeing it, and '
                   'nobody seeing it ever writes it down." [1] The clerks disagree with him.')
    pdf.ln(2)
    pdf.write(6, "Figures for the winter are in the ")
    pdf.write(6, "harbour survey", link="https://survey.example.org/winter")
    pdf.write(6, " and were confirmed by the pilots")
    pdf.char_vpos = "SUP"
    pdf.write(6, "2")
    pdf.char_vpos = "LINE"
    pdf.write(6, ".")
    pdf.set_y(-40)  # the page's footnote, in small type
    pdf.set_font("Helvetica", size=8)
    pdf.char_vpos = "SUP"
    pdf.write(4, "2")
    pdf.char_vpos = "LINE"
    pdf.write(4, " Pilots' association, ")
    pdf.write(4, "Gazette interview", link="https://gazette.example.net/pilots")
    pdf.write(4, ", 9 April 2024.")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "A second ledger was found in the customs shed [3]. It ends in 2019 [4].")
    pdf.ln(4)
    pdf.cell(0, 6, "Notes", new_x="LMARGIN", new_y="NEXT")
    pdf.write(6, '[1] Tomas Vidal, "The Keeper of the Ledger", Delta Courier, 4 June 2023, ')
    pdf.write(6, "courier.example.net/keeper", link="https://courier.example.net/keeper")
    pdf.ln(6)
    pdf.write(6, "[3] Customs archive, box 14 (Delta Records Office, 2020), p. 3.")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def report() -> ParsedReport:
    return parse_report(_ledger_pdf(), filename="ledger.pdf")


def test_text_layer_and_markers(report: ParsedReport) -> None:
    assert report.format == "pdf"
    assert report.title == "Harbour Ledger"
    assert report.markers == ("1", "2", "3", "4")
    assert "confirmed by the pilots[2]." in report.body  # the superscript 2 became a marker
    assert "Pilots' association" not in report.body  # the page footnote is an entry
    assert "Notes" not in report.body


def test_wrapped_quote_is_whole(report: ParsedReport) -> None:
    assert report.citation("1").quotes == (
        "Nothing moves on the water at night without somebody seeing it, "
        "and nobody seeing it ever writes it down.",
    )


def test_link_annotations_go_to_the_note_they_sit_in(report: ParsedReport) -> None:
    endnote = report.citation("1")
    assert endnote.urls == ("https://courier.example.net/keeper",)
    assert endnote.title == "The Keeper of the Ledger"
    assert (endnote.date_iso, endnote.where) == ("2023-06-04", "page 2")
    footnote = report.citation("2")
    assert footnote.urls == ("https://gazette.example.net/pilots",)
    assert footnote.raw == "Pilots' association, Gazette interview, 9 April 2024."
    assert footnote.where == "page 1"
    book = report.citation("3")
    assert (book.kind, book.publisher, book.pages) == ("book", "Delta Records Office", "3")
    assert not book.needs_url
    assert report.citation("4").kind == "unknown" and report.citation("4").needs_url


def test_body_link_annotation_is_a_candidate(report: ParsedReport) -> None:
    link = report.citation("link-1")
    assert link.urls == ("https://survey.example.org/winter",)
    assert link.anchor_text == "harbour survey"
    assert link.context == (
        "Figures for the winter are in the harbour survey and were confirmed by the pilots[2]."
    )
    assert link.where == "page 1"


def test_pdf_without_text_layer() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 120)  # a drawing: what a scanned page looks like to a text extractor
    with pytest.raises(ReportParseError, match=r"^scan\.pdf: the PDF has no text layer"):
        parse_report(bytes(pdf.output()), filename="scan.pdf")


def test_broken_pdf() -> None:
    with pytest.raises(ReportParseError, match=r"^cut\.pdf: not a readable PDF"):
        parse_report(_ledger_pdf()[:300], filename="cut.pdf")
