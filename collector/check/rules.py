"""Ignore rules as the CLI and the API manage them, and what they ignore in a pair of captures (the
``diff`` command and the diff page). The matching itself is in ``collector.check.ignore``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from collector.capture.extraction import is_html
from collector.check.compare import text_similarity
from collector.check.ignore import Ignored, filter_text, summarize, validate
from collector.errors import InputError, NotFoundError
from storage import retrieve
from storage.canonical import url_key
from storage.errors import StorageError
from storage.ignorerules import IgnoreRuleRecord, add_rule, list_rules, remove_rule, rules_for
from storage.records import CaptureRecord
from storage.reports import list_reports

__all__ = ["IgnoredPair", "add_ignore_rule", "applicable_rules", "ignored_in_pair", "list_ignore_rules",
           "remove_ignore_rule", "rule_scope"]


def rule_scope(*, report: str | None = None, url: str | None = None, everywhere: bool = False
               ) -> tuple[str, str | None]:
    """(scope, target) from exactly one of ``report``, ``url``, ``everywhere``; InputError otherwise."""
    given = [name for name, value in (("--report", report), ("--url", url), ("--global", everywhere))
             if value]
    if len(given) != 1:
        raise InputError("give exactly one of --report NAME, --url URL or --global "
                         f"(got {', '.join(given) or 'none'})")
    if report:
        return "report", report
    if url:
        try:
            url_key(url)
        except ValueError as exc:
            raise InputError(f"--url {url!r} is not a URL: {exc}") from exc
        return "url", url
    return "global", None


def add_ignore_rule(sessions: sessionmaker[Session], *, scope: str, target: str | None, kind: str,
                    pattern: str, note: str | None = None, now: datetime | None = None) -> IgnoreRuleRecord:
    """Validate and store a rule; a report scope must name a stored report."""
    validate(kind, pattern)
    if scope == "report" and target not in {r.report for r in list_reports(sessions)}:
        raise NotFoundError(f"no report named {target!r} (see `collector report list`)")
    return add_rule(sessions, scope=scope, target=target, kind=kind, pattern=pattern, note=note,
                    now=now or datetime.now(UTC))


def list_ignore_rules(sessions: sessionmaker[Session], *, scope: str | None = None,
                      target: str | None = None) -> list[IgnoreRuleRecord]:
    """The stored rules (of one scope and target when given), by id."""
    return list_rules(sessions, scope=scope, target=target)


def remove_ignore_rule(sessions: sessionmaker[Session], rule_id: int) -> None:
    """Delete a rule; NotFoundError naming the id when there is none."""
    if not remove_rule(sessions, rule_id):
        raise NotFoundError(f"no ignore rule {rule_id} (see `collector ignore list`)")


def applicable_rules(sessions: sessionmaker[Session], url: str, report: str | None = None
                     ) -> list[IgnoreRuleRecord]:
    """The rules a check of ``url`` (for ``report``) applies: global, the report's, the URL's."""
    return rules_for(sessions, [url], [report])[(url_key(url), report)]


@dataclass(frozen=True)
class IgnoredPair:
    """What the rules removed from two texts, and how the two compare without it."""

    old_spans: list[Ignored] = field(default_factory=list)
    new_spans: list[Ignored] = field(default_factory=list)
    old_filtered: str = ""
    new_filtered: str = ""
    rules: list[dict[str, Any]] = field(default_factory=list)  # collector.check.ignore.summarize

    def to_json(self) -> dict[str, Any]:
        """``ignored`` (the rules that removed something), and the filtered comparison."""
        return {"ignored": self.rules, "filtered_identical": self.old_filtered == self.new_filtered,
                "filtered_similarity": text_similarity(self.old_filtered, self.new_filtered)}


def _html(warc_dir: Path, capture: CaptureRecord, max_bytes: int) -> bytes | None:
    if not is_html(capture.content_type):  # a PDF's text has no markup for CSS or XPath to select
        return None
    try:
        return retrieve.archived_response(warc_dir, capture).decoded(max_bytes)
    except StorageError:
        return None


def ignored_in_pair(rules: list[IgnoreRuleRecord], old_text: str, new_text: str, *, warc_dir: Path,
                    old: CaptureRecord, new: CaptureRecord, max_bytes: int) -> IgnoredPair | None:
    """What ``rules`` remove from the two captures' texts (the archived HTML read only for CSS and XPath
    rules); None when there are no rules."""
    if not rules:
        return None
    markup = any(r.kind in ("css", "xpath") for r in rules)
    old_html = _html(warc_dir, old, max_bytes) if markup else None
    new_html = _html(warc_dir, new, max_bytes) if markup else None
    old_filtered, old_spans = filter_text(old_text, rules, old_html)
    new_filtered, new_spans = filter_text(new_text, rules, new_html)
    return IgnoredPair(old_spans, new_spans, old_filtered, new_filtered,
                       summarize(rules, old_spans, new_spans))
