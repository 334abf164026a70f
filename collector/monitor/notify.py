"""Notifications: a JSON POST (webhooks) or a message through Apprise (email, Slack, Matrix, Telegram,
ntfy ...: ``collector.monitor.messages``) when a check verdict changes for a URL or citation, or a feed
entry matches. Every payload and message links to the snapshot, the diff and the timeline on the
archive's interface (``public_base_url``).

Events are derived from what is stored, never pushed from the capture path, so nothing a webhook does
can slow or break a capture: ``collect_events`` reads the checks and feed matches stored after each
webhook's cursors, queues one delivery per event (moving the cursors in the same transaction), and
``deliver_due`` POSTs the due deliveries, retrying failures with exponential backoff. A delivery that
keeps failing is marked ``failed`` and kept, with its last error. The daemon does both every few
seconds; ``collector notify deliver`` does one round by hand.

The ``notify_urls`` setting lists URLs told about every event; ``collect_events`` keeps their rows in
step with it (added with cursors at "now", removed when no longer listed).

Event names: ``change`` (verdict ``changed``), ``gone``, ``soft-404``, ``blocked``, ``unreachable``,
``server-error`` (a check whose verdict differs from the previous check of the same URL and citation),
and ``new-match`` (a feed entry matched keywords).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.capture.run import check_url
from collector.config import Config, MonitorConfig
from collector.errors import InputError
from collector.monitor.messages import (
    check_apprise_url,
    event_links,
    is_webhook,
    masked,
    message,
    send_apprise,
    test_payload,
)
from collector.reports.links import LOCAL_BASE_URL
from storage import monitoring as db
from storage.database import connect
from storage.feeds import EntryRecord
from storage.monitoring import CheckEvent, DeliveryRecord, WebhookRecord
from storage.timefmt import iso_z

__all__ = ["EVENTS", "Post", "Send", "add_webhook", "backoff_delay", "collect_events", "deliver_due",
           "parse_events", "post_json", "send_test"]

log = logging.getLogger("collector.monitor.notify")
log.addHandler(logging.NullHandler())  # shown by the daemon's handler (setup_logging)
VERDICT_EVENTS = {"changed": "change", "gone": "gone", "soft-404": "soft-404", "blocked": "blocked",
                  "unreachable": "unreachable", "server-error": "server-error"}
EVENTS = (*VERDICT_EVENTS.values(), "new-match")
Post = Callable[[str, bytes, dict[str, str], float], int]
Send = Callable[[str, str, str], None]  # Apprise URL, title, body; raises OSError when not delivered
PENDING_WAIT = timedelta(hours=1)


def parse_events(text: str) -> list[str]:
    """``"change,gone"`` as a list of event names; unknown names are a usage error naming them."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in EVENTS]
    if unknown or not names:
        raise InputError(f"--on {text!r}: unknown event(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(EVENTS)}")
    return list(dict.fromkeys(names))


def add_webhook(config: Config, url: str, events: Sequence[str], now: datetime | None = None
                ) -> WebhookRecord:
    """Register a webhook (an http(s) URL) or an Apprise URL for ``events``; it hears about what is stored
    from now on."""
    checked = check_url(url) if is_webhook(url) else check_apprise_url(url.strip())
    sessions = connect(config.db_url)
    try:
        return db.add_webhook(sessions, checked, parse_events(",".join(events)), now or datetime.now(UTC))
    finally:
        sessions.kw["bind"].dispose()


