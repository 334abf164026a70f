"""The seed report (shared/reports/islamism-peru-report.txt) parses to its known figures."""

from __future__ import annotations

import pytest

from collector.citations import ParsedReport, parse_report

from .samples import SEED

ENTRIES = {"1", "2", "3", "9", "14", "15", "16", "24", "32", "33", "38", "39", "40", "42", "43", "44"}
NO_ENTRY = {"4", "5", "6", "7", "8", "10", "11", "12", "13", "23", "25", "26", "30", "31", "36", "41"}
MARKERS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "23", "24",
           "25", "26", "30", "31", "32", "33", "36", "38", "39", "40", "41", "42", "43", "44")


@pytest.fixture(scope="module")
def seed() -> ParsedReport:
    if not SEED.exists():
        pytest.skip(f"seed report not found at {SEED} (it lives in the shared folder beside the repository)")
    return parse_report(SEED.read_bytes(), filename=SEED.name)


def _seed_line(number: int) -> str:
    return SEED.read_text(encoding="utf-8").split("\n")[number - 1]


def test_sixteen_entries_and_thirty_two_markers(seed: ParsedReport) -> None:
    assert seed.format == "text"
    assert seed.title == "Islamism and pro-Pal propaganda in Peru"
    assert {c.ref for c in seed.citations if c.has_entry} == ENTRIES
    assert seed.markers == MARKERS
    assert [c.ref for c in seed.citations] == sorted(ENTRIES | NO_ENTRY, key=int)
    assert all(c.in_body for c in seed.citations)


def test_markers_without_entry_need_a_url(seed: ParsedReport) -> None:
    missing = {c.ref for c in seed.citations if not c.has_entry}
    assert missing == NO_ENTRY
    for ref in NO_ENTRY:
        citation = seed.citation(ref)
        assert citation.needs_url and citation.kind == "unknown" and citation.raw == ""
    # web entries whose links were stripped need one too; books, notes and the ibid do not
    web_without_url = {"1", "2", "14", "15", "16", "38", "39", "40", "43", "44"}
    assert {c.ref for c in seed.needing_url} == NO_ENTRY | web_without_url


def test_kinds(seed: ParsedReport) -> None:
    kinds = {c.ref: c.kind for c in seed.citations if c.has_entry}
    assert {ref for ref, kind in kinds.items() if kind == "book"} >= {"3", "9", "32"}
    assert kinds["24"] == "note"
    assert kinds["33"] == "ibid"
    assert seed.citation("33").ibid_of == "32"
    assert seed.citation("33").title == seed.citation("32").title
    assert all(kinds[ref] == "web" for ref in ("1", "2", "14", "15", "16", "38", "39", "40", "43", "44"))


def test_entry_fields(seed: ParsedReport) -> None:
    first = seed.citation("1")
    assert first.authors == ("Daniela Castro",)
    assert first.title == "90% of Brazilian Town Lives off Drug Trafficking: Authorities"
    assert first.publisher == "Insightcrime"
    assert (first.date, first.date_iso) == ("September 19th 2013", "2013-09-19")
    book = seed.citation("3")
    assert book.authors == ("Maria Zuppello",)
    assert book.title is not None and book.title.startswith("Il Jihad ai Tropici")
    assert (book.publisher, book.date_iso, book.pages) == ("Paese Edizioni", "2019", "160-161")
    assert seed.citation("9").pages == "161"
    assert seed.citation("38").date_iso == "2021-06-10"  # "June 10. 2021"
    assert seed.citation("15").title == "Brotherhood ‘buying influence with arms"
    assert seed.citation("39").title == "Peru: Pedro Castillo detained by police after coup attempt"
    assert seed.citation("39").publisher == "Mercopress"


def test_stripped_link_residue_is_not_a_url(seed: ParsedReport) -> None:
    entry = seed.citation("2")
    assert entry.raw.endswith(";,venues%20on%20the%20Amazon%20River.")  # raw stays as written
    assert entry.urls == ()
    assert entry.title == "2024 Trafficking in Persons Report: Peru"
    assert entry.publisher == "US State Department"
    assert entry.date_iso == "2024"
    assert any("venues%20on%20the%20Amazon%20River" in w for w in seed.warnings)


def test_note_spans_its_lines_and_trailing_text_is_ignored(seed: ParsedReport) -> None:
    note = seed.citation("24")
    assert note.raw.startswith("* The land was promised by God")
    assert note.raw.endswith("just as they were mistreated by Assyria, Babylon, Greece, Rome and Europe.")
    assert note.where == "line 99"
    assert all("No responses yet" not in c.raw for c in seed.citations)
    assert any("line 125" in w and "No responses yet" in w for w in seed.warnings)
    assert "[1] Daniela Castro" not in seed.body
    assert seed.body.rstrip().endswith("Jewish and Israeli targets in Latin America.")


def test_quote_for_2_is_whole(seed: ParsedReport) -> None:
    line = _seed_line(14)
    expected = line[line.index("“") + 1:line.rindex("”")]
    assert seed.citation("2").quotes == (expected,)
    assert expected.count(". ") == 3  # four sentences


def test_quote_for_23_keeps_its_nested_quotation(seed: ParsedReport) -> None:
    line = _seed_line(47)
    expected = line[line.index("“") + 1:line.rindex("”")]
    assert "“chosen by God”" in expected
    assert seed.citation("23").quotes == (expected,)


def test_other_quotes_and_context(seed: ParsedReport) -> None:
    assert seed.citation("7").quotes == ("Emir of the Islamic Center of Iquitos", "Emir Fazlullah")
    assert seed.citation("6").quotes == (
        "We are a mean for disseminating news and documentaries that people need to know about",
    )
    assert seed.citation("25").quotes[0].endswith("Free Palestine!")
    assert seed.citation("36").quotes == ()  # an unclosed quotation mark ties nothing
    assert seed.citation("1").quotes == ()
    context = seed.citation("14").context
    assert context is not None and context.startswith("IHH is a notorious Turkish conservative NGO")
    assert context.endswith("Al Qaeda.[14]")
