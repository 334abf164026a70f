"""Schedule endpoints over real HTTP: add, list, edit, pause, resume, remove; login profiles; token and
read-only refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.monitor.scheduler import list_schedules
from collector.profiles.store import save_profile
from collector.server import ServerContext
from storage.database import connect
from storage.tokens import create_token
from tests.collector.server.helpers import fetch, running
from tests.conftest import make_config


def call(url: str, method: str = "GET", body: object = None, token: str | None = None
         ) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    reply = fetch(url, method=method, headers=headers,
                  body=None if body is None else json.dumps(body).encode())
    return reply.status, json.loads(reply.body or b"{}")


def test_add_list_pause_resume_remove(served: dict[str, Any]) -> None:
    base, token = served["base"], served["token"]
    status, added = call(base + "/api/schedules", "POST",
                         {"urls": ["https://example.org/a", "https://example.org/b"], "every": "6h"}, token)
    assert status == 201, added
    assert added["kind"] == "urls" and added["targets"] == ["https://example.org/a", "https://example.org/b"]
    assert added["every"] == 6 * 3600 and added["action"] == "capture" and not added["paused"]
    assert added["next_run_at"] is not None
    status, cron = call(base + "/api/schedules", "POST",
                        {"urls": ["https://example.org/c"], "cron": "0 3 * * *", "action": "check"}, token)
    assert status == 201 and cron["cron"] == "0 3 * * *" and cron["action"] == "check"
    assert cron["next_run_at"].endswith("T03:00:00Z")

    status, listed = call(base + "/api/schedules")  # a read: no token
    assert status == 200 and [s["id"] for s in listed["schedules"]] == [added["id"], cron["id"]]
    assert [i.to_json() for i in list_schedules(served["config"])] == listed["schedules"]  # same as the CLI

    status, paused = call(f"{base}/api/schedules/{added['id']}/pause", "POST", token=token)
    assert status == 200 and paused["paused"] and paused["next_run_at"] is None
    status, resumed = call(f"{base}/api/schedules/{added['id']}/resume", "POST", token=token)
    assert status == 200 and not resumed["paused"] and resumed["next_run_at"] is not None

    status, removed = call(f"{base}/api/schedules/{added['id']}", "DELETE", token=token)
    assert (status, removed) == (200, {"id": added["id"], "removed": True})
    assert [s["id"] for s in call(base + "/api/schedules")[1]["schedules"]] == [cron["id"]]
    assert call(f"{base}/api/schedules/{added['id']}", "DELETE", token=token)[0] == 404
    assert call(f"{base}/api/schedules/{added['id']}/pause", "POST", token=token)[0] == 404


def test_a_profile_is_set_on_add_and_set_or_dropped_on_edit(served: dict[str, Any]) -> None:
    base, token, config = served["base"], served["token"], served["config"]
    save_profile(config, "member", {"cookies": [], "origins": [{"origin": "https://example.org",
                                                                 "localStorage": []}]}, source="test")
    status, added = call(base + "/api/schedules", "POST",
                         {"urls": ["https://example.org/a"], "every": "1d", "profile": "member"}, token)
    assert status == 201 and added["profile"] == "member", added
    status, plain = call(base + "/api/schedules", "POST", {"urls": ["https://example.org/b"], "every": 60},
                         token)
    assert status == 201 and plain["profile"] is None
    status, missing = call(base + "/api/schedules", "POST",
                           {"urls": ["https://example.org/c"], "every": 60, "profile": "nobody"}, token)
    assert status == 400 and "no profile named 'nobody'" in missing["error"]

    edit = f"{base}/api/schedules/{plain['id']}"
    status, edited = call(edit, "PATCH", {"profile": "member", "every": "2h"}, token)
    assert status == 200, edited
    assert (edited["id"], edited["profile"], edited["every"]) == (plain["id"], "member", 7200)
    status, kept = call(edit, "PATCH", {"action": "check"}, token)
    assert status == 200 and (kept["action"], kept["profile"]) == ("check", "member")  # kept when not given
    status, refused = call(edit, "PATCH", {"profile": "nobody"}, token)
    assert status == 400 and "no profile named 'nobody'" in refused["error"]
    status, cleared = call(edit, "PATCH", {"profile": None}, token)
    assert status == 200 and cleared["profile"] is None
    listed = call(base + "/api/schedules")[1]["schedules"]
    assert [(s["id"], s["profile"]) for s in listed] == [(added["id"], "member"), (plain["id"], None)]
    assert [s.schedule.profile for s in list_schedules(config)] == ["member", None]  # same as the CLI


@pytest.mark.parametrize("body", [
    {},                                                                   # nothing to change
    {"profile": 3},
    {"every": "soon"},
    {"every": 60, "cron": "0 3 * * *"},
    {"action": "delete"},
    {"adaptive": "yes"},
    {"urls": ["https://example.org/b"]},                                  # targets are not edited
])
def test_bad_edits_are_400(served: dict[str, Any], body: dict[str, Any]) -> None:
    base, token = served["base"], served["token"]
    status, added = call(base + "/api/schedules", "POST", {"urls": ["https://example.org/a"], "every": 60},
                         token)
    assert status == 201
    status, answer = call(f"{base}/api/schedules/{added['id']}", "PATCH", body, token)
    assert status == 400 and answer["error"], answer
    assert call(base + "/api/schedules")[1]["schedules"] == [added]


@pytest.mark.parametrize("body", [
    {"urls": ["https://example.org/a"]},                                  # neither every nor cron
    {"urls": ["https://example.org/a"], "every": "soon"},                 # not a duration
    {"urls": ["https://example.org/a"], "every": 60, "cron": "0 3 * * *"},  # both
    {"urls": ["https://example.org/a"], "cron": "every day"},             # not a crontab line
    {"report": "no-such-report", "every": 60},                            # unknown report
    {"feed": "no-such-feed", "every": 60},                                # unknown feed
    {"urls": "https://example.org/a", "every": 60},                       # not a list
    {"urls": ["https://example.org/a"], "every": 60, "action": "delete"},
    {"urls": ["https://example.org/a"], "every": 60, "colour": "red"},    # unknown field
    {"urls": ["https://example.org/a"], "every": True},
])
def test_bad_schedules_are_400(served: dict[str, Any], body: dict[str, Any]) -> None:
    status, answer = call(served["base"] + "/api/schedules", "POST", body, served["token"])
    assert status == 400, answer
    assert answer["error"]
    assert call(served["base"] + "/api/schedules")[1]["schedules"] == []


def test_schedule_writes_need_a_token(served: dict[str, Any]) -> None:
    base, token = served["base"], served["token"]
    body = {"urls": ["https://example.org/a"], "every": 60}
    assert call(base + "/api/schedules", "POST", body)[0] == 401
    assert call(base + "/api/schedules", "POST", body, token + "x")[0] == 401
    status, added = call(base + "/api/schedules", "POST", body, token)
    assert status == 201
    for method, path in (("POST", "/pause"), ("POST", "/resume"), ("DELETE", ""), ("PATCH", "")):
        assert call(f"{base}/api/schedules/{added['id']}{path}", method)[0] == 401
    assert call(f"{base}/api/schedules/abc", "DELETE", token=token)[0] == 400
    assert call(f"{base}/api/schedules/99", "PATCH", {"every": 60}, token)[0] == 404
    assert call(base + "/api/schedules", "PUT", body, token)[0] == 405
    assert len(call(base + "/api/schedules")[1]["schedules"]) == 1


def test_read_only_server_refuses_schedule_writes(home: Path) -> None:
    config = make_config(home)
    sessions = connect(config.db_url)
    token, _ = create_token(sessions, "robot", now=datetime.now(UTC))
    with running(ServerContext(config=config, sessions=sessions, read_only=True)) as base:
        status, _ = call(base + "/api/schedules", "POST", {"urls": ["https://example.org/a"], "every": 60},
                         token)
        assert status == 403
        assert call(base + "/api/schedules")[1] == {"schedules": []}
