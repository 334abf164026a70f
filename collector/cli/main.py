"""The ``collector`` command line: the root group and every command group added to it.

A thin layer over library functions. Exit status: 0 when everything asked for succeeded, 1 when
something failed (a URL not captured, a verify problem, no capture found), 2 for usage errors.
Command modules never import this one; it imports them and adds their commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from collector.cli import (
    archive,
    check,
    demo,
    evidence,
    extract,
    feed,
    ignore,
    ledger,
    notify,
    profile,
    report,
    schedule,
    serve,
    warc,
    worker,
)
from collector.cli.options import PROGRAM
from collector.config import version

__all__ = ["cli", "main"]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"collector, version {version()}")
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
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


for _command in (archive.capture, archive.snapshots, archive.get, archive.verify, archive.reindex,
                 archive.import_, extract.extract, check.check,
                 check.history, check.diff, report.report, schedule.schedule, schedule.run, feed.feed,
                 notify.notify, serve.serve, serve.token, serve.export, serve.search, warc.warc,
                 demo.demo, profile.profile, ledger.key, ledger.ledger, evidence.evidence,
                 ignore.ignore, worker.worker, worker.jobs):
    cli.add_command(_command)


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``collector`` console script (callable from tests, with ``args``: without,
    it runs as the program, and a command that is done may end the process at once:
    ``collector.cli.options.end_command``)."""
    PROGRAM.running = args is None
    try:
        cli.main(args=args, prog_name="collector", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: a message, never a traceback
        click.echo(f"Error: internal error ({type(exc).__name__}: {exc}). This is a bug in "
                   "collector; please report it with the command you ran.", err=True)
        sys.exit(1)
