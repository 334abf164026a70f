"""The number of every match beside a page of hits (the search page's count and pages), with each filter,
on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import search
from storage.archive import Archive
from storage.canonical import url_key
from tests.storage.helpers import T0
from tests.storage.test_search import page

DAY = timedelta(days=1)


@pytest.fixture
def notes(archive: Archive) -> list[str]:
    """25 pages on the estuary (a day apart, two hosts) and one on something else."""
    found = []
    for n in range(25):
        host = "a.example.org" if n % 2 else "b.example.net"
        url = f"https://{host}/estuary/{n}"
        page(archive, url, f"Note {n} on the estuary, its tide gauges and the ferry crossing.", n * DAY)
        found.append(url)
    page(archive, "https://a.example.org/other", "A note about the harbour board's minutes.")
    return found


def test_total_counts_every_match_whatever_the_page(archive: Archive, notes: list[str]) -> None:
    first = search.search(archive.sessions, "estuary", limit=20, count=True)
    last = search.search(archive.sessions, "estuary", limit=20, offset=20, count=True)
    assert (first.total, last.total) == (len(notes), len(notes))
    assert len(first.hits) == 20 and first.more and len(last.hits) == len(notes) - 20 and not last.more
    assert search.search(archive.sessions, "estuary").total is None  # not counted unless asked


def test_total_follows_the_filters(archive: Archive, notes: list[str]) -> None:
    on_a = [u for u in notes if "a.example.org" in u]
    assert search.search(archive.sessions, "estuary", site="a.example.org", count=True).total == len(on_a)
    ranged = search.search(archive.sessions, "estuary", since=T0 + 3 * DAY, until=T0 + 7 * DAY, count=True)
    assert ranged.total == 5 and len(ranged.hits) == 5
    keys = [url_key(u) for u in notes[:4]]
    assert search.search(archive.sessions, "estuary -ferry", count=True).total == 0
    assert search.search(archive.sessions, "estuary", url_keys=keys, count=True).total == 4
    assert search.search(archive.sessions, "harbour OR estuary", count=True).total == len(notes) + 1
