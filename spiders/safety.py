"""SSRF guard: refuse targets on loopback, private, link-local, multicast or reserved addresses, and
any scheme but http and https.

Runs as a downloader middleware after the proxy middleware, so every hop of a redirect chain is
checked (a redirect is a new request that passes here again). Each host is first normalized the way a
resolver or a proxy would read it (:func:`normalize_host`): percent-decoded, IDNA-mapped (full-width
digits, case), trailing dots dropped, and every ``inet_aton`` spelling of an IPv4 address
(``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.1``) read as the address it denotes. Then:

- an IP address (any spelling, IPv6 forms included, IPv4 embedded in IPv6 too) is refused unless it is
  public;
- a host private by name (``localhost``, ``*.localhost``, the ``/etc/hosts`` loopback aliases,
  ``*.local``, ``*.home.arpa``, ``*.internal``: see :data:`PRIVATE_NAMES`) is refused without resolving
  it;
- any other name is resolved through the crawler's caching resolver, the same cache the connection
  then uses, and refused if it resolves to a non-public address. When a proxy carries the request the
  name is *not* resolved here: the proxy resolves it, possibly to another address (split DNS) or where
  local DNS answers nothing at all, and resolving it here would tell the local resolver every name
  fetched through the proxy. What a name resolves to on the proxy's side is the proxy's to police.

A request whose scheme is not http or https is refused in any case (``--allow-private`` does not
change that), and so is a redirect (3xx with ``Location``) to such a URL: Scrapy would stop there and
hand back the redirect itself as if it were the page.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from w3lib.url import safe_url_string

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["ALLOWED_SCHEMES", "PRIVATE_NAMES", "PrivateAddressError", "PrivateAddressMiddleware",
           "UnsupportedSchemeError", "allowed_hosts", "host_address", "is_private_name", "is_public_address",
           "normalize_host", "redirect_target"]

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Names that mean this machine or the local network wherever they are resolved: RFC 6761 localhost,
# the loopback aliases of common /etc/hosts files, mDNS (RFC 6762), RFC 8375 home networks and the
# ICANN private-use ``.internal``. A name equal to one, or ending in "." + one of the suffixes, is
# private.
PRIVATE_NAMES = frozenset({"localhost", "localhost.localdomain", "localhost4", "localhost6",
                           "localhost4.localdomain4", "localhost6.localdomain6", "ip6-localhost",
                           "ip6-loopback"})
PRIVATE_SUFFIXES = ("localhost", "local", "home.arpa", "internal")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# label separators IDNA treats as "." (ideographic and full-width full stops)
_DOTS = re.compile("[\u3002\uff0e\uff61]")
_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_OCT = re.compile(r"0[0-7]*")
_DEC = re.compile(r"[1-9][0-9]*")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: IPv4-compatible (::/96) and the
# well-known NAT64 prefix (RFC 6052)
_IPV4_SUFFIX_NETS = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("64:ff9b::/96"))
# the NAT64 local-use prefix (RFC 8215) translates to addresses of the local network: never public
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


class PrivateAddressError(IgnoreRequest):
    """The target is, or resolves to, an address collector refuses to fetch by default."""


class UnsupportedSchemeError(IgnoreRequest):
    """The target (or a redirect's target) is not an http or https URL."""


@functools.lru_cache(maxsize=4096)  # a pure function, asked once per request of a browser page
def normalize_host(host: str) -> str:
    """``host`` as a resolver or proxy reads it: IP addresses in their standard form, names lower-case
    ASCII (IDNA) without trailing dots.

    ``0x7f.1``, ``2130706433``, ``0177.0.0.1``, ``127.1`` and ``１２７.０.０.１`` all become
    ``127.0.0.1``; ``[::FFFF:7f00:1]`` becomes ``::ffff:7f00:1``; ``LocalHost.`` becomes
    ``localhost``. Results are cached (the browser's guard asks it for each sub-resource).
    """
    text = _DOTS.sub(".", unquote(host).strip())
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:  # only an IPv6 address has colons in a host
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError:
            return text.lower()
    with contextlib.suppress(UnicodeError):  # an empty or over-long label: compared as it is
        text = text.encode("idna").decode("ascii")
    text = text.lower().rstrip(".")
    address = _inet_aton(text)
    return str(address) if address is not None else text


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address ``text`` denotes in inet_aton's syntax (1 to 4 parts, each decimal, octal with
    a leading 0 or hexadecimal with 0x; the last part fills the remaining bytes), else None."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        if _HEX.fullmatch(part):
            numbers.append(int(part[2:] or "0", 16))
        elif _OCT.fullmatch(part):
            numbers.append(int(part, 8))
        elif _DEC.fullmatch(part):
            numbers.append(int(part))
        else:
            return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(leading):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host denotes by its spelling alone (any spelling), or None for a name."""
    normalized = normalize_host(host)
    try:
        return ipaddress.ip_address(normalized)
    except ValueError:
        return None


def is_private_name(host: str) -> bool:
    """True when a host name means this machine or a local network whoever resolves it."""
    name = normalize_host(host)
    return name in PRIVATE_NAMES or any(name == s or name.endswith("." + s) for s in PRIVATE_SUFFIXES)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _IPV4_SUFFIX_NETS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def is_public_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when ``address`` is a globally routable unicast IP address (in any spelling), and no IPv4
    address embedded in it is private."""
    ip = address if not isinstance(address, str) else host_address(address)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return _is_public_ip(ip.ipv4_mapped)
        if ip in _LOCAL_NAT64 or not all(_is_public_ip(a) for a in _embedded_ipv4(ip)):
            return False
    return _is_public_ip(ip)


