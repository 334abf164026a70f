"""The collector error tree.

    CollectorError
    ├── ConfigError (ValueError)        a setting has a bad value or the config file is unreadable
    ├── InputError (ValueError)         a URL, file or argument the user gave cannot be used
    └── NotFoundError (LookupError)     nothing archived matches what was asked for

Storage errors live in ``storage.errors`` (StorageError); the CLI turns both into messages.
"""

from __future__ import annotations

__all__ = ["CollectorError", "ConfigError", "InputError", "NotFoundError"]


class CollectorError(Exception):
    """Base of every error collector raises on purpose."""


class ConfigError(CollectorError, ValueError):
    """A setting is invalid."""


class InputError(CollectorError, ValueError):
    """Something the user gave (URL, file, option) cannot be used."""


class NotFoundError(CollectorError, LookupError):
    """Nothing in the archive matches the request."""
