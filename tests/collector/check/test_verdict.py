"""decide(): one case per status and the hard cases of issue 4, on hand-built captures."""

from __future__ import annotations

import pytest

from collector.check.verdict import STATUSES, Observation, Verdict, decide

from .helpers import binary, error_status, failed, html_page
from .texts import (
    ARTICLE,
    CORRECTED,
    HOME_PAGE,
    INSTAGRAM_LOGIN,
    LATEST_NEWS,
    LE_MONDE_PAYWALL,
    OTHER_ARTICLE,
    VIDEO_PAGE,
    YOUTUBE_UNAVAILABLE,
)

URL = "https://news.example.org/2023/05/water-rates-rise"
PROBE = "https://news.example.org/2023/05/kxqbt-vzmwp-ajfe"
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
VIDEO_PROBE = "https://www.youtube.com/watch?v=Hq3kLm9ZpTe"
BASELINE = html_page(URL, ARTICLE, title="Water utility raises rates", chrome="Home | Sections | Ad: 50% off")


def check(verdict: Verdict, status: str) -> None:
    assert verdict.status == status, verdict
    assert verdict.status in STATUSES


# --- unchanged ---------------------------------------------------------------------------------------

def test_chrome_only_change_is_unchanged() -> None:
    current = html_page(URL, ARTICLE, title="Water utility raises rates",
                        chrome="Home | Sections | Ad: new phones | Updated 14:02 UTC")
    assert current.sha256 != BASELINE.sha256
    verdict = decide(BASELINE, current)
    check(verdict, "unchanged")
    assert verdict.similarity == 1.0
    assert not verdict.redirected
    assert verdict.diff is None
    assert any("raw bytes differ" in s for s in verdict.signals)


def test_page_reserved_in_another_charset_is_unchanged() -> None:
    baseline = html_page(URL, ARTICLE, charset="utf-8")
    current = html_page(URL, ARTICLE, charset="windows-1252")  # "Ibáñez" encodes differently
    assert current.sha256 != baseline.sha256
    check(decide(baseline, current), "unchanged")


def test_texts_equal_after_normalization_without_text_sha256() -> None:
    baseline = Observation(outcome="captured", http_status=200, url=URL, text="Per\u00fa  says\r\nhello",
                           sha256="a" * 64)
    current = Observation(outcome="captured", http_status=200, url=URL, text="Peru\u0301 says\nhello",
                          sha256="b" * 64)
    check(decide(baseline, current), "unchanged")


def test_rewrapped_paragraph_is_unchanged() -> None:
    current = html_page(URL, ARTICLE.replace("\n", " ").replace("  ", "\n\n"))
    assert current.text_sha256 != BASELINE.text_sha256
    verdict = decide(BASELINE, current)
    check(verdict, "unchanged")
    assert "line breaks" in " ".join(verdict.signals)


def test_permanent_move_with_same_text_is_unchanged_and_redirected() -> None:
    new = "https://www.valleycourier.com/news/local/water-rates-rise-third-time"
    current = html_page(URL, ARTICLE, chrome="new site design", final_url=new,
                        chain=((URL, 301), (new, 200)))
    verdict = decide(BASELINE, current)
    check(verdict, "unchanged")
    assert verdict.redirected
    assert verdict.final_url == new
    assert any("301" in s and new in s for s in verdict.signals)


def test_same_text_wins_over_root_redirect_and_landing_counts() -> None:
    root = "https://news.example.org/"
    current = html_page(URL, ARTICLE, final_url=root, chain=((URL, 301), (root, 200)))
    verdict = decide(BASELINE, current, landing_counts={"org,example,news)/": 10})
    check(verdict, "unchanged")
    assert verdict.redirected


def test_scheme_and_www_change_is_not_a_redirect() -> None:
    final = "http://www.news.example.org/2023/05/water-rates-rise/?utm_source=feed"
    verdict = decide(BASELINE, html_page(URL, ARTICLE, final_url=final))
    check(verdict, "unchanged")
    assert not verdict.redirected


@pytest.mark.parametrize(("payload", "content_type"), [
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "image/png"),
])
def test_binary_unchanged_byte_for_byte(payload: bytes, content_type: str) -> None:
    url = "https://agency.example.gov/reports/annual-2022.pdf"
    verdict = decide(binary(url, payload, content_type), binary(url, payload, content_type))
    check(verdict, "unchanged")
    assert verdict.similarity == 1.0


def test_binary_with_other_bytes_is_changed_without_similarity() -> None:
    url = "https://agency.example.gov/reports/annual-2022.pdf"
    verdict = decide(binary(url, b"%PDF-1.7 v1", "application/pdf"),
                     binary(url, b"%PDF-1.7 v2", "application/pdf"))
    check(verdict, "changed")
    assert verdict.similarity is None
    assert verdict.diff is None


