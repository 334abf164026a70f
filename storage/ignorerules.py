"""Ignore rules (issue 17): store, list, remove, and find the rules that apply to a check.

A rule's ``scope`` is ``url`` (``target``: the URL as given; it applies to every URL with the same canonical
key, so every spelling of the URL gets it),
``report`` (``target``: the report's name) or ``global`` (no target). Patterns are stored as given; the
caller (``collector.check.ignore``) validates them before they are added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.canonical import url_key
from storage.models import IgnoreRule
from storage.timefmt import iso_z

__all__ = ["KINDS", "SCOPES", "IgnoreRuleRecord", "add_rule", "list_rules", "remove_rule", "rules_for"]

KINDS = ("css", "xpath", "regex")
SCOPES = ("url", "report", "global")


@dataclass(frozen=True, kw_only=True)
class IgnoreRuleRecord:
    """One stored ignore rule."""

    id: int
    scope: str  # url | report | global
    target: str | None  # url key, report name, or None
    kind: str  # css | xpath | regex
    pattern: str
    note: str | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """Plain JSON fields (``created_at`` in ISO-8601 with ``Z``)."""
        return {"id": self.id, "scope": self.scope, "target": self.target, "kind": self.kind,
                "pattern": self.pattern, "note": self.note, "created_at": iso_z(self.created_at)}


def _record(row: IgnoreRule) -> IgnoreRuleRecord:
    return IgnoreRuleRecord(id=row.id, scope=row.scope, target=row.target, kind=row.kind,
                            pattern=row.pattern, note=row.note, created_at=row.created_at)


def add_rule(sessions: sessionmaker[Session], *, scope: str, target: str | None, kind: str, pattern: str,
             note: str | None, now: datetime) -> IgnoreRuleRecord:
    """Store a rule (ValueError for an unknown scope or kind, or a ``url`` target that is no URL)."""
    if scope not in SCOPES or kind not in KINDS:
        raise ValueError(f"scope {scope!r} / kind {kind!r}: scope is one of {SCOPES}, kind of {KINDS}")
    if scope == "url":
        url_key(target or "")  # raises ValueError for what is not a URL
    elif scope == "global":
        target = None
    with sessions() as session, session.begin():
        row = IgnoreRule(scope=scope, target=target, kind=kind, pattern=pattern, note=note, created_at=now)
        session.add(row)
        session.flush()
        return _record(row)


def list_rules(sessions: sessionmaker[Session], *, scope: str | None = None,
               target: str | None = None) -> list[IgnoreRuleRecord]:
    """Every rule (of ``scope``, and ``target`` when given: a URL is matched by its key), by id."""
    query = select(IgnoreRule).order_by(IgnoreRule.id)
    if scope is not None:
        query = query.where(IgnoreRule.scope == scope)
        if target is not None and scope == "report":
            query = query.where(IgnoreRule.target == target)
    with sessions() as session:
        rules = [_record(row) for row in session.execute(query).scalars()]
    if scope == "url" and target is not None:
        rules = [r for r in rules if _key(r.target) == url_key(target)]
    return rules


def _key(url: str | None) -> str | None:
    try:
        return url_key(url or "")
    except ValueError:
        return None


def remove_rule(sessions: sessionmaker[Session], rule_id: int) -> bool:
    """Delete a rule; False when there is none with that id. (Checks keep the ids that applied.)"""
    with sessions() as session, session.begin():
        result = session.execute(delete(IgnoreRule).where(IgnoreRule.id == rule_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def rules_for(sessions: sessionmaker[Session], urls: Sequence[str],
              reports: Sequence[str | None] = ()) -> dict[tuple[str, str | None], list[IgnoreRuleRecord]]:
    """The rules that apply to each (url key, report) pair of ``urls`` x ``reports`` (plus report None):
    the global ones, the report's, and the URL's, by id. One query."""
    keys = {url_key(u) for u in urls}
    names = {r for r in reports if r}
    query = select(IgnoreRule).where(or_(
        IgnoreRule.scope.in_(("global", "url")),  # URL rules matched by key below (few rules, any spelling)
        (IgnoreRule.scope == "report") & IgnoreRule.target.in_(sorted(names)),
    )).order_by(IgnoreRule.id)
    with sessions() as session:
        rules = [_record(row) for row in session.execute(query).scalars()]
    rule_keys = {r.id: _key(r.target) for r in rules if r.scope == "url"}
    out: dict[tuple[str, str | None], list[IgnoreRuleRecord]] = {}
    for key in keys:
        for name in {None, *names}:
            out[(key, name)] = [r for r in rules if r.scope == "global"
                                or (r.scope == "url" and rule_keys[r.id] == key)
                                or (r.scope == "report" and r.target == name)]
    return out
