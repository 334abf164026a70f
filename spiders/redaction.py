"""What a login profile's secrets become in the archived requests and responses.

A browser capture made with a login profile sends the profile's cookies and, from its local
storage, often a bearer token. The archive keeps what was received, not the keys to the account:

- request ``Cookie``: every cookie's value becomes ``[redacted: profile]`` (the names stay, so the
  record shows which cookies were sent; a cookie set during the capture may be a refreshed session);
- request ``Authorization`` (and ``Proxy-Authorization``): the whole value is the marker;
- any other request header holding a value of the profile (a cookie value or a local-storage value,
  8 characters or more, e.g. an ``X-Auth-Token``): the marker;
- response ``Set-Cookie`` of a cookie the profile holds (same name) or carrying one of its values:
  the value becomes the marker, the attributes stay. Other ``Set-Cookie`` headers are kept as
  received: they are part of the site's answer and not the profile's secret. Any other response
  header holding one of the profile's values is the marker.

Bodies are kept as received (a page that prints a token shows it, as the reader saw it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["REDACTED", "ProfileRedaction"]

REDACTED = "[redacted: profile]"
MIN_SECRET = 8  # shorter values ("1", "true") are not searched for in other headers
_WHOLE = frozenset({"authorization", "proxy-authorization"})


@dataclass(frozen=True)
class ProfileRedaction:
    """The secrets of one login profile, and the headers without them."""

    cookie_names: frozenset[str]
    secrets: frozenset[str]  # values (cookies, local storage) searched for in other headers

    @classmethod
    def of_state(cls, state: dict[str, Any]) -> ProfileRedaction:
        """The redaction of a storage state (``cookies``, ``origins`` with ``localStorage``)."""
        cookies = [c for c in state.get("cookies", []) if isinstance(c, dict)]
        values = [str(c.get("value", "")) for c in cookies]
        for origin in state.get("origins", []):
            values += [str(e.get("value", "")) for e in origin.get("localStorage", [])
                       if isinstance(e, dict)]
        return cls(frozenset(str(c.get("name", "")) for c in cookies),
                   frozenset(v for v in values if len(v) >= MIN_SECRET))

    def _holds_secret(self, value: str) -> bool:
        return any(secret in value for secret in self.secrets)

    def request_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Request headers with cookie values, authorization and the profile's values redacted."""
        out = []
        for name, value in headers:
            lower = name.lower()
            if lower == "cookie":
                value = "; ".join(_redact_pair(pair) for pair in value.split(";") if pair.strip())
            elif lower in _WHOLE or self._holds_secret(value):
                value = REDACTED
            out.append((name, value))
        return out

    def response_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Response headers with the ``Set-Cookie`` values of the profile's cookies (and any header
        holding one of its values) redacted."""
        out = []
        for name, value in headers:
            if name.lower() == "set-cookie":
                # Chromium may join several Set-Cookie headers with newlines: one each
                out += [(name, self._set_cookie(line)) for line in value.split("\n") if line.strip()]
            else:
                out.append((name, REDACTED if self._holds_secret(value) else value))
        return out

    def _set_cookie(self, line: str) -> str:
        pair, sep, attributes = line.partition(";")
        cookie, _, value = pair.partition("=")
        if cookie.strip() in self.cookie_names or self._holds_secret(value):
            return f"{cookie.strip()}={REDACTED}{sep}{attributes}"
        return line


def _redact_pair(pair: str) -> str:
    cookie, sep, _ = pair.strip().partition("=")
    return f"{cookie}={REDACTED}" if sep else REDACTED
