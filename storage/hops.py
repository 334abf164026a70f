"""Which hops of a redirect chain are mementos of their own URLs (pure functions).

A fetch of ``http://a/`` that went ``302 -> https://b/ -> 200`` archived two responses, each the
answer of its own URL at its own time: the memento of ``http://a/`` is the 302, the memento of
``https://b/`` the page. Hops are grouped in runs of consecutive hops with one canonical key (a
``http -> https`` or trailing-slash redirect stays within its key: ``storage.canonical`` treats both
spellings as one resource); the last hop of each run is that key's memento, and its target is the
next run's memento. The ``captures`` row stands for the final run when that run has the row's own key;
every other memento is a ``capture_hops`` row (``storage.models.CaptureHop``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.canonical import url_key

__all__ = ["Hop", "hop_rows"]


@dataclass(frozen=True, kw_only=True)
class Hop:
    """One response of a chain: its URL, time, status and record."""

    url: str
    at: datetime
    status: int | None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    sha256: str | None = None
    content_type: str | None = None


def hop_rows(capture_key: str, hops: list[Hop]) -> list[dict[str, Any]]:
    """The ``capture_hops`` values (without ``capture_id``) of one captured fetch's responses, in
    order. A fetch that was not redirected to another key has none."""
    if len(hops) < 2:
        return []
    keys = [url_key(hop.url) for hop in hops]
    ends = [i for i in range(len(hops)) if i == len(hops) - 1 or keys[i + 1] != keys[i]]
    rows = []
    for n, end in enumerate(ends):
        if end == ends[-1] and keys[end] == capture_key:
            continue  # the captures row itself is this memento
        hop = hops[end]
        target = hops[ends[n + 1]] if n + 1 < len(ends) else None
        rows.append({"position": end, "url": hop.url, "url_key": keys[end], "captured_at": hop.at,
                     "http_status": hop.status, "sha256": hop.sha256, "content_type": hop.content_type,
                     "target_url": target.url if target else None,
                     "target_at": target.at if target else None,
                     "warc_file": hop.warc_file, "warc_offset": hop.warc_offset,
                     "warc_length": hop.warc_length})
    return rows
