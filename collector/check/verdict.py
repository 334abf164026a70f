"""Verdicts: what happened to a cited source since its baseline capture. Pure logic, no I/O.

``decide(baseline, current, probe=...)`` looks at two captures (and the answer to a probe URL on the
same host, see ``probe_url``) and returns one of ``STATUSES`` with the signals that led there. The rules,
in the order they apply:

1. **The fetch failed or answered an error status.** ``dns-failure``, ``connection-refused``,
   ``connection-lost``, ``timeout``, ``tls-error`` and ``private-address`` (the host now resolves to a
   private address: a dropped domain or split DNS; it is not fetched) are ``unreachable``, as is HTTP 408
   and any failure reason not known here. ``robots-txt`` is ``blocked``. ``too-many-redirects`` (a
   redirect loop) is ``server-error``: the server does not deliver the page. ``too-large`` and
   ``too-large-decoded`` are ``changed`` when there is a baseline (the baseline fitted under the same
   limit, so the payload is not the same; similarity unknown) and ``unreachable`` without one. HTTP 404
   and 410 are ``gone``; 401, 403, 407, 429, 451, LinkedIn's 999 and every other 4xx are ``blocked``
   (only 404 and 410 say the page is not there; an odd 4xx is more often a bot filter); 5xx, a final 3xx
   (a redirect that could not be followed) and any other odd status are ``server-error``. An error
   status wins over the failure reason when both are known, except ``tls-untrusted`` (``tls_verify`` on
   and the certificate chain did not verify): ``unreachable`` whatever the status, since an
   unauthenticated server's answer says nothing about the source.
2. **The content is the baseline's**: same bytes (``sha256``), or the same main text (``text_sha256``,
   or the same words in the same order after ``normalize_text``, so a re-wrapped paragraph is no change).
   ``unchanged``, even when the URL moved (``redirected`` says so) and even when the page looks like an
   error or login page: it still says what it said when it was archived. Two empty main texts are not
   "the same text" (a JavaScript app shell has none); then the bytes decide.
3. **A login or paywall page** (``soft404.is_login_wall``, or a redirect to a ``/login``-like path) whose
   baseline was not one is ``blocked``. A page that says its content is missing as well ("This content
   isn't available right now ... Log in") is judged as an error page instead.
4. **Soft-404** (Bar-Yossef et al., "Sic transit gloria telae", 2004), on any of:
   - the probe (a random URL shaped like this one, same host) answered 2xx with the same page: same
     bytes, same main text, the same redirect target, or main text more than 90% similar once the URL
     itself is masked out of both texts. Not when the page has no main text (an app shell answers every
     URL alike), and not when the page is at least as similar to its baseline as to the probe;
   - a redirect to the site root (``/``, ``/index.html``, ``/home``, a language root such as ``/en/``;
     no query) when neither the URL nor the baseline's final URL was a root;
   - a redirect to a landing page that ``landing_threshold`` or more checked URLs land on
     (``landing_counts`` is keyed by ``url_key`` and counts this URL too);
   - HTTP 204 (no content where there was content);
   - error phrases (``soft404.find_phrases``) on a short page: with a baseline text, at most half the
     baseline's words and similarity below 0.5; without one, at most 250 words. When the probe answered
     404 or 410 (the site reports missing pages properly), a phrase counts only in the title or when two
     or more phrases are found.
5. **Otherwise** ``changed`` with a similarity and a diff, or, without a baseline, ``unchanged`` with
   similarity ``None`` and the signal "no baseline". A baseline that is not a successful 2xx capture is
   ignored (signal says so).

``similarity`` is 1.0 on every ``unchanged`` verdict with a baseline (same bytes or same text), the
main-text similarity for ``changed``, ``soft-404`` and a login-wall ``blocked`` when both captures have
text, else ``None`` (error statuses and failed fetches have nothing comparable).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from collector.capture.extraction import is_html, normalize_text
from collector.check.compare import text_diff, text_similarity
from collector.check.soft404 import find_phrases, is_login_url, is_login_wall
from storage.canonical import strip_tracking, url_key

__all__ = [
    "STATUSES",
    "Observation",
    "Verdict",
    "decide",
    "is_site_root",
]

STATUSES = ("unchanged", "changed", "gone", "soft-404", "blocked", "unreachable", "server-error")
UNREACHABLE_REASONS = frozenset(
    {"dns-failure", "connection-refused", "connection-lost", "timeout", "tls-error", "private-address"})
TOO_LARGE_REASONS = frozenset({"too-large", "too-large-decoded"})
BLOCKED_HTTP = frozenset({401, 403, 407, 429, 451, 999})
GONE_HTTP = frozenset({404, 410})
PROBE_SAME = 0.9
SHORT_RATIO = 0.5
LOW_SIMILARITY = 0.5
SHORT_WORDS = 250
_EMPTY_SHA = hashlib.sha256(b"").hexdigest()
_ROOT_PATHS = frozenset({"", "/index.html", "/index.htm", "/index.php", "/index.asp", "/index.aspx",
                         "/default.asp", "/default.aspx", "/home", "/home.html", "/inicio", "/accueil",
                         "/portada"})
_LANGUAGE_ROOT = re.compile(r"/[a-z]{2}(?:[-_][a-z]{2})?")


@dataclass(frozen=True, kw_only=True)
class Observation:
    """One capture, as the verdict logic sees it."""

    outcome: str  # "captured" | "failed"
    reason: str | None = None  # failure reason code when failed
    http_status: int | None = None
    url: str  # URL requested
    final_url: str | None = None
    redirect_chain: tuple[tuple[str, int], ...] = ()  # (url, status) per hop, last is final
    content_type: str | None = None
    sha256: str | None = None
    text: str | None = None  # normalized main text (None when not HTML or not extracted)
    text_sha256: str | None = None
    title: str | None = None


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What happened to a source: a status of ``STATUSES`` and the reasons for it."""

    status: str
    similarity: float | None  # main-text similarity to the baseline; None when not comparable
    redirected: bool  # the final URL's canonical key differs from the baseline's
    signals: tuple[str, ...]
    diff: str | None = None  # unified diff of main text (baseline -> current) when changed
    http_status: int | None = None
    final_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields."""
        data = asdict(self)
        data["signals"] = list(self.signals)
        return data


def _key(url: str) -> str:
    try:
        return url_key(url)
    except ValueError:
        return url.strip()


def _final(obs: Observation) -> str:
    return obs.final_url or obs.url


def _status_text(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _is_2xx(obs: Observation) -> bool:
    return obs.http_status is None or 200 <= obs.http_status < 300


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0


def is_site_root(url: str) -> bool:
    """True for a site's home page: path ``/`` (or index, home, a language root) and no query."""
    parts = urlsplit(strip_tracking(url))
    if parts.query:
        return False
    path = parts.path.rstrip("/").lower()
    return path in _ROOT_PATHS or _LANGUAGE_ROOT.fullmatch(path) is not None


