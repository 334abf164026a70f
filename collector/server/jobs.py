"""Work the interface starts now ("check now", "capture now"): run in a background thread of the server
process, its progress kept in a small JSON file per job under ``<home>/jobs/``, so any of the server's
worker processes (``collector serve --workers N``) answers ``GET /api/jobs/{id}`` for it.

A job is ``{"id", "kind": "check"|"capture", "report", "ref", "by", "state", "created_at",
"started_at", "finished_at", "total", "done", "results": [...], "error"}``; ``state`` goes
``queued`` -> ``running`` -> ``done`` (or ``failed`` with ``error``). Each result is the dict the CLI
prints for it (``collector check --json``, ``collector capture --json``), stored as it arrives. One job
runs at a time in a server process; the others wait ``queued``. A job the server stopped in the middle
stays ``running`` with its results so far (the captures and checks it made are rows all the same).
Starting a job deletes the files of jobs finished more than ``KEEP_DAYS`` ago.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.capture.run import capture_urls
from collector.check.run import run_checks
from collector.config import Config
from collector.errors import CollectorError, InputError, NotFoundError
from collector.reports.targets import capture_targets, check_targets
from spiders.jsshell import is_js_shell_reason
from storage.archive import Archive
from storage.errors import StorageError
from storage.timefmt import iso_z

__all__ = ["KEEP_DAYS", "KINDS", "prune_jobs", "read_job", "start_job"]

KINDS = ("check", "capture")
KEEP_DAYS = 7.0  # a finished job's file is deleted this long after it was last written
_ONE_AT_A_TIME = threading.Lock()
_ID_CHARS = set("0123456789abcdef")


def _dir(config: Config) -> Path:
    return config.home / "jobs"


def _now() -> str:
    return iso_z(datetime.now(UTC)) or ""


def _write(config: Config, job: dict[str, Any]) -> None:
    """Replace the job's file in one step (readers never see half of it)."""
    path = _dir(config) / f"{job['id']}.json"
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(job), encoding="utf-8")
    os.replace(tmp, path)


def read_job(config: Config, job_id: str) -> dict[str, Any]:
    """The job's state as last written; NotFoundError for an unknown id."""
    if not job_id or set(job_id) - _ID_CHARS:
        raise NotFoundError(f"no job {job_id!r}")
    try:
        data: dict[str, Any] = json.loads((_dir(config) / f"{job_id}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"no job {job_id!r}") from None
    return data


Work = Callable[[Callable[[dict[str, Any]], None]], list[dict[str, Any]]]


def prune_jobs(config: Config, *, keep_days: float = KEEP_DAYS) -> int:
    """Delete the files of jobs finished (last written) more than ``keep_days`` ago; their captures and
    checks stay in the archive. Returns how many were deleted."""
    cutoff = time.time() - keep_days * 86400
    gone = 0
    for path in _dir(config).glob("*.json"):
        with contextlib.suppress(FileNotFoundError):  # another worker pruned it first
            if path.stat().st_mtime < cutoff and read_job(config, path.stem)["state"] in ("done", "failed"):
                path.unlink()
                gone += 1
    return gone


def _plan(config: Config, kind: str, report: str, ref: str | None) -> tuple[int, Work]:
    """Validate the job now (unknown report or ref, nothing to fetch: InputError before any thread);
    return how many results to expect and what the thread runs."""
    if kind == "check":
        archive = Archive.from_settings(config)
        try:
            targets = check_targets(archive, report, ref=ref)
        finally:
            archive.close()
        if not targets:
            raise InputError(f"nothing to check: {_what(report, ref)} has no URL yet (attach one)")
        return len(targets), lambda emit: run_checks(config, targets, on_result=emit)
    urls, contexts = capture_targets(config, report, ref=ref)
    if not urls:
        raise InputError(f"nothing to capture: {_what(report, ref)} has no URL yet (attach one)")
    return len(urls), lambda emit: capture_urls(config, urls, contexts=contexts, on_result=emit)


def _what(report: str, ref: str | None) -> str:
    return f"reference {ref} of report {report!r}" if ref else f"report {report!r}"


def start_job(config: Config, kind: str, report: str, *, ref: str | None = None, by: str = "",
              start: bool = True) -> dict[str, Any]:
    """Queue a check or capture of a report (or of one reference) and start it in a background thread;
    returns the job as first written. ``start=False`` only writes it (tests of the status page)."""
    if kind not in KINDS:
        raise InputError(f"a job is one of {', '.join(KINDS)}, not {kind!r}")
    ref = (ref or "").strip() or None
    total, work = _plan(config, kind, report, ref)
    _dir(config).mkdir(parents=True, exist_ok=True)
    prune_jobs(config)
    job: dict[str, Any] = {"id": secrets.token_hex(8), "kind": kind, "report": report, "ref": ref, "by": by,
                           "state": "queued", "created_at": _now(), "started_at": None,
                           "finished_at": None, "total": total, "done": 0, "results": [], "error": None}
    _write(config, job)
    if start:
        threading.Thread(target=_run, args=(config, dict(job), work), name=f"job-{job['id']}",
                         daemon=True).start()
    return job


def _run(config: Config, job: dict[str, Any], work: Work) -> None:
    lock = threading.Lock()

    def emit(result: dict[str, Any]) -> None:
        with lock:
            if is_js_shell_reason(result.get("mode_reason")):  # browser = "auto": a 2nd capture
                job["total"] += 1
            job["results"].append(result)
            job["done"] = len(job["results"])
            _write(config, job)

    with _ONE_AT_A_TIME:
        job.update(state="running", started_at=_now())
        _write(config, job)
        try:
            rows = work(emit)
        except (CollectorError, StorageError, OSError) as exc:
            job.update(state="failed", error=str(exc), finished_at=_now())
        except Exception as exc:  # a bug: the page must not wait forever; the traceback goes to stderr
            job.update(state="failed", error=f"internal error: {exc!r}", finished_at=_now())
            traceback.print_exc()
        else:
            with lock:
                if len(rows) > len(job["results"]):  # a result given back but never emitted
                    job["results"] = rows
                job.update(state="done", total=len(rows), done=len(rows), finished_at=_now())
        _write(config, job)
