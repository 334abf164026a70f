"""Profile files in the home: names, modes, import, listing and removal (collector.profiles.store)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from collector.errors import InputError, NotFoundError
from collector.profiles.store import (
    check_profile_name,
    import_profile,
    list_profiles,
    load_state,
    profile_info,
    remove_profile,
    save_profile,
)
from tests.conftest import make_config

STATE = {"cookies": [{"name": "sid", "value": "s3cr3t-session-value", "domain": "example.org",
                      "path": "/", "expires": -1, "httpOnly": True, "secure": True,
                      "sameSite": "Lax"}],
         "origins": [{"origin": "https://example.org",
                      "localStorage": [{"name": "token", "value": "s3cr3t-token-value"}]}]}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "x.json", "a b", "-x", "é", "a" * 65])
def test_bad_names_are_refused_naming_them(name: str) -> None:
    with pytest.raises(InputError, match=r"profile name .* is not valid") as raised:
        check_profile_name(name)
    assert repr(name) in str(raised.value)


def test_a_saved_profile_is_private_and_reads_back(home: Path) -> None:
    config = make_config(home)
    path = save_profile(config, "news", STATE, source="login", login_url="https://example.org/login")
    assert path == home / "profiles" / "news.json"
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert load_state(config, "news") == {"cookies": STATE["cookies"], "origins": STATE["origins"]}
    assert not list(path.parent.glob(".*"))  # no temporary file left


def test_an_existing_profile_is_kept_unless_replaced(home: Path) -> None:
    config = make_config(home)
    save_profile(config, "news", STATE, source="login")
    with pytest.raises(InputError, match="exists already"):
        save_profile(config, "news", STATE, source="login")
    save_profile(config, "news", STATE, source="import", replace=True)
    assert profile_info(config, "news").source == "import"


def test_info_and_list_name_cookies_without_their_values(home: Path) -> None:
    config = make_config(home)
    save_profile(config, "b", STATE, source="login")
    save_profile(config, "a", STATE, source="import")
    found = list_profiles(config)
    assert [p.name for p in found] == ["a", "b"]
    shown = json.dumps([p.as_dict() for p in found])
    assert "sid" in shown and "token" in shown
    for cookie in STATE["cookies"]:
        assert str(cookie["value"]) not in shown
    assert "s3cr3t-token-value" not in shown
    assert found[0].mode == "0600"


def test_import_checks_the_file_and_names_it(home: Path, tmp_path: Path) -> None:
    config = make_config(home)
    good = tmp_path / "state.json"
    good.write_text(json.dumps(STATE))
    assert _mode(import_profile(config, "imported", good)) == 0o600
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cookies": [{"name": "sid"}]}))
    with pytest.raises(InputError, match=r"bad\.json: cookie 0 has no value, domain, path"):
        import_profile(config, "other", bad)
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(InputError, match="no cookies and no local storage"):
        import_profile(config, "other", empty)
    with pytest.raises(InputError, match="not a readable JSON"):
        import_profile(config, "other", tmp_path / "missing.json")
    assert [p.name for p in list_profiles(config)] == ["imported"]


def test_a_missing_profile_is_an_error_naming_it(home: Path) -> None:
    config = make_config(home)
    with pytest.raises(NotFoundError, match="no profile named 'ghost'"):
        load_state(config, "ghost")
    save_profile(config, "gone", STATE, source="login")
    remove_profile(config, "gone")
    with pytest.raises(NotFoundError, match="no profile named 'gone'"):
        remove_profile(config, "gone")
