"""``collector schedule`` and ``run``: recurring work and the daemon that runs it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from collector.cli.options import (
    DURATION,
    cli_config,
    emit_json,
    fetch_options,
    handle_errors,
    human_seconds,
    json_option,
    open_sessions,
)
from storage.timefmt import iso_z

__all__ = ["run", "schedule"]

# -- schedule ------------------------------------------------------------------------------------------
@click.group()
def schedule() -> None:
    """Recurring captures, checks and feed polls, run by `collector run`.

    \b
    Example:
      collector schedule add https://example.org/a --every 6h
      collector schedule add --report peru --cron "0 3 * * *" --action check --adaptive
      collector schedule list --json
    """


def _show_schedule(info: Any, as_json: bool, verb: str = "") -> None:
    data = info.to_json()
    if as_json:
        emit_json(data)
        return
    when = (data["cron"] and f"cron {data['cron']!r}") or f"every {human_seconds(data['every'])}"
    state = "paused" if data["paused"] else f"next {data['next_run_at'] or '-'}"
    adaptive = " adaptive" if data["adaptive"] else ""
    if data["profile"]:
        adaptive += f" (profile {data['profile']})"
    click.echo(f"{verb}{data['id']:>4}  {data['action']}{adaptive} {data['kind']} "
               f"{', '.join(data['targets'])[:80]}  {when}  {state}")


@schedule.command("add")
@click.argument("urls", nargs=-1)
@click.option("--report", "report_name", help="Every cited URL of this report.")
@click.option("--feed", "feed_name", help="Poll this feed.")
@click.option("--every", type=DURATION, default=None, help="Interval, e.g. 6h, 30m, 1d.")
@click.option("--cron", default=None, help='Crontab line in UTC, e.g. "0 3 * * *".')
@click.option("--action", type=click.Choice(["capture", "check"]), default="capture", show_default=True)
@click.option("--adaptive", is_flag=True, help="Re-visit each URL daily for its first week, then "
              "weekly, then monthly; daily again after a change or failure.")
@click.option("--profile", "profile", default=None, metavar="NAME",
              help="Capture and check through Chromium logged in with login profile NAME "
                   "(`collector profile`); a run that finds it gone fails, naming it.")
@json_option
@click.pass_context
@handle_errors
def schedule_add(ctx: click.Context, urls: tuple[str, ...], report_name: str | None,
                 feed_name: str | None, every: float | None, cron: str | None, action: str,
                 adaptive: bool, profile: str | None, as_json: bool) -> None:
    """Add a schedule: URLs, a report's citations or a feed; --every or --cron.

    \b
    Example:
      collector schedule add https://example.org/a https://example.org/b --every 6h
      collector schedule add --feed example --every 15m
      collector schedule add https://social.example/post/1 --every 1d --profile mylogin
    """
    from collector.monitor.scheduler import add_schedule  # lazy: CLI start-up

    if not every and not cron and not adaptive:
        raise click.UsageError("give --every DURATION or --cron EXPRESSION")
    info = add_schedule(cli_config(ctx), urls=urls, report=report_name, feed=feed_name, every=every,
                        cron=cron, action=action, adaptive=adaptive, profile=profile)
    _show_schedule(info, as_json, "added ")


@schedule.command("list")
@json_option
@click.pass_context
@handle_errors
def schedule_list(ctx: click.Context, as_json: bool) -> None:
    """List schedules with their next run (UTC).

    \b
    Example:
      collector schedule list --json
    """
    from collector.monitor.scheduler import list_schedules  # lazy: CLI start-up

    found = list_schedules(cli_config(ctx))
    for info in found:
        _show_schedule(info, as_json)
    if not found and not as_json:
        click.echo("no schedules (add one with `collector schedule add`)")


def _change(ctx: click.Context, what: str, schedule_id: int, as_json: bool) -> None:
    from collector.monitor import scheduler  # lazy: CLI start-up

    if what == "remove":
        record = scheduler.remove_schedule(cli_config(ctx), schedule_id)
        if as_json:
            emit_json({"id": record.id, "removed": True})
        else:
            click.echo(f"removed schedule {record.id}")
        return
    change = scheduler.pause_schedule if what == "pause" else scheduler.resume_schedule
    _show_schedule(change(cli_config(ctx), schedule_id), as_json, f"{what}d ")


@schedule.command("edit")
@click.argument("schedule_id", type=int)
@click.option("--every", type=DURATION, default=None, help="New interval, e.g. 6h, 30m, 1d.")
@click.option("--cron", default=None, help='New crontab line in UTC, e.g. "0 3 * * *".')
@click.option("--action", type=click.Choice(["capture", "check"]), default=None, help="New action.")
@click.option("--adaptive/--no-adaptive", default=None, help="Turn adaptive re-visits on or off.")
@click.option("--profile", "profile", default=None, metavar="NAME",
              help="Capture and check through Chromium logged in with login profile NAME "
                   "(`collector profile`; it must exist).")
@click.option("--no-profile", "no_profile", is_flag=True,
              help="Drop the schedule's login profile (plain captures again).")
@json_option
@click.pass_context
@handle_errors
def schedule_edit(ctx: click.Context, schedule_id: int, every: float | None, cron: str | None,
                  action: str | None, adaptive: bool | None, profile: str | None, no_profile: bool,
                  as_json: bool) -> None:
    """Change a schedule: its trigger (--every or --cron), its action, adaptive re-visits, its login
    profile.

    A new trigger takes effect at once (the next run is its first slot from now); a paused schedule
    stays paused. Past runs are kept.

    \b
    Example:
      collector schedule edit 3 --cron "30 4 * * *" --action check
      collector schedule edit 3 --profile mylogin
      collector schedule edit 3 --no-profile
    """
    from collector.monitor.scheduler import edit_schedule  # lazy: CLI start-up

    info = edit_schedule(cli_config(ctx), schedule_id, every=every, cron=cron, action=action,
                         adaptive=adaptive, profile=profile, clear_profile=no_profile)
    _show_schedule(info, as_json, "edited ")


@schedule.command("pause")
@click.argument("schedule_id", type=int)
@json_option
@click.pass_context
@handle_errors
def schedule_pause(ctx: click.Context, schedule_id: int, as_json: bool) -> None:
    """Pause a schedule (no run until it is resumed).

    \b
    Example:
      collector schedule pause 3
    """
    _change(ctx, "pause", schedule_id, as_json)


@schedule.command("resume")
@click.argument("schedule_id", type=int)
@json_option
@click.pass_context
@handle_errors
def schedule_resume(ctx: click.Context, schedule_id: int, as_json: bool) -> None:
    """Resume a paused schedule from its next slot.

    \b
    Example:
      collector schedule resume 3
    """
    _change(ctx, "resume", schedule_id, as_json)


@schedule.command("remove")
@click.argument("schedule_id", type=int)
@json_option
@click.pass_context
@handle_errors
def schedule_remove(ctx: click.Context, schedule_id: int, as_json: bool) -> None:
    """Remove a schedule (its past runs are kept).

    \b
    Example:
      collector schedule remove 3
    """
    _change(ctx, "remove", schedule_id, as_json)


@schedule.command("runs")
@click.argument("schedule_id", type=int, required=False)
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@click.pass_context
@handle_errors
def schedule_runs(ctx: click.Context, schedule_id: int | None, limit: int, as_json: bool) -> None:
    """Past runs (of one schedule, or all), oldest first.

    \b
    Example:
      collector schedule runs 3 --json
    """
    from storage.monitoring import runs_of  # lazy: CLI start-up

    with open_sessions(cli_config(ctx)) as sessions:
        runs = runs_of(sessions, f"schedule-{schedule_id}" if schedule_id else None, limit=limit)
    for r in runs:
        data = {"id": r.id, "job_id": r.job_id, "schedule_id": r.schedule_id,
                "scheduled_for": iso_z(r.scheduled_for), "started_at": iso_z(r.started_at),
                "finished_at": iso_z(r.finished_at), "status": r.status, "holder": r.holder,
                "summary": r.summary, "error": r.error}
        if as_json:
            emit_json(data)
        else:
            click.echo(f"{data['started_at']}  {r.job_id:<16} {r.status:<11} "
                       f"{summary_text(r.summary) or r.error or ''}")


def summary_text(summary: Any) -> str:
    """A run's summary as ``captured=3, failed=1`` (a mapping) or as it is (anything else)."""
    if isinstance(summary, dict):
        return ", ".join(f"{key}={value}" for key, value in summary.items())
    return "" if summary is None else str(summary)


