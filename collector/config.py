"""One configuration object, loaded once and passed down.

Priority, lowest first: built-in defaults < config file < environment < command-line flags.

The config file is TOML, found at ``--config``, ``$COLLECTOR_CONFIG`` or ``$COLLECTOR_HOME/collector.toml``.
Every field can be set in the environment as ``COLLECTOR_<FIELD>`` (``COLLECTOR_HOME``,
``COLLECTOR_DATABASE_URL``, ``COLLECTOR_PER_HOST_CONCURRENCY`` ...).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from collector.errors import ConfigError

__all__ = ["Config", "load_config", "version"]

DEFAULT_CONTACT = "https://github.com/collector-archive/collector"


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
    warc_max_bytes: int = 1024 * 1024 * 1024
    # zlib level of each WARC record: 3 compresses HTML ~1.9x faster than 6 for ~11% more bytes
    warc_gzip_level: int = 3
    # safety
    allow_private: bool = False
    # extraction
    extract_workers: int = 0  # 0: one per core
    extract_timeout: float = 30.0
    # checks: a source is only called dead after this many failed checks this far apart
    dead_after_checks: int = 3
    dead_after_hours: float = 24.0
    # writing
    commit_batch: int = 64

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the metadata database."""
        return self.database_url or f"sqlite:///{(self.home / 'collector.db').resolve()}"

    @property
    def warc_dir(self) -> Path:
        """Where WARC files live (always under the home, whatever the database)."""
        return self.home / "warcs"

    @property
    def ua(self) -> str:
        """The User-Agent header sent with every request."""
        return self.user_agent or f"collector/{version()} (+{self.contact_url})"

    @property
    def workers(self) -> int:
        """Number of extraction worker processes."""
        return self.extract_workers or max(1, os.cpu_count() or 1)

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_FIELDS = {f.name: f for f in fields(Config)}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = type(getattr(Config(), name))
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
        if kind is Path or name == "home":
            return Path(str(value)).expanduser()
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {name}={value!r} is not a valid {kind.__name__}") from exc


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FIELDS:
        key = f"COLLECTOR_{name.upper()}"
        if key in env and env[key] != "":
            out[name] = _coerce(name, env[key], f"environment variable {key}")
    return out


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("collector", data)
    out: dict[str, Any] = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
        out[name] = _coerce(name, value, f"config file {path}")
    return out


def load_config(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    """Build the Config from defaults, a config file, the environment and flags (highest wins)."""
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    from_env = _from_env(env)
    home = Path(flags.get("home") or from_env.get("home") or Config().home)
    path = config_file or (Path(env["COLLECTOR_CONFIG"]) if env.get("COLLECTOR_CONFIG") else None)
    from_file: dict[str, Any] = {}
    if path is not None:
        from_file = _from_file(path)
    elif (home / "collector.toml").is_file():
        from_file = _from_file(home / "collector.toml")
    merged: dict[str, Any] = {**from_file, **from_env}
    for name, value in flags.items():
        if name not in _FIELDS:
            raise ConfigError(f"unknown setting {name!r}")
        merged[name] = _coerce(name, value, f"option --{name.replace('_', '-')}")
    config = Config(**merged)
    if not 1 <= config.warc_gzip_level <= 9:
        raise ConfigError(f"warc_gzip_level={config.warc_gzip_level} is not a gzip level (1 to 9)")
    return config
