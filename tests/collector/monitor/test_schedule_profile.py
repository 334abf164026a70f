"""Per-schedule login profiles: ``schedule add --profile``, the column of migration 0029, the daemon's
job capturing through the profile, and a profile gone at run time as a recorded failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.config import Config
from collector.errors import NotFoundError
from collector.monitor.jobs import JobRuntime, run_schedule, set_runtime
from collector.monitor.scheduler import add_schedule, list_schedules
from collector.profiles.store import save_profile
from storage.database import connect
from storage.monitoring import RunRecord, runs_of
from tests.collector.capture import socialweb
from tests.collector.monitor.conftest import control
from tests.collector.profiles.test_login import invoke, login_args
from tests.conftest import capture_rows, make_config

_STATE = {"cookies": [{"name": "sid", "value": "not-a-session", "domain": "127.0.0.1", "path": "/",
                       "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}],
          "origins": []}


def _run(config: Config, schedule_id: int) -> list[RunRecord]:
    """Run one schedule's job as the daemon does; its runs."""
    sessions = connect(config.db_url)
    set_runtime(JobRuntime(config=config, sessions=sessions, holder="me",
                           lease=None, clock=lambda: datetime.now(UTC)))
    try:
        run_schedule(schedule_id)
        return [r for r in runs_of(sessions) if r.schedule_id == schedule_id]
    finally:
        set_runtime(None)
        sessions.kw["bind"].dispose()


def test_the_profile_is_listed_and_must_exist(home: Path) -> None:
    config = make_config(home)
    save_profile(config, "member", _STATE, source="test")
    added = invoke(home, "schedule", "add", "https://example.org/a", "--every", "1d", "--profile",
                   "member", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["profile"] == "member"
    plain = add_schedule(config, urls=["https://example.org/b"], every=3600)
    listed = invoke(home, "schedule", "list", "--json")
    assert [json.loads(line)["profile"] for line in listed.output.splitlines()] == ["member", None]
    assert plain.to_json()["profile"] is None
    missing = invoke(home, "schedule", "add", "https://example.org/c", "--every", "1d", "--profile",
                     "nobody")
    assert missing.exit_code == 1 and "no profile named 'nobody'" in missing.output
    with pytest.raises(NotFoundError):
        add_schedule(config, urls=["https://example.org/c"], every=60, profile="nobody")


def test_edit_sets_and_clears_the_profile(home: Path, feed_server: str) -> None:
    config = make_config(home)
    save_profile(config, "member", _STATE, source="test")
    plain = add_schedule(config, urls=["https://example.org/a"], every=3600)
    sid = str(plain.schedule.id)
    edited = invoke(home, "schedule", "edit", sid, "--profile", "member", "--json")
    assert edited.exit_code == 0, edited.output
    assert json.loads(edited.output)["profile"] == "member"
    assert [s.schedule.profile for s in list_schedules(config)] == ["member"]
    trigger = json.loads(invoke(home, "schedule", "edit", sid, "--every", "2h", "--json").output)
    assert (trigger["every"], trigger["profile"]) == (7200, "member")  # kept when not named
    missing = invoke(home, "schedule", "edit", sid, "--profile", "nobody")
    assert missing.exit_code == 1 and "no profile named 'nobody'" in missing.output
    both = invoke(home, "schedule", "edit", sid, "--profile", "member", "--no-profile")
    assert both.exit_code == 2 and "not both" in both.output
    assert [s.schedule.profile for s in list_schedules(config)] == ["member"]  # refusals changed nothing
    cleared = invoke(home, "schedule", "edit", sid, "--no-profile", "--json")
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(cleared.output)["profile"] is None
    assert [s.schedule.profile for s in list_schedules(config)] == [None]
    control(feed_server, "profilefeed", grow=1)
    assert invoke(home, "feed", "add", f"{feed_server}/feed/profilefeed.xml", "--name",
                  "profilefeed").exit_code == 0
    feed = add_schedule(config, feed="profilefeed", every=900)
    on_feed = invoke(home, "schedule", "edit", str(feed.schedule.id), "--profile", "member")
    assert on_feed.exit_code == 2 and "a feed is polled over HTTP" in on_feed.output


def test_a_profile_gone_at_run_time_fails_that_run(home: Path, server: str) -> None:
    config = make_config(home)
    path = save_profile(config, "member", _STATE, source="test")
    info = add_schedule(config, urls=[server + "/page/p"], every=3600, profile="member")
    other = add_schedule(config, urls=[server + "/page/q"], every=3600)
    path.unlink()
    [failed] = _run(config, info.schedule.id)
    assert failed.status == "failed"
    assert "no profile named 'member'" in (failed.error or "")
    assert capture_rows(config.db_url) == []  # nothing was fetched without the login
    [ran] = _run(config, other.schedule.id)  # the daemon's other schedules run on
    assert ran.status == "ok" and ran.summary == {"urls": 1, "captured": 1}


@pytest.mark.slow  # Chromium
def test_a_scheduled_capture_goes_through_its_profile(social: str, home: Path) -> None:
    created = invoke(home, *login_args(social), env={"SITE_PASSWORD": socialweb.LOGIN_PASSWORD})
    assert created.exit_code == 0, created.output
    config = make_config(home, browser_timeout=8.0, browser_scroll_steps=1)
    walled = add_schedule(config, urls=[social + "/wall/3"], every=3600, profile="social")
    bare = add_schedule(config, urls=[social + "/wall/4"], every=3600)
    assert [s.to_json()["profile"] for s in list_schedules(config)] == ["social", None]
    assert [r.status for r in _run(config, walled.schedule.id)] == ["ok"]
    assert [r.status for r in _run(config, bare.schedule.id)] == ["ok"]
    rows = {r.url: r for r in capture_rows(config.db_url)}
    assert rows[social + "/wall/3"].mode_reason == "profile: social"
    texts = {url: invoke(home, "get", url, "--text").output for url in rows if "/wall/" in url}
    assert socialweb.WALL_TEXT % "3" in texts[social + "/wall/3"]
    assert "Log in to see this post" in texts[social + "/wall/4"]
    # a check schedule with the profile compares logged-in pages: the baseline is unchanged
    check = add_schedule(config, urls=[social + "/wall/3"], every=3600, action="check",
                         profile="social")
    [ran] = _run(config, check.schedule.id)
    assert ran.status == "ok" and ran.summary == {"urls": 1, "statuses": {"unchanged": 1}}
