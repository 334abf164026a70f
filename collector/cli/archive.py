"""``collector capture``, ``snapshots``, ``get``, ``verify``, ``reindex`` and ``import``: put sources in
and get them back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from collector.cli.options import (
    cli_config,
    emit_json,
    fetch_options,
    handle_errors,
    json_option,
    open_archive,
)
from collector.inputs import parse_time, read_url_file
from storage.timefmt import iso_z

__all__ = ["capture", "get", "import_", "reindex", "snapshots", "verify"]


@click.command()
@click.argument("urls", nargs=-1)
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read URLs from a file, one per line (# comments allowed).")
@click.option("--report", "report_name", help="Capture every cited URL of this report (and the "
              "report itself when it is a web page).")
@click.option("--extract/--no-extract", "extract", default=None,
              help="Extract main texts now (default), or archive at crawl speed and leave them "
                   "pending for `collector extract --pending` (setting extract).")
@click.option("--queue", is_flag=True, help="Queue the URLs for the capture workers (`collector "
              "worker`, docs/scale-out.md) as a job instead of fetching them here; prints the job.")
@click.option("--wait", is_flag=True, help="With --queue: then wait for the job, printing each "
              "result as it arrives (as `collector jobs ID --wait`).")
@click.option("--media", "media", type=click.Choice(["auto", "always", "never"]), default=None,
              help="Download video and audio with yt-dlp (extra [media]): auto (default: the "
                   "<video>/<audio> of pages, cited URLs on video hosts), always (every page tried "
                   "with yt-dlp's site extractors), never (setting media).")
@click.option("--requisites/--no-requisites", "requisites", default=None,
              help="Capture what each HTML page needs to be seen (images, stylesheets, fonts, "
                   "scripts; default), each a row of its own, or the pages alone (setting requisites).")
@fetch_options
@json_option
@click.pass_context
@handle_errors
def capture(ctx: click.Context, urls: tuple[str, ...], from_file: Path | None,
            report_name: str | None, queue: bool, wait: bool, as_json: bool, ignore_robots: bool,
            **flags: Any) -> None:
    """Capture URLs into the archive (WARC + metadata row per attempt).

    Each URL's line is printed once it is archived and its text extracted. Failed fetches are
    recorded too, with their reason. Exit status 1 if any URL was not captured (a failed page
    requisite is a row with its reason, counted apart, and does not change it). With --no-extract
    no extraction process is started: each HTML or PDF capture's extraction is "pending" until
    `collector extract --pending`.

    \b
    Example:
      collector capture https://example.org/a https://example.org/b --json
      collector capture --no-extract --from-file urls.txt
    """
    from collector.capture.run import stream_captures  # lazy: CLI start-up
    from collector.cli.output import CaptureProgress  # lazy: CLI start-up

    wanted = list(urls)
    if from_file is not None:
        wanted += read_url_file(from_file)
    config = cli_config(ctx, obey_robots=False if ignore_robots else None, **flags)
    contexts = None
    if report_name:
        from collector.reports.versions import report_urls  # lazy: CLI start-up

        cited, contexts = report_urls(config, report_name)
        if not cited:
            click.echo(f"report {report_name!r} has no URLs yet: attach them with "
                       f"`collector report link {report_name} REF URL`", err=True)
            sys.exit(1)
        wanted += cited
    if not wanted:
        raise click.UsageError("give at least one URL, --from-file FILE or --report NAME")
    if wait and not queue:
        raise click.UsageError("--wait goes with --queue")
    if queue and config.browser_profile:
        raise click.UsageError("--profile cannot go with --queue: profiles stay in this home, the "
                               "capture workers do not have them")
    if queue:
        from collector.cli.worker import enqueue_and_report  # lazy: CLI start-up

        enqueue_and_report(ctx, wanted, contexts, as_json=as_json, wait=wait,
                           source=f"report {report_name}" if report_name else None)
        return
    with CaptureProgress(total=len(wanted), as_json=as_json) as progress:
        outcomes = stream_captures(config, wanted, on_result=progress.result, contexts=contexts,
                                   on_requisite=progress.requisite)
    if set(outcomes) - {"captured"}:
        sys.exit(1)


@click.command()
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
    from collector.cli.output import print_snapshots  # lazy: CLI start-up
    from storage.queries import snapshots as list_snapshots  # lazy: CLI start-up

    archive = open_archive(cli_config(ctx))
    try:
        found = list_snapshots(archive.sessions, url)
    finally:
        archive.close()
    if as_json:
        for record in found:
            emit_json(record.to_json())
    else:
        print_snapshots(url, found)
    if not found:
        sys.exit(1)


@click.command()
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
    sha256 before writing it. With --at, a line on stderr says how far the capture is from the time
    asked when it is a minute or more away, and --json adds ``distance_seconds`` (capture time minus
    --at: negative before, positive after).

    \b
    Example:
      collector get https://example.org/a --at 2025-06-03T12:00:00Z --raw > a.html
    """
    from storage import retrieve  # lazy: CLI start-up
    from storage.queries import closest_capture  # lazy: CLI start-up

    when = parse_time(at) if at else None
    if before and when is None:
        raise click.UsageError("--before needs --at")
    config = cli_config(ctx)
    archive = open_archive(config)
    try:
        record = closest_capture(archive.sessions, url, when, before=before)
    finally:
        archive.close()
    distance = (record.captured_at - when).total_seconds() if when is not None else None
    if distance is not None and abs(distance) >= 60:
        from collector.cli.output import describe_distance  # lazy: CLI start-up

        click.echo(f"note: the closest capture is {describe_distance(distance)} the time asked "
                   f"({iso_z(record.captured_at)} for {iso_z(when)})", err=True)
    extra = {} if distance is None else {"distance_seconds": round(distance, 6)}
    out = sys.stdout.buffer  # click.get_binary_stream is deprecated (Click 8.5)
    if mode == "raw":
        out.write(retrieve.capture_payload(config.warc_dir, record))
    elif mode == "headers":
        out.write(retrieve.capture_headers(config.warc_dir, record))
    elif mode == "warc":
        out.write(retrieve.capture_warc(config.warc_dir, record))
    elif mode == "text":
        text = retrieve.capture_text(config.warc_dir, record)
        if as_json:
            emit_json({"url": record.url, "captured_at": record.to_json()["captured_at"],
                        "title": text.get("title"), "published": text.get("published"),
                        "text_sha256": text.get("text_sha256"), "text": text.get("text"), **extra})
        else:
            click.echo(text.get("text") or "")
    elif as_json:
        emit_json({**record.to_json(), **extra})
    else:
        from collector.cli.output import print_capture  # lazy: CLI start-up

        print_capture(record)
    out.flush()


