"""``collector check``, ``history`` and ``diff``: what happened to a source over time."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import click

from collector.cli.options import (
    cli_config,
    emit_json,
    end_command,
    fetch_options,
    handle_errors,
    json_option,
    open_archive,
    open_sessions,
)
from collector.inputs import parse_time, read_url_file
from storage.timefmt import iso_z

__all__ = ["check", "diff", "history", "verdict_printer"]

_COLORS = {"unchanged": "green", "changed": "yellow", "gone": "red", "soft-404": "red",
           "blocked": "magenta", "unreachable": "red", "server-error": "red"}
# the fields of a check event of `collector history --json`, after type and at
_HISTORY_CHECK = ("status", "similarity", "http_status", "final_url", "redirected", "capture_id",
                  "baseline_id", "signals", "report", "ref", "raw_status", "raw_similarity", "ignored_rules")


@click.command()
@click.argument("urls", nargs=-1)
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read URLs from a file, one per line (# comments allowed).")
@click.option("--report", "report_name", help="Check every citation of this report.")
@click.option("--baseline", default="first", show_default=True,
              help="Baseline capture: first, latest, or a time (ISO-8601 or 14 digits).")
@click.option("--queue", is_flag=True, help="Queue the checks for the capture workers (`collector "
              "worker`, docs/scale-out.md) as a job instead of fetching them here; prints the job.")
@click.option("--wait", is_flag=True, help="With --queue: then wait for the job's verdicts and print "
              "each URL's as it is stored (the lines of a local check; `collector jobs ID --wait` does the "
              "same later).")
@fetch_options
@json_option
@click.pass_context
@handle_errors
def check(ctx: click.Context, urls: tuple[str, ...], from_file: Path | None, report_name: str | None,
          baseline: str, queue: bool, wait: bool, as_json: bool, ignore_robots: bool,
          **flags: Any) -> None:
    """Re-capture sources and tell whether each still says what it said.

    Verdicts: unchanged, changed, gone, soft-404, blocked, unreachable, server-error. Exit status 0
    when every check ran, whatever the verdicts. With --queue the workers fetch the URLs and one of
    them stores the verdicts once every URL is answered (docs/scale-out.md: `collector check --queue
    --from-file urls.txt --wait --json`).

    \b
    Example:
      collector check https://example.org/a --json
      collector check --report peru
    """
    from collector.check.run import CheckTarget, run_checks  # lazy: CLI start-up

    config = cli_config(ctx, obey_robots=False if ignore_robots else None, **flags)
    targets = [CheckTarget(url=u) for u in urls]
    if from_file is not None:
        targets += [CheckTarget(url=u) for u in read_url_file(from_file)]
    if report_name:
        from collector.reports.targets import check_targets  # lazy: CLI start-up

        archive = open_archive(config)
        try:
            targets += check_targets(archive, report_name)
        finally:
            archive.close()
    if not targets:
        raise click.UsageError("give URLs to check, --from-file FILE or --report NAME")
    if wait and not queue:
        raise click.UsageError("--wait goes with --queue")
    how, at = (baseline, None) if baseline in ("first", "latest") else ("time", parse_time(baseline))
    show = verdict_printer(as_json)
    if queue:
        _enqueue_checks(config, targets, how=how, at=at, wait=wait, as_json=as_json, show=show,
                        source=f"report {report_name}" if report_name else None)
        return
    results = run_checks(config, targets, baseline=how, at=at, on_result=show)
    end_command(1 if len(results) < len(targets) else 0)


def _enqueue_checks(config: Any, targets: list[Any], *, how: str, at: Any, wait: bool, as_json: bool,
                    show: Any, source: str | None) -> None:
    """``check --queue``: record the check job, print its line, and with ``wait`` its verdicts."""
    from collector.workers.checkjobs import enqueue_checks, wait_for_checks  # lazy: CLI start-up

    with open_sessions(config) as sessions:
        done = enqueue_checks(config, targets, baseline=how, at=at, source=source, sessions=sessions)
        if as_json:
            emit_json({"type": "job", **done.to_json()})
        else:
            click.echo(f"job {done.job_id}: {len(done.items)} URLs queued for checking "
                       f"(follow it with `collector jobs {done.job_id} --wait`)", err=True)
        if wait:
            wait_for_checks(sessions, int(done.job_id or 0), on_result=show)


def verdict_printer(as_json: bool) -> Any:
    """The printer of a check's verdict lines: JSON lines, or a colored line each."""

    def show(row: dict[str, Any]) -> None:
        if as_json:
            emit_json(row)
            return
        # lazy: rich (~0.15 s) at the first verdict, once the crawl runs, and never for --json
        from collector.cli.output import OUT

        color = _COLORS.get(row["status"], "")
        sim = f" similarity {row['similarity']:.3f}" if row["similarity"] is not None else ""
        ref = f"[{row['ref']}] " if row.get("ref") else ""
        moved = f" -> {row['final_url']}" if row["redirected"] else ""
        OUT.print(f"[{color}]{row['status']:<12}[/] {ref}{row['url']}{moved}{sim}")
        if row.get("ignored"):
            raw_sim = row["raw_similarity"]
            OUT.print(f"    before the ignore rules: {row['raw_status']}"
                      + (f" (similarity {raw_sim:.3f})" if raw_sim is not None else ""))
            for rule in row["ignored"]:
                removed = "; ".join(repr(t[:60]) for t in rule["removed"][:3])
                OUT.print(f"    [strike]ignored[/strike] by rule {rule['id']} ({rule['kind']} "
                          f"{rule['pattern']!r}): {removed}", markup=True, highlight=False)
        for quote in row["quotes"]:
            OUT.print(f"    quote archived={quote['archived']} live={quote['live']}: "
                      f"{quote['text'][:70]}")

    return show