# --- changed -----------------------------------------------------------------------------------------

def test_one_sentence_correction_is_changed_with_high_similarity() -> None:
    verdict = decide(BASELINE, html_page(URL, CORRECTED))
    check(verdict, "changed")
    assert verdict.similarity is not None and 0.9 < verdict.similarity < 1.0
    assert verdict.diff is not None
    assert "-without competitive bidding and could not document how 4.1 million" in verdict.diff
    assert "+without competitive bidding and could not document how 1.4 million" in verdict.diff
    assert "+Correction: An earlier version" in verdict.diff


def test_reused_url_with_different_article_is_changed_with_low_similarity() -> None:
    verdict = decide(BASELINE, html_page(URL, OTHER_ARTICLE, title="Local bakery wins"))
    check(verdict, "changed")
    assert verdict.similarity is not None and verdict.similarity < 0.3
    assert not verdict.redirected


def test_diff_is_capped() -> None:
    long_a = "\n".join(f"Line {i} of the original." for i in range(1000))
    long_b = "\n".join(f"Row {i} of the rewrite." for i in range(1000))
    verdict = decide(html_page(URL, long_a), html_page(URL, long_b))
    check(verdict, "changed")
    assert verdict.diff is not None
    assert len(verdict.diff.splitlines()) == 201
    assert verdict.diff.endswith("(diff cut at 200 lines)")


def test_html_replaced_by_pdf_is_changed() -> None:
    verdict = decide(BASELINE, binary(URL, b"%PDF-1.4 ...", "application/pdf"))
    check(verdict, "changed")
    assert verdict.similarity is None
    assert any("content type changed" in s for s in verdict.signals)


def test_too_large_against_a_baseline_is_changed() -> None:
    verdict = decide(BASELINE, failed(URL, "too-large", status=200))
    check(verdict, "changed")
    assert verdict.similarity is None


# --- gone, blocked, unreachable, server-error --------------------------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_404_and_410_are_gone(status: int) -> None:
    verdict = decide(BASELINE, error_status(URL, status))
    check(verdict, "gone")
    assert verdict.http_status == status
    assert verdict.signals[0].startswith(str(status))


def test_404_after_redirect_is_gone_and_redirected() -> None:
    moved = "https://news.example.org/archive/water-rates-rise"
    current = html_page(URL, "Not Found", status=404, final_url=moved, chain=((URL, 302), (moved, 404)))
    verdict = decide(BASELINE, current)
    check(verdict, "gone")
    assert verdict.redirected


@pytest.mark.parametrize("status", [401, 403, 407, 429, 451, 999, 400, 406])
def test_refusals_are_blocked(status: int) -> None:
    check(decide(BASELINE, error_status(URL, status)), "blocked")


def test_robots_txt_is_blocked() -> None:
    check(decide(BASELINE, failed(URL, "robots-txt")), "blocked")


def test_login_wall_is_blocked_when_baseline_was_content() -> None:
    post = "https://www.instagram.com/p/C3xYz12AbCd/"
    baseline = html_page(post, "Sunset over the harbour after the storm. #harbour #storm\n214 likes",
                         title="Harbour Photos on Instagram")
    current = html_page(post, INSTAGRAM_LOGIN, title="Login • Instagram")
    verdict = decide(baseline, current)
    check(verdict, "blocked")
    assert "login or paywall page" in verdict.signals


def test_redirect_to_login_path_is_blocked() -> None:
    post = "https://www.facebook.com/valleycourier/posts/pfbid02abcXYZ"
    login = "https://www.facebook.com/login/?next=https%3A%2F%2Fwww.facebook.com%2Fvalleycourier"
    current = html_page(post, "Facebook\nEmail or phone\nPassword", final_url=login,
                        chain=((post, 302), (login, 200)))
    verdict = decide(html_page(post, ARTICLE), current)
    check(verdict, "blocked")
    assert "redirected to a login page" in verdict.signals


def test_paywall_is_blocked() -> None:
    url = "https://www.lemonde.fr/planete/article/2023/06/05/climat-bonn_123.html"
    full = LE_MONDE_PAYWALL.split("Il vous reste")[0] + ARTICLE
    check(decide(html_page(url, full), html_page(url, LE_MONDE_PAYWALL)), "blocked")


def test_login_page_against_login_baseline_is_not_blocked() -> None:
    post = "https://www.instagram.com/p/C3xYz12AbCd/"
    baseline = html_page(post, INSTAGRAM_LOGIN, title="Login • Instagram")
    current = html_page(post, INSTAGRAM_LOGIN.replace("Sign up", "Create new account"),
                        title="Login • Instagram")
    check(decide(baseline, current), "changed")


