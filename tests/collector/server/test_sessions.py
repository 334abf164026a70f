"""Web sessions: a token becomes a signed cookie; every write form needs the session, its CSRF token and
this server's Origin; --read-only refuses them all; a revoked token ends its sessions."""

from __future__ import annotations

import http.client
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from collector.errors import ConfigError
from collector.server.sessions import COOKIE, SessionSigner, load_secret
from storage.database import connect
from storage.reports import links_of
from storage.tokens import list_tokens, revoke_token
from tests.collector.server.helpers import fetch
from tests.collector.server.workbench import REPORT, csrf_of, login, multipart, post_form, served
from tests.conftest import make_config


def test_secret_is_made_once_with_mode_0600_and_a_readable_one_is_refused(home: Path) -> None:
    config = make_config(home)
    first = load_secret(config)
    path = home / "server-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(config) == first and len(first) >= 32
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_secret(config)
    assert load_secret(config.replace(server_secret="s" * 40)) == "s" * 40  # the setting wins


def test_a_home_that_cannot_be_written_gets_a_secret_for_the_server_s_life(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config = make_config(blocker / "home")  # mkdir fails: NotADirectoryError
    first, second = load_secret(config), load_secret(config)
    assert len(first) == 64 and first != second  # random each start, nothing written


def test_a_cookie_signed_with_another_secret_or_expired_is_no_session() -> None:
    ours, theirs = SessionSigner("a" * 40, 3600), SessionSigner("b" * 40, 3600)
    value = ours.issue(1, "alice")
    assert ours.read(value) is not None and ours.read(value)["n"] == "alice"  # type: ignore[index]
    assert theirs.read(value) is None
    assert ours.read(value[:-2] + "xx") is None
    assert SessionSigner("a" * 40, -1).read(value) is None  # expired


def test_login_sets_a_strict_httponly_cookie_and_logout_drops_it(home: Path, db_url: str) -> None:
    with served(home, db_url) as s:
        bad = post_form(s.base, "/login", {"token": s.token + "x"}, cookie=None)
        assert bad.status == 401 and "not valid" in bad.text and "set-cookie" not in bad.headers
        reply = post_form(s.base, "/login", {"token": s.token, "next": "//evil.test/x"}, cookie=None)
        assert reply.status == 303 and reply.header("location") == "/reports"  # never another site
        cookie = reply.header("set-cookie") or ""
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert cookie.startswith(COOKIE + "=") and {"httponly", "samesite", "path"} <= flags
        assert "samesite=strict" in cookie.lower() and "secure" not in flags  # plain http here
        assert s.token not in cookie  # the token itself is never in the cookie
        session = cookie.split(";")[0]
        page = fetch(s.base + "/reports", headers={"Cookie": session})
        assert "Log out" in page.text and "alice" in page.text and "Add a report" in page.text
        assert page.header("referrer-policy") == "same-origin"
        search = fetch(s.base + "/search", headers={"Cookie": session})  # every page's header knows
        assert "Log out" in search.text and search.header("referrer-policy") == "same-origin"
        assert fetch(s.base + "/search").header("referrer-policy") == "no-referrer"  # anonymous
        csrf = csrf_of(s.base, session)
        out = post_form(s.base, "/logout", {"csrf": csrf}, cookie=session)
        assert out.status == 303 and COOKIE + '=""' in (out.header("set-cookie") or "")
        anonymous = fetch(s.base + "/reports")
        assert "Log in" in anonymous.text and "Add a report" not in anonymous.text


def test_cookie_is_secure_when_the_page_is_served_over_https(home: Path) -> None:
    """Behind a TLS proxy (uvicorn trusts X-Forwarded-Proto from 127.0.0.1) the cookie gets Secure."""
    with served(home) as s:
        https = s.base.replace("http://", "https://")
        reply = post_form(s.base, "/login", {"token": s.token}, cookie=None, origin=https,
                          headers={"X-Forwarded-Proto": "https"})
        assert reply.status == 303
        flags = {part.strip().lower() for part in (reply.header("set-cookie") or "").split(";")}
        assert "secure" in flags and "httponly" in flags
        plain = post_form(s.base, "/login", {"token": s.token}, cookie=None, origin=https)
        assert plain.status == 403  # an https page's form posted to the plain-http server: another origin


def test_every_write_form_is_refused_without_session_csrf_or_origin(home: Path, db_url: str) -> None:
    with served(home, db_url) as s:
        session = login(s.base, s.token)
        csrf = csrf_of(s.base, session)
        ctype, body = multipart({"csrf": csrf, "name": "ferries"},
                                {"document": (REPORT.name, REPORT.read_bytes())})
        added = fetch(s.base + "/reports", method="POST", body=body,
                      headers={"Content-Type": ctype, "Cookie": session, "Origin": s.base})
        assert added.status == 303 and added.header("location") == "/reports/ferries"
        link = {"csrf": csrf, "ref": "6", "url": s.cited, "quote": "carry no manifest at all"}
        refusals = {
            "no session": post_form(s.base, "/reports/ferries/links", link, cookie=None),
            "no csrf": post_form(s.base, "/reports/ferries/links", {**link, "csrf": ""}, cookie=session),
            "wrong csrf": post_form(s.base, "/reports/ferries/links", {**link, "csrf": csrf + "x"},
                                    cookie=session),
            "other origin": post_form(s.base, "/reports/ferries/links", link, cookie=session,
                                      origin="http://evil.test"),
            "null origin": post_form(s.base, "/reports/ferries/links", link, cookie=session, origin="null"),
            "no origin": post_form(s.base, "/reports/ferries/links", link, cookie=session, origin=None),
            "other referer": post_form(s.base, "/reports/ferries/links", link, cookie=session, origin=None,
                                       headers={"Referer": "http://evil.test/page"}),
        }
        statuses = {why: reply.status for why, reply in refusals.items()}
        assert statuses == {"no session": 401, "no csrf": 403, "wrong csrf": 403, "other origin": 403,
                            "null origin": 403, "no origin": 403, "other referer": 403}
        assert "log in" in refusals["no session"].text.lower()  # an HTML page saying what to do
        sessions = connect(s.config.db_url)
        try:
            assert links_of(sessions, "ferries") == []  # nothing was written
            same_referer = post_form(s.base, "/reports/ferries/links", link, cookie=session, origin=None,
                                     headers={"Referer": s.base + "/reports/ferries"})
            assert same_referer.status == 303
            assert [(k.ref, k.url, k.quote) for k in links_of(sessions, "ferries")] == [
                ("6", s.cited, "carry no manifest at all")]
            [token] = list_tokens(sessions)
            revoke_token(sessions, token.id, now=datetime.now(UTC))
        finally:
            sessions.kw["bind"].dispose()
        after = post_form(s.base, "/reports/ferries/links", link, cookie=session)
        assert after.status == 401  # a revoked token ends its sessions


def test_an_upload_over_upload_max_mb_is_refused_and_nothing_added(home: Path) -> None:
    with served(home, settings={"upload_max_mb": 1}) as s:
        session = login(s.base, s.token)
        csrf = csrf_of(s.base, session)
        big = REPORT.read_bytes() + b"\n" + b"x" * (1024 * 1024)
        ctype, body = multipart({"csrf": csrf, "name": "big"}, {"document": ("big.md", big)})
        reply = fetch(s.base + "/reports", method="POST", body=body,
                      headers={"Content-Type": ctype, "Cookie": session, "Origin": s.base})
        assert reply.status == 400 and "upload_max_mb" in reply.text
        assert "big" not in fetch(s.base + "/reports.json").text


def test_a_write_without_session_is_refused_before_its_body_is_read(home: Path) -> None:
    """A 10 GB upload announced without a session is answered 401 at once: the body is never awaited."""
    with served(home) as s:
        parts = urlsplit(s.base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            conn.putrequest("POST", "/reports")
            for name, value in (("Content-Type", "multipart/form-data; boundary=x"), ("Origin", s.base),
                                ("Content-Length", str(10 * 1024**3))):
                conn.putheader(name, value)
            conn.endheaders()  # and no body at all
            reply = conn.getresponse()
            assert reply.status == 401
        finally:
            conn.close()


def test_read_only_server_refuses_forms_even_with_a_session(home: Path) -> None:
    with served(home, read_only=True) as s:
        session = login(s.base, s.token)
        page = fetch(s.base + "/login", headers={"Cookie": session})
        assert "read-only" in page.text
        reply = post_form(s.base, "/schedules", {"csrf": "whatever", "urls": s.cited, "every": "1d"},
                          cookie=session)
        assert reply.status == 403 and reply.header("x-read-only") == "true"