@click.command()
@click.argument("url")
@json_option
@click.pass_context
@handle_errors
def history(ctx: click.Context, url: str, as_json: bool) -> None:
    """The timeline of a source: every capture and check, oldest first.

    \b
    Example:
      collector history https://example.org/a --json
    """
    from collector.cli.output import OUT  # lazy: CLI start-up
    from storage.records import CaptureRecord  # lazy: CLI start-up
    from storage.timeline import timeline  # lazy: CLI start-up

    archive = open_archive(cli_config(ctx))
    try:
        found = timeline(archive.sessions, url)
    finally:
        archive.close()
    for record in found.events():
        data = record.to_json()
        if isinstance(record, CaptureRecord):
            event = {"type": "capture", "at": data["captured_at"], **data}
        else:
            event = {"type": "check", "at": data["checked_at"], **{k: data[k] for k in _HISTORY_CHECK}}
        if as_json:
            emit_json(event)
        elif event["type"] == "capture":
            OUT.print(f"{event['at']}  capture #{event['id']}  {event['outcome']} "
                      f"{event['http_status'] or event['reason'] or ''}  "
                      f"sha256 {str(event['sha256'])[:12]}")
        else:
            color = _COLORS.get(event["status"], "")
            sim = "" if event["similarity"] is None else f" {event['similarity']:.3f}"
            OUT.print(f"{event['at']}  check     [{color}]{event['status']}[/]{sim}")


@click.command()
@click.argument("url")
@click.option("--from", "from_", help="Time of the first capture (default: the baseline, first).")
@click.option("--to", "to", help="Time of the second capture (default: latest).")
@click.option("--raw", is_flag=True, help="Diff the raw payloads instead of the main text.")
@click.option("--report", "report_name", default=None,
              help="Apply this report's ignore rules too (the URL's and the global ones always apply).")
@json_option
@click.pass_context
@handle_errors
def diff(ctx: click.Context, url: str, from_: str | None, to: str | None, raw: bool,
         report_name: str | None, as_json: bool) -> None:
    """Unified diff of the main text (or raw payload) of two captures of URL.

    --json prints one object: the two captures (``from``, ``to``: id, captured_at, sha256,
    text_sha256), ``mode`` (text or raw), ``identical``, ``similarity`` (main text, 0..1; null for
    --raw) and ``diff`` (the unified diff as one string). With ignore rules (``collector ignore``) that
    remove something: ``ignored`` (each rule with the texts it removed), ``filtered_identical`` and
    ``filtered_similarity``; the diff itself stays the raw one, its ignored lines marked.

    \b
    Example:
      collector diff https://example.org/a --from 2025-06-03 --to 2026-01-01
      collector diff https://example.org/a --json
    """
    from storage.timeline import capture_pair, text_pair  # lazy: CLI start-up

    config = cli_config(ctx)
    archive = open_archive(config)
    try:
        old, new = capture_pair(archive.sessions, url, since=parse_time(from_) if from_ else None,
                                until=parse_time(to) if to else None)
        texts = text_pair(config.warc_dir, old, new, raw_max_bytes=config.max_body_bytes if raw else None)
        ignored = None
        if not raw:
            from collector.check.rules import applicable_rules, ignored_in_pair  # lazy: CLI start-up

            ignored = ignored_in_pair(applicable_rules(archive.sessions, url, report_name), texts.old_text,
                                      texts.new_text, warc_dir=config.warc_dir, old=old, new=new,
                                      max_bytes=config.extract_max_bytes)
    finally:
        archive.close()
    label_a = f"{url} @ {iso_z(old.captured_at)}"
    label_b = f"{url} @ {iso_z(new.captured_at)}"
    lines = list(difflib.unified_diff(texts.old_text.splitlines(), texts.new_text.splitlines(), label_a,
                                      label_b, lineterm=""))
    if as_json:
        from collector.check.compare import text_similarity  # lazy: CLI start-up

        def side(capture: Any) -> dict[str, Any]:
            return {"id": capture.id, "captured_at": iso_z(capture.captured_at), "sha256": capture.sha256,
                    "text_sha256": capture.text_sha256}

        emit_json({"url": url, "from": side(old), "to": side(new), "mode": "raw" if raw else "text",
                   "identical": texts.old_text == texts.new_text,
                   "similarity": None if raw else text_similarity(texts.old_text, texts.new_text),
                   "diff": "\n".join(lines), **(ignored.to_json() if ignored else {})})
        return
    marked = _ignored_lines(ignored)
    for line in lines:
        changed = line[:1] in "+-" and not line.startswith(("+++", "---"))
        ids = marked.get(line[1:].strip()) if changed else None
        click.echo(line + (f"    [ignored: rule {', '.join(map(str, ids))}]" if ids else ""))
    if ignored and ignored.rules:
        summary = ignored.to_json()
        click.echo(f"# after the ignore rules: {'identical' if summary['filtered_identical'] else 'differ'} "
                   f"(similarity {summary['filtered_similarity']:.3f})", err=True)
        for rule in ignored.rules:
            click.echo(f"# ignored by rule {rule['id']} ({rule['kind']} {rule['pattern']!r}): "
                       + "; ".join(repr(t[:60]) for t in rule["removed"][:5]), err=True)


def _ignored_lines(ignored: Any) -> dict[str, list[int]]:
    """Line text -> the rules that removed all of it (a line of the diff wholly ignored)."""
    lines: dict[str, list[int]] = {}
    for span in (*ignored.old_spans, *ignored.new_spans) if ignored is not None else ():
        ids = lines.setdefault(span.text.strip(), [])
        if "\n" not in span.text.strip() and span.rule_id not in ids:
            ids.append(span.rule_id)
    return lines
