"""One configuration object, loaded once and passed down.

Priority, lowest first: built-in defaults < config file < environment < command-line flags.

The config file is TOML, found at ``--config``, ``$COLLECTOR_CONFIG`` or ``$COLLECTOR_HOME/collector.toml``.
Every field can be set in the environment as ``COLLECTOR_<FIELD>`` (``COLLECTOR_HOME``,
``COLLECTOR_DATABASE_URL``, ``COLLECTOR_PER_HOST_CONCURRENCY`` ...). The monitoring settings
(``Config.monitor``, a ``MonitorConfig``) come from the file's ``[monitor]`` table and from
``COLLECTOR_MONITOR_<FIELD>`` (``COLLECTOR_MONITOR_FEED_INTERVAL=600``); ``collector run`` flags
override them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, get_args, get_origin, get_type_hints

from collector.errors import ConfigError
from storage.errors import StoreError
from storage.store import WORKER_NAME, ObjectStore, attach, detach, worker_label

__all__ = ["Config", "MonitorConfig", "attach_store", "load_config", "version"]

DEFAULT_CONTACT = "https://github.com/collector-archive/collector"
BROWSER_MODES = ("auto", "always", "never")
NOTIFY_TIMEOUT = 10.0  # a webhook POST's timeout when not set: this, or download_timeout if shorter


@dataclass(frozen=True, kw_only=True)
class MonitorConfig:
    """Feed polling, the scheduler daemon and webhooks (seconds unless said otherwise)."""

    # feeds
    feed_interval: float = 3600.0  # polling interval of a feed added without --every
    feed_min_factor: float = 0.25  # adaptive interval bounds, relative to the feed's --every
    feed_max_factor: float = 8.0
    feed_busy_entries: int = 5  # a poll with this many new entries halves the interval
    feed_quiet_factor: float = 1.25  # a poll with none multiplies it by this
    feed_failing_after: int = 3  # failed polls in a row from which the daemon logs them as errors
    feed_silent_after: float = 7 * 86400.0  # no new entry for this long (and 20 intervals): "silent"
    feed_tick: float = 60.0  # how often the daemon looks for feeds due for polling
    # what one feed document may cost (collector.monitor.feedworker)
    feed_max_bytes: int = 10 * 1024 * 1024  # decoded bytes read of a document (XML: the rest ignored)
    feed_max_entries: int = 5000  # entries kept per poll (the rest counted in the warning)
    feed_parse_memory: float = 1024.0  # MB of address space of the parser process
    feed_parse_timeout: float = 120.0  # seconds one document's parse may take (0: no limit)
    # the daemon
    tick: float = 1.0  # main loop: lease renewal, picking up schedules added meanwhile
    lease_ttl: float = 30.0  # a dead daemon's lease is taken over after this long
    workers: int = 4  # jobs running at once (one instance of each job at a time)
    misfire_grace: float | None = None  # a missed run older than this is skipped; None: always run
    # adaptive re-checks (schedule add --adaptive)
    adaptive_tick: float = 3600.0  # how often an adaptive schedule looks for due URLs
    # webhooks
    notify_interval: float = 5.0  # how often the daemon collects events and delivers
    notify_timeout: float | None = None  # per POST; None: NOTIFY_TIMEOUT or download_timeout if shorter
    notify_backoff: float = 30.0  # delay before the first retry; doubles per attempt
    notify_max_backoff: float = 3600.0
    notify_max_attempts: int = 8  # then the delivery is marked failed (and kept)
    # notifications (issue 17): URLs told about every event, kept in step with this list: http(s) URLs
    # get the webhook JSON POST, any other is an Apprise URL (mailto://, slack://, matrix://, tgram://,
    # ntfy:// ...). TOML: a list; environment (COLLECTOR_MONITOR_NOTIFY_URLS): separated by whitespace
    notify_urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"monitor.{item.name} must not be negative (got {value:g})")
        if self.lease_ttl <= self.tick * 2:
            raise ConfigError(f"monitor.lease_ttl ({self.lease_ttl:g} s) must be more than twice "
                              f"monitor.tick ({self.tick:g} s)")
        if self.workers < 1:
            raise ConfigError(f"monitor.workers must be at least 1 (got {self.workers})")

    @property
    def webhook_timeout(self) -> float:
        """The timeout of a webhook POST: notify_timeout (a Config sets it from its download_timeout when
        not given), else NOTIFY_TIMEOUT."""
        return NOTIFY_TIMEOUT if self.notify_timeout is None else self.notify_timeout

    def replace(self, **changes: Any) -> MonitorConfig:
        """A copy with some settings changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@functools.cache
