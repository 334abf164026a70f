"""One notes entry into its parts, and its kind."""

from __future__ import annotations

import pytest

from collector.citations.dates import find_date
from collector.citations.entries import parse_entry


def test_web_article_with_url() -> None:
    entry = parse_entry("Ana Ruiz and Luis Paz, “Night crossings on the delta”, Delta Courier, "
                        "May 3rd, 2022, https://courier.example.net/night-crossings. Accessed 4 June 2024.")
    assert entry.kind == "web"
    assert entry.authors == ("Ana Ruiz", "Luis Paz")
    assert entry.title == "Night crossings on the delta"
    assert entry.publisher == "Delta Courier"
    assert (entry.date, entry.date_iso) == ("May 3rd, 2022", "2022-05-03")
    assert entry.urls == ("https://courier.example.net/night-crossings",)


def test_book_forms() -> None:
    paren = parse_entry("Samuel Okafor, Rivers Without Borders (London: Harbour House, 2021), pp. 10–12.")
    assert (paren.kind, paren.publisher) == ("book", "Harbour House")
    assert (paren.date_iso, paren.pages) == ("2021", "10–12")
    assert paren.title == "Rivers Without Borders"
    isbn = parse_entry("Lena Brandt, Tide Tables, ISBN 978-3-16-148410-0.")
    assert isbn.kind == "book"


@pytest.mark.parametrize("text", ["Ibidem", "Ibid.", "Ibid., p. 4.", "Id.", "ibíd., pp. 3-4", "Idem"])
def test_ibid_forms(text: str) -> None:
    assert parse_entry(text).kind == "ibid"


def test_op_cit_names_its_author() -> None:
    entry = parse_entry("Okafor, op. cit., p. 45.")
    assert (entry.kind, entry.op_cit, entry.pages) == ("ibid", "Okafor", "45")


def test_notes() -> None:
    assert parse_entry("* The figures include boats registered abroad.").kind == "note"
    prose = parse_entry("The harbour office would not say how many inspectors work at night on the river.")
    assert prose.kind == "note"


@pytest.mark.parametrize(
    "text",
    [
        "Delta Pilots, video, https://www.youtube.com/watch?v=abc123XYZ",
        "https://x.com/deltapilots/status/1234567890",
        "https://t.me/pilots_union/412",
        "Post by @delta_crews, 12 January 2024.",
        "Delta Pilots’ Facebook page, 3 March 2024.",
        "Video on TikTok, 2 May 2024",
    ],
)
def test_social(text: str) -> None:
    assert parse_entry(text).kind == "social"


def test_social_word_inside_a_title_is_not_social() -> None:
    entry = parse_entry("Ana Ruiz, “Why Facebook matters to ferry crews”, Delta Courier, 2023.")
    assert entry.kind == "web"


def test_reference_without_url_is_web_and_residue_is_dropped() -> None:
    entry = parse_entry("Port report, Delta Board, 2024;,boats%20at%20night.")
    assert (entry.kind, entry.urls, entry.date_iso) == ("web", (), "2024")
    assert entry.residue == ("boats%20at%20night.",)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("September 19th 2013", "2013-09-19"),
        ("June 10. 2021", "2021-06-10"),
        ("19 September 2013", "2013-09-19"),
        ("3 de mayo de 2023", "2023-05-03"),
        ("2021-06-10", "2021-06-10"),
        ("March 2020", "2020-03"),
        ("in 1998", "1998"),
        ("14 gennaio 2019", "2019-01-14"),
    ],
)
def test_dates(text: str, iso: str) -> None:
    found = find_date(text)
    assert found is not None and found.iso == iso
