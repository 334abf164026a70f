"""Settings of feed polling, the scheduler daemon and webhooks, with their defaults.

They are not in ``Config`` (one object for the whole tool): this small frozen dataclass holds them,
built from a Config with ``MonitorSettings.from_config`` and overridden by ``collector run`` flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from collector.config import Config
from collector.errors import ConfigError

__all__ = ["MonitorSettings"]


@dataclass(frozen=True, kw_only=True)
class MonitorSettings:
    """Every monitoring setting and its default (seconds unless said otherwise)."""

    # feeds
    feed_interval: float = 3600.0  # polling interval of a feed added without --every
    feed_min_factor: float = 0.25  # adaptive interval bounds, relative to the feed's --every
    feed_max_factor: float = 8.0
    feed_busy_entries: int = 5  # a poll with this many new entries halves the interval
    feed_quiet_factor: float = 1.25  # a poll with none multiplies it by this
    feed_failing_after: int = 3  # consecutive failed polls before a feed is flagged "failing"
    feed_silent_after: float = 7 * 86400.0  # no new entry for this long (and 20 intervals): "silent"
    feed_tick: float = 60.0  # how often the daemon looks for feeds due for polling
    # the daemon
    tick: float = 1.0  # main loop: lease renewal, picking up schedules added meanwhile
    lease_ttl: float = 30.0  # a dead daemon's lease is taken over after this long
    workers: int = 4  # jobs running at once (one instance of each job at a time)
    misfire_grace: float | None = None  # a missed run older than this is skipped; None: always run
    # adaptive re-checks (schedule add --adaptive)
    adaptive_tick: float = 3600.0  # how often an adaptive schedule looks for due URLs
    # webhooks
    notify_interval: float = 5.0  # how often the daemon collects events and delivers
    notify_timeout: float = 10.0  # per POST
    notify_backoff: float = 30.0  # delay before the first retry; doubles per attempt
    notify_max_backoff: float = 3600.0
    notify_max_attempts: int = 8  # then the delivery is marked failed (and kept)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"monitor setting {field.name} must not be negative (got {value})")
        if self.lease_ttl <= self.tick * 2:
            raise ConfigError(f"lease_ttl ({self.lease_ttl:g} s) must be more than twice the tick "
                              f"({self.tick:g} s)")
        if self.workers < 1:
            raise ConfigError("workers must be at least 1")

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> MonitorSettings:
        """Defaults, with the webhook timeout capped by the download timeout, then ``overrides``."""
        values: dict[str, Any] = {"notify_timeout": min(cls.notify_timeout, config.download_timeout)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> MonitorSettings:
        """A copy with some settings changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
