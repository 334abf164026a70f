"""Human output: progress bars on stderr, tables and lines on stdout; JSON lines with --json."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spiders.jsshell import is_js_shell_reason
from storage.records import CaptureRecord

__all__ = ["CaptureProgress", "count_progress", "describe_distance", "print_capture", "print_snapshots",
           "print_verify", "verify_progress"]

OUT = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
# errors name files and URLs: never wrapped (a path cut in two cannot be copied or searched for)
ERR = Console(stderr=True, highlight=False, soft_wrap=True)
_STYLE = {"captured": "green", "failed": "red", "skipped": "yellow"}


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "-"


def _progress(description: str, total: int | None) -> Progress:
    # stdout goes through the bar's console only when both are the terminal: `--json > file`
    # with the bar on screen must still write the JSON to the file
    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=ERR, transient=True,
                    disable=not ERR.is_terminal, redirect_stdout=sys.stdout.isatty())


class CaptureProgress:
    """Progress bar for a capture run; prints each URL's line (or JSON object) as it completes."""

    def __init__(self, *, total: int, as_json: bool) -> None:
        self.as_json = as_json
        self.total = total
        self.progress = _progress("capturing", total)
        self.task = self.progress.add_task("capture", total=total)
        self.counts: dict[str, int] = {}
        self.requisites: dict[str, int] = {}  # page requisites' outcomes (not one of the URLs)

    def __enter__(self) -> CaptureProgress:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()
        if not self.as_json and self.counts:
            summary = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
            ERR.print(f"done: {summary}")
        if not self.as_json and self.requisites:
            summary = ", ".join(f"{n} {k}" for k, n in sorted(self.requisites.items()))
            ERR.print(f"page requisites: {summary}")

    def requisite(self, result: dict[str, Any]) -> None:
        """Count one page requisite's result (failed ones are also printed, with their reason)."""
        outcome = str(result.get("outcome", "?"))
        self.requisites[outcome] = self.requisites.get(outcome, 0) + 1
        if outcome != "captured" and not self.as_json:
            ERR.print(escape(f"requisite {outcome}: {result.get('url')}  {result.get('reason')}: "
                             f"{result.get('reason_detail')}"))

    def result(self, result: dict[str, Any]) -> None:
        """Print one URL's result (a browser re-capture of a JavaScript shell is one more item:
        ``browser = "auto"`` keeps both captures of the URL, and prints both)."""
        if is_js_shell_reason(result.get("mode_reason")):
            self.total += 1
            self.progress.update(self.task, total=self.total)
        self.progress.advance(self.task)
        outcome = result.get("outcome", "?")
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if self.as_json:
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        style = _STYLE.get(outcome, "")
        if outcome == "captured":
            text = ("pending" if result.get("extraction") == "pending"
                    else _short(result.get("text_sha256")))
            detail = f"{result.get('http_status')}  sha256 {_short(result.get('sha256'))}  text {text}"
            if result.get("revisit_of"):
                detail += f"  (unchanged: revisit of #{result['revisit_of']})"
            if result.get("final_url") and result["final_url"] != result["url"]:
                detail += f"  -> {result['final_url']}"
        else:
            detail = f"{result.get('reason')}: {result.get('reason_detail')}"
        OUT.print(f"[{style}]{outcome:<8}[/] {result.get('url')}  {detail}")


def print_snapshots(url: str, records: list[CaptureRecord]) -> None:
    """A table of captures."""
    if not records:
        ERR.print(escape(f"No captures of {url} in this archive. Capture it with: collector capture {url}"))
        return
    table = Table(title=f"Captures of {url}", title_justify="left")
    for column in ("#", "captured_at (UTC)", "outcome", "status", "sha256", "text_sha256",
                   "url"):
        table.add_column(column)
    for rec in records:
        outcome = rec.outcome if rec.outcome == "captured" else f"{rec.outcome} ({rec.reason})"
        if rec.is_revisit:
            outcome += " (revisit)"
        table.add_row(str(rec.id), rec.captured_at.isoformat(timespec="microseconds"),
                      f"[{_STYLE.get(rec.outcome, '')}]{outcome}[/]",
                      str(rec.http_status or "-"), _short(rec.sha256), _short(rec.text_sha256),
                      rec.final_url or rec.url)
    OUT.print(table)