def redirect_target(request: Request, response: Response) -> str | None:
    """The URL ``response`` redirects ``request`` to, as Scrapy's RedirectMiddleware computes it, or
    None when it is not a redirect Scrapy would follow."""
    meta = request.meta
    if (response.status not in REDIRECT_STATUSES or b"Location" not in response.headers
            or meta.get("dont_redirect") or meta.get("handle_httpstatus_all")
            or response.status in meta.get("handle_httpstatus_list", ())):
        return None
    raw = response.headers[b"Location"] or b""
    location = safe_url_string(raw)
    if raw.startswith(b"//"):
        location = urlparse_cached(request).scheme + "://" + location.lstrip("/")
    return urljoin(request.url, location)


def allowed_hosts(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The hosts exempt from the guard (setting ``allow_hosts``), normalized as hosts are."""
    return frozenset(normalize_host(name) for name in names if name.strip())


class PrivateAddressMiddleware:
    """Downloader middleware refusing non-http(s) URLs always, and non-public targets unless
    ``COLLECTOR_ALLOW_PRIVATE``."""

    def __init__(self, crawler: Crawler, *, allow_private: bool = False,
                 allow_hosts: frozenset[str] = frozenset()) -> None:
        self.crawler = crawler
        self.allow_private = allow_private
        self.allow_hosts = allow_hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        """Build from the crawler (COLLECTOR_ALLOW_PRIVATE, COLLECTOR_ALLOW_HOSTS)."""
        return cls(crawler, allow_private=crawler.settings.getbool("COLLECTOR_ALLOW_PRIVATE"),
                   allow_hosts=allowed_hosts(crawler.settings.getlist("COLLECTOR_ALLOW_HOSTS")))

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Raise UnsupportedSchemeError or PrivateAddressError when the request must not be sent."""
        parts = urlparse_cached(request)
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise UnsupportedSchemeError(
                f"refused: {request.url}: unsupported scheme {parts.scheme + ':'!r} "
                "(only http and https are fetched)")
        host = parts.hostname or ""
        if self.allow_private or normalize_host(host) in self.allow_hosts:
            return
        address = host_address(host)
        if address is None:
            if is_private_name(host):
                raise PrivateAddressError(
                    f"refused: {host} is a local host name (use --allow-private to allow)")
            if request.meta.get("proxy"):
                return  # the proxy resolves the name (see the module docstring)
            from twisted.internet import reactor  # here: importing it installs the reactor

            resolved = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
            if not is_public_address(resolved):
                raise PrivateAddressError(
                    f"refused: {host} resolves to non-public address {resolved} "
                    "(use --allow-private to allow)")
            return
        if not is_public_address(address):
            shown = getattr(address, "ipv4_mapped", None) or address
            spelled = "" if str(shown) == host else f" (spelled {host})"
            raise PrivateAddressError(
                f"refused: {shown}{spelled} is a non-public address (use --allow-private to allow)")

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        """Raise UnsupportedSchemeError for a redirect to a URL that is not http or https."""
        target = redirect_target(request, response)
        if target is not None and urlsplit(target).scheme.lower() not in ALLOWED_SCHEMES:
            raise UnsupportedSchemeError(
                f"refused: {request.url} redirects to {target}: unsupported scheme "
                f"{urlsplit(target).scheme + ':'!r} (only http and https are fetched)")
        return response
