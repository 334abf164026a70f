"""The ``collector`` command line: a thin layer over library functions.

Exit status: 0 when everything asked for succeeded, 1 when something failed (a URL not captured, a
verify problem, no capture found), 2 for usage errors.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from collector.config import VERSION, Config, load_config
from collector.errors import CollectorError, ConfigError, InputError

__all__ = ["cli", "main"]


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--json`` (one JSON object per line) to a command."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object per line instead of a table.")(func)


def fetch_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that fetches."""
    options = [
        click.option("--allow-private", is_flag=True, default=None,
                     help="Allow loopback, private and link-local targets (refused by default)."),
        click.option("--ignore-robots", is_flag=True, default=False,
                     help="Do not obey robots.txt (recorded on every capture row)."),
        click.option("--per-host", "per_host_concurrency", type=int, default=None,
                     help="Concurrent requests per host (default 2)."),
        click.option("--delay", "download_delay", type=float, default=None,
                     help="Minimum delay between requests to one host, seconds."),
        click.option("--timeout", "download_timeout", type=float, default=None,
                     help="Download timeout in seconds (default 30)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _config(ctx: click.Context, **flags: Any) -> Config:
    base = dict(ctx.obj or {})
    base.update({k: v for k, v in flags.items() if v is not None})
    config_file = base.pop("config_file", None)
    return load_config(base, config_file=config_file)


def _archive(config: Config) -> Any:
    from storage.archive import Archive

    return Archive.open(config.db_url, config.warc_dir, warc_max_bytes=config.warc_max_bytes,
                        gzip_level=config.warc_gzip_level)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn collector and storage errors into messages and exit codes (never a traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from storage.errors import NoCaptureError, StorageError

        try:
            return func(*args, **kwargs)
        except (InputError, ConfigError) as exc:
            raise click.UsageError(str(exc)) from exc
        except (NoCaptureError, CollectorError, StorageError) as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="collector")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Archive home (default $COLLECTOR_HOME or ./collector-data).")
@click.option("--db", "database_url", default=None,
              help="Metadata database URL (default $COLLECTOR_DATABASE_URL or SQLite in the home).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="TOML config file (default $COLLECTOR_HOME/collector.toml).")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, database_url: str | None,
        config_file: Path | None) -> None:
    """collector: archive the sources a report cites, as WARC with SHA-256 hashes.

    \b
    Examples:
      collector capture https://example.org/article
      collector capture --from-file urls.txt --json
      collector snapshots https://example.org/article
      collector get https://example.org/article --at 2025-06-03 --raw > page.html
      collector verify
      collector demo
    """
    ctx.obj = {"home": home, "database_url": database_url, "config_file": config_file}


def _read_url_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text") from exc
    urls = [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    if not urls:
        raise InputError(f"{path} has no URLs (one per line; # starts a comment)")
    return urls


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read URLs from a file, one per line (# comments allowed).")
@click.option("--report", "report_name", help="Capture every cited URL of this report (and the "
              "report itself when it is a web page).")
@fetch_options
@json_option
@click.pass_context
@handle_errors
def capture(ctx: click.Context, urls: tuple[str, ...], from_file: Path | None,
            report_name: str | None, as_json: bool, ignore_robots: bool, **flags: Any) -> None:
    """Capture URLs into the archive (WARC + metadata row per attempt).

    Each URL's line is printed once it is archived and its text extracted. Failed fetches are
    recorded too, with their reason. Exit status 1 if any URL was not captured.

    \b
    Example:
      collector capture https://example.org/a https://example.org/b --json
    """
    from collector.capture import stream_captures
    from collector.output import CaptureProgress

    wanted = list(urls)
    if from_file is not None:
        wanted += _read_url_file(from_file)
    config = _config(ctx, obey_robots=False if ignore_robots else None, **flags)
    contexts = None
    if report_name:
        from collector.reports import report_urls

        cited, contexts = report_urls(config, report_name)
        if not cited:
            click.echo(f"report {report_name!r} has no URLs yet: attach them with "
                       f"`collector report link {report_name} REF URL`", err=True)
            sys.exit(1)
        wanted += cited
    if not wanted:
        raise click.UsageError("give at least one URL, --from-file FILE or --report NAME")
    with CaptureProgress(total=len(wanted), as_json=as_json) as progress:
        outcomes = stream_captures(config, wanted, on_result=progress.result, contexts=contexts)
    if set(outcomes) - {"captured"}:
        sys.exit(1)


@cli.command()
@click.argument("url")
@json_option
@click.pass_context
@handle_errors
def snapshots(ctx: click.Context, url: str, as_json: bool) -> None:
    """List every capture of URL (any spelling of it), oldest first.

    \b
    Example:
      collector snapshots https://www.example.org/a/?utm_source=x
    """
    from collector.output import print_snapshots
    from storage.queries import snapshots as list_snapshots

    archive = _archive(_config(ctx))
    try:
        found = list_snapshots(archive.sessions, url)
    finally:
        archive.close()
    if as_json:
        for record in found:
            _emit_json(record.to_json())
    else:
        print_snapshots(url, found)
    if not found:
        sys.exit(1)


@cli.command()
@click.argument("url")
@click.option("--at", "at", default=None, help="Time wanted (ISO-8601 or 14 digits); default latest.")
@click.option("--before", is_flag=True, help="Take the last capture at or before --at.")
@click.option("--raw", "mode", flag_value="raw", help="Write the payload bytes as archived.")
@click.option("--text", "mode", flag_value="text", help="Print the extracted main text.")
@click.option("--headers", "mode", flag_value="headers", help="Print the HTTP status and headers.")
@click.option("--warc", "mode", flag_value="warc", help="Write the capture's WARC records.")
@json_option
@click.pass_context
@handle_errors
def get(ctx: click.Context, url: str, at: str | None, before: bool, mode: str | None,
        as_json: bool) -> None:
    """Get the capture of URL closest to --at (Memento semantics).

    Without a mode flag, prints the capture's metadata. --raw checks the payload against its
    sha256 before writing it.

    \b
    Example:
      collector get https://example.org/a --at 2025-06-03T12:00:00Z --raw > a.html
    """
    from collector.timeparse import parse_time
    from storage import retrieve
    from storage.queries import closest_capture

    when = parse_time(at) if at else None
    if before and when is None:
        raise click.UsageError("--before needs --at")
    config = _config(ctx)
    archive = _archive(config)
    try:
        record = closest_capture(archive.sessions, url, when, before=before)
    finally:
        archive.close()
    out = click.get_binary_stream("stdout")
    if mode == "raw":
        out.write(retrieve.capture_payload(config.warc_dir, record))
    elif mode == "headers":
        out.write(retrieve.capture_headers(config.warc_dir, record))
    elif mode == "warc":
        out.write(retrieve.capture_warc(config.warc_dir, record))
    elif mode == "text":
        text = retrieve.capture_text(config.warc_dir, record)
        if as_json:
            _emit_json({"url": record.url, "captured_at": record.to_json()["captured_at"],
                        "title": text.get("title"), "published": text.get("published"),
                        "text_sha256": text.get("text_sha256"), "text": text.get("text")})
        else:
            click.echo(text.get("text") or "")
    elif as_json:
        _emit_json(record.to_json())
    else:
        from collector.output import print_capture

        print_capture(record)
    out.flush()


@cli.command()
@json_option
@click.pass_context
@handle_errors
def verify(ctx: click.Context, as_json: bool) -> None:
    """Re-read every archived record, recompute digests and sha256; exit 1 on any problem.

    Torn records at the end of a WARC file that no row points to (left by a crash) are reported
    as warnings.

    \b
    Example:
      collector verify --json
    """
    from collector.output import print_verify, verify_progress
    from storage.verify import verify_archive

    config = _config(ctx)
    archive = _archive(config)
    try:
        with verify_progress(enabled=not as_json) as advance:
            report = verify_archive(archive.sessions, config.warc_dir, progress=advance)
    finally:
        archive.close()
    if as_json:
        _emit_json(report.to_json())
    else:
        print_verify(report)
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the local web server running until Ctrl-C.")
@json_option
@click.pass_context
@handle_errors
def demo(ctx: click.Context, keep: bool, as_json: bool) -> None:
    """Offline end-to-end demo: capture a local web, change it, re-capture, show what changed.

    Uses a fresh archive home (./collector-demo unless --home is given). Needs no internet.
    """
    from collector.demo import run_demo

    home = (ctx.obj or {}).get("home") or Path("collector-demo")
    run_demo(home, as_json=as_json, keep=keep)


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``collector`` console script (callable from tests)."""
    try:
        cli.main(args=args, prog_name="collector", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: a message, never a traceback
        click.echo(f"Error: internal error ({type(exc).__name__}: {exc}). This is a bug in "
                   "collector; please report it with the command you ran.", err=True)
        sys.exit(1)


# command groups defined in their own modules register themselves on `cli`
from collector import cli_check, cli_monitor, cli_report, cli_serve  # noqa: E402

__all__ += ["cli_check", "cli_monitor", "cli_report", "cli_serve"]

if __name__ == "__main__":  # pragma: no cover
    main()
