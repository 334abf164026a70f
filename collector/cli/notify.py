"""``collector notify``: webhooks."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option, open_sessions
from collector.errors import NotFoundError
from storage.timefmt import iso_z

__all__ = ["notify"]


# -- notify ------------------------------------------------------------------------------------------------
@click.group()
def notify() -> None:
    """Webhooks: a JSON POST when a check verdict changes or a feed entry matches.

    \b
    Example:
      collector notify add https://hooks.example/collector --on change,gone,soft-404,new-match
      collector notify list
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
    """Add a webhook.

    \b
    Example:
      collector notify add https://hooks.example/collector --on change,gone,new-match
    """
    from collector.monitor.notify import add_webhook, parse_events  # lazy: CLI start-up

    hook = add_webhook(cli_config(ctx), url, parse_events(events))
    if as_json:
        emit_json({"id": hook.id, "url": hook.url, "events": list(hook.events)})
    else:
        click.echo(f"added webhook {hook.id}: {hook.url} on {', '.join(hook.events)}")


@notify.command("list")
@json_option
@click.pass_context
@handle_errors
def notify_list(ctx: click.Context, as_json: bool) -> None:
    """List webhooks.

    \b
    Example:
      collector notify list --json
    """
    from storage.monitoring import list_webhooks  # lazy: CLI start-up

    with open_sessions(cli_config(ctx)) as sessions:
        hooks = list_webhooks(sessions)
    for hook in hooks:
        if as_json:
            emit_json({"id": hook.id, "url": hook.url, "events": list(hook.events),
                   "created_at": iso_z(hook.created_at)})
        else:
            click.echo(f"{hook.id:>4}  {hook.url}  on {', '.join(hook.events)}")


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
    return {"id": d.id, "webhook_id": d.webhook_id, "url": d.url, "event": d.event,
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
            click.echo(f"{d.id:>5}  {d.status:<9} {d.event:<12} attempts {d.attempts}  {d.url}  "
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
        queued = collect_events(sessions, datetime.now(UTC))
        attempted = deliver_due(sessions, config.monitor, user_agent=config.ua)
        after = {d.id: d for d in list_deliveries(sessions, limit=max(len(attempted), 1) * 2 + 100)}
    for d in attempted:
        now = after.get(d.id, d)
        if as_json:
            emit_json(_delivery_json(now))
        else:
            click.echo(f"{now.status:<9} {now.event:<12} {now.url}  {now.last_error or ''}")
    if not as_json:
        click.echo(f"{queued} new event(s) queued, {len(attempted)} delivery attempt(s)", err=True)
    if any(after.get(d.id, d).status != "delivered" for d in attempted):
        sys.exit(1)


