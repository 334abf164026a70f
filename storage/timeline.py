"""A URL's history, read side: every capture and check of it on one time axis, and two captures' texts
side by side for a diff. The CLI (``history``, ``diff``) and the server (``/timeline``, ``/diff``) both
answer from these records; they differ only in how they show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from storage.checks import checks_of
from storage.errors import NoCaptureError
from storage.queries import closest_capture, snapshots
from storage.records import CaptureRecord, CheckRecord
from storage.retrieve import archived_response, capture_main_text

__all__ = ["TextPair", "Timeline", "TimelineCapture", "capture_pair", "text_pair", "timeline"]


@dataclass(frozen=True, kw_only=True)
class TimelineCapture:
    """A capture on a timeline, with what changed since the previous successful capture."""

    capture: CaptureRecord
    text_changed: bool  # both have extracted text and its sha256 differs
    payload_changed: bool  # the payload's sha256 differs


@dataclass(frozen=True, kw_only=True)
class Timeline:
    """Every capture (successful or not) and every check of a URL's canonical key, each oldest first."""

    url: str
    captures: tuple[TimelineCapture, ...]
    checks: tuple[CheckRecord, ...]

    def events(self) -> list[CaptureRecord | CheckRecord]:
        """Captures and checks on one axis, oldest first (a capture before a check of the same moment)."""
        merged: list[tuple[datetime, bool, CaptureRecord | CheckRecord]] = [
            (c.capture.captured_at, False, c.capture) for c in self.captures]
        merged += [(c.checked_at, True, c) for c in self.checks]
        merged.sort(key=lambda event: (event[0], event[1]))
        return [event for _, _, event in merged]


def timeline(sessions: sessionmaker[Session], url: str) -> Timeline:
    """The timeline of ``url``; NoCaptureError when nothing of it was ever captured or checked."""
    marked: list[TimelineCapture] = []
    previous: CaptureRecord | None = None
    for capture in snapshots(sessions, url):
        marked.append(TimelineCapture(
            capture=capture,
            text_changed=bool(previous and capture.text_sha256 and previous.text_sha256
                              and capture.text_sha256 != previous.text_sha256),
            payload_changed=bool(previous and capture.sha256 and capture.sha256 != previous.sha256)))
        if capture.outcome == "captured":
            previous = capture
    checks = checks_of(sessions, url)
    if not marked and not checks:
        raise NoCaptureError(f"nothing archived for {url}")
    return Timeline(url=url, captures=tuple(marked), checks=tuple(checks))


def capture_pair(sessions: sessionmaker[Session], url: str, *, since: datetime | None = None,
                 until: datetime | None = None) -> tuple[CaptureRecord, CaptureRecord]:
    """The two successful captures of ``url`` to compare: the ones closest to ``since`` and ``until``,
    by default the first and the latest. NoCaptureError when the URL has no successful capture."""
    good = [c for c in snapshots(sessions, url) if c.outcome == "captured"]
    if not good:
        raise NoCaptureError(f"no capture of {url} in the archive")
    old = closest_capture(sessions, url, since) if since else good[0]
    new = closest_capture(sessions, url, until) if until else good[-1]
    return old, new


@dataclass(frozen=True, kw_only=True)
class TextPair:
    """Two captures and the texts of theirs to compare."""

    old: CaptureRecord
    new: CaptureRecord
    old_text: str
    new_text: str


def text_pair(warc_dir: Path, old: CaptureRecord, new: CaptureRecord, *, raw_max_bytes: int | None = None
              ) -> TextPair:
    """The extracted main texts of two captures; with ``raw_max_bytes`` their content-decoded payloads
    instead (as UTF-8, undecodable bytes replaced), each at most that long.

    Raises what ``storage.retrieve`` raises: NoCaptureError when a capture has no text (or payload),
    ArchiveCorruptError, ContentDecodeError.
    """
    def text(capture: CaptureRecord) -> str:
        if raw_max_bytes is None:
            return capture_main_text(warc_dir, capture)
        return archived_response(warc_dir, capture).decoded(raw_max_bytes).decode("utf-8", "replace")

    return TextPair(old=old, new=new, old_text=text(old), new_text=text(new))
