"""HTML of the interface's write side: the login form, the forms that act on reports, schedules, feeds
and webhooks, a report's health figures, and the page of a running job. Forms are shown to a logged-in
viewer only, each with the session's CSRF token; every value goes through ``esc``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import HTMLResponse, Response

from collector.server.context import forms_page
from collector.server.html import ViewerLike, a, badge, capture_badge, esc, layout, table, url_html

__all__ = ["add_report_form", "csrf_input", "dashboard_forms", "health_figures", "html_page",
           "ignore_rules_panel", "job", "login", "manage", "row_buttons"]

HEALTH_ORDER = (("archived", "archived", "ok"), ("changed", "changed", "warn"), ("gone", "gone", "bad"),
                ("soft-404", "soft-404", "bad"), ("blocked", "blocked", "bad"),
                ("needs_url", "need a URL", "warn"), ("quotes_not_live", "quotes no longer live", "bad"))


def html_page(text: str, status: int = 200) -> Response:
    """A page with forms (``collector.server.context.forms_page``)."""
    return forms_page(HTMLResponse(text, status_code=status))


def csrf_input(viewer: ViewerLike) -> str:
    """The hidden CSRF field every write form carries."""
    return f"<input type='hidden' name='csrf' value='{esc(viewer.csrf)}'>"


def _form(viewer: ViewerLike, action: str, inner: str, *, cls: str = "act", upload: bool = False) -> str:
    enctype = " enctype='multipart/form-data'" if upload else ""
    return (f"<form class='{cls}' method='post' action='{esc(action)}'{enctype}>{csrf_input(viewer)}"
            f"{inner}</form>")


def _field(name: str, label: str, *, kind: str = "text", required: bool = False, value: str = "",
           placeholder: str = "") -> str:
    req = " required" if required else ""
    hint = f" placeholder='{esc(placeholder)}'" if placeholder else ""
    val = f" value='{esc(value)}'" if value else ""
    return f"<label>{esc(label)}<input type='{kind}' name='{name}'{val}{hint}{req}></label>"


def _select(name: str, label: str, options: list[tuple[str, str]]) -> str:
    opts = "".join(f"<option value='{esc(v)}'>{esc(t)}</option>" for v, t in options)
    return f"<label>{esc(label)}<select name='{name}'>{opts}</select></label>"


def _login_hint(what: str) -> str:
    return f"<p class='muted login-hint'>{a('/login', 'Log in')} to {esc(what)}.</p>"


def login(viewer: ViewerLike | None, nxt: str, *, error: str | None, read_only: bool) -> str:
    """The login form (or who is logged in)."""
    note = ("<p class='error'>This server is read-only (--read-only): logging in changes nothing.</p>"
            if read_only else "")
    if viewer is not None:
        body = f"<p>Logged in as <b>{esc(viewer.name)}</b>.</p>{note}"
        return layout("Log in", body, viewer=viewer)
    err = f"<p class='error' role='alert'>{esc(error)}</p>" if error else ""
    body = (f"{err}{note}<p>Give an API token (made with <code>collector token create --name NAME</code>). "
            "The token is checked and a session cookie is kept; the token itself is not stored in it.</p>"
            "<form class='act login' method='post' action='/login'>"
            f"<input type='hidden' name='next' value='{esc(nxt)}'>"
            "<label>token<input type='password' name='token' autocomplete='current-password' required>"
            "</label><button>Log in</button></form>")
    return layout("Log in", body, viewer=None)


def health_figures(health: dict[str, int], *, compact: bool = False) -> str:
    """The health figures of a report (``collector.reports.status.report_health``)."""
    items = []
    for key, label, cls in HEALTH_ORDER:
        value = health.get(key, 0)
        shade = cls if value and key != "archived" else ("ok" if value else "muted")
        items.append(f"<div class='figure {shade}' data-health='{esc(key)}'><b>{esc(value)}</b>"
                     f"{esc(label)}</div>")
    total = f"<div class='figure muted' data-health='citations'><b>{esc(health.get('citations', 0))}</b>" \
            "citations</div>"
    return f"<div class='health{' compact' if compact else ''}'>{total}{''.join(items)}</div>"


def add_report_form(viewer: ViewerLike | None) -> str:
    """Add a report: a file upload or a URL, an optional name and manifest."""
    if viewer is None:
        return _login_hint("add a report")
    inner = ("<fieldset><legend>Add a report</legend>"
             + _field("document", "report file (text, Markdown, HTML, PDF)", kind="file")
             + _field("url", "or its URL", kind="url", placeholder="https://...")
             + _field("name", "name (default: the file name)")
             + _field("manifest", "manifest CSV (optional: ref,url,quote,note)", kind="file")
             + "<button>Add report</button></fieldset>")
    return _form(viewer, "/reports", inner, upload=True)


def row_buttons(name: str, ref: str, viewer: ViewerLike | None) -> str:
    """"check" and "capture" buttons of one citation."""
    if viewer is None:
        return ""
    hidden = f"<input type='hidden' name='ref' value='{esc(ref)}'>"
    return (_form(viewer, f"/reports/{name}/check", hidden + "<button class='small'>check</button>",
                  cls="row")
            + _form(viewer, f"/reports/{name}/capture", hidden + "<button class='small'>capture</button>",
                    cls="row"))


def dashboard_forms(name: str, refs: list[str], viewer: ViewerLike | None) -> str:
    """A report's actions: check or capture it all now, attach a URL and quote, import a manifest,
    schedule it."""
    if viewer is None:
        return _login_hint("check, capture, link or schedule this report")
    now = (_form(viewer, f"/reports/{name}/check", "<button>Check all now</button>", cls="act inline")
           + _form(viewer, f"/reports/{name}/capture", "<button>Capture all now</button>",
                   cls="act inline"))
    link = _form(viewer, f"/reports/{name}/links", (
        "<fieldset><legend>Attach a URL or a quote to a reference</legend>"
        + _select("ref", "reference", [(r, r) for r in refs])
        + _field("url", "URL", kind="url", placeholder="https://...")
        + _field("quote", "quote") + _field("note", "note") + "<button>Attach</button></fieldset>"))
    manifest = _form(viewer, f"/reports/{name}/manifest", (
        "<fieldset><legend>Import a manifest</legend>"
        + _field("manifest", "CSV with ref,url (quote,note)", kind="file", required=True)
        + "<button>Import</button></fieldset>"), upload=True)
    schedule = _form(viewer, "/schedules", (
        "<fieldset><legend>Schedule this report</legend>"
        f"<input type='hidden' name='report' value='{esc(name)}'>"
        + _select("action", "action", [("check", "check"), ("capture", "capture")])
        + _field("every", "every", value="1d", required=True) + "<button>Schedule</button></fieldset>"))
    return f"<div class='actions'><div class='now'>{now}</div>{link}{manifest}{schedule}</div>"


def job(data: dict[str, Any]) -> str:
    """A check or capture started from the interface: its results as they arrive (``app.js`` polls
    ``/api/jobs/{id}`` and reloads the list; without scripts the page refreshes itself)."""
    results = []
    for row in data["results"]:
        verdict = (badge(row.get("status")) if data["kind"] == "check"
                   else capture_badge(row.get("outcome"), row.get("http_status"), row.get("reason")))
        results.append([esc(row.get("ref") or (row.get("context") or {}).get("ref") or ""),
                        f"<span class='url'>{esc(row.get('url'))}</span>", verdict])
    what = f"reference {data['ref']} of " if data["ref"] else ""
    state = badge({"done": "captured", "failed": "failed"}.get(data["state"]), data["state"])
    body = (f"<p class='job' data-job='{esc(data['id'])}' data-state='{esc(data['state'])}'>"
            f"{esc(data['kind'].capitalize())} of {what}{a('/reports/' + data['report'], data['report'])}: "
            f"<span class='state'>{state}</span> <span class='progress'>{esc(data['done'])} of "
            f"{esc(data['total'])}</span></p>"
            + (f"<p class='error'>{esc(data['error'])}</p>" if data["error"] else "")
            + "<div class='results'>" + table(["ref", "URL", "result"], results, cls="job-results")
            + "</div>")
    return layout(f"{data['kind'].capitalize()} of {data['report']}", body,
                  json_href=f"/api/jobs/{data['id']}", viewer=data.get("viewer", False))


def _pausable(viewer: ViewerLike | None, path: str, paused: bool, *middle: str) -> list[str]:
    """The state cell of a schedule or feed (then ``middle`` cells), and its pause/resume and remove
    buttons."""
    state = badge("skipped" if paused else "captured", "paused" if paused else "active")
    buttons = ""
    if viewer is not None:
        buttons = "".join(_form(viewer, f"{path}/{op}", f"<button class='small'>{op}</button>", cls="row")
                          for op in ("resume" if paused else "pause", "remove"))
    return [state, *middle, buttons]


def manage(data: dict[str, Any]) -> str:
    """Schedules, feeds and webhooks, with the forms that add, pause and remove them."""
    viewer = data.get("viewer")
    sched_rows = []
    for s in data["schedules"]:
        every = s.get("cron") or (f"{s['every']:g} s" if s.get("every") else "")
        sched_rows.append([esc(s["id"]), esc(s["action"]), esc(s["kind"]), esc(", ".join(s["targets"])),
                           esc(every), *_pausable(viewer, f"/schedules/{s['id']}", s["paused"],
                                                  esc((s.get("next_run_at") or "-")[:19]))])
    feed_rows = [[esc(f["name"]), f"<span class='url'>{esc(f['url'])}</span>", esc(f"{f['interval']:g} s"),
                  *_pausable(viewer, f"/feeds/{quote(f['name'], safe='/')}", f["paused"])]
                 for f in data["feeds"]]
    hook_rows = [[esc(h["id"]), f"<span class='url'>{esc(h['url'])}</span>", esc(", ".join(h["events"]))]
                 for h in data["webhooks"]]
    body = ("<h2>Schedules</h2>"
            + (table(["#", "action", "kind", "targets", "every", "state", "next run", ""], sched_rows,
                     cls="schedules") if sched_rows else "<p class='muted'>No schedule yet.</p>"))
    if viewer is not None:
        body += _form(viewer, "/schedules", (
            "<fieldset><legend>Add a schedule</legend>"
            + _select("report", "report", [("", "-")] + [(r, r) for r in data["reports"]])
            + _select("feed", "or feed (polled)", [("", "-")] + [(f["name"],) * 2 for f in data["feeds"]])
            + _field("urls", "or URLs (space-separated)")
            + _select("action", "action", [("capture", "capture"), ("check", "check")])
            + _field("every", "every (30m, 6h, 1d)", value="1d") + _field("cron", "or cron")
            + "<button>Add schedule</button></fieldset>"))
    body += ("<h2>Feeds</h2>"
             + (table(["name", "URL", "every", "state", ""], feed_rows, cls="feeds") if feed_rows
                else "<p class='muted'>No feed yet.</p>"))
    if viewer is not None:
        body += _form(viewer, "/feeds", (
            "<fieldset><legend>Watch a feed</legend>"
            + _field("url", "feed URL", kind="url", required=True) + _field("name", "name (optional)")
            + _field("keywords", "keywords (comma-separated, optional)")
            + "<button>Add feed</button></fieldset>"))
    body += ("<h2>Webhooks</h2>" + (table(["#", "URL", "events"], hook_rows, cls="webhooks") if hook_rows
                                     else "<p class='muted'>No webhook yet.</p>"))
    if viewer is not None:
        body += _form(viewer, "/webhooks", (
            "<fieldset><legend>Add a webhook</legend>"
            + _field("url", "URL", kind="url", required=True)
            + _field("events", "events (comma-separated)", value=data["default_events"])
            + "<button>Add webhook</button></fieldset>"))
    else:
        body += _login_hint("add, pause or remove schedules, feeds and webhooks")
    return layout("Schedules, feeds and webhooks", body, json_href="/schedules.json", viewer=viewer)


def _rule_scope(rule: dict[str, Any]) -> str:
    if rule["scope"] == "global":
        return "global"
    return f"{rule['scope']} <span class='url'>{url_html(rule['target'])}</span>"


def ignore_rules_panel(rules: list[dict[str, Any]], viewer: ViewerLike | None, *, here: str,
                       target: str, scopes: list[tuple[str, str]]) -> str:
    """The ignore rules that apply on a page (a source's timeline, a report's dashboard), each with a
    remove button, and the form that adds one (``collector.server.ignore_api``): ``scopes`` are the
    (value, label) choices of its scope select, ``target`` the URL or report name a ``url`` or ``report``
    scope applies to, ``here`` the page the forms come back to."""
    back = f"<input type='hidden' name='next' value='{esc(here)}'>"
    rows = []
    for rule in rules:
        remove = (_form(viewer, f"/ignore-rules/{rule['id']}/remove", back
                        + "<button class='small'>remove</button>", cls="row") if viewer is not None else "")
        rows.append([esc(rule["id"]), _rule_scope(rule), esc(rule["kind"]),
                     f"<code>{esc(rule['pattern'])}</code>", esc(rule["note"] or ""), remove])
    body = ("<h2 id='ignore-rules'>Ignore rules</h2>"
            + (table(["#", "scope", "kind", "pattern", "note", ""], rows, cls="ignore-rules") if rows
               else "<p class='muted'>No ignore rule applies here.</p>"))
    if viewer is None:
        return body + _login_hint("add or remove ignore rules")
    return body + _form(viewer, "/ignore-rules", (
        "<fieldset><legend>Add an ignore rule (what it matches is left out of the comparison)</legend>"
        + back + f"<input type='hidden' name='target' value='{esc(target)}'>"
        + _select("scope", "scope", scopes)
        + _select("kind", "kind", [("regex", "regex (over the text)"), ("css", "CSS selector"),
                                   ("xpath", "XPath")])
        + _field("pattern", "pattern", required=True, placeholder="^Updated: .*$")
        + _field("note", "note (optional)") + "<button>Add ignore rule</button></fieldset>"),
        cls="act ignore")
