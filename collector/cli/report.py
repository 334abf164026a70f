"""``collector report ...``: add a report, attach URLs, show the status of every citation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from collector.cli.options import (
    base_url_option,
    cli_config,
    emit_json,
    handle_errors,
    json_option,
    open_archive,
    warn_local_links,
)

__all__ = ["report"]



@click.group()
def report() -> None:
    """Reports: read a report, find what it cites, and follow every citation.

    \b
    Example:
      collector report add paper.pdf --name peru-2025 --manifest links.csv
      collector capture --report peru-2025
      collector report status peru-2025
    """


@report.command("add")
@click.argument("source")
@click.option("--name", help="Name of the report (default: the file name without extension).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with header ref,url (optional quote,note) attaching URLs to references.")
@click.option("--allow-private", is_flag=True, default=None,
              help="Allow a loopback/private report URL.")
@json_option
@click.pass_context
@handle_errors
def add(ctx: click.Context, source: str, name: str | None, manifest: Path | None,
        allow_private: bool | None, as_json: bool) -> None:
    """Add a report (text, Markdown, HTML or PDF file, or a URL) or a new version of it.

    A URL is captured first, so the report's own version is archived next to its sources; a file is
    archived as a WARC resource record. Re-adding a changed document makes a new version and lists
    which citations were added, removed or changed.

    \b
    Example:
      collector report add islamism-peru-report.txt --name peru --manifest peru-links.csv
    """
    from collector.reports.versions import add_report  # lazy: CLI start-up

    summary = add_report(cli_config(ctx, allow_private=allow_private), source, name=name,
                         manifest=manifest)
    if as_json:
        emit_json(summary)
        return
    verb = "added version" if summary["new_version"] else "unchanged: still version"
    click.echo(f"{summary['report']}: {verb} {summary['version']} ({summary['format']}, "
               f"{summary['entries']} notes entries, {summary['markers']} body markers, "
               f"{summary['citations']} citations, {summary['links_added']} manifest links)")
    if summary["changes"]:
        for key in ("added", "removed", "changed"):
            if summary["changes"][key]:
                click.echo(f"  {key}: {', '.join(summary['changes'][key])}")
    if summary["needs_url"]:
        click.echo(f"  needs a URL ({len(summary['needs_url'])}): {', '.join(summary['needs_url'])}")
        click.echo(f"  attach them with: collector report link {summary['report']} REF URL "
                   "(or --manifest)")
    for warning in summary["warnings"]:
        click.echo(f"  warning: {warning}", err=True)


@report.command("link")
@click.argument("name")
@click.argument("ref")
@click.argument("url", required=False)
@click.option("--quote", help="A quoted passage to verify in the source.")
@click.option("--note", help="A note about this reference.")
@json_option
@click.pass_context
@handle_errors
def link(ctx: click.Context, name: str, ref: str, url: str | None, quote: str | None,
         note: str | None, as_json: bool) -> None:
    """Attach a URL (and optionally a quote or note) to reference REF of report NAME.

    \b
    Example:
      collector report link peru 4 https://www.facebook.com/some-post --quote "We are a channel"
    """
    from collector.reports.versions import link_reference  # lazy: CLI start-up

    if not (url or quote or note):
        raise click.UsageError("give a URL, --quote or --note")
    added = link_reference(cli_config(ctx), name, ref, url, quote=quote, note=note)
    if as_json:
        emit_json({"report": name, "ref": added.ref, "url": added.url, "quote": added.quote,
               "note": added.note})
    else:
        click.echo(f"{name} [{added.ref}]: attached {added.url or ''} "
                   f"{'(quote)' if quote else ''}".rstrip())


@report.command("status")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown", "html"]),
              default="table", show_default=True)
@click.option("--health", "health_only", is_flag=True,
              help="Print only the report's health: citations archived, changed, gone, soft-404, "
                   "blocked, needing a URL, with quotes no longer live.")
@base_url_option
@json_option
@click.pass_context
@handle_errors
def status(ctx: click.Context, name: str, fmt: str, health_only: bool, base_url: str | None,
           as_json: bool) -> None:
    """One row per citation: URL, first and latest capture, quotes found, archive link.

    The archive link is the good capture (2xx, not a soft-404) closest to the citation's date, else
    the latest good one; a citation whose captures are all errors is marked and gets no link. The
    table ends with the report's health (the figures of the web interface); each JSON row names the
    figures it counts in (``health``), and ``--health --json`` prints the figures alone.

    \b
    Example:
      collector report status peru --format markdown > status.md
      collector report status peru --health --json
    """
    from collector.reports.links import archive_mark  # lazy: CLI start-up
    from collector.reports.status import (  # lazy: CLI start-up
        render_html,
        render_markdown,
        report_health,
        report_status,
    )

    config = cli_config(ctx)
    rows = report_status(config, name, base_url=base_url)
    health = report_health(rows)
    if health_only:
        if as_json or fmt == "json":
            emit_json({"report": name, **health})
        else:
            click.echo(_health_line(name, health))
        return
    if as_json or fmt != "table":
        warn_local_links(config, base_url)
    if as_json or fmt == "json":
        for row in rows:
            emit_json(row)
    elif fmt == "markdown":
        click.echo(render_markdown(name, rows), nl=False)
    elif fmt == "html":
        click.echo(render_html(name, rows), nl=False)
    else:
        from rich.table import Table  # lazy: CLI start-up

        from collector.cli.output import OUT  # lazy: CLI start-up

        table = Table(title=f"Citations of {name}", title_justify="left")
        for column in ("ref", "kind", "source", "URL", "first capture", "latest", "check", "quotes",
                       "archive", "sealed"):
            table.add_column(column)
        for row in rows:
            first, latest = row["first_capture"], row["latest_capture"]
            url = row["url"] or ("[yellow]needs a URL[/]" if row["needs_url"] else "-")
            quotes = ", ".join({True: "[green]found[/]", False: "[red]not found[/]",
                                None: "not checked"}[q["archived"]] for q in row["quotes"]) or "-"
            check = row["check"]
            verdict = (f"{check['status']} ({row['state']})" if check and row["state"] in
                       ("suspect", "dead") else check["status"] if check else "-")
            linked, mark = row["archive_capture"], archive_mark(row)
            archived = (linked["captured_at"][:10] if linked
                        else f"[red]{mark}[/]" if mark else "-")
            table.add_row(row["ref"], row["kind"], row["source"][:60], url,
                          first["captured_at"][:19] if first else "-",
                          f"{latest['outcome']} {latest['http_status'] or ''}" if latest else "-",
                          verdict, quotes, archived, _sealed(row["sealed"]))
        OUT.print(table)
        click.echo(_health_line(name, health))


def _health_line(name: str, health: dict[str, int]) -> str:
    """``NAME: 12 citations · 9 archived · 1 changed ...`` (every figure, zeros too)."""
    from collector.reports.status import HEALTH_LABELS  # lazy: CLI start-up

    figures = " · ".join(f"{value} {HEALTH_LABELS[key]}" for key, value in health.items())
    return f"{name}: {figures}"


def _sealed(seal: dict[str, Any] | None) -> str:
    """The ``sealed`` cell: whether a signed ledger checkpoint covers the latest capture."""
    if seal is None:
        return "-"
    if seal["sealed"]:
        return f"[green]yes[/] #{seal['checkpoint']}"
    return "no" if seal["seq"] is not None else "[yellow]no entry[/]"


@report.command("robustify")
@click.argument("name")
@base_url_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("--notes", is_flag=True, help="Write the notes list even for an HTML report.")
@click.pass_context
@handle_errors
def robustify(ctx: click.Context, name: str, base_url: str | None, output: Path | None,
              notes: bool) -> None:
    """Write the report with Robust Links: every cited URL decorated with its archived snapshot.

    An HTML report is written back with data-versionurl and data-versiondate on every archived
    link; other reports get a notes list with each entry in full and "archived on DATE: LINK" after
    it. The snapshot is the one `report status` links; a citation whose captures are all errors
    gets none, is marked, and is named in a warning on stderr.

    \b
    Example:
      collector report robustify peru --base-url https://archive.example.org -o notes.md
    """
    from collector.reports.robustify import problems, robust_html, robust_notes  # lazy: CLI start-up
    from collector.reports.status import report_status  # lazy: CLI start-up
    from collector.reports.versions import report_document  # lazy: CLI start-up

    config = cli_config(ctx)
    rows = report_status(config, name, base_url=base_url)
    version, document = report_document(config, name)
    text = (robust_html(document, rows) if version.format == "html" and not notes
            else robust_notes(rows))
    warn_local_links(config, base_url)
    for problem in problems(rows):
        click.echo(f"warning: no snapshot to link: {problem}", err=True)
    if output is None:
        sys.stdout.write(text)
    else:
        tmp = output.with_name(output.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
        click.echo(f"wrote {output}", err=True)


@report.command("list")
@json_option
@click.pass_context
@handle_errors
def list_reports(ctx: click.Context, as_json: bool) -> None:
    """List reports with their latest version.

    \b
    Example:
      collector report list --json
    """
    from storage.reports import list_reports as stored  # lazy: CLI start-up

    archive = open_archive(cli_config(ctx))
    try:
        versions = stored(archive.sessions)
    finally:
        archive.close()
    for version in versions:
        data = {"report": version.report, "version": version.version, "format": version.format,
                "title": version.title, "source": version.source, "citations": version.citation_count,
                "added_at": version.added_at.isoformat()}
        if as_json:
            emit_json(data)
        else:
            click.echo(f"{version.report}  v{version.version}  {version.citation_count} citations  "
                       f"{version.source}")
