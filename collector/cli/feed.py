"""``collector feed``: watch RSS, Atom and JSON feeds."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
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
from collector.errors import InputError, NotFoundError
from collector.monitor.titles import display_title
from storage.timefmt import iso_z

__all__ = ["PollProgress", "feed"]


# -- feed ----------------------------------------------------------------------------------------------
@click.group()
def feed() -> None:
    """Watch RSS, Atom and JSON feeds: record new entries, capture the articles that match keywords.

    \b
    Example:
      collector feed add https://news.example/rss --name example --keywords "Acme Corp, Jane Doe"
      collector feed poll --json
      collector feed list
    """


@feed.command("add")
@click.argument("url")
@click.option("--name", help="Name of the feed (default: its host and path).")
@click.option("--keywords", "keywords_text", help='Keywords and phrases, comma-separated: "a, b c".')
@click.option("--keywords-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Keywords, one per line (# comments).")
@click.option("--every", type=DURATION, default=None, help="Polling interval, e.g. 1h (default 1h); "
              "it adapts to the feed's activity.")
@click.option("--all", "capture_all", is_flag=True, help="Capture every new entry, matched or not.")
@click.option("--no-text-match", is_flag=True, help="Match keywords on title and summary only (do not "
              "capture unmatched articles to match their text).")
@json_option
@click.pass_context
@handle_errors
def feed_add(ctx: click.Context, url: str, name: str | None, keywords_text: str | None,
             keywords_file: Path | None, every: float | None, capture_all: bool, no_text_match: bool,
             as_json: bool) -> None:
    """Add a feed to watch.

    \b
    Example:
      collector feed add https://news.example/rss --name example --keywords "Acme, Jane Doe" --every 30m
    """
    from collector.monitor.feeds import add_feed  # lazy: CLI start-up
    from collector.monitor.keywords import parse_keywords  # lazy: CLI start-up

    if keywords_text and keywords_file:
        raise click.UsageError("give --keywords or --keywords-file, not both")
    lines = None
    if keywords_file is not None:
        try:
            lines = keywords_file.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read keywords file {keywords_file}: {exc}") from exc
    keywords = parse_keywords(keywords_text, lines)
    if keywords_file is not None and not keywords:
        raise InputError(f"{keywords_file} has no keywords (one per line; # starts a comment)")
    record = add_feed(cli_config(ctx), url, name=name, keywords=keywords, every=every,
                      capture_all=capture_all, match_text=not no_text_match)
    if as_json:
        emit_json(_feed_json(record, "never-polled"))
    else:
        words = ", ".join(record.keywords) or "none"
        click.echo(f"added feed {record.name}: {record.url} every {human_seconds(record.base_interval)}"
                   f", keywords: {words}")


def _feed_json(record: Any, status: str) -> dict[str, Any]:
    return {"name": record.name, "url": record.url, "keywords": list(record.keywords),
            "capture_all": record.capture_all, "match_text": record.match_text,
            "every": record.base_interval, "interval": record.interval, "status": status,
            "title": record.title, "entries": record.entries, "matched_entries": record.matches,
            "last_polled_at": iso_z(record.last_polled_at), "next_poll_at": iso_z(record.next_poll_at),
            "last_success_at": iso_z(record.last_success_at),
            "last_new_entry_at": iso_z(record.last_new_entry_at), "last_status": record.last_status,
            "last_error": record.last_error, "consecutive_failures": record.consecutive_failures,
            "last_outcome": record.last_outcome,
            "warning": record.warning, "warning_at": iso_z(record.warning_at), "paused": record.paused}


def status_label(record: Any, status: str) -> str:
    """A feed's status for people: ``failing (N)`` with its failures in a row, ``never polled``."""
    if status == "failing":
        return f"failing ({record.consecutive_failures})"
    return status.replace("-", " ")


