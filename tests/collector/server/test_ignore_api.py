"""Ignore-rule endpoints over real HTTP: add, list, remove; the token, bad input named, the CLI's view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.check.rules import list_ignore_rules
from collector.server import ServerContext
from storage.database import connect
from storage.tokens import create_token
from tests.collector.server.helpers import running
from tests.collector.server.test_schedules_api import call
from tests.conftest import make_config


@pytest.fixture
def served(home: Path) -> Iterator[dict[str, Any]]:
    config = make_config(home)
    sessions = connect(config.db_url)
    token, _ = create_token(sessions, "rules robot", now=datetime.now(UTC))
    with running(ServerContext(config=config, sessions=sessions)) as base:
        yield {"base": base, "token": token, "sessions": sessions}


def test_add_list_remove(served: dict[str, Any]) -> None:
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
    assert listed["rules"] == [r.to_json() for r in list_ignore_rules(served["sessions"])]
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


def test_writes_need_a_token(served: dict[str, Any]) -> None:
    body = {"scope": "global", "kind": "css", "pattern": "p"}
    assert call(served["base"] + "/api/ignore-rules", "POST", body)[0] == 401
    assert call(served["base"] + "/api/ignore-rules", "POST", body, "wrong")[0] == 401
    assert call(served["base"] + "/api/ignore-rules/1", "DELETE")[0] == 401
    assert list_ignore_rules(served["sessions"]) == []
