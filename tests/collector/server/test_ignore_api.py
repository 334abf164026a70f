"""Ignore-rule endpoints over real HTTP: add, list, remove; the token, bad input named, the CLI's view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from collector.check.rules import list_ignore_rules
from storage.database import connect
from tests.collector.server.test_schedules_api import call


@pytest.fixture
def sessions(served: dict[str, Any]) -> Iterator[sessionmaker[Session]]:
    """Sessions on the served archive's database."""
    found = connect(served["config"].db_url)
    yield found
    found.kw["bind"].dispose()


def test_add_list_remove(served: dict[str, Any], sessions: sessionmaker[Session]) -> None:
    base, token = served["base"], served["token"]
    url = "https://example.org/news/budget"
    status, rule = call(base + "/api/ignore-rules", "POST",
                        {"scope": "url", "target": url, "kind": "regex", "pattern": "^Updated: .*$",
                         "note": "date line"}, token)
    assert status == 201, rule
    assert (rule["scope"], rule["target"], rule["kind"], rule["note"]) == ("url", url, "regex", "date line")
    status, every = call(base + "/api/ignore-rules", "POST",
                         {"scope": "global", "kind": "css", "pattern": ".views"}, token)
    assert status == 201 and every["target"] is None

    status, listed = call(base + "/api/ignore-rules")  # a read: no token
    assert status == 200 and [r["id"] for r in listed["rules"]] == [rule["id"], every["id"]]
    assert listed["rules"] == [r.to_json() for r in list_ignore_rules(sessions)]
    status, mine = call(base + "/api/ignore-rules?scope=url&target=" + "https://EXAMPLE.org/news/budget")
    assert [r["id"] for r in mine["rules"]] == [rule["id"]]  # any spelling of the URL

    status, removed = call(f"{base}/api/ignore-rules/{rule['id']}", "DELETE", token=token)
    assert status == 200 and removed == {"id": rule["id"], "removed": True}
    status, missing = call(f"{base}/api/ignore-rules/{rule['id']}", "DELETE", token=token)
    assert status == 404 and f"no ignore rule {rule['id']}" in missing["error"]


@pytest.mark.parametrize(("body", "message"), [
    ({"scope": "global", "kind": "regex", "pattern": "("}, "not a valid regular expression"),
    ({"scope": "global", "kind": "css", "pattern": "p[["}, "CSS selector 'p[['"),
    ({"scope": "report", "target": "nope", "kind": "css", "pattern": "p"}, "no report named 'nope'"),
    ({"scope": "url", "kind": "css", "pattern": "p"}, "exactly one of"),
    ({"scope": "site", "kind": "css", "pattern": "p"}, '"scope" must be'),
    ({"scope": "global", "kind": "css", "pattern": "p", "extra": 1}, "unknown field(s) extra"),
    ({"scope": "global", "kind": "css", "pattern": 3}, '"pattern" must be a string'),
])
def test_bad_bodies_are_named(served: dict[str, Any], body: dict[str, Any], message: str) -> None:
    status, reply = call(served["base"] + "/api/ignore-rules", "POST", body, served["token"])
    assert status in (400, 404) and message in reply["error"], reply


def test_writes_need_a_token(served: dict[str, Any], sessions: sessionmaker[Session]) -> None:
    body = {"scope": "global", "kind": "css", "pattern": "p"}
    assert call(served["base"] + "/api/ignore-rules", "POST", body)[0] == 401
    assert call(served["base"] + "/api/ignore-rules", "POST", body, "wrong")[0] == 401
    assert call(served["base"] + "/api/ignore-rules/1", "DELETE")[0] == 401
    assert list_ignore_rules(sessions) == []
