"""Where login profiles live and what a profile file holds.

A profile is ``<home>/profiles/NAME.json``: a Playwright storage state (``cookies``, ``origins`` with
their local storage) and a ``collector`` entry saying how it was made (when, from which login URL or
file). The directory is mode 0700 and each file 0600, written whole (a temporary file renamed), so
that a profile is never readable by other users nor seen half-written. Names are plain words
(letters, digits, ``.``, ``_``, ``-``; no path separators, no leading dot).

What this module tells about a profile (:class:`ProfileInfo`) names cookies and origins, never a
cookie's or a local-storage entry's value.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.config import Config
from collector.errors import InputError, NotFoundError

__all__ = ["ProfileInfo", "check_profile_name", "import_profile", "list_profiles", "load_state",
           "profile_info", "profile_path", "profiles_dir", "remove_profile", "save_profile",
           "validate_state"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_COOKIE_FIELDS = ("name", "value", "domain", "path")


@dataclass(frozen=True, kw_only=True)
class ProfileInfo:
    """What ``profile list`` and ``profile show`` say of a profile (no secret values)."""

    name: str
    path: Path
    created_at: str | None
    source: str | None  # "login", "interactive" or "import"
    login_url: str | None
    cookies: list[dict[str, Any]]  # name, domain, path, expires, http_only, secure (no value)
    origins: list[dict[str, Any]]  # origin, local_storage (the keys only)
    mode: str  # the file's permission bits, e.g. "0600"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``--json``)."""
        return {"name": self.name, "path": str(self.path), "created_at": self.created_at,
                "source": self.source, "login_url": self.login_url, "cookies": self.cookies,
                "origins": self.origins, "mode": self.mode}


def check_profile_name(name: str) -> str:
    """``name`` if it is a valid profile name, else an :class:`InputError` naming it."""
    if not _NAME.fullmatch(name or "") or name.endswith(".json"):
        raise InputError(f"profile name {name!r} is not valid: use letters, digits, '.', '_' and "
                         "'-' (at most 64, starting with a letter or digit)")
    return name


def profiles_dir(config: Config) -> Path:
    """The home's profile directory (not created here)."""
    return config.home / "profiles"


def profile_path(config: Config, name: str) -> Path:
    """The file of the existing profile ``name``; :class:`NotFoundError` naming it if there is none."""
    path = profiles_dir(config) / f"{check_profile_name(name)}.json"
    if not path.is_file():
        raise NotFoundError(f"no profile named {name!r} in {profiles_dir(config)} (see `collector "
                            "profile list`; make one with `collector profile create`)")
    return path


def validate_state(data: Any, source: str) -> dict[str, Any]:
    """The storage state in ``data`` (``cookies`` and ``origins``, as Playwright writes them), or an
    :class:`InputError` naming ``source`` and what is wrong."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a storage state is a JSON object with 'cookies' and 'origins'")
    cookies = data.get("cookies", [])
    origins = data.get("origins", [])
    if not isinstance(cookies, list) or not isinstance(origins, list):
        raise InputError(f"{source}: 'cookies' and 'origins' must be lists")
    for n, cookie in enumerate(cookies):
        missing = [f for f in _COOKIE_FIELDS if not isinstance(cookie, dict) or f not in cookie]
        if missing:
            raise InputError(f"{source}: cookie {n} has no {', '.join(missing)}")
    for n, origin in enumerate(origins):
        if not isinstance(origin, dict) or not isinstance(origin.get("origin"), str):
            raise InputError(f"{source}: origin {n} has no 'origin'")
        if not isinstance(origin.get("localStorage", []), list):
            raise InputError(f"{source}: origin {n}'s 'localStorage' must be a list")
    if not cookies and not origins:
        raise InputError(f"{source}: the storage state has no cookies and no local storage")
    return {"cookies": cookies, "origins": origins}


def save_profile(config: Config, name: str, state: dict[str, Any], *, source: str,
                 login_url: str | None = None, replace: bool = False,
                 now: datetime | None = None) -> Path:
    """Write profile ``name`` (mode 0600, in a 0700 directory); an existing one only with ``replace``."""
    check_profile_name(name)
    state = validate_state(state, f"profile {name!r}")
    directory = profiles_dir(config)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    path = directory / f"{name}.json"
    if path.exists() and not replace:
        raise InputError(f"profile {name!r} exists already (use --replace to overwrite it)")
    made = (now or datetime.now(UTC)).isoformat()
    body = json.dumps({**state, "collector": {"created_at": made, "source": source,
                                              "login_url": login_url}}, indent=1).encode()
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return path


def _read(path: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"profile {name!r} ({path}) cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"profile {name!r} ({path}) is not a storage state")
    return data


def load_state(config: Config, name: str) -> dict[str, Any]:
    """The storage state (``cookies``, ``origins``) of profile ``name``."""
    path = profile_path(config, name)
    return validate_state(_read(path, name), f"profile {name!r} ({path})")


def import_profile(config: Config, name: str, file: Path, *, replace: bool = False) -> Path:
    """Save the storage-state JSON ``file`` (made elsewhere, e.g. Playwright's
    ``context.storage_state(path=...)``) as profile ``name``."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: not a readable JSON storage state ({exc})") from exc
    state = validate_state(data, str(file))
    return save_profile(config, name, state, source="import", replace=replace)


def profile_info(config: Config, name: str) -> ProfileInfo:
    """What profile ``name`` holds, without its secret values."""
    path = profile_path(config, name)
    data = _read(path, name)
    state = validate_state(data, f"profile {name!r} ({path})")
    made: dict[str, Any] = data["collector"] if isinstance(data.get("collector"), dict) else {}
    cookies = [{"name": c["name"], "domain": c["domain"], "path": c["path"],
                "expires": c.get("expires"), "http_only": c.get("httpOnly"),
                "secure": c.get("secure")} for c in state["cookies"]]
    origins = [{"origin": o["origin"],
                "local_storage": [e.get("name") for e in o.get("localStorage", [])
                                  if isinstance(e, dict)]} for o in state["origins"]]
    return ProfileInfo(name=name, path=path, created_at=made.get("created_at"),
                       source=made.get("source"), login_url=made.get("login_url"), cookies=cookies,
                       origins=origins, mode=f"{stat.S_IMODE(path.stat().st_mode):04o}")


def list_profiles(config: Config) -> list[ProfileInfo]:
    """Every profile of the home, by name."""
    directory = profiles_dir(config)
    if not directory.is_dir():
        return []
    names = sorted(p.stem for p in directory.glob("*.json") if _NAME.fullmatch(p.stem))
    return [profile_info(config, name) for name in names]


def remove_profile(config: Config, name: str) -> Path:
    """Delete profile ``name``; its path."""
    path = profile_path(config, name)
    path.unlink()
    return path
