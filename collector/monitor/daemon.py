"""``collector run``: the daemon that runs schedules, polls due feeds and delivers webhooks.

One daemon per database runs jobs: each holds a lease row (``daemon_leases``) renewed every third of
its TTL; the others wait in standby and take over when the holder's lease expires (it died or hung).
Every job run re-checks the lease in the transaction that records the run (``storage.monitoring
.start_run``), so a daemon that lost its lease starts nothing more.

Captures run in a fresh child process per job (``collector.capture.run``), so thousands of runs leave no
Twisted reactor, memory or threads behind in the daemon. SIGTERM or SIGINT stops it gracefully: no job
starts any more, jobs in flight finish and commit, the lease is released, exit status 0. A second
signal exits at once (status 1), after marking its runs in flight ``interrupted``; the archive stays
consistent (WARC records are fsynced before rows). A signal repeated within ``REPEAT_WINDOW`` seconds
of the first is the same stop request: ``timeout(1)`` sends its signal to the process and again to
its process group.

Logs are JSON lines on stderr (``--log-format text`` for humans): ``ts``, ``level``, ``event`` and the
event's fields.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing import forkserver
from typing import Any, TextIO

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from collector.capture.crawlproc import crawl_context
from collector.config import Config
from collector.errors import ConfigError
from collector.monitor.jobs import FEEDS_JOB, LEDGER_JOB, REAP_JOB, JobRuntime, set_runtime
from collector.monitor.notify import collect_events, deliver_due
from collector.monitor.scheduler import make_scheduler
from storage import monitoring as db
from storage.database import connect
from storage.timefmt import iso_z

__all__ = ["Daemon", "JsonFormatter", "setup_logging"]

log = logging.getLogger("collector.monitor.daemon")
log.addHandler(logging.NullHandler())  # shown by the daemon's handler (setup_logging)
LEASE = "scheduler"
REPEAT_WINDOW = 2.0  # seconds: a signal this soon after the first repeats the same request
FORCED_EXIT_DEADLINE = 5.0  # seconds a forced exit may spend marking its runs


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, event, and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line of ``record``."""
        data: dict[str, Any] = {"ts": iso_z(datetime.fromtimestamp(record.created, UTC)),
                                "level": record.levelname.lower(),
                                "logger": record.name, "event": record.getMessage()}
        for key, value in (getattr(record, "fields", {}) or {}).items():
            data[key if key not in data else f"field_{key}"] = value
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