@pytest.mark.parametrize("reason", ["dns-failure", "connection-refused", "connection-lost", "timeout",
                                    "tls-error", "private-address"])
def test_network_failures_are_unreachable(reason: str) -> None:
    verdict = decide(BASELINE, failed(URL, reason))
    check(verdict, "unreachable")
    assert verdict.similarity is None
    assert f"fetch failed: {reason}" in verdict.signals


@pytest.mark.parametrize("status", [200, 404, 500])
def test_an_untrusted_certificate_is_unreachable_whatever_the_server_answered(status: int) -> None:
    verdict = decide(BASELINE, failed(URL, "tls-untrusted", status=status))
    check(verdict, "unreachable")
    assert "fetch failed: tls-untrusted" in verdict.signals


def test_request_timeout_status_is_unreachable() -> None:
    check(decide(BASELINE, error_status(URL, 408)), "unreachable")


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520])
def test_5xx_is_server_error(status: int) -> None:
    check(decide(BASELINE, error_status(URL, status)), "server-error")


def test_redirect_loop_is_server_error() -> None:
    check(decide(BASELINE, failed(URL, "too-many-redirects")), "server-error")


# --- soft-404 ----------------------------------------------------------------------------------------

def test_youtube_video_unavailable_with_probe_answering_the_same_page() -> None:
    baseline = html_page(VIDEO, VIDEO_PAGE, title="Inside the flooded archives - YouTube")
    current = html_page(VIDEO, YOUTUBE_UNAVAILABLE, title="YouTube", chrome="player config 1")
    probe = html_page(VIDEO_PROBE, YOUTUBE_UNAVAILABLE, title="YouTube", chrome="player config 2")
    verdict = decide(baseline, current, probe=probe)
    check(verdict, "soft-404")
    assert any(s.startswith("probe answered the same page") for s in verdict.signals)
    assert "error phrase: 'video unavailable' (en)" in verdict.signals
    assert verdict.similarity is not None and verdict.similarity < 0.2


def test_youtube_video_unavailable_without_probe_by_phrases() -> None:
    baseline = html_page(VIDEO, VIDEO_PAGE, title="Inside the flooded archives - YouTube")
    verdict = decide(baseline, html_page(VIDEO, YOUTUBE_UNAVAILABLE, title="YouTube"))
    check(verdict, "soft-404")
    assert any(s.startswith("short error page") for s in verdict.signals)


def test_removed_post_answering_the_same_page_for_any_url() -> None:
    """No error phrase at all: only the probe tells this generic page from the article."""
    current = html_page(URL, LATEST_NEWS, title="Valley Courier", chrome="ad slot 1")
    probe = html_page(PROBE, LATEST_NEWS, title="Valley Courier", chrome="ad slot 2")
    verdict = decide(BASELINE, current, probe=probe)
    check(verdict, "soft-404")
    assert "probe answered the same page (same main text)" in verdict.signals
    check(decide(BASELINE, current), "changed")  # without the probe it is only a very different page


def test_probe_page_echoing_the_url_is_still_the_same_page() -> None:
    def echo(url: str) -> str:
        path = url.split("example.org", 1)[1]
        return f"Sorry, we looked everywhere for {path}.\nTry the search box or browse our sections."

    current = html_page(URL, echo(URL))
    probe = html_page(PROBE, echo(PROBE))
    verdict = decide(BASELINE, current, probe=probe)
    check(verdict, "soft-404")
    assert any("similar" in s and s.startswith("probe answered the same page") for s in verdict.signals)


def test_redirect_to_site_root_is_soft_404() -> None:
    root = "https://news.example.org/"
    current = html_page(URL, HOME_PAGE, final_url=root, chain=((URL, 302), (root, 200)))
    verdict = decide(BASELINE, current)
    check(verdict, "soft-404")
    assert "redirect to site root" in verdict.signals
    assert verdict.redirected


def test_redirect_to_language_home_is_soft_404() -> None:
    home = "https://news.example.org/en/"
    check(decide(BASELINE, html_page(URL, HOME_PAGE, final_url=home)), "soft-404")


def test_redirect_to_shared_landing_page_is_soft_404() -> None:
    landing = "https://news.example.org/archive"
    current = html_page(URL, LATEST_NEWS, final_url=landing, chain=((URL, 301), (landing, 200)))
    verdict = decide(BASELINE, current, landing_counts={"org,example,news)/archive": 7})
    check(verdict, "soft-404")
    assert "landing page shared by 7 checked URLs" in verdict.signals
    check(decide(BASELINE, current, landing_counts={"org,example,news)/archive": 2}), "changed")


def test_probe_answering_404_makes_a_lone_phrase_insufficient() -> None:
    current = html_page(URL, "This item has been removed.\nBrowse our other stories below.")
    check(decide(BASELINE, current), "soft-404")
    verdict = decide(BASELINE, current, probe=error_status(PROBE, 404))
    check(verdict, "changed")
    assert "probe answered 404" in verdict.signals