def _same_content(baseline: Observation, current: Observation) -> str | None:
    if baseline.sha256 and baseline.sha256 == current.sha256:
        return "same bytes (sha256 equal)"
    if baseline.text and current.text:
        if baseline.text_sha256 and baseline.text_sha256 == current.text_sha256 != _EMPTY_SHA:
            return "main text equal (text_sha256), raw bytes differ"
        if normalize_text(baseline.text) == normalize_text(current.text):
            return "main text equal after normalization, raw bytes differ"
        if baseline.text.split() == current.text.split():
            return "main text equal apart from line breaks, raw bytes differ"
    return None


# --- probe --------------------------------------------------------------------------------------------

def _mask(text: str, url: str) -> str:
    """``text`` without the URL's own words (an error page often echoes the URL it was asked for)."""
    parts = urlsplit(url)
    tokens = {url, parts.path, unquote(parts.path), parts.path.rstrip("/").rsplit("/", 1)[-1]}
    tokens.update(p.partition("=")[2] for p in parts.query.split("&"))
    for token in sorted((t for t in tokens if len(t) >= 4), key=len, reverse=True):
        text = text.replace(token, " ")
    return text


def _probe_same(current: Observation, probe: Observation) -> tuple[str | None, float | None]:
    """(how the probe answered the same page, or None; the similarity of the two main texts with
    the URLs' own words masked, when both have text)."""
    if current.sha256 and current.sha256 == probe.sha256:
        return "same bytes", None
    ratio = None
    if current.text and probe.text:
        if current.text_sha256 and current.text_sha256 == probe.text_sha256:
            return "same main text", None
        ratio = text_similarity(_mask(current.text, _final(current)), _mask(probe.text, _final(probe)))
        if ratio > PROBE_SAME:
            return f"main text {ratio:.0%} similar", ratio
    if (_key(_final(current)) == _key(_final(probe)) and _key(_final(current)) != _key(current.url)
            and _key(_final(probe)) != _key(probe.url)):
        return "redirected to the same URL", ratio
    return None, ratio


