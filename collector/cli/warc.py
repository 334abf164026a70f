"""``collector warc``: the home's WARC files (consolidating small ones, uploading to the store)."""

from __future__ import annotations

import sys

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option, open_sessions

__all__ = ["warc"]


@click.group()
def warc() -> None:
    """The archive home's WARC files.

    \b
    Example:
      collector warc consolidate --dry-run
    """


@warc.command("consolidate")
@click.option("--dry-run", is_flag=True, help="Say what would be merged; change nothing.")
@json_option
@click.pass_context
@handle_errors
def consolidate(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Merge small WARC files into files of up to warc_max_bytes, moving every row with its records.

    Files being written, files already that large and files with a torn tail (see verify) are left
    alone. Safe to interrupt: the next run finishes or undoes what an interrupted one left.

    \b
    Example:
      collector warc consolidate
      collector warc consolidate --dry-run --json
    """
    from storage.consolidate import consolidate_warcs  # lazy: CLI start-up

    config = cli_config(ctx)
    if config.object_store() is not None:
        raise click.ClickException(f"consolidate works on a directory store; {config.warc_store} is an "
                                   "object store (its objects are never rewritten)")
    with open_sessions(config) as sessions:
        report = consolidate_warcs(sessions, config.warc_dir, target_bytes=config.warc_max_bytes,
                                   dry_run=dry_run)
    if as_json:
        emit_json(report.to_json())
        return
    for done in report.recovered:
        click.echo(f"recovered: an interrupted consolidation into {done['into']}: {done['action']}")
    for group in report.merged:
        if dry_run:
            click.echo(f"would merge {len(group['files'])} files ({group['bytes']:,} bytes)")
        else:
            click.echo(f"merged   {len(group['files'])} files into {group['into']} "
                       f"({group['records']} records, {group['bytes']:,} bytes, "
                       f"{group['rows']} rows moved)")
    for skipped in report.skipped:
        click.echo(f"skipped  {skipped['warc_file']}: {skipped['reason']}")
    verb = "would become" if dry_run else "->"
    click.echo(f"done: {report.files_before} WARC files {verb} {report.files_after}")


@warc.command("upload")
@json_option
@click.pass_context
@handle_errors
def upload(ctx: click.Context, as_json: bool) -> None:
    """Upload the WARC files of this home that its s3:// store (warc_store) lacks or has shorter.

    Each upload is read back and its sha256 compared with the local file's. Files a running writer
    holds are left to it (it uploads them when it closes them). Exit status 1 when a file failed.

    \b
    Example:
      collector warc upload
      COLLECTOR_WARC_STORE=s3://bucket/warcs collector warc upload --json
    """
    from storage.upload import upload_pending  # lazy: CLI start-up

    config = cli_config(ctx)
    store = config.object_store()
    if store is None:
        raise click.UsageError("warc_store is not an s3:// store: there is nothing to upload "
                               f"(WARC files are written in {config.warc_dir} directly)")
    report = upload_pending(config.warc_dir, store)
    if as_json:
        emit_json(report.to_json())
    else:
        for item in report.uploaded:
            click.echo(f"uploaded {item['name']} ({item['bytes']:,} bytes, sha256 {item['sha256']})")
        for name in report.busy:
            click.echo(f"skipped  {name}: being written (its writer uploads it when it closes it)")
        for failed in report.failed:
            click.echo(f"failed   {failed['name']}: {failed['reason']}", err=True)
        click.echo(f"done: {len(report.uploaded)} uploaded, {len(report.current)} already in "
                   f"{store.uri}, {len(report.busy)} being written, {len(report.failed)} failed")
    if report.failed:
        sys.exit(1)
