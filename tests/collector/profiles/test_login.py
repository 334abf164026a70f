"""Login profiles against the local social web's login wall (tests/collector/capture/socialweb.py),
with Debian's Chromium: a scripted ``profile create``, captures with and without ``--profile``, and
the session's secrets nowhere in the archive.

The private-address guard stays on: only the test server's 127.0.0.1 is allowed (``allow_hosts``).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from warcio.archiveiterator import ArchiveIterator

from collector.cli.main import cli
from collector.errors import InputError
from collector.profiles.login import parse_fill, read_secrets
from spiders.redaction import REDACTED
from tests.collector.capture import socialweb
from tests.conftest import warcio_check

PASSWORD = "a password only the environment knows"


def invoke(home: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    """``collector --home HOME ARGS`` in this process: only 127.0.0.1 exempt from the guard."""
    isolated: dict[str, str | None] = {
        "COLLECTOR_HOME": None, "COLLECTOR_CONFIG": None, "COLLECTOR_DATABASE_URL": None,
        "COLLECTOR_ALLOW_PRIVATE": None, "COLLECTOR_ALLOW_HOSTS": "127.0.0.1",
        "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0", "COLLECTOR_RETRY_TIMES": "0",
        "COLLECTOR_EXTRACT_WORKERS": "1", "COLLECTOR_BROWSER_TIMEOUT": "8",
        "COLLECTOR_BROWSER_SCROLL_STEPS": "1", **(env or {})}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=isolated)


def login_args(base: str, name: str = "social") -> list[str]:
    """A scripted login at the social web; the password comes from $SITE_PASSWORD."""
    return ["profile", "create", name, "--login-url", base + "/login", "--fill", "#user=reporter",
            "--fill", "#pass=$env:SITE_PASSWORD", "--submit", "#go", "--wait-for", "url:/welcome"]


@dataclass
class Walled:
    """A home with profile ``social`` and two captures: /wall/1 with the profile, /wall/2 without."""

    home: Path
    base: str
    profile: dict[str, Any]
    with_profile: dict[str, Any]
    without: dict[str, Any]

    def secrets(self) -> list[str]:
        cookies = [c["value"] for c in self.profile["cookies"]]
        tokens = [e["value"] for o in self.profile["origins"] for e in o["localStorage"]]
        return cookies + tokens

    def warc_bytes(self) -> bytes:
        files = sorted((self.home / "warcs").glob("*.warc.gz"))
        return b"".join(gzip.decompress(p.read_bytes()) for p in files)

    def request_headers(self, url: str) -> list[dict[str, str]]:
        """The headers of each archived request of ``url``."""
        out = []
        for path in sorted((self.home / "warcs").glob("*.warc.gz")):
            with path.open("rb") as fh:
                for record in ArchiveIterator(fh):
                    if record.rec_type == "request" and record.rec_headers.get_header(
                            "WARC-Target-URI") == url:
                        out.append(dict(record.http_headers.headers))
        return out


@pytest.fixture(scope="module")
def walled(social: str, tmp_path_factory: pytest.TempPathFactory) -> Walled:
    home = tmp_path_factory.mktemp("profiles") / "home"
    created = invoke(home, *login_args(social), "--json",
                     env={"SITE_PASSWORD": socialweb.LOGIN_PASSWORD})
    assert created.exit_code == 0, created.output
    profile = json.loads((home / "profiles" / "social.json").read_text())
    first = invoke(home, "capture", "--profile", "social", "--json", social + "/wall/1")
    assert first.exit_code == 0, first.output
    second = invoke(home, "capture", "--browser", "--json", social + "/wall/2")
    assert second.exit_code == 0, second.output
    return Walled(home, social, profile, json.loads(first.output), json.loads(second.output))


pytestmark = pytest.mark.slow  # Chromium


def test_the_profile_file_is_private(walled: Walled) -> None:
    path = walled.home / "profiles" / "social.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [c["name"] for c in walled.profile["cookies"]] == ["sid"]
    assert walled.profile["collector"]["login_url"] == walled.base + "/login"


def test_the_capture_with_the_profile_sees_the_post(walled: Walled) -> None:
    assert walled.with_profile["mode"] == "browser"
    assert walled.with_profile["mode_reason"] == "profile: social"  # the name, not a secret
    text = invoke(walled.home, "get", walled.base + "/wall/1", "--text")
    assert text.exit_code == 0, text.output
    assert socialweb.WALL_TEXT % "1" in text.output
    assert socialweb.LOGIN_USER in text.output  # the API call with the local-storage token went in


def test_the_capture_without_the_profile_gets_the_wall(walled: Walled) -> None:
    assert walled.without["mode_reason"] == "--browser"
    text = invoke(walled.home, "get", walled.base + "/wall/2", "--text")
    assert text.exit_code == 0, text.output
    assert "Log in to see this post" in text.output
    assert "Members-only" not in text.output


def test_no_secret_of_the_profile_is_in_the_warcs_nor_the_database(walled: Walled) -> None:
    archived = walled.warc_bytes()
    stored = b"".join(p.read_bytes() for p in walled.home.glob("collector.db*"))
    with sqlite3.connect(walled.home / "collector.db") as db:  # and what SQLite would give back
        stored += repr(db.execute("SELECT * FROM captures").fetchall()).encode()
    assert walled.secrets()
    for secret in walled.secrets():
        assert secret.encode() not in archived
        assert secret.encode() not in stored


def test_the_redacted_headers_keep_their_names(walled: Walled) -> None:
    [api] = [h for h in walled.request_headers(walled.base + "/api/me")
             if h["Referer"] == walled.base + "/wall/1"]
    assert api["Authorization"] == REDACTED
    assert f"sid={REDACTED}" in api["Cookie"]
    # the top document's cookie, added by Chromium after the crawl's headers, is named too
    [page] = walled.request_headers(walled.base + "/wall/1")
    assert page["Cookie"] == f"sid={REDACTED}"
    [unprofiled] = walled.request_headers(walled.base + "/wall/2")
    assert "Cookie" not in unprofiled
    archived = walled.warc_bytes()
    assert f"Set-Cookie: sid={REDACTED}; Path=/; HttpOnly".encode() in archived  # the refreshed session
    assert b"Set-Cookie: theme=dark; Path=/" in archived  # not the profile's: kept as received
    # the capture without the profile keeps its requests as sent
    assert b"Authorization: Bearer null" in archived


def test_the_warcs_pass_warcio_check(walled: Walled) -> None:
    warcio_check(walled.home)


def test_a_wrong_password_saves_no_profile(social: str, home: Path) -> None:
    result = invoke(home, *login_args(social, "wrong"), "--timeout", "3", env={"SITE_PASSWORD": "nope"})
    assert result.exit_code == 1
    assert "login at " + social + "/login failed while waiting for 'url:/welcome'" in result.output
    assert "no profile saved" in result.output
    assert not (home / "profiles" / "wrong.json").exists()


def test_the_guard_refuses_a_private_login_page(social: str, home: Path) -> None:
    result = invoke(home, *login_args(social, "private"),
                    env={"SITE_PASSWORD": PASSWORD, "COLLECTOR_ALLOW_HOSTS": None})
    assert result.exit_code == 2
    assert f"login URL '{social}/login' refused: 127.0.0.1 is a non-public address" in result.output
    assert not (home / "profiles").exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("#user=reporter", ("#user", "reporter")),
    ("input[name=pass]=a=b", ("input[name=pass]", "a=b")),
    ("[data-x='=']=v", ("[data-x='=']", "v")),
    ("#pass=$env:SITE_PASSWORD", ("#pass", PASSWORD)),
    ("#pass=$secret:SITE", ("#pass", "from the file")),
])
def test_fill_values(text: str, expected: tuple[str, str], tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# comment\n\nSITE=from the file\n")
    assert parse_fill(text, {"SITE_PASSWORD": PASSWORD}, read_secrets(secrets)) == expected


def test_a_bad_secrets_file_names_its_line(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("SITE=x\nnot a pair\n")
    with pytest.raises(InputError, match=r"secrets\.env', line 2: expected KEY=VALUE"):
        read_secrets(secrets)


def test_check_with_the_profile_compares_logged_in_pages(walled: Walled) -> None:
    # the baseline is the logged-in capture: a check without the profile would find the wall
    result = invoke(walled.home, "check", "--profile", "social", "--json", walled.base + "/wall/1")
    assert result.exit_code == 0, result.output
    [checked] = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert checked["status"] == "unchanged"
    assert checked["text_sha256"] == walled.with_profile["text_sha256"]


def test_interactive_without_a_working_display_is_a_clear_error(social: str, home: Path) -> None:
    result = invoke(home, "profile", "create", "by-hand", "--login-url", social + "/login",
                    "--interactive", env={"DISPLAY": ":9999", "WAYLAND_DISPLAY": None})
    assert result.exit_code == 1, result.output
    assert "a visible Chromium" in result.output and "could not start" in result.output
    assert "Traceback" not in result.output
    assert not (home / "profiles" / "by-hand.json").exists()