@feed.command("list")
@json_option
@click.pass_context
@handle_errors
def feed_list(ctx: click.Context, as_json: bool) -> None:
    """List watched feeds with their status, from their latest polls.

    \b
    never polled  not polled yet
    ok            the latest poll succeeded (silent: no new entry for long; warning: a broken document)
    failing (N)   the latest N polls failed (the last error is shown)
    refused       the latest fetch was refused (private address, robots.txt): no back-off

    --json gives status (never-polled, ok, silent, warning, failing, refused), last_outcome and
    consecutive_failures.

    \b
    Example:
      collector feed list --json
    """
    from collector.monitor.feeds import feed_status  # lazy: CLI start-up
    from storage.feeds import list_feeds  # lazy: CLI start-up

    config = cli_config(ctx)
    with open_sessions(config) as sessions:
        feeds = list_feeds(sessions)
    now = datetime.now(UTC)
    for record in feeds:
        status = feed_status(record, now, config.monitor)
        if as_json:
            emit_json(_feed_json(record, status))
        else:
            extra = record.last_error or record.warning or ""
            click.echo(f"{status_label(record, status):<12} {record.name}  {record.url}  "
                       f"entries {record.entries} matched {record.matches}  "
                       f"every {human_seconds(round(record.interval))}"
                       + (f"  ({extra})" if extra else ""))
    if not feeds and not as_json:
        click.echo("no feeds (add one with `collector feed add URL`)")


@feed.command("remove")
@click.argument("name")
@click.pass_context
@handle_errors
def feed_remove(ctx: click.Context, name: str) -> None:
    """Stop watching a feed (its archived documents and articles stay in the archive).

    \b
    Example:
      collector feed remove example
    """
    from storage.feeds import remove_feed  # lazy: CLI start-up

    config = cli_config(ctx)
    with open_sessions(config) as sessions:
        removed = remove_feed(sessions, name)
    if not removed:
        raise NotFoundError(f"no feed named {name!r}")
    click.echo(f"removed feed {name}")


@feed.command("pause")
@click.argument("name")
@click.pass_context
@handle_errors
def feed_pause(ctx: click.Context, name: str) -> None:
    """Pause a feed: `collector run` polls it no more until it is resumed (`feed poll NAME` still does).

    \b
    Example:
      collector feed pause example
    """
    from collector.monitor.feeds import pause_feed  # lazy: CLI start-up

    pause_feed(cli_config(ctx), name)
    click.echo(f"paused feed {name}")


@feed.command("resume")
@click.argument("name")
@click.pass_context
@handle_errors
def feed_resume(ctx: click.Context, name: str) -> None:
    """Resume a paused feed (it is due at once).

    \b
    Example:
      collector feed resume example
    """
    from collector.monitor.feeds import pause_feed  # lazy: CLI start-up

    pause_feed(cli_config(ctx), name, paused=False)
    click.echo(f"resumed feed {name}")


class PollProgress:
    """What ``feed poll`` shows while it runs: each new entry on stdout as soon as it is known, each
    feed's outcome on stderr, and (when stderr is a terminal) progress bars of the feeds read and the
    articles captured, like ``collector capture``'s."""

    PHASES = {"feeds": "polling feeds", "articles": "capturing articles"}

    def __init__(self, *, as_json: bool, console: Any = None) -> None:
        # lazy: CLI start-up
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from collector.cli.output import ERR  # lazy: CLI start-up

        self.as_json = as_json
        console = console or ERR
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True,
                                 disable=not console.is_terminal,
                                 # lines for a file or a pipe must go there, not above the bar
                                 redirect_stdout=sys.stdout.isatty())
        self.tasks: dict[str, Any] = {}
        self.failed = 0

    def __enter__(self) -> PollProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.progress.stop()

    def phase(self, name: str, total: int) -> None:
        """A phase starts: ``feeds`` (fetch and read every feed) or ``articles`` (capture them)."""
        for task in self.tasks.values():
            self.progress.update(task, visible=False)
        if total:
            self.tasks[name] = self.progress.add_task(self.PHASES.get(name, name), total=total)

    def feed(self, polled: Any) -> None:
        """One feed was read (or failed)."""
        if "feeds" in self.tasks:
            self.progress.advance(self.tasks["feeds"])
        if polled.warning:
            click.echo(f"warning: feed {polled.feed}: {polled.warning}", err=True)
        if polled.outcome in ("failed", "refused"):
            self.failed += 1
            click.echo(f"{polled.outcome}: feed {polled.feed}: {polled.error}", err=True)
        elif not self.as_json:
            same = ", unchanged" if polled.unchanged else ""
            click.echo(f"polled {polled.feed}: {polled.outcome} ({polled.http_status}{same}), "
                       f"{polled.new_entries} new", err=True)

    def entry(self, line: dict[str, Any]) -> None:
        """One new entry: recorded, or its article captured (or not)."""
        if line["outcome"] != "recorded" and "articles" in self.tasks:
            self.progress.advance(self.tasks["articles"])
        if self.as_json:
            emit_json(line)
            return
        mark = "MATCH " + ", ".join(line["matched"]) if line["matched"] else "new"
        click.echo(f"{mark:<24} [{line['feed']}] {display_title(line['title'])}  {line['link'] or ''}"
                   f"  {line['outcome']}")