def version() -> str:
    """collector's version, read from its package metadata (written once, in pyproject.toml).

    ``0+unknown`` when collector runs from a source tree that was never installed.
    """
    # imported here, not at the top: importlib.metadata costs ~35 ms, and most commands never ask
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("collector")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True, kw_only=True)
class Config:
    """Every setting collector has, with its default."""

    home: Path = field(default_factory=lambda: Path("collector-data"))
    database_url: str = ""  # empty: sqlite:///<home>/collector.db
    contact_url: str = DEFAULT_CONTACT
    user_agent: str = ""  # empty: derived from the version and contact_url
    # politeness
    obey_robots: bool = True
    per_host_concurrency: int = 2
    concurrency: int = 32
    autothrottle: bool = True
    autothrottle_start_delay: float = 1.0
    autothrottle_max_delay: float = 60.0
    download_delay: float = 0.0
    retry_times: int = 2
    retry_backoff: float = 1.0  # seconds before the first retry, doubled for each next one
    # limits
    download_timeout: float = 30.0
    max_redirects: int = 10
    max_body_bytes: int = 50 * 1024 * 1024
    max_header_bytes: int = 512 * 1024  # a response's status line and headers, any one line included
    max_headers: int = 1000  # header lines of a response
    # replay: HTML beyond this many (decoded) bytes is shown cut there, with a notice and the full download
    replay_max_html_bytes: int = 5 * 1024 * 1024
    warc_max_bytes: int = 1024 * 1024 * 1024
    # zlib level of each WARC record: 3 compresses HTML ~1.9x faster than 6 for ~11% more bytes
    warc_gzip_level: int = 3
    # the WARC store (issue 16, docs/scale-out.md): empty: <home>/warcs; a directory (absolute, or relative
    # to the home; a network filesystem shared by workers and servers); or s3://bucket/prefix (files are
    # written in <home>/warcs, uploaded when closed, read back by range requests)
    warc_store: str = ""
    warc_store_endpoint: str = ""  # an S3-compatible server's URL (MinIO, Ceph, moto); empty: AWS S3
    worker_name: str = ""  # in the names of the WARC files this home writes; empty: the host name
    # safety
    allow_private: bool = False
    # https: every certificate chain is verified and recorded; with tls_verify an untrusted one also
    # fails the attempt (reason tls-untrusted). tls_ca_file: extra trusted CAs (PEM), beside certifi's
    tls_verify: bool = False
    tls_ca_file: Path | None = None
    # hosts exempt from the private-address guard (comma-separated names or addresses, e.g. an
    # intranet server you trust), for plain and browser fetches alike; every other private target
    # stays refused
    allow_hosts: str = ""
    # browser capture (docs/browser.md): "auto" (browser_hosts, and pages whose HTTP capture is a
    # JavaScript shell, go through the browser), "always" (--browser) or "never"
    browser: str = "auto"
    browser_hosts: str = ("facebook.com,instagram.com,x.com,twitter.com,youtube.com,tiktok.com,t.me,"
                          "linkedin.com,threads.net,bsky.app,vk.com,reddit.com")
    browser_executable: str = ""  # empty: chromium, chromium-browser or google-chrome on PATH
    browser_timeout: float = 30.0  # seconds a page may take to load and settle; then it is cut off
    browser_concurrency: int = 2  # pages open at once
    browser_restart_pages: int = 100  # the browser is restarted after this many pages
    browser_max_resources: int = 500  # sub-resources recorded per page (the rest counted, not kept)
    browser_scroll_steps: int = 10  # viewport heights scrolled to load lazy content
    # a login profile (collector.profiles, docs/browser.md#login-profiles): captures go through the
    # browser with <home>/profiles/<name>.json's cookies and local storage (--profile NAME)
    browser_profile: str = ""
    # extraction
    # false: capture runs archive without extracting (no extraction pool is started) and leave each
    # HTML/PDF capture's extraction "pending", for `collector extract --pending` (capture --no-extract)
    extract: bool = True
    extract_workers: int = 0  # 0: one per core
    # true: a run starts its extraction pool at its first page to extract, not with the run (checks
    # set it: their pages are mostly revisits, whose text is their original's)
    extract_on_demand: bool = False
    extract_timeout: float = 30.0
    # an HTML page over either cap is not parsed (extraction "too-large"); the capture stands
    extract_max_bytes: int = 8 * 1024 * 1024  # decoded bytes
    extract_max_tags: int = 100_000  # "<" characters, an upper bound of its elements
    # each extraction worker's memory (RLIMIT_DATA, MiB): a page that needs more is "too-large"
    extract_max_memory_mb: int = 1024
    # checks: a source is only called dead after this many failed checks this far apart
    dead_after_checks: int = 3
    dead_after_hours: float = 24.0
    # writing
    commit_batch: int = 64
    # the capture ledger (storage.ledger, docs/evidence.md): entries appended with every capture row,
    # a checkpoint at the end of every run, signed with the archive key (key_file, or
    # <home>/signing-key.pem; $COLLECTOR_KEY_FILE); evidence packages are signed with the WACZ key
    # (ECDSA P-384, vouched for by the archive key: wacz_key_file, or <home>/wacz-signing-key.pem;
    # $COLLECTOR_WACZ_KEY_FILE), made by `collector key create` or on the first package
    ledger: bool = True
    key_file: Path | None = None
    wacz_key_file: Path | None = None
    # RFC 3161 trusted timestamps of checkpoints (collector.evidence.timestamps): the TSA's URL (empty:
    # none), the CA (PEM) its token chains to, checked by ledger/evidence verify, and the request timeout
    tsa_url: str = ""
    tsa_ca_file: Path | None = None
    tsa_timeout: float = 10.0
    # `collector run` takes a signed checkpoint this often when the ledger grew (0: only at run ends)
    ledger_checkpoint_minutes: float = 60.0
    # reports: the public base URL of the archive (collector serve) in archive links written for readers
    # (report status, robustify, export); empty: http://127.0.0.1:8080, with a warning
    public_base_url: str = ""
    # the web interface's sessions (collector serve, docs/serve.md): the key signing session cookies
    # (empty: <home>/server-secret, created with mode 0600), a session's lifetime, the largest upload
    server_secret: str = ""
    session_hours: float = 12.0
    upload_max_mb: int = 50
    # capture workers (issue 16, docs/scale-out.md): the queue on Redis (scrapy-redis), the job ledger
    # in the database. dispatch "queue": the daemon's schedules and feed polls enqueue instead of crawling
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "collector"  # every Redis key of this archive starts with it
    dispatch: str = "local"  # local | queue
    job_lease: float = 300.0  # seconds a worker holds a claimed URL; then the reaper re-enqueues it
    reap_interval: float = 30.0  # how often each worker (and the daemon) runs the reaper
    # seconds a request of no job is remembered by the cluster's duplicate filter (at most twice that)
    dupefilter_window: float = 86400.0
    # page requisites (docs/requisites.md): an HTML page's images, stylesheets (and what they load),
    # scripts, fonts, icons and posters are captured with it, each a row of its own (page_id = the
    # page's); at most requisites_max of them and requisites_max_bytes of bodies per page
    requisites: bool = True
    requisites_max: int = 60
    requisites_max_bytes: int = 25 * 1024 * 1024
    # media (docs/requisites.md#media): video and audio downloaded with yt-dlp (extra [media]):
    # "auto" (cited URLs on MEDIA_HOSTS, and pages with <video>/<audio>), "always" (every page tried
    # with yt-dlp's site extractors too) or "never"; a download over either limit is "too-large"
    media: str = "auto"
    media_max_bytes: int = 1024 * 1024 * 1024
    media_max_seconds: float = 4 * 3600.0
    # feeds, the scheduler daemon, webhooks
    monitor: MonitorConfig = field(default_factory=MonitorConfig)

    def __post_init__(self) -> None:
        if self.browser not in BROWSER_MODES:
            raise ConfigError(f"browser must be one of {', '.join(BROWSER_MODES)} (got {self.browser!r})")
        if self.monitor.notify_timeout is None:  # the webhook timeout follows the download timeout
            timeout = min(NOTIFY_TIMEOUT, self.download_timeout)
            object.__setattr__(self, "monitor", self.monitor.replace(notify_timeout=timeout))
        if self.ledger_checkpoint_minutes < 0:
            raise ConfigError("ledger_checkpoint_minutes must not be negative (0: checkpoints only "
                              f"at the end of runs; got {self.ledger_checkpoint_minutes:g})")

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the metadata database."""
        return self.database_url or f"sqlite:///{(self.home / 'collector.db').resolve()}"

    @property
    def warc_dir(self) -> Path:
        """Where WARC files are written: the directory store (``warc_store``), else ``<home>/warcs``
        (with an s3:// store: its local staging directory)."""
        if self.warc_store and "://" not in self.warc_store:
            return self.home / Path(self.warc_store).expanduser()
        return self.home / "warcs"

    @property
    def worker_label(self) -> str:
        """This writer's name in its WARC files' names: ``worker_name``, else the host name."""
        return worker_label(self.worker_name or socket.gethostname())

    def object_store(self) -> ObjectStore | None:
        """The s3:// store ``warc_store`` names (nothing connects before its first use), else None."""
        if not self.warc_store.startswith("s3://"):
            return None
        return ObjectStore.from_uri(self.warc_store, endpoint_url=self.warc_store_endpoint)

    @property
    def signing_key_path(self) -> Path:
        """Where the archive's Ed25519 signing key is (``key_file``, else in the home)."""
        return self.key_file or self.home / "signing-key.pem"

    @property
    def wacz_key_path(self) -> Path:
        """Where the archive's ECDSA P-384 key that signs evidence packages is (``wacz_key_file``,
        else in the home)."""
        return self.wacz_key_file or self.home / "wacz-signing-key.pem"

    @property
    def ua(self) -> str:
        """The User-Agent header sent with every request."""
        return self.user_agent or f"collector/{version()} (+{self.contact_url})"

    @property
    def browser_host_list(self) -> list[str]:
        """``browser_hosts`` as a list of lower-case host names (a host matches them and their
        subdomains)."""
        return _names(self.browser_hosts)

    @property
    def allow_host_list(self) -> list[str]:
        """``allow_hosts`` as a list of lower-case host names or addresses."""
        return _names(self.allow_hosts)

    @property
    def workers(self) -> int:
        """Number of extraction worker processes."""
        return self.extract_workers or max(1, os.cpu_count() or 1)

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (None values are ignored). The monitor's notify_timeout, once
        derived from download_timeout, stays: give ``monitor=`` to change it."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _names(text: str) -> list[str]:
    return [name.strip().lower().rstrip(".") for name in text.replace(" ", ",").split(",")
            if name.strip()]


_FIELDS = {f.name for f in fields(Config)} - {"monitor"}
_MONITOR_FIELDS = {f.name for f in fields(MonitorConfig)}
_KINDS = {Config: get_type_hints(Config), MonitorConfig: get_type_hints(MonitorConfig)}
Settings = dict[str, Any]


def _coerce(cls: type[Config] | type[MonitorConfig], name: str, value: Any, source: str) -> Any:
    kind = _KINDS[cls][name]
    if isinstance(kind, UnionType):  # ``float | None``: a value given is a float
        kind = next(k for k in get_args(kind) if k is not NoneType)
    label = f"monitor.{name}" if cls is MonitorConfig else name
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if kind is Path:
            return Path(str(value)).expanduser()
        if get_origin(kind) is tuple:  # a list in TOML, whitespace-separated in the environment
            items = value if isinstance(value, list | tuple) else str(value).split()
            return tuple(str(item).strip() for item in items if str(item).strip())
        if kind is str and isinstance(value, list | tuple):  # a TOML list of names
            return ",".join(str(v) for v in value)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {label}={value!r} is not a valid {kind.__name__}") from exc


def _from_env(env: Mapping[str, str]) -> tuple[Settings, Settings]:
    """The settings and the monitor settings given as ``COLLECTOR_<FIELD>``, ``COLLECTOR_MONITOR_<FIELD>``."""
    out: Settings = {}
    monitor: Settings = {}
    for target, cls, names, prefix in ((out, Config, _FIELDS, "COLLECTOR_"),
                                       (monitor, MonitorConfig, _MONITOR_FIELDS, "COLLECTOR_MONITOR_")):
        for name in names:
            key = f"{prefix}{name.upper()}"
            if env.get(key, "") != "":
                target[name] = _coerce(cls, name, env[key], f"environment variable {key}")
    return out, monitor


def _from_file(path: Path) -> tuple[Settings, Settings]:
    """The settings of a TOML file: top-level keys (or a ``[collector]`` table) and a ``[monitor]`` table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = dict(data.get("collector", data))
    table = section.pop("monitor", None)
    if "collector" in data and "monitor" in data:
        if table is not None:
            raise ConfigError(f"config file {path}: [monitor] and [collector.monitor] both given")
        table = data["monitor"]
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"config file {path}: monitor must be a table ([monitor])")
    out: Settings = {}
    monitor: Settings = {}
    for target, cls, names, items, prefix in ((out, Config, _FIELDS, section, ""),
                                              (monitor, MonitorConfig, _MONITOR_FIELDS, table or {},
                                               "monitor.")):
        for key, value in items.items():
            name = key.replace("-", "_")
            if name not in names:
                raise ConfigError(f"config file {path}: unknown setting {prefix + key!r}")
            target[name] = _coerce(cls, name, value, f"config file {path}")
    return out, monitor


def load_config(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    """Build the Config from defaults, a config file, the environment and flags (highest wins).

    ``flags`` are settings by field name; ``flags["monitor"]``, a mapping, holds monitor settings
    (``collector run --tick`` ...). None values are not given.
    """
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    monitor_flags = {k: v for k, v in flags.pop("monitor", {}).items() if v is not None}
    from_env, monitor_env = _from_env(env)
    home = Path(flags.get("home") or from_env.get("home") or Config().home)
    path = config_file or (Path(env["COLLECTOR_CONFIG"]) if env.get("COLLECTOR_CONFIG") else None)
    from_file: Settings = {}
    monitor_file: Settings = {}
    if path is not None:
        from_file, monitor_file = _from_file(path)
    elif (home / "collector.toml").is_file():
        from_file, monitor_file = _from_file(home / "collector.toml")
    merged: Settings = {**from_file, **from_env}
    for name, value in flags.items():
        if name not in _FIELDS:
            raise ConfigError(f"unknown setting {name!r}")
        merged[name] = _coerce(Config, name, value, f"option --{name.replace('_', '-')}")
    monitor: Settings = {**monitor_file, **monitor_env}
    for name, value in monitor_flags.items():
        if name not in _MONITOR_FIELDS:
            raise ConfigError(f"unknown setting monitor.{name}")
        monitor[name] = _coerce(MonitorConfig, name, value, f"option --{name.replace('_', '-')}")
    config = Config(**merged, monitor=MonitorConfig(**monitor))
    if config.public_base_url and not config.public_base_url.startswith(("http://", "https://")):
        raise ConfigError(f"public_base_url={config.public_base_url!r} is not an http(s) URL "
                          "(e.g. https://archive.example.org)")
    if config.tls_ca_file is not None and not config.tls_ca_file.is_file():
        raise ConfigError(f"tls_ca_file={str(config.tls_ca_file)!r} is not a file (PEM certificates)")
    if config.dispatch not in ("local", "queue"):
        raise ConfigError(f"dispatch={config.dispatch!r} is not one of local, queue")
    if config.job_lease <= config.download_timeout:
        raise ConfigError(f"job_lease ({config.job_lease:g} s) must be longer than download_timeout "
                          f"({config.download_timeout:g} s)")
    if config.dupefilter_window < 1:
        raise ConfigError(f"dupefilter_window={config.dupefilter_window:g} must be at least 1 (seconds)")
    if not 1 <= config.warc_gzip_level <= 9:
        raise ConfigError(f"warc_gzip_level={config.warc_gzip_level} is not a gzip level (1 to 9)")
    attach_store(config)
    return config


def attach_store(config: Config) -> None:
    """Check the WARC store settings; with an s3:// store, attach it to the staging directory, where
    every reader of this process looks for the files that are not there (``storage.store``). A process
    that gets ``config`` some other way (a spawned writer) calls this itself."""
    if config.worker_name and not WORKER_NAME.fullmatch(config.worker_name):
        raise ConfigError(f"worker_name={config.worker_name!r} cannot be part of a WARC file name "
                          "(letters, digits, '.', '_' and '-', at most 63, not starting with 'merged')")
    if "://" in config.warc_store and not config.warc_store.startswith("s3://"):
        raise ConfigError(f"warc_store={config.warc_store!r}: give a directory or s3://bucket/prefix")
    try:
        store = config.object_store()
    except StoreError as exc:
        raise ConfigError(f"warc_store={config.warc_store!r}: {exc}") from exc
    if store is None:
        detach(config.warc_dir)
    else:
        attach(config.warc_dir, store)