def test_probe_answering_404_with_error_title_is_still_soft_404() -> None:
    current = html_page(URL, "This item has been removed.", title="Page not found | Valley Courier")
    check(decide(BASELINE, current, probe=error_status(PROBE, 404)), "soft-404")


def test_long_page_mentioning_removal_is_changed_not_soft_404() -> None:
    text = "The video has been removed from the agenda, the board said.\n" + ARTICLE
    verdict = decide(BASELINE, html_page(URL, text))
    check(verdict, "changed")
    assert any(s.startswith("error phrase") for s in verdict.signals)


def test_probe_page_similar_but_page_closer_to_baseline_is_not_soft_404() -> None:
    current = html_page(URL, CORRECTED)
    probe = html_page(PROBE, ARTICLE)  # a site that answers every URL with this article
    check(decide(BASELINE, current, probe=probe), "changed")


def test_app_shell_equal_to_probe_is_not_soft_404() -> None:
    shell = b"<html><body><div id=root></div><script src=/app.js></script></body></html>"
    current = Observation(outcome="captured", http_status=200, url=URL, content_type="text/html", text="",
                          sha256=binary(URL, shell, "text/html").sha256)
    probe = Observation(outcome="captured", http_status=200, url=PROBE, content_type="text/html", text="",
                        sha256=current.sha256)
    verdict = decide(BASELINE, current, probe=probe)
    check(verdict, "changed")
    assert any("app shell" in s for s in verdict.signals)


def test_204_is_soft_404() -> None:
    current = Observation(outcome="captured", http_status=204, url=URL, content_type="text/html", text="")
    check(decide(BASELINE, current), "soft-404")


# --- no baseline -------------------------------------------------------------------------------------

def test_no_baseline_live_page() -> None:
    verdict = decide(None, html_page(URL, ARTICLE))
    check(verdict, "unchanged")
    assert verdict.similarity is None
    assert "no baseline" in verdict.signals
    assert not verdict.redirected


def test_no_baseline_error_page_and_probe() -> None:
    check(decide(None, html_page(VIDEO, YOUTUBE_UNAVAILABLE, title="YouTube")), "soft-404")
    current = html_page(URL, LATEST_NEWS)
    check(decide(None, current, probe=html_page(PROBE, LATEST_NEWS)), "soft-404")
    check(decide(None, current, probe=error_status(PROBE, 404)), "unchanged")


@pytest.mark.parametrize(("current", "status"), [
    (error_status(URL, 410), "gone"),
    (error_status(URL, 403), "blocked"),
    (failed(URL, "timeout"), "unreachable"),
    (failed(URL, "too-large"), "unreachable"),
    (error_status(URL, 502), "server-error"),
    (html_page(URL, INSTAGRAM_LOGIN, title="Log in"), "blocked"),
])
def test_no_baseline_error_statuses(current: Observation, status: str) -> None:
    check(decide(None, current), status)


def test_failed_baseline_is_ignored() -> None:
    verdict = decide(failed(URL, "timeout"), html_page(URL, ARTICLE))
    check(verdict, "unchanged")
    assert "no baseline" in verdict.signals
    assert verdict.signals[0].startswith("baseline is not a successful capture")


def test_as_dict_is_plain() -> None:
    data = decide(BASELINE, html_page(URL, CORRECTED)).as_dict()
    assert data["status"] == "changed"
    assert isinstance(data["signals"], list)
    assert set(data) >= {"status", "similarity", "redirected", "signals", "diff", "http_status", "final_url"}


# --- what a verdict needs the probe for ------------------------------------------------------------

def test_same_content_and_error_statuses_need_no_probe() -> None:
    from collector.check.verdict import needs_probe

    same = html_page(URL, ARTICLE, title="Water utility raises rates",
                     chrome="Home | Sections | Ad: new phones")
    assert not needs_probe(BASELINE, same)  # unchanged main text: settled without the probe
    assert not needs_probe(BASELINE, BASELINE)  # same bytes
    assert not needs_probe(BASELINE, error_status(URL, 404))
    assert not needs_probe(BASELINE, failed(URL, "dns-failure"))
    other = html_page(URL, OTHER_ARTICLE, title="Something else")
    assert needs_probe(BASELINE, other)  # a changed page may be a soft-404: the probe decides
    assert needs_probe(None, same)  # no baseline: only the probe can tell an error page
    for current in (same, error_status(URL, 404), other):  # the answer matches decide()'s path
        settled = decide(BASELINE, current)
        assert settled.status == decide(BASELINE, current, probe=BASELINE).status or \
            needs_probe(BASELINE, current)
