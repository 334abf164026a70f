"""``collector worker`` and ``collector jobs``: capture workers on the shared queue, and their jobs."""

from __future__ import annotations

import sys
from typing import Any

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option, open_sessions

__all__ = ["enqueue_and_report", "jobs", "worker"]


@click.command()
@click.option("--name", default=None, help="The worker's name in claims, WARC records and logs "
              "(default: host name and process id).")
@click.option("--concurrency", type=int, default=None,
              help="Requests in flight in this worker (default: setting concurrency).")
@json_option
@click.pass_context
@handle_errors
def worker(ctx: click.Context, name: str | None, concurrency: int | None, as_json: bool) -> None:
    """Capture URLs from the shared queue until stopped (SIGTERM: finish what is in flight, exit).

    Needs Redis (redis_url, COLLECTOR_REDIS_URL) and a database every worker shares (PostgreSQL:
    COLLECTOR_DATABASE_URL). Each worker writes WARCs in its own home. See docs/scale-out.md.
    Prints one line per archived URL (--json: the same JSON lines as `collector capture --json`).

    \b
    Example:
      collector worker --name w1 --concurrency 32
    """
    from collector.workers.worker import run_worker, stop_on_signals  # lazy: CLI start-up

    stopping = stop_on_signals()  # first: a SIGTERM from now on stops the worker cleanly
    config = cli_config(ctx)

    def show(result: dict[str, Any]) -> None:
        if as_json:
            emit_json(result)
        else:
            click.echo(f"{result.get('outcome')}\t{result.get('http_status') or '-'}\t{result.get('url')}"
                       f"\t{result.get('reason') or ''}")

    run_worker(config, name=name, concurrency=concurrency, emit=show, stopping=stopping)


@click.command()
@click.argument("job_id", type=int, required=False)
@click.option("--wait", is_flag=True, help="Block until every URL of JOB_ID is answered, printing each "
              "result as it arrives (the lines of `collector capture`; of a check job: its verdicts, "
              "the lines of `collector check`); exit 1 if a capture failed.")
@json_option
@click.pass_context
@handle_errors
def jobs(ctx: click.Context, job_id: int | None, wait: bool, as_json: bool) -> None:
    """List the queued jobs, or show one job's URLs: queued, in flight, done or failed.

    A check job's URLs show their verdicts once they are stored (--json: ``verdicts``, the lines of
    `collector check --json`); with --wait it prints each URL's lines as they are stored (early for a
    verdict that needs no soft-404 probe), until the job is judged.

    \b
    Example:
      collector jobs --json
    """
    from collector.workers.progress import job_summary, wait_for_job  # lazy: CLI start-up
    from storage import jobs as ledger  # lazy: CLI start-up

    config = cli_config(ctx)
    if wait and job_id is None:
        raise click.UsageError("--wait needs a JOB_ID")
    with open_sessions(config) as sessions:
        if job_id is None:
            for summary in ledger.list_jobs(sessions):
                line = summary.to_json()
                if as_json:
                    emit_json(line)
                else:
                    click.echo("job {id} ({kind}, {created_at}): {total} URLs, {queued} queued, "
                               "{in_flight} in flight, {done} done, {failed} failed".format(**line))
            return
        summary = job_summary(sessions, job_id)
        if wait and summary.stage is not None:  # a check job: its verdicts, once they are stored
            from collector.cli.check import verdict_printer  # lazy: CLI start-up
            from collector.workers.checkjobs import wait_for_checks  # lazy: CLI start-up

            summary = wait_for_checks(sessions, job_id, on_result=verdict_printer(as_json))
            _show_summary(summary.to_json(), as_json)
            return
        if wait:
            summary = wait_for_job(sessions, job_id, on_result=_result_printer(as_json))
            _show_summary(summary.to_json(), as_json)
            sys.exit(1 if summary.counts.get(ledger.FAILED) else 0)
        _show_summary(summary.to_json(), as_json)
        for item in ledger.items_of(sessions, job_id=job_id):
            if as_json:
                emit_json(item.to_json())
            else:
                where = f" by {item.worker}" if item.worker else ""
                said = ",".join(v["status"] for v in item.verdicts or ())
                click.echo(f"{item.status}{where}\tattempt {item.attempt}\t{item.url}"
                           f"\t{item.capture_id or ''}" + (f"\t{said}" if said else ""))


def _show_summary(line: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json({"type": "job", **line})
    else:
        click.echo("job {id}: {total} URLs, {queued} queued, {in_flight} in flight, {done} done, "
                   "{failed} failed".format(**line), err=True)


def _result_printer(as_json: bool) -> Any:
    def show(result: dict[str, Any]) -> None:
        if as_json:
            emit_json(result)
        else:
            click.echo(f"{result.get('outcome')}\t{result.get('http_status') or '-'}\t{result.get('url')}")

    return show


def enqueue_and_report(ctx: click.Context, wanted: list[str], contexts: dict[str, dict[str, Any]] | None,
                       *, as_json: bool, wait: bool, kind: str = "capture",
                       source: str | None = None, **flags: Any) -> None:
    """``--queue`` of capture: record a job, queue its URLs, print its line (``--wait``: its results)."""
    from collector.workers.progress import wait_for_job  # lazy: CLI start-up
    from collector.workers.queue import enqueue  # lazy: CLI start-up

    config = cli_config(ctx, **flags)
    with open_sessions(config) as sessions:
        done = enqueue(config, wanted, contexts=contexts, kind=kind, source=source, sessions=sessions)
        for line in done.skipped:
            if as_json:
                emit_json(line)
            else:
                click.echo(f"skipped\t{line['url']}\t{line['reason_detail']}", err=True)
        if as_json:
            emit_json({"type": "job", **done.to_json()})
        elif done.job_id is not None:
            click.echo(f"job {done.job_id}: {len(done.items)} URLs queued "
                       f"(follow it with `collector jobs {done.job_id} --wait`)", err=True)
        if done.job_id is None:
            sys.exit(1)
        if wait:
            summary = wait_for_job(sessions, done.job_id, on_result=_result_printer(as_json))
            if summary.counts.get("failed") or done.skipped:
                sys.exit(1)
