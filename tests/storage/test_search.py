"""Full-text search (FTS5 on SQLite, tsvector on PostgreSQL), the interface's listings and Memento lookups
(``storage.queries``) and API tokens, on both databases."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import delete

from storage import queries, search
from storage.archive import Archive
from storage.checks import add_checks, latest_verdict_changes
from storage.models import SearchDocument
from storage.records import CaptureRecord, CheckRecord, ExtractionInput
from storage.tokens import TOKEN_PREFIX, NoTokenError, create_token, list_tokens, revoke_token, verify_token
from tests.storage.helpers import T0, html_capture

DAY = timedelta(days=1)
RIVER = ("The river carried sediment to the sea after the floods. Farmers along the Río Grande said "
         "the water had never been so brown.")
BUDGET = "The council approved the budget on Monday by seven votes to two. Libraries get more money."
HARBOUR = "An article about the harbour and its fishing boats, written by a reporter from the coast."


def extract(archive: Archive, capture: CaptureRecord, text: str, title: str = "Title") -> None:
    archive.commit_extractions([ExtractionInput(
        capture_id=capture.id, url=capture.url, status="ok", text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest(), title=title, extracted_at=capture.captured_at,
        refers_to=capture.warc_record_id)])


def page(archive: Archive, url: str, text: str, at: timedelta = timedelta(0), *, title: str = "Title",
         body: bytes | None = None) -> CaptureRecord:
    html = body or f"<html><body><p>{text}</p><!-- {at} --></body></html>".encode()
    [rec] = archive.commit_captures([html_capture(url, T0 + at, body=html)])
    extract(archive, rec, text, title)
    return rec


@pytest.fixture
def filled(archive: Archive) -> dict[str, CaptureRecord]:
    return {
        "river": page(archive, "https://news.example.org/river", RIVER, title="Brown water"),
        "budget": page(archive, "https://www.council.example.com/budget", BUDGET, DAY, title="Budget"),
        "harbour": page(archive, "https://example.net/harbour", HARBOUR, 2 * DAY, title="Harbour"),
    }


def urls(results: search.SearchResults) -> list[str]:
    return [hit.url for hit in results.hits]


def test_words_found_with_snippet_and_hit_marks(archive: Archive, filled: dict[str, CaptureRecord]) -> None:
    results = search.search(archive.sessions, "sediment floods")
    assert urls(results) == ["https://news.example.org/river"]
    hit = results.hits[0]
    assert hit.capture_id == filled["river"].id and hit.title == "Brown water"
    assert hit.captured_at == T0 and hit.host == "news.example.org"
    assert f"{search.HIT_START}sediment{search.HIT_END}" in hit.snippet
    assert "[[sediment]]" in hit.to_json()["snippet"]
    assert results.more is False


def test_case_and_diacritics_are_folded(archive: Archive, filled: dict[str, CaptureRecord]) -> None:
    assert urls(search.search(archive.sessions, "RIVER")) == ["https://news.example.org/river"]
    if archive.sessions.kw["bind"].dialect.name == "sqlite":  # 'simple' keeps accents on PostgreSQL
        assert urls(search.search(archive.sessions, "rio")) == ["https://news.example.org/river"]


def test_phrase_or_prefix_and_exclusion(archive: Archive, filled: dict[str, CaptureRecord]) -> None:
    s = archive.sessions
    assert urls(search.search(s, '"seven votes to two"')) == ["https://www.council.example.com/budget"]
    assert urls(search.search(s, '"two votes to seven"')) == []
    assert sorted(urls(search.search(s, "harbour OR council"))) == [
        "https://example.net/harbour", "https://www.council.example.com/budget"]
    assert urls(search.search(s, "libr*")) == ["https://www.council.example.com/budget"]
    assert sorted(urls(search.search(s, "the -sediment"))) == [
        "https://example.net/harbour", "https://www.council.example.com/budget"]


def test_title_match_ranks_first(archive: Archive, filled: dict[str, CaptureRecord]) -> None:
    page(archive, "https://example.net/other", "A note that mentions the budget once, in passing.",
         3 * DAY, title="Other")
    assert urls(search.search(archive.sessions, "budget"))[0] == "https://www.council.example.com/budget"


def test_filters_site_url_keys_and_dates(archive: Archive, filled: dict[str, CaptureRecord]) -> None:
    s = archive.sessions
    assert urls(search.search(s, "the", site="example.com")) == ["https://www.council.example.com/budget"]
    assert urls(search.search(s, "the", site="https://council.example.com/")) == [
        "https://www.council.example.com/budget"]
    assert urls(search.search(s, "the", site="example.org")) == ["https://news.example.org/river"]
    keys = [filled["harbour"].url_key]
    assert urls(search.search(s, "the", url_keys=keys)) == ["https://example.net/harbour"]
    assert urls(search.search(s, "the", url_keys=[])) == []
    assert urls(search.search(s, "the", since=T0 + DAY, until=T0 + DAY + timedelta(hours=1))) == [
        "https://www.council.example.com/budget"]
    assert sorted(urls(search.search(s, "the", since=T0 + DAY))) == [
        "https://example.net/harbour", "https://www.council.example.com/budget"]


def test_paging(archive: Archive, filled: dict[str, CaptureRecord]) -> None:
    first = search.search(archive.sessions, "the", limit=2)
    second = search.search(archive.sessions, "the", limit=2, offset=2)
    assert len(first.hits) == 2 and first.more
    assert len(second.hits) == 1 and not second.more
    assert {h.url for h in first.hits + second.hits} == {r.url for r in
                                                          search.search(archive.sessions, "the").hits}


def test_pages_follow_rank_then_id_across_ties(archive: Archive) -> None:
    same = "A short note about the weir."
    for n in range(7):  # identical texts and titles: every hit has the same rank
        page(archive, f"https://weir.example.org/{n}", same, n * DAY, title="Weir")
    s = archive.sessions
    everything = search.search(s, "weir", limit=50)
    ids = [h.document_id for h in everything.hits]
    assert len(ids) == 7 and ids == sorted(ids) and len({h.rank for h in everything.hits}) == 1
    paged = [h.document_id for offset in range(0, 7, 3)
             for h in search.search(s, "weir", limit=3, offset=offset).hits]
    assert paged == ids
    assert all(h.snippet for h in everything.hits)


def test_ranking_is_the_same_with_and_without_filters(archive: Archive,
                                                      filled: dict[str, CaptureRecord]) -> None:
    page(archive, "https://example.net/other", "The budget, the budget and the sea.", 3 * DAY, title="x")
    s = archive.sessions
    plain = search.search(s, "the")
    filtered = search.search(s, "the", since=T0)  # the same documents, through the filtered query
    assert [(h.url, round(h.rank, 9), h.snippet) for h in plain.hits] == [
        (h.url, round(h.rank, 9), h.snippet) for h in filtered.hits]
    assert [h.rank for h in plain.hits] == sorted((h.rank for h in plain.hits), reverse=True)


def test_mementos_are_successful_captures_of_the_canonical_key_oldest_first(archive: Archive) -> None:
    from tests.storage.helpers import failed_capture

    url = "https://www.example.org/story?utm_source=feed"
    later, earlier = archive.commit_captures([html_capture(url, T0 + DAY), html_capture(url, T0)])
    archive.commit_captures([failed_capture(url, T0 + 2 * DAY),
                             html_capture("https://example.org/other", T0)])
    found = queries.mementos(archive.sessions, "http://example.org/story")
    assert [(m.id, m.captured_at) for m in found] == [(earlier.id, T0), (later.id, T0 + DAY)]
    assert found[0].sha256 == earlier.sha256 and found[0].http_status == 200
    assert found[0].content_type == earlier.content_type and found[0].url == url
    assert queries.mementos(archive.sessions, "https://example.org/never") == []


def test_same_text_indexed_once_and_found_by_a_later_capture_date(archive: Archive) -> None:
    first = page(archive, "https://example.org/a", RIVER)
    later = page(archive, "https://example.org/a", RIVER, 30 * DAY,
                 body=b"<html><body>new ad, same text</body></html>")
    with archive.sessions() as session:
        assert session.query(SearchDocument).count() == 1
    hit = search.search(archive.sessions, "sediment", since=T0 + 29 * DAY).hits[0]
    assert hit.capture_id == first.id != later.id
    assert search.search(archive.sessions, "sediment", until=T0 - DAY).hits == []


def test_revisit_adds_no_document(archive: Archive) -> None:
    rec = page(archive, "https://example.org/same", HARBOUR)
    [again] = archive.commit_captures([html_capture("https://example.org/same", T0 + DAY,
                                                    body=f"<html><body><p>{HARBOUR}</p><!-- {timedelta(0)} "
                                                         "--></body></html>".encode())])
    assert again.revisit_of == rec.id
    with archive.sessions() as session:
        assert session.query(SearchDocument).count() == 1


def test_failed_or_empty_extractions_are_not_indexed(archive: Archive) -> None:
    [rec] = archive.commit_captures([html_capture("https://example.org/e", T0)])
    archive.commit_extractions([ExtractionInput(capture_id=rec.id, url=rec.url, status="timeout",
                                                extracted_at=T0)])
    assert archive_count(archive) == 0


def archive_count(archive: Archive) -> int:
    return queries.archive_counts(archive.sessions)["texts"]


def test_reindex_rebuilds_from_the_warcs(archive: Archive, filled: dict[str, CaptureRecord]) -> None:
    with archive.sessions() as session, session.begin():
        session.execute(delete(SearchDocument))
    assert search.search(archive.sessions, "sediment").hits == []
    assert search.reindex(archive.sessions, archive.warc_dir) == 3
    assert urls(search.search(archive.sessions, "sediment")) == ["https://news.example.org/river"]
    assert search.reindex(archive.sessions, archive.warc_dir) == 0


@pytest.mark.parametrize("query", ["", "   ", "!!! ...", "-alone", '""'])
def test_query_without_words_is_refused(archive: Archive, query: str) -> None:
    with pytest.raises(search.SearchQueryError):
        search.search(archive.sessions, query)


@pytest.mark.parametrize("query", ['title:budget', 'NEAR(a b)', 'budget"', '(budget', 'a AND',
                                   "budget' OR 1=1 --", "*", "^budget"])
def test_hostile_queries_are_plain_words(archive: Archive, filled: dict[str, CaptureRecord],
                                         query: str) -> None:
    search.search(archive.sessions, query + " the")  # never a syntax error


def test_fts5_query_is_quoted() -> None:
    assert search.fts5_query("river sea") == '"river" AND "sea"'
    assert search.fts5_query('"seven votes" libr*') == '"seven votes" AND "libr"*'
    assert search.fts5_query("a OR b c") == '("a" OR "b") AND "c"'
    assert search.fts5_query("a -b") == '("a") NOT "b"'
    assert search.fts5_query('say "hi') == '"say" AND "hi"'
    assert search.fts5_query('title:x') == '"title:x"'


def test_counts_latest_captures_and_verdict_changes(archive: Archive,
                                                    filled: dict[str, CaptureRecord]) -> None:
    counts = queries.archive_counts(archive.sessions)
    assert counts == {"captures": 3, "urls": 3, "texts": 3, "reports": 0, "checks": 0}
    assert [c.url for c in queries.latest_captures(archive.sessions, 2)] == [
        "https://example.net/harbour", "https://www.council.example.com/budget"]
    river, budget = filled["river"], filled["budget"]

    def check(url: str, at: timedelta, status: str) -> CheckRecord:
        return CheckRecord(url=url, checked_at=T0 + at, capture_id=None, baseline_id=None, status=status)

    add_checks(archive.sessions, [
        check(river.url, 5 * DAY, "unchanged"), check(river.url, 6 * DAY, "unchanged"),
        check(river.url, 7 * DAY, "changed"), check(budget.url, 5 * DAY, "gone"),
        check(budget.url, 6 * DAY, "gone")])
    changes = latest_verdict_changes(archive.sessions)
    assert [(c.url, c.status, prev) for c, prev in changes] == [
        (river.url, "changed", "unchanged"), (budget.url, "gone", None)]
    assert queries.archive_counts(archive.sessions)["checks"] == 5


def test_tokens(archive: Archive) -> None:
    token, record = create_token(archive.sessions, "ci robot", now=T0)
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert verify_token(archive.sessions, token) == record
    assert verify_token(archive.sessions, token + "x") is None
    assert verify_token(archive.sessions, "Bearer " + token) is None
    with archive.sessions() as session:  # only the digest is stored
        assert token not in str(session.execute(
            SearchDocument.__table__.metadata.tables["api_tokens"].select()).all())
    revoked = revoke_token(archive.sessions, record.id, now=T0 + DAY)
    assert revoked.revoked_at == T0 + DAY and not revoked.to_json()["active"]
    assert verify_token(archive.sessions, token) is None
    assert [t.name for t in list_tokens(archive.sessions)] == ["ci robot"]
    with pytest.raises(NoTokenError):
        revoke_token(archive.sessions, 999, now=T0)
