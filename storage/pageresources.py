"""Records written beside a page capture that no row stands for: a browser capture's screenshot
(``urn:screenshot:<url>``) and rendered DOM (``urn:dom:<url>``), WARC ``resource`` records whose
``WARC-Concurrent-To`` names the page's own record (as browsertrix-crawler writes them)."""

from __future__ import annotations

from pathlib import Path

from storage.errors import ArchiveCorruptError
from storage.records import CaptureRecord
from storage.warcread import WarcRecord, read_record, safe_path

__all__ = ["SCREENSHOT_PREFIX", "concurrent_resource"]

SCREENSHOT_PREFIX = "urn:screenshot:"
# how many records after the page's own are read looking for one (a browser page's sub-resources
# are written between them): a bounded read, whatever the file holds
SCAN_RECORDS = 400


def concurrent_resource(warc_dir: Path, capture: CaptureRecord, prefix: str,
                        *, scan: int = SCAN_RECORDS) -> WarcRecord | None:
    """The ``resource`` record whose target URI starts with ``prefix`` and that is concurrent to
    ``capture``'s own record, among the ``scan`` records that follow it in its WARC file; None when
    there is none (an HTTP capture, or a file cut short)."""
    if capture.warc_file is None or capture.warc_offset is None or not capture.warc_record_id:
        return None
    own = capture.warc_record_id
    try:
        with open(safe_path(warc_dir, capture.warc_file), "rb") as fh:
            size = fh.seek(0, 2)
            offset = capture.warc_offset
            for _ in range(scan):
                if offset >= size:
                    return None
                record = read_record(fh, offset)
                offset += record.length
                if (record.type == "resource"
                        and record.headers.get("WARC-Target-URI", "").startswith(prefix)
                        and own in record.headers.get("WARC-Concurrent-To", "")):
                    return record
    except (ArchiveCorruptError, OSError):
        return None
    return None
