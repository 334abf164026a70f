"""Notification messages for people: an event's links (snapshot, diff, timeline), its text, and sending it
through Apprise (email, Slack, Matrix, Telegram, Discord, ntfy ... one URL scheme each).

A notification URL with an ``http``/``https`` scheme is a webhook (``collector.monitor.notify`` POSTs
the event as JSON); any other scheme is an Apprise URL. Apprise is imported only when such a URL is
used: it loads its ~100 service plugins at import (~0.3 s), which webhook-only setups need not pay.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from collector.errors import InputError

__all__ = ["check_apprise_url", "event_links", "is_webhook", "masked", "message", "send_apprise",
           "test_payload"]

_WEB = ("http", "https")


def is_webhook(url: str) -> bool:
    """True for an http(s) URL (a JSON POST); any other scheme is an Apprise URL."""
    return urlsplit(url.strip()).scheme.lower() in _WEB


def _apprise_object(url: str) -> Any:
    import apprise  # lazy: Apprise loads its service plugins at import (see the module docstring)

    target = apprise.Apprise()
    if not target.add(url):
        scheme = urlsplit(url).scheme or "(none)"
        raise InputError(f"{scheme}:// URL {masked(url)!r} is not a notification URL Apprise can use "
                         "(see https://github.com/caronc/apprise/wiki for mailto://, slack://, "
                         "matrix://, tgram://, ntfy:// ...)")
    return target


def check_apprise_url(url: str) -> str:
    """``url`` when Apprise can send to it; InputError naming it (secrets masked) otherwise."""
    _apprise_object(url)
    return url


def masked(url: str) -> str:
    """``url`` fit to show: an Apprise URL with its passwords and tokens masked; a webhook URL without
    its user info."""
    if is_webhook(url):
        parts = urlsplit(url)
        return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    try:
        import apprise  # lazy: see the module docstring

        target = apprise.Apprise()
        if target.add(url):
            return str(target[0].url(privacy=True))
    except ImportError:  # pragma: no cover - apprise is a dependency
        pass
    return f"{urlsplit(url).scheme}://..."


def event_links(base_url: str, *, url: str | None, capture_id: int | None, baseline_id: int | None = None,
                report: str | None = None) -> dict[str, str | None]:
    """The event's links on the archive's interface: the snapshot (the capture's page, with its replay),
    the diff against the baseline (None without both captures) and the URL's timeline."""
    base = base_url.rstrip("/")
    query = {"a": baseline_id, "b": capture_id, "report": report}
    return {
        "snapshot": f"{base}/snapshot/{capture_id}" if capture_id else None,
        "diff": (f"{base}/diff?" + urlencode({k: v for k, v in query.items() if v is not None})
                 if capture_id and baseline_id else None),
        "timeline": f"{base}/timeline?" + urlencode({"url": url}) if url else None,
    }


def message(payload: dict[str, Any]) -> tuple[str, str]:
    """The title and plain-text body of an event (a webhook payload) for people."""
    event = payload.get("event")
    lines: list[str] = []
    if event == "new-match":
        what = payload.get("title") or payload.get("link")
        title = f"[collector] new match in feed {payload.get('feed')}: {what}"
        lines.append(f"{payload.get('link')} matched {', '.join(payload.get('matched') or [])} "
                     f"(published {payload.get('published') or 'unknown'}).")
    elif event == "test":
        title = "[collector] test notification"
        lines.append("This is a test of a collector notification target; the links are the archive's.")
    else:
        title = f"[collector] {payload.get('status')}: {payload.get('url')}"
        cite = (f" (report {payload['report']}, ref {payload.get('ref')})" if payload.get("report") else "")
        was = f", was {payload['previous_status']}" if payload.get("previous_status") else ""
        sim = (f", similarity {payload['similarity']:.3f}" if isinstance(payload.get("similarity"), float)
               else "")
        lines.append(f"The check of {payload.get('url')}{cite} says {payload.get('status')}{was}{sim}, "
                     f"at {payload.get('checked_at')}.")
        if payload.get("raw_status") and payload["raw_status"] != payload.get("status"):
            lines.append(f"Before the ignore rules the verdict was {payload['raw_status']}.")
    for name, link in (payload.get("links") or {}).items():
        if link:
            lines.append(f"{name.capitalize()}: {link}")
    return title, "\n".join(lines)


def test_payload(base_url: str) -> dict[str, Any]:
    """What ``collector notify test`` sends: event ``test`` with links to the archive's pages."""
    base = base_url.rstrip("/")
    return {"event": "test", "links": {"snapshot": f"{base}/", "diff": None, "timeline": f"{base}/timeline"}}


def send_apprise(url: str, title: str, body: str) -> None:
    """Send one message to an Apprise URL; OSError with what Apprise logged when it was not delivered."""
    import apprise  # lazy: see the module docstring

    target = _apprise_object(url)
    with apprise.LogCapture(level=apprise.logging.WARNING) as logs:
        sent = target.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    if not sent:
        said = " ".join(logs.getvalue().split())[-300:]
        raise OSError(f"Apprise did not deliver to {masked(url)}: {said or 'no reason given'}")
