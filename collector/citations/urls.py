"""URLs in report text: finding them, trimming what is not theirs, and telling social and share links."""

from __future__ import annotations

import functools
import re
from urllib.parse import urljoin, urlsplit

__all__ = [
    "clean_url",
    "find_urls",
    "host_of",
    "is_share_link",
    "is_social_url",
    "resolve_url",
    "strip_fragment_residue",
]

# http(s) and www. URLs, and DOIs; the trailing-punctuation trim is done by clean_url
_URL = re.compile(r"""(?:\bhttps?://|\bwww\.)[^\s<>"“”‘’«»\[\]{}|\\^`]+""", re.I)
_DOI = re.compile(r"\bdoi:\s*(10\.\d{4,9}/[^\s\"<>]+)", re.I)
_TRAILING = ".,;:!?'’)]}>*"
# what is left in a notes entry when a link was stripped from it: a text fragment ",venues%20on%20the%20x."
_RESIDUE = re.compile(r"[;,]?\s*[^\s;]*%[0-9A-Fa-f]{2}[^\s;]*|[;,]?\s*#?:~:text=\S*")

SOCIAL_HOSTS = (
    "facebook.com", "fb.com", "fb.watch", "m.me", "youtube.com", "youtu.be", "twitter.com", "x.com",
    "t.co", "t.me", "telegram.me", "telegram.org", "instagram.com", "tiktok.com", "vk.com", "threads.net",
    "bsky.app", "linkedin.com", "reddit.com", "rumble.com", "odysee.com", "bitchute.com", "truthsocial.com",
    "gab.com", "vimeo.com", "whatsapp.com", "mastodon.social", "snapchat.com", "pinterest.com",
)
_SOCIAL_SET = frozenset(SOCIAL_HOSTS)
_SHARE = re.compile(
    r"facebook\.com/(?:sharer|share\.php|dialog/share)|(?:twitter|x)\.com/(?:intent/|share\b)"
    r"|linkedin\.com/(?:shareArticle|sharing/)|reddit\.com/submit|pinterest\.com/pin/create"
    r"|(?:api\.)?whatsapp\.com/send|wa\.me/\?|t\.me/share|telegram\.me/share|tumblr\.com/share"
    r"|getpocket\.com/save|addthis\.com|sharethis\.com|news\.ycombinator\.com/submitlink"
    r"|mail\.google\.com/mail/\?.*?view=cm|bsky\.app/intent",
    re.I,
)


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def clean_url(url: str) -> str:
    """Trim punctuation that ends the sentence rather than the URL (keeping balanced parentheses)."""
    url = _trim(url.strip())
    if url.lower().startswith("www."):
        url = "http://" + url
    return url


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Every URL written in ``text``: ``(start, end, url)``, DOIs given as ``https://doi.org/...``."""
    found: list[tuple[int, int, str]] = []
    for match in _URL.finditer(text):
        raw = _trim(match.group())
        url = clean_url(raw)
        try:
            netloc = urlsplit(url).netloc
        except ValueError:
            continue
        if "." in netloc:
            found.append((match.start(), match.start() + len(raw), url))
    for match in _DOI.finditer(text):
        doi = clean_url(match.group(1))
        found.append((match.start(), match.start() + len(match.group()), f"https://doi.org/{doi}"))
    found.sort()
    return found


def strip_fragment_residue(text: str) -> tuple[str, list[str]]:
    """Remove the leftovers of stripped links (``,venues%20on%20the%20river.``) that are not URLs.

    Returns the cleaned text and the removed pieces. URLs themselves are left alone.
    """
    removed: list[str] = []
    if "%" not in text and ":~:" not in text:
        return text, removed
    spans = [(s, e) for s, e, _ in find_urls(text)]

    def drop(match: re.Match[str]) -> str:
        if any(s <= match.start() < e or s < match.end() <= e for s, e in spans):
            return match.group()
        removed.append(match.group().strip(" ;,"))
        return ""

    return _RESIDUE.sub(drop, text), removed


@functools.lru_cache(maxsize=16384)
def host_of(url: str) -> str:
    """Lower-case host without ``www.`` (``""`` when there is none)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def is_social_url(url: str) -> bool:
    """True for Facebook, YouTube, X/Twitter, Telegram, Instagram, TikTok and similar platform URLs."""
    labels = host_of(url).split(".")
    return any(".".join(labels[i:]) in _SOCIAL_SET for i in range(len(labels) - 1))


def is_share_link(url: str) -> bool:
    """True for "share this" buttons (sharer, intent/tweet, mailto, ...): never citations."""
    lowered = url.lower()
    return lowered.startswith(("mailto:", "sms:", "whatsapp:")) or bool(_SHARE.search(url))


def resolve_url(href: str, base: str | None) -> str | None:
    """``href`` made absolute against ``base``; ``None`` unless the result is an http(s) URL."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = urljoin(base, href) if base else href
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None