class TextFormatter(logging.Formatter):
    """``ts level event key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """The text line of ``record``."""
        fields = " ".join(f"{k}={v}" for k, v in (getattr(record, "fields", {}) or {}).items())
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.getMessage()} {fields}".rstrip()
        return line + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


def setup_logging(fmt: str = "json", stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send collector's and APScheduler's logs to ``stream`` (stderr) as JSON lines or text."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    # APScheduler's own warnings (missed run, instance still running) are logged as job.missed and
    # job.busy events by the daemon
    for name, lvl in (("collector", level), ("apscheduler", logging.ERROR)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(lvl)
        logger.propagate = False


def _event(level: int, name: str, **fields: Any) -> None:
    log.log(level, name, extra={"fields": fields})


class _Notifier(threading.Thread):
    """Collects webhook events and delivers them every ``notify_interval`` while active."""

    def __init__(self, config: Config, sessions: Any) -> None:
        super().__init__(name="collector-notify", daemon=True)
        self.config, self.settings, self.sessions = config, config.monitor, sessions
        self.active = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        failing: dict[str, Any] | None = None  # rounds failed since the first (logged once)
        while not self.stopped.wait(self.settings.notify_interval):
            if not self.active.is_set():
                continue
            try:
                collect_events(self.sessions, datetime.now(UTC), base_url=self.config.public_base_url,
                               notify_urls=self.settings.notify_urls)
                deliver_due(self.sessions, self.settings, user_agent=self.config.ua)
            except Exception as exc:  # a database hiccup: log it once, try again next round
                error = f"{type(exc).__name__}: {exc}"
                if failing is None:
                    failing = {"errors": 0, "since": datetime.now(UTC)}
                    log.exception("notify.error")
                failing.update(errors=failing["errors"] + 1, last_error=error)
                continue
            if failing is not None:
                _event(logging.INFO, "notify.recovered", **failing)
                failing = None


class Daemon:
    """The scheduler daemon of one archive database."""

    def __init__(self, config: Config, *, holder: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        """ConfigError when ``config`` asks for a login profile with ``dispatch = "queue"``."""
        if config.dispatch == "queue" and config.browser_profile:
            # the capture workers fetch: they do not have this home's profiles, and a profile's cookies
            # and headers must not travel through Redis
            raise ConfigError(f"browser_profile={config.browser_profile!r} (--profile) cannot go with "
                              "dispatch = \"queue\": the capture workers do not have this home's login "
                              "profiles (their secrets never travel through Redis); run the daemon with "
                              "dispatch = \"local\" to capture with a profile")
        self.config = config
        self.settings = config.monitor
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock or (lambda: datetime.now(UTC))
        self._stop = threading.Event()
        self._first_signal: float | None = None
        self._forcing = False
        self._scheduler: Any = None
        self._leader = False
        self._expires: datetime | None = None
        self._next_renew = 0.0
        self._busy: dict[str, dict[str, Any]] = {}  # job id -> slots skipped while its run goes on
        self._busy_lock = threading.Lock()
        self._lease_errors: dict[str, Any] | None = None  # the failing renewals since the first

    # -- signals -------------------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: Any) -> None:
        now = time.monotonic()
        if self._first_signal is None:
            self._first_signal = now
            self._stop.set()
            return
        if now - self._first_signal < REPEAT_WINDOW or self._forcing:
            return  # the same stop request delivered twice, or an exit already under way
        self._forcing = True
        # a second request: leave now (no logging here, it could deadlock); a thread marks this
        # daemon's runs in flight, with a deadline, then exits
        os.write(2, b'{"level": "error", "event": "daemon.forced-exit"}\n')
        threading.Thread(target=self._forced_exit, name="collector-forced-exit", daemon=True).start()

    def _forced_exit(self) -> None:
        watchdog = threading.Timer(FORCED_EXIT_DEADLINE, os._exit, args=(1,))
        watchdog.daemon = True
        watchdog.start()
        with contextlib.suppress(Exception):  # leaving is what matters; the next daemon cleans up too
            sessions = connect(self.config.db_url)
            db.interrupt_own_runs(sessions, self.holder, self.clock(),
                                  "the daemon was forced to exit (a second stop signal)")
        os._exit(1)

    def request_stop(self) -> None:
        """Ask the daemon to stop gracefully (what SIGTERM does)."""
        self._stop.set()

    # -- lease ---------------------------------------------------------------------------------------
    def _renew(self, sessions: Any) -> None:
        if self._leader and time.monotonic() < self._next_renew:
            return
        now = self.clock()
        try:
            held = db.acquire_lease(sessions, LEASE, self.holder, now=now, ttl=self.settings.lease_ttl)
        except Exception as exc:  # the database is unreachable: hold on until the lease expires
            self._lease_error(now, f"{type(exc).__name__}: {exc}")
            held = self._leader and self._expires is not None and now < self._expires
        else:
            self._lease_recovered(now)
            if held:
                self._expires = now + timedelta(seconds=self.settings.lease_ttl)
        if held and not self._leader:
            self._lead(sessions)
        elif not held and self._leader:
            self._follow("lost")
        elif not held and self._next_renew == 0.0:
            lease = db.get_lease(sessions, LEASE)
            _event(logging.INFO, "lease.standby", holder=lease.holder if lease else None,
                   expires_at=lease.expires_at if lease else None)
        interval = self.settings.lease_ttl / 3 if self._leader else self.settings.tick
        self._next_renew = time.monotonic() + interval

    def _lease_error(self, now: datetime, error: str) -> None:
        """Log the first failed renewal; count the next ones (logged by ``_lease_recovered``)."""
        if self._lease_errors is None:
            self._lease_errors = {"since": now, "errors": 1, "error": error}
            _event(logging.WARNING, "lease.error", error=error)
            return
        self._lease_errors["errors"] += 1
        if error != self._lease_errors["error"]:  # a different error is news: say it once too
            self._lease_errors["error"] = error
            _event(logging.WARNING, "lease.error", error=error, errors=self._lease_errors["errors"])

    def _lease_recovered(self, now: datetime) -> None:
        if self._lease_errors is not None:
            failed, self._lease_errors = self._lease_errors, None
            _event(logging.INFO, "lease.recovered", errors=failed["errors"], since=failed["since"],
                   seconds=round((now - failed["since"]).total_seconds(), 3))

    def _lead(self, sessions: Any) -> None:
        abandoned = db.abandon_runs(sessions, self.holder, self.clock())
        _event(logging.INFO, "lease.acquired", holder=self.holder, abandoned_runs=abandoned)
        if self._scheduler is None:
            self._scheduler = make_scheduler(self.config)
            self._scheduler.add_listener(self._on_job_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
                                         | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
            self._scheduler.start(paused=True)
        self._scheduler.add_job("collector.monitor.jobs:poll_due_feeds", id=FEEDS_JOB, name="poll due feeds",
                                trigger=IntervalTrigger(seconds=self.settings.feed_tick, timezone=UTC),
                                next_run_time=self.clock(), replace_existing=True)
        if self.config.dispatch == "queue":  # the capture workers' reaper (docs/scale-out.md)
            self._scheduler.add_job(
                "collector.monitor.jobs:reap_queue", id=REAP_JOB, name="reap the queue",
                trigger=IntervalTrigger(seconds=self.config.reap_interval, timezone=UTC),
                replace_existing=True)
        if self.config.ledger and self.config.ledger_checkpoint_minutes > 0:
            self._scheduler.add_job(
                "collector.monitor.jobs:ledger_checkpoint", id=LEDGER_JOB, name="ledger checkpoint",
                trigger=IntervalTrigger(minutes=self.config.ledger_checkpoint_minutes, timezone=UTC),
                replace_existing=True)
        self._scheduler.resume()
        self._leader = True
        self._notifier.active.set()

    def _follow(self, why: str) -> None:
        self._notifier.active.clear()
        if self._scheduler is not None:
            self._scheduler.pause()
        self._leader = False
        _event(logging.WARNING, f"lease.{why}", holder=self.holder)

    def _on_job_event(self, event: Any) -> None:
        """Log missed runs; log a job's first slot skipped because its run is still going on
        (``job.busy``), count the next ones and log the count once the run ends (``job.busy.total``)."""
        if event.code == EVENT_JOB_MISSED:
            _event(logging.WARNING, "job.missed", job=event.job_id,
                   slot=getattr(event, "scheduled_run_time", None))
            return
        if event.code == EVENT_JOB_MAX_INSTANCES:
            slots = getattr(event, "scheduled_run_times", None) or [None]
            with self._busy_lock:
                busy = self._busy.get(event.job_id)
                if busy is None:
                    self._busy[event.job_id] = {"skipped": 1, "first_slot": slots[-1],
                                                "last_slot": slots[-1]}
                else:
                    busy["skipped"] += 1
                    busy["last_slot"] = slots[-1]
            if busy is None:
                _event(logging.INFO, "job.busy", job=event.job_id, slot=slots[-1])
            return
        self._busy_done(event.job_id)  # a run ended

    def _busy_done(self, job_id: str) -> None:
        with self._busy_lock:
            busy = self._busy.pop(job_id, None)
        if busy is not None and busy["skipped"] > 1:
            _event(logging.INFO, "job.busy.total", job=job_id, **busy)

    # -- main loop -------------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until asked to stop; returns the exit status (0 after a graceful stop)."""
        main_thread = threading.current_thread() is threading.main_thread()
        previous = {}
        if main_thread:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        _warm_crawl_server()
        sessions = connect(self.config.db_url)
        set_runtime(JobRuntime(config=self.config, sessions=sessions,
                               holder=self.holder, lease=LEASE, clock=self.clock))
        self._notifier = _Notifier(self.config, sessions)
        self._notifier.start()
        _event(logging.INFO, "daemon.start", holder=self.holder, pid=os.getpid(),
               database=_redact(self.config.db_url), tick=self.settings.tick,
               lease_ttl=self.settings.lease_ttl, workers=self.settings.workers)
        try:
            while not self._stop.is_set():
                try:
                    self._renew(sessions)
                    if self._leader and self._scheduler is not None:
                        self._scheduler.wakeup()  # pick up schedules added or changed by the CLI
                except Exception:  # never die on a transient error: log it, go on
                    log.exception("daemon.error")
                self._stop.wait(self.settings.tick)
            self._shutdown(sessions)
        finally:
            set_runtime(None)
            sessions.kw["bind"].dispose()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _shutdown(self, sessions: Any) -> None:
        _event(logging.INFO, "daemon.stopping", holder=self.holder)
        self._notifier.active.clear()
        self._notifier.stopped.set()
        if self._scheduler is not None:
            self._scheduler.pause()  # nothing new starts; jobs in flight finish below
            closer = threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": True},
                                      name="collector-shutdown")
            closer.start()
            while closer.is_alive():
                closer.join(self.settings.tick)
                if self._leader:
                    self._renew(sessions)  # keep the lease while in-flight jobs commit
        for job_id in list(self._busy):  # runs that did not report their end
            self._busy_done(job_id)
        self._notifier.join(self.settings.webhook_timeout + 1)
        if self._leader:
            db.release_lease(sessions, LEASE, self.holder)
            _event(logging.INFO, "lease.released", holder=self.holder)
        _event(logging.INFO, "daemon.stopped", holder=self.holder)


def _redact(url: str) -> str:
    """A database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def _warm_crawl_server() -> None:
    """Start the crawl fork server now, so the first job does not wait for its imports."""
    try:
        if crawl_context("forkserver").get_start_method() == "forkserver":
            forkserver.ensure_running()
    except Exception:  # a cold start is slower, not wrong
        log.warning("could not start the crawl fork server early", exc_info=True)