@feed.command("poll")
@click.argument("names", nargs=-1)
@click.option("--all", "capture_all", is_flag=True, help="Capture every new entry, matched or not.")
@click.option("--due", is_flag=True, help="Poll only the feeds whose interval has elapsed.")
@fetch_options
@json_option
@click.pass_context
@handle_errors
def feed_poll(ctx: click.Context, names: tuple[str, ...], capture_all: bool, due: bool, as_json: bool,
              ignore_robots: bool, **flags: Any) -> None:
    """Poll feeds now (all, or the named ones); print each new entry as soon as it is known.

    JSON lines: feed, title, link, published, matched (keywords), captured, outcome. An entry that is
    only recorded is printed when its feed is read, one whose article is captured when the capture is
    done. Exit status 1 when a feed could not be fetched or read, or its fetch was refused (a private
    address without --allow-private, robots.txt).

    \b
    Example:
      collector feed poll example --json
    """
    from collector.monitor.feeds import poll_feeds  # lazy: CLI start-up

    config = cli_config(ctx, obey_robots=False if ignore_robots else None, **flags)
    with PollProgress(as_json=as_json) as progress:
        poll_feeds(config, list(names) or None, capture_all=capture_all, due_only=due,
                   on_entry=progress.entry, on_feed=progress.feed, on_phase=progress.phase)
    if progress.failed:
        sys.exit(1)


@feed.command("discover")
@click.argument("page_url")
@fetch_options
@json_option
@click.pass_context
@handle_errors
def feed_discover(ctx: click.Context, page_url: str, as_json: bool, ignore_robots: bool,
                  **flags: Any) -> None:
    """Find the feeds a page announces (<link rel="alternate">); the page is captured.

    \b
    Example:
      collector feed discover https://news.example/
    """
    from collector.monitor.feeds import discover  # lazy: CLI start-up

    config = cli_config(ctx, obey_robots=False if ignore_robots else None, **flags)
    found = discover(config, page_url)
    for item in found:
        if as_json:
            emit_json(item)
        else:
            click.echo(f"{item['url']}  {item.get('type') or ''}  {item.get('title') or ''}".rstrip())
    if not found:
        click.echo(f"no feeds announced on {page_url}", err=True)
        sys.exit(1)


@feed.command("entries")
@click.argument("name", required=False)
@click.option("--matched", is_flag=True, help="Only entries that matched a keyword.")
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@click.pass_context
@handle_errors
def feed_entries(ctx: click.Context, name: str | None, matched: bool, limit: int, as_json: bool) -> None:
    """List recorded entries, newest first, with matched keywords and article captures.

    \b
    Example:
      collector feed entries example --matched --json
    """
    from storage.feeds import entries_of  # lazy: CLI start-up

    config = cli_config(ctx)
    with open_sessions(config) as sessions:
        entries = entries_of(sessions, name, matched_only=matched, limit=limit)
    for entry in entries:
        line = {"feed": entry.feed, "title": entry.title, "link": entry.link,
                "published": iso_z(entry.published), "matched": list(entry.matched),
                "captured": entry.capture_outcome == "captured", "outcome": entry.capture_outcome
                or "recorded", "entry_id": entry.id, "guid": entry.guid, "capture_id": entry.capture_id,
                "first_seen_at": iso_z(entry.first_seen_at)}
        if as_json:
            emit_json(line)
        else:
            mark = ", ".join(entry.matched) or "-"
            click.echo(f"{line['first_seen_at']}  [{entry.feed}] {display_title(entry.title)}  {mark}  "
                       f"{line['outcome']}")
