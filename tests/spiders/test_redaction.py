"""A login profile's secrets in archived headers: what is redacted, what is kept (spiders.redaction)."""

from __future__ import annotations

import secrets

from spiders.redaction import REDACTED, ProfileRedaction

SESSION = secrets.token_hex(16)
TOKEN = secrets.token_hex(16)
STATE = {"cookies": [{"name": "sid", "value": SESSION, "domain": "example.org", "path": "/"},
                     {"name": "lang", "value": "en", "domain": "example.org", "path": "/"}],
         "origins": [{"origin": "https://example.org",
                      "localStorage": [{"name": "token", "value": TOKEN},
                                       {"name": "seen", "value": "1"}]}]}


def test_request_cookies_keep_their_names_and_lose_their_values() -> None:
    redaction = ProfileRedaction.of_state(STATE)
    headers = redaction.request_headers([("Host", "example.org"),
                                         ("Cookie", f"sid={SESSION}; lang=en; theme=dark")])
    assert headers == [("Host", "example.org"),
                       ("Cookie", f"sid={REDACTED}; lang={REDACTED}; theme={REDACTED}")]


def test_authorization_and_headers_holding_a_profile_value_are_redacted() -> None:
    redaction = ProfileRedaction.of_state(STATE)
    headers = dict(redaction.request_headers([
        ("Authorization", "Basic dXNlcjpwYXNz"), ("X-Auth-Token", TOKEN),
        ("Accept", "*/*"), ("Proxy-Authorization", "Basic eDp5")]))
    assert headers == {"Authorization": REDACTED, "X-Auth-Token": REDACTED, "Accept": "*/*",
                       "Proxy-Authorization": REDACTED}


def test_set_cookie_of_the_profile_is_redacted_and_others_are_kept() -> None:
    redaction = ProfileRedaction.of_state(STATE)
    headers = redaction.response_headers([
        ("Content-Type", "text/html"),
        ("Set-Cookie", f"sid={SESSION}; Path=/; HttpOnly\ntheme=dark; Path=/"),
        ("Set-Cookie", f"other={SESSION}; Secure"),
        ("X-Echo", f"session {SESSION}")])
    assert headers == [("Content-Type", "text/html"),
                       ("Set-Cookie", f"sid={REDACTED}; Path=/; HttpOnly"),
                       ("Set-Cookie", "theme=dark; Path=/"),
                       ("Set-Cookie", f"other={REDACTED}; Secure"),
                       ("X-Echo", REDACTED)]


def test_short_values_are_not_searched_for() -> None:
    redaction = ProfileRedaction.of_state(STATE)
    assert "1" not in redaction.secrets and "en" not in redaction.secrets
    assert redaction.request_headers([("Accept-Language", "en")]) == [("Accept-Language", "en")]
