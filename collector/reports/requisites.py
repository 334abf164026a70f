"""What an exported page needs to be seen: its page requisites, added to a report's WARC/WACZ export.

A page's requisites are the captures loaded for it (``page_id``) and, since a requisite two pages share
is fetched once per run and belongs to the first, the capture nearest the page's time of every
requisite URL its archived HTML references (``spiders.requisites``: the parser the capture used).
"""

from __future__ import annotations

from pathlib import Path

from spiders.requisites import html_requisites
from storage import retrieve
from storage.archive import Archive
from storage.errors import StorageError
from storage.queries import closest_capture, is_html_type, page_requisites
from storage.records import CaptureRecord

__all__ = ["with_requisites"]

HTML_MAX_BYTES = 8 * 2**20  # of a page's decoded HTML read for its references


def with_requisites(archive: Archive, warc_dir: Path, captures: list[CaptureRecord]
                    ) -> list[CaptureRecord]:
    """``captures`` and the requisites of each captured HTML page among them, each capture once."""
    found = {c.id: c for c in captures}
    for page in captures:
        if page.outcome != "captured" or page.page_id is not None or not is_html_type(page.content_type):
            continue
        for requisite in page_requisites(archive.sessions, page.id):
            found.setdefault(requisite.id, requisite)
        try:
            archived = retrieve.archived_response(warc_dir, page)
            body, _problem = retrieve.decode_prefix(archived.payload, archived.content_encoding,
                                                    HTML_MAX_BYTES)
        except StorageError:  # a damaged record: what page_id gave is all there is
            continue
        for wanted in html_requisites(body, page.final_url or page.url):
            try:
                nearest = closest_capture(archive.sessions, wanted.url, page.captured_at)
            except StorageError:  # never captured (requisites off, or over the limits)
                continue
            found.setdefault(nearest.id, nearest)
    return list(found.values())