# --- decision -----------------------------------------------------------------------------------------

def _error_status(current: Observation, has_baseline: bool, signals: list[str]) -> str | None:
    code = current.http_status
    if current.outcome == "failed" and current.reason == "tls-untrusted":
        signals.append("fetch failed: tls-untrusted")
        signals.append("the server's certificate did not verify: its answer is not the source's")
        return "unreachable"
    if code is not None and not 200 <= code < 300 and (current.outcome != "failed" or code >= 300):
        signals.append(_status_text(code))
        if code in GONE_HTTP:
            return "gone"
        if code in BLOCKED_HTTP:
            return "blocked"
        if code == 408:
            return "unreachable"
        if 400 <= code < 500:
            signals.append("client error other than 404/410: treated as refused access")
            return "blocked"
        if 300 <= code < 400:
            signals.append("redirect that could not be followed")
        return "server-error"
    if current.outcome != "failed":
        return None
    reason = current.reason or "unknown"
    signals.append(f"fetch failed: {reason}")
    if reason in UNREACHABLE_REASONS:
        return "unreachable"
    if reason == "robots-txt":
        signals.append("robots.txt disallows the URL")
        return "blocked"
    if reason == "too-many-redirects":
        signals.append("redirect loop")
        return "server-error"
    if reason in TOO_LARGE_REASONS:
        if has_baseline:
            signals.append("response exceeds the capture size limit the baseline fitted under")
            return "changed"
        return "unreachable"
    return "unreachable"


def _probe_signal(current: Observation, baseline: Observation | None, probe: Observation | None,
                  base_similarity: float | None, signals: list[str]) -> tuple[bool, bool]:
    """(probe answered the same page, probe answered 404/410)."""
    if probe is None:
        return False, False
    if probe.outcome == "failed":
        signals.append(f"probe failed ({probe.reason})")
        return False, False
    if probe.http_status in GONE_HTTP:
        signals.append(f"probe answered {probe.http_status}")
        return False, True
    if not _is_2xx(probe):
        signals.append(f"probe answered {probe.http_status}")
        return False, False
    how, ratio = _probe_same(current, probe)
    if how is None:  # ratio: with the URLs' own words masked
        signals.append("probe answered a different page"
                       + (f" (similarity {ratio:.2f})" if ratio is not None else ""))
        return False, False
    if how == "same bytes" and is_html(current.content_type) and not current.text:
        signals.append(f"probe answered the same page ({how}), but it has no main text (app shell?)")
        return False, False
    if base_similarity is not None and baseline is not None and baseline.text and current.text and probe.text:
        to_probe = text_similarity(current.text, probe.text)
        if base_similarity >= to_probe:
            signals.append(f"probe answered a similar page ({how}), but the page is closer to its baseline")
            return False, False
    signals.append(f"probe answered the same page ({how})")
    return True, False


