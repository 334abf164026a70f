"""Plain-text reports: marker styles, notes lists, wrapped lines."""

from __future__ import annotations

from pathlib import Path

from collector.citations import parse_report


def test_wrapped_report_with_parenthesised_markers(reports: Path) -> None:
    report = parse_report((reports / "wrapped-notes.txt").read_bytes(), filename="wrapped-notes.txt")
    assert report.format == "text"
    assert report.title == "Harbour Traffic After Dark"
    assert report.markers == ("1", "2", "3", "4")  # (1) after a sentence end, (2) after a quote, (3)., ⁴
    assert "(1) the lack of inspectors" in report.body  # an enumeration, not a marker
    first = report.citation("1")
    assert first.urls == ("https://harbour.example.gov/reports/winter-2023",)
    assert (first.title, first.date_iso, first.where) == ("Winter Departures Report", "2023-03-03", "line 16")
    assert report.citation("2").kind == "ibid" and report.citation("2").ibid_of == "1"
    assert report.citation("2").pages == "4-5"
    assert report.citation("2").quotes == (
        "Boats leave without lights, without papers and without a pilot on board.",
    )
    third = report.citation("3")
    assert (third.kind, third.publisher, third.date_iso, third.pages) == ("book", "Delta Press", "2022", "17")
    fourth = report.citation("4")
    assert fourth.kind == "social" and fourth.needs_url
    assert fourth.context == "Some crews fly the cooperative's own flag⁴ and others fly none."


def test_bracket_lists_ranges_and_years() -> None:
    text = (
        "Boats crossed at night [1, 2] and again at dawn [3-5].\n"
        "The old harbour law [1998] still applies, as the 1998 review [6] noted.\n"
        "[1] Ana Ruiz, “Night crossings”, Delta Courier, 2 May 2022, https://courier.example.net/night\n"
        "[2] Ibid.\n"
        "[6] Harbour Board, Annual Review (Delta Press, 1998), p. 4.\n"
    )
    report = parse_report(text.encode(), filename="lists.txt")
    assert report.markers == ("1", "2", "3", "4", "5", "6")
    assert [c.ref for c in report.citations] == ["1", "2", "3", "4", "5", "6"]
    assert report.citation("2").ibid_of == "1"
    assert {c.ref for c in report.needing_url} == {"3", "4", "5"}
    assert report.citation("1").context == "Boats crossed at night [1, 2] and again at dawn [3-5]."


def test_windows_line_ends_and_latin1_text() -> None:
    text = "Caf\xe9 owners said so.[1]\r\n[1] Nota del autor: entrevista en Lima, 3 de mayo de 2023.\r\n"
    report = parse_report(text.encode("cp1252"), filename="cafe.txt")
    assert report.body == "Caf\xe9 owners said so.[1]\n"
    entry = report.citation("1")
    assert entry.date_iso == "2023-05-03"
    assert entry.raw == "Nota del autor: entrevista en Lima, 3 de mayo de 2023."


def test_entry_without_marker_and_bare_urls_in_the_body() -> None:
    text = (
        "Ferry prices doubled in a year.[1] Timetables are at https://ferries.example.org/times.\n"
        "A map is posted on https://www.facebook.com/deltaferries/posts/1 (see also www.example.com/map).\n"
        "Notes\n"
        "1. Delta Ferry Company, price list, 1 March 2024, https://ferries.example.org/prices\n"
        "2. Delta Ferry Company, timetable archive, 2023, https://ferries.example.org/times\n"
    )
    report = parse_report(text.encode(), filename="ferries.txt")
    assert report.markers == ("1",)
    orphan = report.citation("2")
    assert orphan.has_entry and not orphan.in_body
    assert any("[2]" in w and "no marker" in w for w in report.warnings)
    links = [c for c in report.citations if c.ref.startswith("link-")]
    # the timetable URL is already cited by entry 2, so only the other two body URLs become link citations
    assert [(c.ref, c.kind, c.urls) for c in links] == [
        ("link-1", "social", ("https://www.facebook.com/deltaferries/posts/1",)),
        ("link-2", "web", ("http://www.example.com/map",)),
    ]
    assert links[0].context is not None and links[0].context.startswith("A map is posted on")


def test_ordered_list_in_the_body_is_not_a_notes_list() -> None:
    text = (
        "The inspectors made three requests [1]:\n"
        "1. more boats for the night patrol;\n"
        "2. a register of every jetty;\n"
        "3. radios for the pilots.\n"
    )
    report = parse_report(text.encode(), filename="requests.txt")
    assert [c.ref for c in report.citations] == ["1"]
    assert report.citation("1").kind == "unknown"
    assert report.body.endswith("3. radios for the pilots.\n")
