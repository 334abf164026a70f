"""Notifications where people work: a local SMTP server (aiosmtpd, through Apprise's mailto://) and a local
webhook receiver each get exactly one message per event, and every link in them works on a running
archive server."""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from collector.capture.run import capture_urls
from collector.config import MonitorConfig
from collector.errors import InputError
from collector.monitor.messages import masked, message
from collector.monitor.notify import add_webhook, collect_events, deliver_due
from collector.server import ServerContext
from storage.checks import add_checks
from storage.database import connect
from storage.monitoring import list_deliveries, list_webhooks
from storage.records import CheckRecord
from tests.collector.monitor.conftest import get_json
from tests.collector.server.helpers import fetch, running
from tests.conftest import make_config

FAST = MonitorConfig(notify_backoff=0.0, notify_max_attempts=2, notify_timeout=5)
LINK = re.compile(r"^(Snapshot|Diff|Timeline): (https?://\S+)$", re.M)


class _Inbox:
    """What the SMTP server received: one parsed message per DATA."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[str, _Inbox]]:
    """An SMTP server on 127.0.0.1 and the Apprise URL that mails to it."""
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"mailto://127.0.0.1:{port}?from=collector@example.org&to=desk@example.org", inbox
    controller.stop()


def _text(mail: Message) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8").replace("\r\n", "\n")
    raise AssertionError("no text/plain part")


def _assert_links_work(links: list[str], base: str) -> None:
    assert links, "no links"
    for link in links:
        assert link.startswith(base + "/"), link
        reply = fetch(link)
        assert reply.status == 200, (link, reply.status, reply.body[:200])


@pytest.mark.slow  # crawls, a server, CLI processes
def test_one_message_per_event_by_mail_and_webhook_with_working_links(
        server: str, home: Path, smtp: tuple[str, _Inbox], hook_server: str) -> None:
    mail_url, inbox = smtp
    hook = f"{hook_server}/hook/{uuid.uuid4().hex[:8]}"
    base_config = make_config(home)
    page, other = f"{server}/counter", f"{server}/page/notify-{uuid.uuid4().hex[:6]}"
    first = capture_urls(base_config, [page, other])
    second = capture_urls(base_config, [page])  # /counter: another text every time
    sessions = connect(base_config.db_url)
    try:
        with running(ServerContext(config=base_config, sessions=sessions)) as base:
            config = make_config(home, public_base_url=base, monitor={"notify_urls": [mail_url]})
            add_webhook(config, hook, ["change", "gone"])
            now = datetime.now(UTC)
            # the first round brings the setting's URL in: it hears about what is stored from now on
            assert collect_events(sessions, now, base_url=base, notify_urls=config.monitor.notify_urls) == 0
            assert [w.from_config for w in list_webhooks(sessions)] == [False, True]
            ids = {r["url"]: r["id"] for r in first}
            add_checks(sessions, [
                CheckRecord(url=page, checked_at=now, capture_id=ids[page], baseline_id=ids[page],
                            status="unchanged", similarity=1.0),
                CheckRecord(url=page, checked_at=now + timedelta(seconds=1), capture_id=second[0]["id"],
                            baseline_id=ids[page], status="changed", similarity=0.8, raw_status="changed"),
                CheckRecord(url=other, checked_at=now, capture_id=ids[other], baseline_id=None,
                            status="gone", http_status=404),
            ])
            queued = collect_events(sessions, now, base_url=base, notify_urls=config.monitor.notify_urls)
            assert queued == 4  # two events, two targets
            attempted = deliver_due(sessions, FAST, user_agent="collector-test")
            assert sorted(d.status for d in attempted) == ["pending"] * 4  # as they were before
            assert {d.status for d in list_deliveries(sessions)} == {"delivered"}
            # again: nothing new, nothing sent twice
            assert collect_events(sessions, now, base_url=base, notify_urls=config.monitor.notify_urls) == 0
            assert deliver_due(sessions, FAST, user_agent="collector-test") == []

            mails = {m["Subject"]: _text(m) for m in inbox.messages}
            assert sorted(mails) == [f"[collector] changed: {page}", f"[collector] gone: {other}"]
            changed = mails[f"[collector] changed: {page}"]
            assert "says changed, was unchanged, similarity 0.800" in changed
            assert [name for name, _ in LINK.findall(changed)] == ["Snapshot", "Diff", "Timeline"]
            assert [name for name, _ in LINK.findall(mails[f"[collector] gone: {other}"])] == [
                "Snapshot", "Timeline"]  # no baseline: no diff
            _assert_links_work([link for text in mails.values() for _, link in LINK.findall(text)], base)

            posts = list(get_json(f"{hook_server}/_received?name={hook.rsplit('/', 1)[1]}"))
            assert sorted(p["body"]["event"] for p in posts) == ["change", "gone"]
            change = next(p["body"] for p in posts if p["body"]["event"] == "change")
            assert set(change["links"]) == {"snapshot", "diff", "timeline"}
            assert change["links"]["diff"] == f"{base}/diff?a={ids[page]}&b={second[0]['id']}"
            gone = next(p["body"] for p in posts if p["body"]["event"] == "gone")
            assert gone["links"]["diff"] is None  # no baseline: nothing to diff
            _assert_links_work([v for p in posts for v in p["body"]["links"].values() if v], base)

            # the setting no longer lists the URL: its row goes, its deliveries stay
            collect_events(sessions, now, base_url=base, notify_urls=())
            assert [w.url for w in list_webhooks(sessions)] == [hook]
            assert len(list_deliveries(sessions)) == 4
    finally:
        sessions.kw["bind"].dispose()


def _collector(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    return subprocess.run([sys.executable, "-m", "collector", "--home", str(home), *args],
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # crawls, a server, CLI processes
def test_cli_test_list_and_masking(home: Path, smtp: tuple[str, _Inbox]) -> None:
    mail_url, inbox = smtp
    secret = "mailto://user:s3cret-pass@127.0.0.1:1?from=a@example.org&to=b@example.org"
    sent = _collector(home, "notify", "test", mail_url, "--json")
    assert sent.returncode == 0, sent.stderr
    assert [m["Subject"] for m in inbox.messages] == ["[collector] test notification"]
    assert "Timeline: http://127.0.0.1:8080/timeline" in _text(inbox.messages[0])

    failed = _collector(home, "notify", "test", secret)  # nothing listens on port 1
    assert failed.returncode == 1 and "not delivered" in failed.stderr
    assert "s3cret-pass" not in failed.stderr + failed.stdout

    listed = _collector(home, "notify", "list", "--json", COLLECTOR_MONITOR_NOTIFY_URLS=secret)
    assert listed.returncode == 0, listed.stderr
    assert "s3cret-pass" not in listed.stdout
    assert '"kind": "apprise"' in listed.stdout and '"from_config": true' in listed.stdout
    added = _collector(home, "notify", "add", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7F",
                       "--on", "change")
    assert added.returncode == 0 and "added apprise" in added.stdout and "TIiajkdnl" not in added.stdout


@pytest.mark.parametrize("url", ["nosuchservice://x/y", "mailto://"])
def test_an_unusable_url_is_refused_by_name(home: Path, url: str) -> None:
    with pytest.raises(InputError, match="Apprise"):
        add_webhook(make_config(home), url, ["change"])


def test_message_text_says_what_happened() -> None:
    title, body = message({"event": "change", "status": "changed", "url": "https://ex.org/a",
                           "previous_status": "unchanged", "similarity": 0.5, "report": "peru", "ref": "3",
                           "checked_at": "2027-01-01T00:00:00Z", "raw_status": "changed",
                           "links": {"snapshot": "https://a.example/snapshot/2", "diff": None,
                                     "timeline": "https://a.example/timeline?url=x"}})
    assert title == "[collector] changed: https://ex.org/a"
    assert body.splitlines() == [
        "The check of https://ex.org/a (report peru, ref 3) says changed, was unchanged, similarity 0.500, "
        "at 2027-01-01T00:00:00Z.",
        "Snapshot: https://a.example/snapshot/2", "Timeline: https://a.example/timeline?url=x"]
    assert masked("https://user:pw@hooks.example/x?y=1") == "https://hooks.example/x?y=1"