@click.command()
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
    from collector.cli.output import print_verify, verify_progress  # lazy: CLI start-up
    from storage.verify import verify_archive  # lazy: CLI start-up

    config = cli_config(ctx)
    archive = open_archive(config)
    try:
        with verify_progress(enabled=not as_json) as advance:
            report = verify_archive(archive.sessions, config.warc_dir, progress=advance)
    finally:
        archive.close()
    if as_json:
        emit_json(report.to_json())
    else:
        print_verify(report)
    if not report.ok:
        sys.exit(1)


@click.command()
@click.option("--force", is_flag=True,
              help="Rebuild even when the database has captures (SQLite: into a new file; the old "
                   "one is kept beside it).")
@json_option
@click.pass_context
@handle_errors
def reindex(ctx: click.Context, force: bool, as_json: bool) -> None:
    """Rebuild the database's captures from the home's WARC files (the record of truth).

    Rebuilds every fetch attempt (captured or failed, outcome, reason, redirect hops, revisit
    links), its extracted text and the search index. Reports, checks, schedules and feeds live only
    in the database and are not rebuilt. The database must have no captures, unless --force.

    \b
    Example:
      collector reindex --force --json
    """
    from collector.capture.reindex import reindex_home  # lazy: CLI start-up
    from collector.cli.output import files_progress  # lazy: CLI start-up
    from storage.reindex import warc_files  # lazy: CLI start-up

    config = cli_config(ctx)
    with files_progress("reindexing", total=len(warc_files(config.warc_dir)),
                        enabled=not as_json) as advance:
        summary = reindex_home(config, force=force, progress=advance)
    _finish_index(summary, "reindexed", as_json)


@click.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
@handle_errors
def import_(ctx: click.Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Import WARC, WARC.gz or WACZ files made by other tools (wget, browsertrix, pywb, Heritrix).

    Each file is copied into the home's WARC store; its response and revisit records become
    captures (served, cited, checked and verified like collector's own), HTML and PDF texts are
    extracted. Importing a file again adds nothing. A file that cannot be read is named and the
    others go on (exit status 1).

    \b
    Example:
      collector import crawl.warc.gz site.wacz --json
    """
    from collector.capture.reindex import import_archives  # lazy: CLI start-up
    from collector.cli.output import files_progress  # lazy: CLI start-up

    config = cli_config(ctx)
    with files_progress("importing", total=None, enabled=not as_json) as advance:
        summary = import_archives(config, list(files), progress=advance)
    _finish_index(summary, "imported", as_json)


def _finish_index(summary: dict[str, Any], verb: str, as_json: bool) -> None:
    """reindex's and import's ending: the summary (JSON or for people), exit 1 if a file failed."""
    from collector.cli.output import print_index_summary  # lazy: CLI start-up

    if as_json:
        emit_json(summary)
    else:
        print_index_summary(verb, summary)
    if summary["errors"]:
        sys.exit(1)
