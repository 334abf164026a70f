"""The writes the interface and the JSON API share, as plain functions of the configuration and the values
a form or a JSON body gave (each returns what the API answers). The capabilities do the work:
``collector.reports.versions``, ``collector.monitor`` (scheduler, feeds, notify), ``collector.server.jobs``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from collector.config import Config
from collector.errors import InputError, NotFoundError
from collector.inputs import upload_name
from collector.monitor.feeds import add_feed, pause_feed
from collector.monitor.keywords import parse_keywords
from collector.monitor.notify import add_webhook, parse_events
from collector.reports.versions import (
    add_report,
    add_uploaded_report,
    import_manifest,
    is_url_source,
    link_reference,
)
from collector.server.forms import Upload
from storage.database import connect
from storage.feeds import list_feeds, remove_feed
from storage.monitoring import list_webhooks

__all__ = ["add_feed_now", "add_report_now", "add_webhook_now", "feeds_json", "import_manifest_now",
           "link_now", "pause_feed_now", "remove_feed_now", "webhooks_json"]


@contextmanager
def _as_file(upload: Upload) -> Iterator[Path]:
    """An uploaded file written to a private temporary directory under its own (last) name, so messages
    about it name the file the user chose."""
    base = upload_name(upload.filename) or "upload"
    with tempfile.TemporaryDirectory(prefix="collector-upload-") as tmp:
        path = Path(tmp) / base
        path.write_bytes(upload.data)
        yield path


def add_report_now(config: Config, *, url: str | None, document: Upload | None, name: str | None,
                   manifest: Upload | None = None) -> dict[str, Any]:
    """Add (a new version of) a report from an upload or from a URL (never a file of the server)."""
    url = (url or "").strip() or None
    name = (name or "").strip() or None
    if (url is None) == (document is None):
        raise InputError("give a report file or a report URL (one of them)")
    if url is not None and not is_url_source(url):
        raise InputError(f"{url!r} is not a URL (https://...); upload a file instead")
    if manifest is None:
        if document is not None:
            return add_uploaded_report(config, document.filename, document.data, name=name)
        return add_report(config, url or "", name=name)
    with _as_file(manifest) as path:
        if document is not None:
            return add_uploaded_report(config, document.filename, document.data, name=name, manifest=path)
        return add_report(config, url or "", name=name, manifest=path)


def link_now(config: Config, name: str, *, ref: str | None, url: str | None, quote: str | None,
             note: str | None, source: str) -> dict[str, Any]:
    """Attach a URL, quote or note to a reference; the link as the API answers it."""
    url, quote, note = ((v or "").strip() or None for v in (url, quote, note))
    if not (ref or "").strip() or not (url or quote or note):
        raise InputError("give a reference and a URL, a quote or a note")
    link = link_reference(config, name, (ref or "").strip(), url, quote=quote, note=note, source=source)
    return {"report": name, "ref": link.ref, "url": link.url, "quote": link.quote, "note": link.note}


def import_manifest_now(config: Config, name: str, manifest: Upload) -> dict[str, Any]:
    """Attach every row of an uploaded manifest CSV to the report's references."""
    with _as_file(manifest) as path:
        links = import_manifest(config, name, path)
    return {"report": name, "links_added": len(links),
            "links": [{"ref": k.ref, "url": k.url, "quote": k.quote, "note": k.note} for k in links]}


def feeds_json(config: Config) -> list[dict[str, Any]]:
    """Every watched feed, as the feeds page and ``GET /api/feeds`` show it."""
    sessions = connect(config.db_url)
    try:
        return [{"name": f.name, "url": f.url, "keywords": list(f.keywords), "interval": f.interval,
                 "capture_all": f.capture_all, "paused": f.paused, "last_status": f.last_status,
                 "last_error": f.last_error}
                for f in list_feeds(sessions, counts=False)]
    finally:
        sessions.kw["bind"].dispose()


def add_feed_now(config: Config, *, url: str, name: str | None, keywords: str | None,
                 every: float | None) -> dict[str, Any]:
    """Watch a feed (``collector feed add``)."""
    record = add_feed(config, url, name=(name or "").strip() or None,
                      keywords=parse_keywords(keywords) if (keywords or "").strip() else (), every=every)
    return {"name": record.name, "url": record.url, "keywords": list(record.keywords),
            "interval": record.interval}


def remove_feed_now(config: Config, name: str) -> dict[str, Any]:
    """Stop watching a feed (its documents and articles stay)."""
    sessions = connect(config.db_url)
    try:
        if not remove_feed(sessions, name):
            raise NotFoundError(f"no feed named {name!r}")
    finally:
        sessions.kw["bind"].dispose()
    return {"name": name, "removed": True}


def pause_feed_now(config: Config, name: str, paused: bool) -> dict[str, Any]:
    """Pause or resume a feed."""
    record = pause_feed(config, name, paused)
    return {"name": record.name, "paused": record.paused}


def webhooks_json(config: Config) -> list[dict[str, Any]]:
    """Every webhook with its events."""
    sessions = connect(config.db_url)
    try:
        return [{"id": h.id, "url": h.url, "events": list(h.events)} for h in list_webhooks(sessions)]
    finally:
        sessions.kw["bind"].dispose()


def add_webhook_now(config: Config, *, url: str, events: str) -> dict[str, Any]:
    """Register a webhook for the events named (comma-separated)."""
    record = add_webhook(config, url, parse_events(events))
    return {"id": record.id, "url": record.url, "events": list(record.events)}
