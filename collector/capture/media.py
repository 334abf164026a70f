"""Media: the video and audio a page embeds, and cited video pages, downloaded with yt-dlp.

After a capture run's crawl, for each captured page (``media`` setting): the ``<video>``/``<audio>``
sources the capture spider found in it (``spiders.requisites.page_needs``: direct files, HLS ``.m3u8``
and DASH ``.mpd`` manifests; handed back through the pipeline once the page's row is committed) and,
on the video hosts of ``MEDIA_HOSTS`` (or any page with ``media = "always"``),
the page itself for yt-dlp's site extractors. Each download runs through ``GuardProxy`` (the SSRF guard
on every connection yt-dlp makes), within ``media_max_bytes`` and ``media_max_seconds`` (outcome
``too-large`` beyond either), and is archived by ``storage.media.commit_media`` as a ``resource``
record under the media's own URL with yt-dlp's info JSON in a ``metadata`` record beside it: one row
per download, ``page_id`` the page's row.

With a login profile (``browser_profile``), yt-dlp gets the profile's cookies for each media's
site, and what is archived of the download is redacted as a browser capture's
(``collector.capture.mediacookies``).

yt-dlp is an optional dependency (``pip install 'collector[media]'``); without it, media = "auto"
does nothing and says so once, ``media = "always"`` is an error naming the extra.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import mimetypes
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.capture.mediacookies import cookie_file, matching_cookies, redact_info, redact_text
from collector.capture.mediatargets import MEDIA_HOSTS, MEDIA_MODES, MediaTarget, check_mode, media_targets
from collector.config import Config
from collector.errors import CollectorError
from collector.profiles.store import load_state
from spiders.guardproxy import GuardProxy
from spiders.redaction import ProfileRedaction
from spiders.safety import allowed_hosts
from storage.archive import Archive
from storage.media import MediaInput, commit_media

__all__ = ["MEDIA_HOSTS", "MEDIA_MODES", "MediaTarget", "capture_media", "download", "media_targets"]

log = logging.getLogger(__name__)

_TYPES = {"mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "mkv": "video/x-matroska",
          "ts": "video/mp2t", "mov": "video/quicktime", "m4a": "audio/mp4", "mp3": "audio/mpeg",
          "ogg": "audio/ogg", "opus": "audio/ogg", "wav": "audio/wav", "flac": "audio/flac"}


class _Log:
    """yt-dlp's logger: its errors and warnings kept (the row's detail), nothing printed."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, msg: str) -> None:
        if "larger than max-filesize" in msg or "max-filesize" in msg:
            self.messages.append(msg)

    def info(self, msg: str) -> None:
        self.debug(msg)

    def warning(self, msg: str) -> None:
        self.messages.append(msg)

    def error(self, msg: str) -> None:
        self.messages.append(msg)


def download(config: Config, target: MediaTarget, workdir: Path, guard: GuardProxy, *,
             cookies: Path | None = None, redaction: ProfileRedaction | None = None) -> MediaInput:
    """Download one media target with yt-dlp into ``workdir``; the attempt, ready to archive.
    ``cookies``: a Netscape cookie file of the login profile's cookies for the target; ``redaction``:
    the profile's, applied to what the attempt records (``collector.capture.mediacookies``)."""
    item = _download(config, target, workdir, guard, cookies)
    if redaction is None:
        return item
    return dataclasses.replace(
        item, info=redact_info(item.info, redaction),
        reason_detail=redact_text(item.reason_detail, redaction) if item.reason_detail else None)


