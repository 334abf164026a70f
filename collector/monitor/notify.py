"""Webhooks: a JSON POST when a check verdict changes for a URL or citation, or a feed entry matches.

Events are derived from what is stored, never pushed from the capture path, so nothing a webhook does
can slow or break a capture: ``collect_events`` reads the checks and feed matches stored after each
webhook's cursors, queues one delivery per event (moving the cursors in the same transaction), and
``deliver_due`` POSTs the due deliveries, retrying failures with exponential backoff. A delivery that
keeps failing is marked ``failed`` and kept, with its last error. The daemon does both every few
seconds; ``collector notify deliver`` does one round by hand.

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
from storage import monitoring as db
from storage.database import connect
from storage.feeds import EntryRecord
from storage.monitoring import CheckEvent, DeliveryRecord, WebhookRecord
from storage.timefmt import iso_z

__all__ = ["EVENTS", "Post", "add_webhook", "backoff_delay", "collect_events", "deliver_due",
           "parse_events", "post_json"]

log = logging.getLogger("collector.monitor.notify")
log.addHandler(logging.NullHandler())  # shown by the daemon's handler (setup_logging)
VERDICT_EVENTS = {"changed": "change", "gone": "gone", "soft-404": "soft-404", "blocked": "blocked",
                  "unreachable": "unreachable", "server-error": "server-error"}
EVENTS = (*VERDICT_EVENTS.values(), "new-match")
Post = Callable[[str, bytes, dict[str, str], float], int]
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
    """Register a webhook for ``events``; it hears about what is stored from now on."""
    checked = check_url(url)
    sessions = connect(config.db_url)
    try:
        return db.add_webhook(sessions, checked, parse_events(",".join(events)), now or datetime.now(UTC))
    finally:
        sessions.kw["bind"].dispose()


def backoff_delay(attempts: int, settings: MonitorConfig) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, capped."""
    return min(settings.notify_backoff * 2 ** max(attempts - 1, 0), settings.notify_max_backoff)


def _check_payload(check: CheckEvent) -> dict[str, Any]:
    return {"event": VERDICT_EVENTS[check.status], "url": check.url, "status": check.status,
            "previous_status": check.previous_status, "checked_at": iso_z(check.checked_at),
            "report": check.report, "ref": check.ref, "check_id": check.id,
            "capture_id": check.capture_id, "http_status": check.http_status,
            "final_url": check.final_url, "similarity": check.similarity}


def _match_payload(entry: EntryRecord) -> dict[str, Any]:
    return {"event": "new-match", "feed": entry.feed, "title": entry.title, "link": entry.link,
            "published": iso_z(entry.published), "matched": list(entry.matched),
            "captured": entry.capture_outcome == "captured", "capture_id": entry.capture_id,
            "entry_id": entry.id, "first_seen_at": iso_z(entry.first_seen_at)}


def collect_events(sessions: Any, now: datetime, *, batch: int = 500) -> int:
    """Queue a delivery per new event and webhook; returns how many were queued."""
    queued = 0
    for hook in db.list_webhooks(sessions):
        events: list[tuple[str, dict[str, Any]]] = []
        checks = db.checks_after(sessions, hook.last_check_id, batch)
        for check in checks:
            event = VERDICT_EVENTS.get(check.status)
            if event in hook.events and check.status != check.previous_status:
                events.append((event, _check_payload(check)))
        ready: list[tuple[int, EntryRecord]] = []
        if "new-match" in hook.events:
            for match_id, entry in db.matches_after(sessions, hook.last_match_id, batch):
                # announced once its article capture is settled (or given up on: a crashed poller)
                if entry.capture_outcome == "pending" and now - entry.first_seen_at < PENDING_WAIT:
                    break
                ready.append((match_id, entry))
        events += [("new-match", _match_payload(e)) for _, e in ready]
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


def deliver_due(sessions: Any, settings: MonitorConfig, *, user_agent: str, now: datetime | None = None,
                post: Post = post_json, limit: int = 100) -> list[DeliveryRecord]:
    """POST every due delivery once; returns the deliveries attempted (as they were before)."""
    clock = (lambda: now) if now else (lambda: datetime.now(UTC))
    attempted = []
    for delivery in db.due_deliveries(sessions, clock(), limit):
        until = clock() + timedelta(seconds=settings.webhook_timeout * 3)
        if not db.claim_delivery(sessions, delivery, until):
            continue  # another process took it
        attempted.append(delivery)
        body = json.dumps({**delivery.payload, "delivery_id": delivery.id,
                           "created_at": iso_z(delivery.created_at)}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": user_agent,
                   "X-Collector-Event": delivery.event, "X-Collector-Delivery": str(delivery.id)}
        status, error = None, None
        try:
            status = post(delivery.url, body, headers, settings.webhook_timeout)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = delivery.attempts + 1
        fields = {"delivery": delivery.id, "webhook": delivery.webhook_id, "kind": delivery.event,
                  "url": delivery.url, "attempt": attempts, "http_status": status}
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
