"""Read queries on SQLite and PostgreSQL: Memento-style closest_capture, snapshots, iteration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import queries
from storage.archive import Archive
from storage.errors import NoCaptureError, StorageError
from storage.records import CaptureRecord
from tests.storage.helpers import HTML, T0, failed_capture, html_capture

URL = "https://example.com/page"
DAY = timedelta(days=1)


def seed(archive: Archive, *offsets: timedelta, failed: tuple[timedelta, ...] = ()
         ) -> dict[timedelta, CaptureRecord]:
    """Captures of URL at T0 + each offset (distinct bodies), failed attempts at ``failed``."""
    items = [html_capture(URL, T0 + off, body=HTML + str(off).encode()) for off in offsets]
    items += [failed_capture(URL, T0 + off) for off in failed]
    records = archive.commit_captures(items)
    return dict(zip([*offsets, *failed], records, strict=True))


def closest(archive: Archive, at: datetime | None, **kwargs: bool) -> CaptureRecord:
    return queries.closest_capture(archive.sessions, URL, at, **kwargs)


# -- closest_capture --------------------------------------------------------------------------

def test_exact_match(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, 1 * DAY, 2 * DAY)
    assert closest(archive, T0 + DAY).id == caps[DAY].id
    assert closest(archive, T0 + DAY, before=True).id == caps[DAY].id


def test_exact_match_to_the_microsecond(archive: Archive) -> None:
    one_us = timedelta(microseconds=1)
    caps = seed(archive, 0 * DAY, one_us, 2 * one_us)
    assert closest(archive, T0 + one_us).id == caps[one_us].id
    assert closest(archive, T0 + one_us, before=True).id == caps[one_us].id


def test_between_two_captures_the_closer_one_wins(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, 10 * DAY)
    assert closest(archive, T0 + 3 * DAY).id == caps[0 * DAY].id
    assert closest(archive, T0 + 7 * DAY).id == caps[10 * DAY].id


def test_a_tie_goes_to_the_earlier_capture(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, 10 * DAY)
    assert closest(archive, T0 + 5 * DAY).id == caps[0 * DAY].id


def test_before_takes_the_last_capture_at_or_before(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, 10 * DAY)
    at = T0 + 9 * DAY  # much closer to the later capture
    assert closest(archive, at).id == caps[10 * DAY].id
    assert closest(archive, at, before=True).id == caps[0 * DAY].id
    assert closest(archive, T0 + 10 * DAY, before=True).id == caps[10 * DAY].id


def test_before_the_first_capture_with_before_raises(archive: Archive) -> None:
    seed(archive, 0 * DAY, 1 * DAY)
    with pytest.raises(NoCaptureError) as caught:
        closest(archive, T0 - timedelta(microseconds=1), before=True)
    assert URL in str(caught.value)
    assert isinstance(caught.value, StorageError) and isinstance(caught.value, LookupError)


def test_before_the_first_capture_without_before_gives_the_first(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, 1 * DAY)
    assert closest(archive, T0 - 100 * DAY).id == caps[0 * DAY].id


def test_after_the_last_capture_gives_the_last(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, 1 * DAY)
    assert closest(archive, T0 + 100 * DAY).id == caps[DAY].id
    assert closest(archive, T0 + 100 * DAY, before=True).id == caps[DAY].id


def test_at_none_gives_the_latest(archive: Archive) -> None:
    caps = seed(archive, 2 * DAY, 0 * DAY, 1 * DAY)  # committed out of time order
    assert closest(archive, None).id == caps[2 * DAY].id
    assert closest(archive, None, before=True).id == caps[2 * DAY].id


def test_failed_attempts_are_passed_over_by_default(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, failed=(5 * DAY, 9 * DAY))
    assert closest(archive, None).id == caps[0 * DAY].id
    assert closest(archive, T0 + 5 * DAY).id == caps[0 * DAY].id
    assert closest(archive, T0 + 9 * DAY, before=True).id == caps[0 * DAY].id
    assert closest(archive, T0 + 5 * DAY, only_captured=False).id == caps[5 * DAY].id
    assert closest(archive, None, only_captured=False).id == caps[9 * DAY].id


def test_only_failed_attempts_raise(archive: Archive) -> None:
    seed(archive, failed=(0 * DAY,))
    with pytest.raises(NoCaptureError):
        closest(archive, None)
    with pytest.raises(NoCaptureError):
        closest(archive, T0)


def test_unknown_url_raises(archive: Archive) -> None:
    seed(archive, 0 * DAY)
    with pytest.raises(NoCaptureError):
        queries.closest_capture(archive.sessions, "https://example.com/other")


def test_any_spelling_of_the_url_finds_the_capture(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY)
    for spelling in ("http://www.example.com/page/", "https://EXAMPLE.com/page?utm_source=x#top",
                     "example.com/page"):
        assert queries.closest_capture(archive.sessions, spelling).id == caps[0 * DAY].id


def test_at_in_another_timezone_is_the_same_instant(archive: Archive) -> None:
    caps = seed(archive, 0 * DAY, 10 * DAY)
    tokyo = timezone(timedelta(hours=9))
    at = (T0 + 6 * DAY).astimezone(tokyo)  # closer to the later capture
    assert closest(archive, at).id == caps[10 * DAY].id
    assert closest(archive, (T0 + 10 * DAY).astimezone(tokyo), before=True).id == caps[10 * DAY].id
    assert closest(archive, (T0 - timedelta(microseconds=1)).astimezone(tokyo)).id == \
        caps[0 * DAY].id


def test_closest_returns_the_extraction_too(archive: Archive) -> None:
    from storage.records import ExtractionInput

    caps = seed(archive, 0 * DAY)
    archive.commit_extractions([ExtractionInput(
        capture_id=caps[0 * DAY].id, url=URL, status="ok", text="t", text_sha256="ab" * 32,
        title="T", extracted_at=T0)])
    found = closest(archive, T0)
    assert (found.extraction_status, found.text_sha256, found.title) == ("ok", "ab" * 32, "T")


# -- snapshots --------------------------------------------------------------------------------

def test_snapshots_lists_every_attempt_oldest_first(archive: Archive) -> None:
    caps = seed(archive, 3 * DAY, 1 * DAY, failed=(2 * DAY, 0 * DAY))
    snaps = queries.snapshots(archive.sessions, URL)
    assert [s.captured_at for s in snaps] == [T0 + d * DAY for d in range(4)]
    assert [s.id for s in snaps] == [caps[d * DAY].id for d in range(4)]
    assert [s.outcome for s in snaps] == ["failed", "captured", "failed", "captured"]


@pytest.mark.parametrize("spelling", [
    "https://example.com/page", "http://example.com/page", "https://www.example.com/page/",
    "HTTPS://Example.COM:443/page?fbclid=abc#section", "example.com/page",
])
def test_snapshots_for_any_spelling(archive: Archive, spelling: str) -> None:
    archive.commit_captures([html_capture("http://www.example.com/page", T0),
                             failed_capture("https://example.com/page/?utm_medium=x", T0 + DAY),
                             html_capture("https://example.com/other", T0)])
    snaps = queries.snapshots(archive.sessions, spelling)
    assert [s.url for s in snaps] == ["http://www.example.com/page",
                                      "https://example.com/page/?utm_medium=x"]


def test_snapshots_of_an_unknown_url_is_empty(archive: Archive) -> None:
    seed(archive, 0 * DAY)
    assert queries.snapshots(archive.sessions, "https://example.com/nothing") == []


def test_snapshots_with_equal_times_keep_commit_order(archive: Archive) -> None:
    caps = seed(archive, failed=(0 * DAY,))
    again = archive.commit_captures([failed_capture(URL, T0)])
    assert [s.id for s in queries.snapshots(archive.sessions, URL)] == [caps[0 * DAY].id,
                                                                        again[0].id]


# -- iteration and ids ------------------------------------------------------------------------

def test_iter_captures_yields_everything_by_id_in_batches(archive: Archive) -> None:
    items = [html_capture(f"https://example.com/{i}", T0, body=HTML + bytes([65 + i]))
             for i in range(5)]
    recs = archive.commit_captures(items)
    assert [r.id for r in queries.iter_captures(archive.sessions, batch=2)] == [r.id for r in recs]
    assert list(queries.iter_captures(archive.sessions, batch=2)) == recs


def test_captures_by_ids_of_nothing(archive: Archive) -> None:
    assert queries.captures_by_ids(archive.sessions, []) == []


# -- capture_modes_of -------------------------------------------------------------------------

def test_capture_modes_of_agree_with_the_snapshots(archive: Archive) -> None:
    other = "https://example.com/other"
    [page] = archive.commit_captures([html_capture(URL, T0, mode="browser", mode_reason="--browser")])
    archive.commit_captures([
        html_capture(URL, T0 + DAY, body=HTML + b"1", mode="http"),
        html_capture("https://EXAMPLE.com/page?utm_source=x", T0 + 2 * DAY, body=HTML + b"2"),
        html_capture(URL + "-probe", T0, context={"probe": True}),  # a probe: never a baseline
        failed_capture(other, T0),
        html_capture(other + ".png", T0, body=b"\x89PNG", content_type="image/png", mode="http",
                     page_id=page.id)])
    asked = [URL, other, other + ".png", URL + "-probe"]
    modes = queries.capture_modes_of(archive.sessions, asked)
    full = queries.snapshots_of(archive.sessions, asked)
    assert {url: [(m.id, m.captured_at, m.outcome, m.http_status, m.mode, m.page_id) for m in found]
            for url, found in modes.items()} == {
        url: [(c.id, c.captured_at, c.outcome, c.http_status, c.mode or "http", c.page_id)
              for c in found] for url, found in full.items()}
    assert [m.mode for m in modes[URL]] == ["browser", "http", "http"]  # an older row reads as http
    assert modes[URL + "-probe"] == []