def _download(config: Config, target: MediaTarget, workdir: Path, guard: GuardProxy,
              cookies: Path | None) -> MediaInput:
    import yt_dlp  # here: an optional dependency, checked by capture_media

    started = time.monotonic()
    at = datetime.now(UTC)
    logger = _Log()
    too_long: list[str] = []
    refused_before = len(guard.refused)

    def duration_filter(info: dict[str, Any], *, incomplete: bool = False) -> str | None:
        duration = info.get("duration")
        if duration and float(duration) > config.media_max_seconds:
            too_long.append(f"{float(duration):.0f} s is over media_max_seconds "
                            f"({config.media_max_seconds:.0f} s)")
            return too_long[-1]
        return None

    options: dict[str, Any] = {
        "quiet": True, "no_warnings": False, "noprogress": True, "logger": logger,
        "proxy": guard.url, "outtmpl": str(workdir / "media.%(ext)s"), "noplaylist": True,
        # one file, no merging (ffmpeg may be absent): the best single format
        "format": "best/bestvideo/bestaudio", "max_filesize": config.media_max_bytes,
        "match_filter": duration_filter, "socket_timeout": config.download_timeout,
        "retries": 0, "fragment_retries": 0, "hls_prefer_native": True, "cachedir": False,
        "http_headers": {"User-Agent": config.ua}, "color": {"stderr": "never", "stdout": "never"},
        **({"cookiefile": str(cookies)} if cookies is not None else {}),
    }
    base: dict[str, Any] = {"url": target.url, "captured_at": at, "page_id": target.page_id,
                            "mode_reason": target.why, "allow_private": config.allow_private,
                            "user_agent": config.ua}
    info: dict[str, Any] = {}
    try:
        # yt-dlp leaves some connections to the garbage collector, and its warnings are its own
        # (collected here, where they are ignored, not at some later point of the caller's code)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with yt_dlp.YoutubeDL(options) as ydl:
                    raw = ydl.extract_info(target.url, download=True)
                    info = ydl.sanitize_info(raw) if raw else {}
            finally:
                gc.collect()
    except yt_dlp.utils.DownloadError as exc:
        message = str(exc).removeprefix("ERROR: ")
        refused = guard.refused[refused_before:]
        reason = "private-address" if refused else "media-error"
        return MediaInput(**base, outcome="failed", reason=reason,
                          reason_detail="; ".join(refused) or message, info=info,
                          fetch_seconds=time.monotonic() - started)
    files = [p for p in workdir.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl"))]
    seconds = time.monotonic() - started
    info = {k: v for k, v in info.items() if k not in ("formats", "thumbnails", "requested_formats")}
    if not too_long:  # a duration known only once downloaded: the limit holds all the same
        duration_filter(info)
    if too_long:
        return MediaInput(**base, outcome="failed", reason="too-large", reason_detail=too_long[0],
                          info=info, fetch_seconds=seconds)
    size = sum(p.stat().st_size for p in files)
    if not files or size > config.media_max_bytes:
        over = size > config.media_max_bytes or any("max-filesize" in m for m in logger.messages)
        detail = (f"the media is larger than media_max_bytes ({config.media_max_bytes} bytes)" if over
                  else "; ".join(logger.messages) or "yt-dlp downloaded nothing")
        return MediaInput(**base, outcome="failed", reason="too-large" if over else "media-error",
                          reason_detail=detail, info=info, fetch_seconds=seconds)
    body = max(files, key=lambda p: p.stat().st_size)
    ext = body.suffix.lstrip(".").lower()
    content_type = _TYPES.get(ext) or mimetypes.guess_type(body.name)[0] or "application/octet-stream"
    own_url = info.get("url") if isinstance(info.get("url"), str) else None
    return MediaInput(**{**base, "url": own_url or target.url}, outcome="captured", body=body,
                      content_type=content_type, info=info, fetch_seconds=seconds)


def capture_media(config: Config, pages: Iterable[tuple[int, str]],
                  embedded: dict[int, list[dict[str, Any]]],
                  on_result: Callable[[dict[str, Any]], None]) -> int:
    """Download and archive the media of these page captures (``media_targets``); each row's JSON
    goes to ``on_result``. Returns how many media attempts were made."""
    mode = check_mode(config.media)
    targets = media_targets(mode, pages, embedded)
    if not targets:
        return 0
    try:
        import yt_dlp  # noqa: F401 - here: an optional dependency
    except ImportError as exc:
        if mode == "always":
            raise CollectorError("media = \"always\" needs yt-dlp: pip install 'collector[media]'") from exc
        log.warning("%d media not downloaded: yt-dlp is not installed (pip install 'collector[media]')",
                    len(targets))
        return 0
    # a login profile's capture: its media with the same login (the cookies of the media's site)
    state = load_state(config, config.browser_profile) if config.browser_profile else None
    redaction = ProfileRedaction.of_state(state) if state is not None else None
    archive = Archive.from_settings(config)
    try:
        with GuardProxy(allow_private=config.allow_private,
                        allow_hosts=allowed_hosts(config.allow_host_list),
                        timeout=config.download_timeout, name="media-guard") as guard:
            for target in targets:
                wanted = matching_cookies(state, target.url) if state is not None else []
                with (tempfile.TemporaryDirectory(prefix="collector-media-") as tmp,
                      cookie_file(wanted) as cookies):
                    item = download(config, target, Path(tmp), guard, cookies=cookies,
                                    redaction=redaction)
                    record = commit_media(archive, item)
                on_result(record.to_json())
        return len(targets)
    finally:
        archive.close()
