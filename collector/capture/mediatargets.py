"""What media to download after a capture run: the choice, without yt-dlp or the archive loaded.

``media_targets`` picks, for the pages just captured, the ``<video>``/``<audio>`` they embed and the
pages on video hosts; ``collector.capture.media`` downloads and archives them. Apart from it so that
a run with nothing to download (most runs: ``collector capture URL`` of an article) decides so
without importing the downloader's dependencies (storage, SQLAlchemy, Scrapy's SSRF guard: ~0.5 s
of CPU at the end of every one-URL capture).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from collector.errors import InputError

__all__ = ["MEDIA_HOSTS", "MEDIA_MODES", "MediaTarget", "check_mode", "media_targets"]

MEDIA_MODES = ("auto", "always", "never")
# hosts whose pages are videos (or audio): with media = "auto" a cited URL here goes to yt-dlp
MEDIA_HOSTS = ("youtube.com", "youtu.be", "vimeo.com", "dailymotion.com", "tiktok.com", "twitch.tv",
               "rumble.com", "soundcloud.com", "bitchute.com", "odysee.com", "facebook.com/watch",
               "fb.watch", "instagram.com/reel", "x.com/i/status", "twitter.com/i/status")


@dataclass(frozen=True)
class MediaTarget:
    """One URL to hand yt-dlp, the page row it belongs to, and why."""

    url: str
    page_id: int | None
    why: str


def _on_media_host(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    where = host + parts.path
    return any(where == h or where.startswith(h if "/" in h else h + "/") or host.endswith("." + h)
               for h in MEDIA_HOSTS)


def media_targets(mode: str, pages: Iterable[tuple[int, str]],
                  embedded: dict[int, list[dict[str, Any]]]) -> list[MediaTarget]:
    """What to download for the pages just captured (``(row id, final URL)``) under the media
    ``mode``: the media each page embeds (``embedded``: page id -> ``{"url", "kind"}``, found by the
    capture spider), and the page itself on a video host (any page with "always")."""
    if check_mode(mode) == "never":
        return []
    found: dict[str, MediaTarget] = {}
    for page_id, url in pages:
        if mode == "always" or _on_media_host(url):
            found.setdefault(url, MediaTarget(url, page_id, "--media always" if mode == "always"
                                              else "a video host"))
        for media in embedded.get(page_id, []):
            found.setdefault(media["url"], MediaTarget(media["url"], page_id,
                                                       f"<{media['kind']}> on the page"))
    return list(found.values())


def check_mode(mode: str) -> str:
    """``mode`` when it is a media mode, else InputError naming the choices."""
    if mode not in MEDIA_MODES:
        raise InputError(f"media = {mode!r}: use one of {', '.join(MEDIA_MODES)}")
    return mode

