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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.canonical import url_key

__all__ = ["Hop", "chain_of", "final_key", "hop_rows", "stored_chain"]


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


def stored_chain(row: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The ``redirect_chain`` column of a captures row's values (issue 18): None for the chain of a
    fetch that was not redirected, ``[{"url": final_url, "status": http_status}]``, which
    ``chain_of`` gives back from the row's own columns; any other chain as it is."""
    chain = row.get("redirect_chain")
    one_hop = [{"url": row.get("final_url"), "status": row.get("http_status")}]
    return None if (chain == one_hop and row.get("final_url") is not None
                    and row.get("http_status") is not None) else chain


def chain_of(chain: list[dict[str, Any]] | None, final_url: str | None, http_status: int | None
             ) -> list[dict[str, Any]]:
    """A row's redirect chain from its ``redirect_chain`` column (``stored_chain``), its ``final_url``
    and ``http_status``: a list (empty when the fetch got no answer)."""
    if chain is not None:
        return list(chain)
    return [{"url": final_url, "status": http_status}] if final_url is not None and (
        http_status is not None) else []


def final_key(key: str, url: str, final_url: str | None) -> str | None:
    """The ``final_url_key`` column of a captures row whose URL ``url`` has the key ``key``: the
    final URL's key, or None when there is no final URL or its key is the row's own (issue 18;
    readers take ``coalesce(final_url_key, url_key)``)."""
    if not final_url or final_url == url:
        return None
    final = url_key(final_url)
    return None if final == key else final