def _soft404(current: Observation, baseline: Observation | None, probe: Observation | None,
             similarity: float | None, landing_counts: Mapping[str, int] | None, landing_threshold: int,
             signals: list[str]) -> bool:
    final = _final(current)
    moved = _key(final) != _key(current.url)
    soft = current.http_status == 204
    if soft:
        signals.append("204 No Content")
    probe_same, probe_404 = _probe_signal(current, baseline, probe, similarity, signals)
    soft = soft or probe_same
    if moved and is_site_root(final) and not is_site_root(current.url) and not (
            baseline is not None and is_site_root(_final(baseline))):
        signals.append("redirect to site root")
        soft = True
    count = (landing_counts or {}).get(_key(final), 0)
    if moved and count >= landing_threshold and (baseline is None or _key(final) != _key(_final(baseline))):
        signals.append(f"landing page shared by {count} checked URLs")
        soft = True
    hits = find_phrases(current.text, current.title)
    signals.extend(f"error phrase: '{h.phrase}' ({h.lang})" for h in hits)
    missing = [h for h in hits if h.kind == "missing"]
    if not missing:
        return soft
    strong = any(h.where == "title" for h in missing) or len(missing) >= 2
    if probe_404 and not strong:
        signals.append("probe answered 404: one error phrase in the text is not enough")
        return soft
    words = _words(current.text)
    if baseline is not None and baseline.text and similarity is not None:
        base_words = _words(baseline.text)
        if words <= SHORT_RATIO * base_words and similarity < LOW_SIMILARITY:
            signals.append(f"short error page ({words} words, baseline {base_words})")
            return True
    elif words <= SHORT_WORDS:
        signals.append(f"short error page ({words} words)")
        return True
    return soft


def needs_probe(baseline: Observation | None, current: Observation) -> bool:
    """Whether ``decide`` would look at the probe for ``current``: False when the verdict is settled
    before it (an error status, or the baseline's content), so it need not wait for the probe."""
    if baseline is not None and (baseline.outcome != "captured" or not _is_2xx(baseline)):
        baseline = None
    if _error_status(current, baseline is not None, []) is not None:
        return False
    return baseline is None or _same_content(baseline, current) is None


def decide(baseline: Observation | None, current: Observation, *, probe: Observation | None = None,
           landing_counts: Mapping[str, int] | None = None, landing_threshold: int = 3) -> Verdict:
    """The verdict on ``current`` against ``baseline`` (see the module docstring for the rules)."""
    signals: list[str] = []
    if baseline is not None and (baseline.outcome != "captured" or not _is_2xx(baseline)):
        signals.append("baseline is not a successful capture: judged without it")
        baseline = None
    final = _final(current)
    reference = _final(baseline) if baseline is not None else current.url
    redirected = _key(final) != _key(reference)
    if redirected:
        hops = sorted({code for _, code in current.redirect_chain[:-1] if 300 <= code < 400})
        via = f" ({', '.join(map(str, hops))})" if hops else ""
        signals.append(f"redirected{via} to {final}")

    def verdict(status: str, similarity: float | None = None, diff: str | None = None) -> Verdict:
        return Verdict(status=status, similarity=similarity, redirected=redirected, signals=tuple(signals),
                       diff=diff, http_status=current.http_status, final_url=final)

    error = _error_status(current, baseline is not None, signals)
    if error is not None:
        return verdict(error)
    if baseline is not None:
        same = _same_content(baseline, current)
        if same is not None:
            signals.append(same)
            return verdict("unchanged", 1.0)
    both_text = baseline is not None and baseline.text is not None and current.text is not None
    similarity = None
    if baseline is not None and both_text:
        similarity = text_similarity(baseline.text or "", current.text or "")

    login_url = is_login_url(final) and not is_login_url(reference)
    if login_url or is_login_wall(current.text, current.title):
        base_login = baseline is not None and (
            is_login_wall(baseline.text, baseline.title) or is_login_url(_final(baseline)))
        if not base_login:
            signals.append("redirected to a login page" if login_url else "login or paywall page")
            return verdict("blocked", similarity)
    if _soft404(current, baseline, probe, similarity, landing_counts, landing_threshold, signals):
        return verdict("soft-404", similarity)
    if baseline is None:
        signals.append("no baseline")
        return verdict("unchanged")

    if both_text and (baseline.text or current.text):
        if not current.text:
            signals.append("current main text is empty (an error page, or now rendered by JavaScript?)")
        signals.append(f"main text differs (similarity {similarity:.2f})")
        return verdict("changed", similarity, text_diff(baseline.text or "", current.text or ""))
    if (baseline.content_type or "").split(";")[0] != (current.content_type or "").split(";")[0]:
        signals.append(f"content type changed: {baseline.content_type} -> {current.content_type}")
    signals.append("bytes differ (sha256)")
    return verdict("changed", similarity)
