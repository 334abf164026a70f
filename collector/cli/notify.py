"""``collector notify``: webhooks and Apprise notification URLs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option, open_sessions
from collector.errors import NotFoundError
from collector.monitor.messages import check_apprise_url, is_webhook, masked  # light: no Apprise import
from storage.timefmt import iso_z

__all__ = ["notify"]


# -- notify ------------------------------------------------------------------------------------------------
@click.group()
def notify() -> None:
    """Notifications when a check verdict changes or a feed entry matches: a JSON POST to an http(s)
    URL (a webhook), or a message through Apprise to any other URL (mailto://, slack://, matrix://,
    tgram://, discord://, ntfy:// ...). Each links to the snapshot, the diff and the timeline (the
    public_base_url setting). URLs in the notify_urls setting are told about every event.

    \b
    Example:
      collector notify add https://hooks.example/collector --on change,gone,soft-404,new-match
      collector notify add 'mailto://user:pass@mail.example?to=desk@example.org' --on change,gone
      collector notify list
      collector notify test https://hooks.example/collector
    """


@notify.command("add")
@click.argument("url")
@click.option("--on", "events", required=True,
              help="Events, comma-separated: change, gone, soft-404, blocked, unreachable, "
                   "server-error, new-match.")
@json_option
@click.pass_context
@handle_errors
def notify_add(ctx: click.Context, url: str, events: str, as_json: bool) -> None:
    """Add a webhook (http(s) URL) or an Apprise URL (mailto://, slack://, ntfy:// ...).

    \b
    Example:
      collector notify add https://hooks.example/collector --on change,gone,new-match
      collector notify add ntfy://ntfy.example/collector-alerts --on change,gone
    """
    from collector.monitor.notify import add_webhook, parse_events  # lazy: CLI start-up

    hook = add_webhook(cli_config(ctx), url, parse_events(events))
    if as_json:
        emit_json(_hook_json(hook))
    else:
        click.echo(f"added {_kind(hook.url)} {hook.id}: {masked(hook.url)} on {', '.join(hook.events)}")


def _kind(url: str) -> str:
    return "webhook" if is_webhook(url) else "apprise"


def _hook_json(hook: Any) -> dict[str, Any]:
    """A webhook as ``notify add/list --json`` print it (an Apprise URL's secrets masked)."""
    return {"id": hook.id, "url": masked(hook.url), "kind": _kind(hook.url), "events": list(hook.events),
            "created_at": iso_z(hook.created_at), "from_config": hook.from_config}


@notify.command("list")
@json_option
@click.pass_context
@handle_errors
def notify_list(ctx: click.Context, as_json: bool) -> None:
    """List webhooks and Apprise URLs (passwords and tokens masked), with those of the notify_urls
    setting (brought in step with it first).

    \b
    Example:
      collector notify list --json
    """
    from storage.monitoring import list_webhooks, sync_config_webhooks  # lazy: CLI start-up

    config = cli_config(ctx)
    with open_sessions(config) as sessions:
        from collector.monitor.notify import EVENTS  # lazy: CLI start-up

        sync_config_webhooks(sessions, config.monitor.notify_urls, EVENTS, datetime.now(UTC))
        hooks = list_webhooks(sessions)
    for hook in hooks:
        if as_json:
            emit_json(_hook_json(hook))
        else:
            source = "  (notify_urls setting)" if hook.from_config else ""
            click.echo(f"{hook.id:>4}  {_kind(hook.url):<7}  {masked(hook.url)}  on "
                       f"{', '.join(hook.events)}{source}")


@notify.command("test")
@click.argument("target")
@json_option
@click.pass_context
@handle_errors
def notify_test(ctx: click.Context, target: str, as_json: bool) -> None:
    """Send a test notification now to a URL, or to a stored webhook by id; exit 1 when it fails.

    \b
    Example:
      collector notify test https://hooks.example/collector
      collector notify test 1
    """
    from collector.monitor.notify import send_test  # lazy: CLI start-up
    from storage.monitoring import list_webhooks  # lazy: CLI start-up

    config = cli_config(ctx)
    url = target
    if target.isdigit():
        with open_sessions(config) as sessions:
            found = {h.id: h.url for h in list_webhooks(sessions)}
        if int(target) not in found:
            raise NotFoundError(f"no webhook {target} (see `collector notify list`)")
        url = found[int(target)]
    elif not is_webhook(target):
        check_apprise_url(target)
    error = send_test(config, url)
    if as_json:
        emit_json({"url": masked(url), "kind": _kind(url), "delivered": error is None, "error": error})
    else:
        click.echo(f"sent a test to {masked(url)}" if error is None else f"not delivered: {error}",
                   err=error is not None)
    if error is not None:
        sys.exit(1)


@notify.command("remove")
@click.argument("webhook_id", type=int)
@click.pass_context
@handle_errors
def notify_remove(ctx: click.Context, webhook_id: int) -> None:
    """Remove a webhook (its past deliveries are kept).

    \b
    Example:
      collector notify remove 2
    """
    from storage.monitoring import remove_webhook  # lazy: CLI start-up

    with open_sessions(cli_config(ctx)) as sessions:
        removed = remove_webhook(sessions, webhook_id)
    if not removed:
        raise NotFoundError(f"no webhook {webhook_id}")
    click.echo(f"removed webhook {webhook_id}")


def _delivery_json(d: Any) -> dict[str, Any]:
    return {"id": d.id, "webhook_id": d.webhook_id, "url": masked(d.url), "event": d.event,
            "status": d.status, "attempts": d.attempts, "http_status": d.http_status,
            "last_error": d.last_error, "created_at": iso_z(d.created_at),
            "next_attempt_at": iso_z(d.next_attempt_at), "delivered_at": iso_z(d.delivered_at),
            "payload": d.payload}


@notify.command("deliveries")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@click.pass_context
@handle_errors
def notify_deliveries(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List deliveries, newest first (failed ones are kept with their last error).

    \b
    Example:
      collector notify deliveries --status failed --json
    """
    from storage.monitoring import list_deliveries  # lazy: CLI start-up

    with open_sessions(cli_config(ctx)) as sessions:
        found = list_deliveries(sessions, status=status, limit=limit)
    for d in found:
        if as_json:
            emit_json(_delivery_json(d))
        else:
            click.echo(f"{d.id:>5}  {d.status:<9} {d.event:<12} attempts {d.attempts}  {masked(d.url)}  "
                       f"{d.last_error or ''}")


@notify.command("deliver")
@json_option
@click.pass_context
@handle_errors
def notify_deliver(ctx: click.Context, as_json: bool) -> None:
    """Collect new events and POST every due delivery once (what the daemon does every few seconds).

    \b
    Example:
      collector notify deliver
    """
    from collector.monitor.notify import collect_events, deliver_due  # lazy: CLI start-up
    from storage.monitoring import list_deliveries  # lazy: CLI start-up

    config = cli_config(ctx)
    with open_sessions(config) as sessions:
        queued = collect_events(sessions, datetime.now(UTC), base_url=config.public_base_url,
                                notify_urls=config.monitor.notify_urls)
        attempted = deliver_due(sessions, config.monitor, user_agent=config.ua)
        after = {d.id: d for d in list_deliveries(sessions, limit=max(len(attempted), 1) * 2 + 100)}
    for d in attempted:
        now = after.get(d.id, d)
        if as_json:
            emit_json(_delivery_json(now))
        else:
            click.echo(f"{now.status:<9} {now.event:<12} {masked(now.url)}  {now.last_error or ''}")
    if not as_json:
        click.echo(f"{queued} new event(s) queued, {len(attempted)} delivery attempt(s)", err=True)
    if any(after.get(d.id, d).status != "delivered" for d in attempted):
        sys.exit(1)