def print_capture(rec: CaptureRecord) -> None:
    """Metadata of one capture, one field per line."""
    data = rec.to_json()
    width = max(len(k) for k in data)
    for key, value in data.items():
        if value in (None, [], ""):
            continue
        OUT.print(f"{key:<{width}}  {value}")


@contextmanager
def verify_progress(*, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar for verify; yields the function that advances it."""
    progress = _progress("verifying", None)
    if not enabled:
        progress.disable = True
    task = progress.add_task("verify", total=None)
    with progress:
        yield lambda n: progress.advance(task, n)


@contextmanager
def files_progress(description: str, *, total: int | None, enabled: bool
                   ) -> Iterator[Callable[[int], None]]:
    """A progress bar over WARC files (reindex, import); yields the function that advances it."""
    progress = _progress(description, total)
    if not enabled:
        progress.disable = True
    task = progress.add_task(description, total=total)
    with progress:
        yield lambda n: progress.advance(task, n)


@contextmanager
def count_progress(description: str, *, enabled: bool
                   ) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """A progress bar whose total is known once work starts (extract --pending); yields the
    functions that set its total and advance it."""
    progress = _progress(description, None)
    if not enabled:
        progress.disable = True
    task = progress.add_task(description, total=None)
    with progress:
        yield (lambda total: progress.update(task, total=total),
               lambda n: progress.advance(task, n))


def print_index_summary(verb: str, summary: dict[str, Any]) -> None:
    """reindex's and import's human summary: the counts, then each file that could not be read."""
    for error in summary["errors"]:
        text = error["error"] if error["file"] in error["error"] else f"{error['file']}: {error['error']}"
        ERR.print(f"[red]Error[/]: {escape(text)}")
    skipped = ", ".join(f"{n} {kind}" for kind, n in sorted(summary["skipped_records"].items()))
    OUT.print(f"{verb}: {summary['captures']} captures ({summary['captured']} captured, "
              f"{summary['failed']} failed, {summary['revisits']} revisits, {summary['hops']} "
              f"redirect hops) from {summary['records']} records in {summary['files']} WARC files; "
              f"{summary['texts']} texts read back, {summary['extracted']} extracted"
              + (f"; {summary['already_indexed']} already indexed" if summary["already_indexed"]
                 else "")
              + (f"; records skipped: {skipped}" if skipped else ""))
    if summary.get("kept"):
        OUT.print(f"the previous database is kept as {summary['kept']}")


def print_verify(report: Any) -> None:
    """verify's human report."""
    for problem in report.problems:
        OUT.print(f"[red]PROBLEM[/] {problem['kind']}: capture {problem.get('capture_id')} "
                  f"({problem.get('url')}): {problem['detail']}")
    for warning in report.warnings:
        OUT.print(f"[yellow]warning[/] {warning['kind']} in {warning['warc_file']}: "
                  f"{warning['detail']} (no row points there; left by an interrupted run)")
    verdict = "[green]OK[/]" if report.ok else f"[red]{len(report.problems)} problem(s)[/]"
    OUT.print(f"{verdict}: {report.records_checked} records of {report.captures_checked} "
              f"captures checked, {report.files_scanned} WARC files scanned")


def describe_distance(seconds: float) -> str:
    """``3 years 2 days after`` / ``5 minutes before``: how far a capture is from the time asked."""
    left = abs(seconds)
    parts: list[str] = []
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        count = int(left // size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
            left -= count * size
        if len(parts) == 2:
            break
    return f"{' '.join(parts) or 'less than a minute'} {'after' if seconds >= 0 else 'before'}"