# -- run -------------------------------------------------------------------------------------------------
@click.command()
@click.option("--tick", type=float, default=None, help="Main loop period in seconds (default 1).")
@click.option("--lease-ttl", type=float, default=None,
              help="Seconds before a dead daemon's lease is taken over (default 30).")
@click.option("--workers", type=int, default=None, help="Jobs running at once (default 4).")
@click.option("--feed-tick", type=float, default=None,
              help="How often to look for feeds due for polling, seconds (default 60).")
@click.option("--misfire-grace", type=float, default=None,
              help="Skip a missed run older than this many seconds (default: never skip).")
@click.option("--notify-interval", type=float, default=None, help="Webhook round period (default 5 s).")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True)
@fetch_options
@click.pass_context
@handle_errors
def run(ctx: click.Context, tick: float | None, lease_ttl: float | None, workers: int | None,
        feed_tick: float | None, misfire_grace: float | None, notify_interval: float | None,
        log_format: str, ignore_robots: bool, **flags: Any) -> None:
    """Run the scheduler daemon: schedules, due feed polls, webhooks. Stop with SIGTERM or Ctrl-C.

    Only one daemon per database runs jobs (a lease); others wait and take over if it dies. Logs are
    JSON lines on stderr. A graceful stop lets jobs in flight finish, then exits 0.

    \b
    Example:
      collector run --log-format text
    """
    from collector.monitor.daemon import Daemon, setup_logging  # lazy: CLI start-up

    monitor = {"tick": tick, "lease_ttl": lease_ttl, "workers": workers, "feed_tick": feed_tick,
               "misfire_grace": misfire_grace, "notify_interval": notify_interval}
    config = cli_config(ctx, obey_robots=False if ignore_robots else None, monitor=monitor, **flags)
    setup_logging(log_format)
    sys.exit(Daemon(config).run())
