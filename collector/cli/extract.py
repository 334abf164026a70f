"""``collector extract --pending``: extract the texts of captures archived without extraction."""

from __future__ import annotations

from typing import Any

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option

__all__ = ["extract"]


@click.command()
@click.option("--pending", is_flag=True,
              help="Extract every capture whose extraction is pending (capture --no-extract, or a "
                   "run that stopped before extracting).")
@json_option
@click.pass_context
@handle_errors
def extract(ctx: click.Context, pending: bool, as_json: bool) -> None:
    """Extract main texts later, in the extraction pool a capture uses.

    Texts, their hashes, the search index and quote checks then work as after a normal capture.
    Captures of a run still running are left to it.

    \b
    Example:
      collector capture --no-extract --from-file urls.txt
      collector extract --pending
    """
    from collector.capture.extract_pending import extract_pending  # lazy: CLI start-up
    from collector.cli.output import count_progress  # lazy: CLI start-up

    if not pending:
        raise click.UsageError("say what to extract: --pending")
    config = cli_config(ctx)
    with count_progress("extracting", enabled=not as_json) as (start, advance):
        summary: dict[str, Any] = extract_pending(config, on_total=start, progress=advance)
    if as_json:
        emit_json(summary)
        return
    counts = ", ".join(f"{n} {status}" for status, n in summary["statuses"].items())
    click.echo(f"extracted {summary['extracted']} pending captures" + (f" ({counts})" if counts else ""))
    if summary["left_to_running_runs"]:
        click.echo(f"{summary['left_to_running_runs']} captures of runs still running were left to "
                   "them", err=True)
