"""What every command group shares: options, configuration, error handling and JSON output."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from collector.config import Config, load_config
from collector.errors import CollectorError, ConfigError, InputError
from collector.inputs import parse_duration
from storage.errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from storage.archive import Archive

__all__ = ["DURATION", "PROGRAM", "Duration", "base_url_option", "cli_config", "emit_json", "end_command",
           "fetch_options", "handle_errors", "human_seconds", "json_option", "open_archive",
           "open_sessions", "warn_local_links"]

F = TypeVar("F", bound=Callable[..., Any])


class _Program:
    """Whether this process is the ``collector`` program (``main()`` run without arguments: the
    console script, ``python -m collector``), rather than code calling the CLI in its own process
    (a test's CliRunner), which must go on after a command."""

    running = False


PROGRAM = _Program()


def end_command(code: int = 0) -> NoReturn:
    """End a command that is done (its processes ended, its database closed) with exit status
    ``code``. As the program, Python's own ending is skipped (``collector.capture.run.leave``:
    streams and logs flushed): tearing down the SQLAlchemy, storage and Scrapy modules a check
    loaded, one object at a time, costs 0.1 s idle and up to a second on a loaded machine."""
    if PROGRAM.running:
        from collector.capture.run import leave  # lazy: CLI start-up (loaded by the commands that end so)

        leave(code)
    sys.exit(code)


def emit_json(obj: Any) -> None:
    """Print one JSON object on a line of its own (``--json`` output)."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def human_seconds(seconds: float | None) -> str:
    """A duration as the CLI takes it back (``6h``, ``1d``, ``90s``); ``-`` for none."""
    if not seconds:
        return "-"
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class Duration(click.ParamType):
    """A duration such as ``90s``, ``30m``, ``6h``, ``1d``, ``2w`` or ``1h30m`` (a bare number: seconds)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """Seconds, as a float; a usage error names the bad value."""
        try:
            return parse_duration(value)
        except InputError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()


def json_option(func: F) -> F:
    """Add ``--json`` (one JSON object per line) to a command."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object per line instead of a table.")(func)


def base_url_option(func: F) -> F:
    """Add ``--base-url`` (the archive's public base URL in the archive links a command writes)."""
    return click.option(
        "--base-url", default=None,
        help="Public base URL of the archive (collector serve) in archive links [default: the "
             "public_base_url setting (COLLECTOR_PUBLIC_BASE_URL), else http://127.0.0.1:8080 "
             "with a warning].")(func)


def warn_local_links(config: Config, base_url: str | None) -> None:
    """Say on stderr when archive links fall back to http://127.0.0.1:8080 (no --base-url, no
    public_base_url setting): links written for readers must not silently point at this machine."""
    from collector.reports.links import base_url_warning, resolve_base_url  # lazy: CLI start-up

    if resolve_base_url(config, base_url)[1]:
        click.echo(base_url_warning(), err=True)


def fetch_options(func: F) -> F:
    """Options shared by every command that fetches."""
    options = [
        click.option("--allow-private", is_flag=True, default=None,
                     help="Allow loopback, private and link-local targets (refused by default)."),
        click.option("--tls-verify/--no-tls-verify", "tls_verify", default=None,
                     help="Fail https fetches whose certificate chain does not verify (reason "
                          "tls-untrusted; the response is still archived). Default: record the "
                          "verification result only (setting tls_verify)."),
        click.option("--ignore-robots", is_flag=True, default=False,
                     help="Do not obey robots.txt (recorded on every capture row)."),
        click.option("--per-host", "per_host_concurrency", type=int, default=None,
                     help="Concurrent requests per host (default 2)."),
        click.option("--delay", "download_delay", type=float, default=None,
                     help="Minimum delay between requests to one host, seconds."),
        click.option("--timeout", "download_timeout", type=float, default=None,
                     help="Download timeout in seconds (default 30)."),
        click.option("--browser", "browser", flag_value="always", default=None,
                     help="Capture every page through Chromium (sub-resources, screenshot, "
                          "rendered DOM; docs/browser.md). Default: the browser setting (auto: "
                          "browser_hosts and JavaScript shells only)."),
        click.option("--profile", "browser_profile", default=None, metavar="NAME",
                     help="Capture through Chromium logged in with login profile NAME (`collector "
                          "profile`); its cookies and Authorization headers are redacted from the "
                          "archived requests. Implies --browser."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def cli_config(ctx: click.Context, **flags: Any) -> Config:
    """The configuration of this invocation: global options, then the command's own flags."""
    base = dict(ctx.obj or {})
    base.update({k: v for k, v in flags.items() if v is not None})
    config_file = base.pop("config_file", None)
    return load_config(base, config_file=config_file)


def open_archive(config: Config) -> Archive:
    """The archive (database and WARC store) that ``config`` names."""
    from storage.archive import Archive  # here, not at the top: `collector --help` needs no SQLAlchemy

    return Archive.from_settings(config)


@contextlib.contextmanager
def open_sessions(config: Config) -> Iterator[sessionmaker[Session]]:
    """Sessions on the database that ``config`` names (created and migrated if new), for the
    ``with`` block; its connections are closed after it."""
    from storage.database import connect  # here, not at the top: `collector --help` needs no SQLAlchemy

    sessions = connect(config.db_url)
    try:
        yield sessions
    finally:
        sessions.kw["bind"].dispose()


def handle_errors(func: F) -> F:
    """Turn collector and storage errors into messages and exit codes (never a traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InputError, ConfigError) as exc:
            raise click.UsageError(str(exc)) from exc
        except (CollectorError, StorageError) as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