def backoff_delay(attempts: int, settings: MonitorConfig) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, capped."""
    return min(settings.notify_backoff * 2 ** max(attempts - 1, 0), settings.notify_max_backoff)


def _check_payload(check: CheckEvent, base_url: str) -> dict[str, Any]:
    return {"event": VERDICT_EVENTS[check.status], "url": check.url, "status": check.status,
            "previous_status": check.previous_status, "checked_at": iso_z(check.checked_at),
            "report": check.report, "ref": check.ref, "check_id": check.id,
            "capture_id": check.capture_id, "http_status": check.http_status,
            "final_url": check.final_url, "similarity": check.similarity,
            "baseline_id": check.baseline_id, "raw_status": check.raw_status,
            "links": event_links(base_url, url=check.url, capture_id=check.capture_id,
                                 baseline_id=check.baseline_id, report=check.report)}


def _match_payload(entry: EntryRecord, base_url: str) -> dict[str, Any]:
    return {"event": "new-match", "feed": entry.feed, "title": entry.title, "link": entry.link,
            "published": iso_z(entry.published), "matched": list(entry.matched),
            "captured": entry.capture_outcome == "captured", "capture_id": entry.capture_id,
            "entry_id": entry.id, "first_seen_at": iso_z(entry.first_seen_at),
            "links": event_links(base_url, url=entry.link, capture_id=entry.capture_id)}


def collect_events(sessions: Any, now: datetime, *, batch: int = 500, base_url: str | None = None,
                   notify_urls: Sequence[str] = ()) -> int:
    """Queue a delivery per new event and webhook; returns how many were queued.

    ``notify_urls`` (the setting) are first kept in step with their rows: each listed URL is told about
    every event from now on. Links in the payloads start with ``base_url`` (``public_base_url``), else
    http://127.0.0.1:8080.
    """
    base = (base_url or LOCAL_BASE_URL).rstrip("/")
    added, removed = db.sync_config_webhooks(sessions, notify_urls, EVENTS, now)
    for hook in added:
        log.info("notify.target-added", extra={"fields": {"webhook": hook.id, "from": "notify_urls"}})
    for hook in removed:
        log.info("notify.target-removed", extra={"fields": {"webhook": hook.id, "from": "notify_urls"}})
    queued = 0
    for hook in db.list_webhooks(sessions):
        events: list[tuple[str, dict[str, Any]]] = []
        checks = db.checks_after(sessions, hook.last_check_id, batch)
        for check in checks:
            event = VERDICT_EVENTS.get(check.status)
            if event in hook.events and check.status != check.previous_status:
                events.append((event, _check_payload(check, base)))
        ready: list[tuple[int, EntryRecord]] = []
        if "new-match" in hook.events:
            for match_id, entry in db.matches_after(sessions, hook.last_match_id, batch):
                # announced once its article capture is settled (or given up on: a crashed poller)
                # ("queued": with the capture workers, dispatch = "queue")
                unsettled = entry.capture_outcome in ("pending", "queued")
                if unsettled and now - entry.first_seen_at < PENDING_WAIT:
                    break
                ready.append((match_id, entry))
        events += [("new-match", _match_payload(e, base)) for _, e in ready]
        check_id = checks[-1].id if checks else hook.last_check_id
        match_id = ready[-1][0] if ready else hook.last_match_id
        if (check_id, match_id) == (hook.last_check_id, hook.last_match_id):
            continue
        if db.enqueue_deliveries(sessions, hook, check_id=check_id, match_id=match_id, events=events,
                                 now=now):
            queued += len(events)
    return queued


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body``; return the HTTP status (raises OSError for network failures)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # only http(s) URLs are accepted
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _deliver(url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float, post: Post,
             send: Send) -> tuple[int | None, str | None]:
    """(HTTP status, error) of one delivery: a JSON POST to a webhook, a message to an Apprise URL."""
    try:
        if not is_webhook(url):
            send(url, *message(payload))
            return None, None
        status = post(url, json.dumps(payload, ensure_ascii=False).encode(), headers, timeout)
        return status, None if 200 <= status < 300 else f"HTTP {status}"
    except (OSError, ValueError) as exc:  # InputError is a ValueError: an Apprise URL it cannot use
        return None, f"{type(exc).__name__}: {exc}"


def send_test(config: Config, url: str, *, post: Post = post_json, send: Send = send_apprise) -> str | None:
    """Send a test event to ``url`` (webhook or Apprise URL) now; the error, or None when delivered."""
    payload = test_payload(config.public_base_url or LOCAL_BASE_URL)
    headers = {"Content-Type": "application/json", "User-Agent": config.ua, "X-Collector-Event": "test"}
    return _deliver(url, payload, headers, config.monitor.webhook_timeout, post, send)[1]


def deliver_due(sessions: Any, settings: MonitorConfig, *, user_agent: str, now: datetime | None = None,
                post: Post = post_json, send: Send = send_apprise, limit: int = 100) -> list[DeliveryRecord]:
    """Deliver every due delivery once (a POST to a webhook, a message to an Apprise URL); returns the
    deliveries attempted (as they were before)."""
    clock = (lambda: now) if now else (lambda: datetime.now(UTC))
    attempted = []
    for delivery in db.due_deliveries(sessions, clock(), limit):
        until = clock() + timedelta(seconds=settings.webhook_timeout * 3)
        if not db.claim_delivery(sessions, delivery, until):
            continue  # another process took it
        attempted.append(delivery)
        payload = {**delivery.payload, "delivery_id": delivery.id, "created_at": iso_z(delivery.created_at)}
        headers = {"Content-Type": "application/json", "User-Agent": user_agent,
                   "X-Collector-Event": delivery.event, "X-Collector-Delivery": str(delivery.id)}
        status, error = _deliver(delivery.url, payload, headers, settings.webhook_timeout, post, send)
        attempts = delivery.attempts + 1
        fields = {"delivery": delivery.id, "webhook": delivery.webhook_id, "kind": delivery.event,
                  "url": masked(delivery.url), "attempt": attempts, "http_status": status}
        if error is None:
            db.finish_delivery(sessions, delivery.id, status="delivered", now=clock(), http_status=status,
                               error=None, next_attempt_at=None)
            log.info("notify.delivered", extra={"fields": fields})
        elif attempts >= settings.notify_max_attempts:
            db.finish_delivery(sessions, delivery.id, status="failed", now=clock(), http_status=status,
                               error=error, next_attempt_at=None)
            log.error("notify.failed", extra={"fields": {**fields, "error": error, "final": True}})
        else:
            retry = clock() + timedelta(seconds=backoff_delay(attempts, settings))
            db.finish_delivery(sessions, delivery.id, status="pending", now=clock(), http_status=status,
                               error=error, next_attempt_at=retry)
            log.warning("notify.retry", extra={"fields": {**fields, "error": error,
                                                          "next_attempt_at": iso_z(retry)}})
    return attempted
