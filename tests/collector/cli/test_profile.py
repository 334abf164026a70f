"""``collector profile`` and ``--profile`` as users run them: errors that name what was wrong, JSON
output, files the CLI writes. The logins through Chromium are in tests/collector/profiles/test_login.py."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner, Result

from collector.cli.main import cli
from tests.collector.profiles.test_store import STATE


def invoke(home: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``collector --home HOME ARGS`` in this process, isolated from COLLECTOR_* variables."""
    isolated: dict[str, str | None] = {"COLLECTOR_HOME": None, "COLLECTOR_CONFIG": None,
                                       "COLLECTOR_DATABASE_URL": None, "DISPLAY": None,
                                       "WAYLAND_DISPLAY": None, **(env or {})}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=isolated)


def _state_file(tmp_path: Path) -> Path:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(STATE))
    return path


def test_import_list_show_remove_in_json(home: Path, tmp_path: Path) -> None:
    imported = invoke(home, "profile", "import", "news", str(_state_file(tmp_path)), "--json")
    assert imported.exit_code == 0, imported.output
    info = json.loads(imported.output)
    assert info["name"] == "news" and info["source"] == "import" and info["mode"] == "0600"
    assert stat.S_IMODE(Path(info["path"]).stat().st_mode) == 0o600
    listed = invoke(home, "profile", "list", "--json")
    assert [json.loads(line)["name"] for line in listed.output.splitlines()] == ["news"]
    shown = invoke(home, "profile", "show", "news")
    assert shown.exit_code == 0 and "cookie sid for example.org/" in shown.output
    for output in (imported.output, listed.output, shown.output):
        assert STATE["cookies"][0]["value"] not in output
    removed = invoke(home, "profile", "remove", "news", "--json")
    assert json.loads(removed.output)["removed"] is True
    assert invoke(home, "profile", "list", "--json").output == ""


def test_a_bad_name_is_a_usage_error_naming_it(home: Path, tmp_path: Path) -> None:
    for args in (["profile", "import", "../x", str(_state_file(tmp_path))],
                 ["profile", "show", "../x"],
                 ["profile", "create", "../x", "--login-url", "https://example.org/login"],
                 ["capture", "--profile", "../x", "https://example.org/a"]):
        result = invoke(home, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "profile name '../x' is not valid" in result.output
    assert not (home / "x.json").exists() and not (tmp_path / "x.json").exists()


def test_a_missing_profile_fails_the_capture_before_any_fetch(home: Path) -> None:
    for args in (["capture", "--profile", "ghost", "https://example.org/a"],
                 ["check", "--profile", "ghost", "https://example.org/a"],
                 ["profile", "show", "ghost"], ["profile", "remove", "ghost"]):
        result = invoke(home, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "no profile named 'ghost'" in result.output
    assert not (home / "warcs").exists() or not list((home / "warcs").iterdir())


def test_profile_does_not_go_with_the_queue(home: Path, tmp_path: Path) -> None:
    assert invoke(home, "profile", "import", "news", str(_state_file(tmp_path))).exit_code == 0
    result = invoke(home, "capture", "--profile", "news", "--queue", "https://example.org/a")
    assert result.exit_code == 2 and "--profile cannot go with --queue" in result.output


def test_interactive_needs_a_display(home: Path) -> None:
    result = invoke(home, "profile", "create", "news", "--login-url", "https://example.org/login",
                    "--interactive")
    assert result.exit_code == 2
    assert "--interactive needs a display" in result.output
    assert not (home / "profiles" / "news.json").exists()


def test_fill_values_from_missing_sources_are_named(home: Path, tmp_path: Path) -> None:
    base = ["profile", "create", "news", "--login-url", "https://example.org/login"]
    unset = invoke(home, *base, "--fill", "#pass=$env:NO_SUCH_PASSWORD")
    assert unset.exit_code == 2 and "'NO_SUCH_PASSWORD' is not set" in unset.output
    no_file = invoke(home, *base, "--fill", "#pass=$secret:PASSWORD")
    assert no_file.exit_code == 2 and "$secret:PASSWORD needs --secrets-file" in no_file.output
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# site logins\nOTHER=x\n")
    missing = invoke(home, *base, "--secrets-file", str(secrets), "--fill", "#pass=$secret:PASSWORD")
    assert missing.exit_code == 2 and "the secrets file has no 'PASSWORD'" in missing.output
    bad = invoke(home, *base, "--fill", "no-equals-sign")
    assert bad.exit_code == 2 and "'no-equals-sign': expected SELECTOR=VALUE" in bad.output
