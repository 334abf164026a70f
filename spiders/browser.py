"""What a browser page loaded, recorded as hops the archive can write (Playwright, Chromium).

A :class:`PageRecorder` is attached to each page before it navigates
(``spiders.browserhandler.BrowserDownloadHandler`` does it, so a failure to attach fails the capture
instead of letting an unguarded page load). It then:

- routes every request the page makes (top document, frames, scripts, styles, images, fonts,
  XHR/fetch, media) through :class:`RequestGuard`, the browser's side of ``spiders.safety``: only http
  and https (``data:``/``blob:`` sub-resources stay inside the browser; a top-level ``file:`` or
  ``data:`` navigation is refused), no private, loopback or link-local target unless
  ``allow_private`` (or the host is in ``allow_hosts``). Each refusal is recorded;
- refuses every top-level navigation once the page has loaded (a behaviour's click, a script's
  ``location = ...``, a form submission) by answering it ``204 No Content``, which leaves the page
  where it is: the capture is of the page asked for;
- refuses downloads;
- keeps every finished request as a chain of hops (redirects first) in the same dict form as
  ``spiders.recording``: the top document's chain in ``document``, the others in ``resources``
  (bounded by ``max_resources``; the rest counted in ``dropped``). Playwright gives bodies decoded,
  so each is stored decoded: ``Content-Encoding``, ``Transfer-Encoding`` and ``Content-Length`` are
  kept as ``X-Archive-Orig-*`` and a ``Content-Length`` of the stored body is added
  (:func:`decoded_headers`), as browsertrix-crawler and pywb do;
- with a login profile, redacts its secrets from every hop's headers (``spiders.redaction``), and
  names the cookies of the top document's request, which Chromium adds without reporting them;
- notes console errors, page errors, failed requests and crashes for the page-info record;
- with a robots.txt check (``robots``: the crawl obeys robots.txt), skips the page's own sub-resource
  requests that robots.txt forbids, redirect hops included (never sent), each listed in
  ``robots_skipped``, and refuses a redirect of the top document to a URL it forbids (the capture
  fails ``robots-txt``, as an HTTP capture's redirect; the target's response is not kept);
- gives the top document's https hops their TLS evidence (:func:`tls_record`).

Redirects: Playwright calls a route handler only for the first URL of a redirect chain. So the
recorder also pauses every request in a DevTools session of its own (CDP ``Fetch``, which does pause
each redirect hop): a sub-resource's redirect hop that the guard refuses or robots.txt forbids fails
there, before it is sent, and is recorded like a refused first hop. The connection to any redirect's
target is refused by the guard proxy Chromium runs behind too (``spiders.guardproxy``, set as
``proxy`` by the download handler), so a private target receives nothing; the top document's target
is checked when Chromium reports the request and the refusal recorded, and neither the proxy's answer
nor any response of a refused target is kept. (Without the proxy, the request is already out: the
page is stopped there.)
With a proxy, Chromium's server address of a response is the proxy's: each hop's ``ip_address`` is
the address the proxy connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from spiders.guardproxy import GUARD_HEADER
from spiders.redaction import REDACTED, ProfileRedaction
from spiders.safety import host_address, is_private_name, is_public_address, normalize_host

__all__ = ["DOM_URN", "PAGEINFO_URN", "RECORDER_KEY", "SCREENSHOT_URN", "PageRecorder", "RequestGuard",
           "decoded_headers", "tls_record"]

RECORDER_KEY = "collector_browser"  # request.meta key of a browser request's PageRecorder

# target URIs of a browser capture's own records (urn: so that replay never takes them for the page)
SCREENSHOT_URN = "urn:screenshot:"
DOM_URN = "urn:dom:"
PAGEINFO_URN = "urn:pageinfo:"

_DECODED = ("content-encoding", "transfer-encoding", "content-length")
_INNER_SCHEMES = frozenset({"data", "blob", "about"})  # never leave the browser
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str], Awaitable[list[str]]]


class AddressBook(Protocol):
    """Where a proxy connected (``spiders.guardproxy.GuardProxy``)."""

    def address_of(self, host: str, port: int) -> str | None:
        """The address the latest connection to ``host``:``port`` went to."""


class RobotsCheck(Protocol):
    """robots.txt for a page's own requests (``spiders.robots.SubresourceRobots``)."""

    async def refusal(self, url: str) -> str | None:
        """Why robots.txt forbids ``url`` (None: allowed)."""


def tls_record(details: dict[str, Any] | None, *, verified: bool | None) -> dict[str, Any] | None:
    """The TLS record of a browser response from Playwright's ``security_details()``, in the keys of
    ``spiders.tls.describe_tls`` as far as they map: ``version`` (``TLS 1.3`` read ``TLSv1.3``),
    ``subject`` and ``issuer`` (common names only, as ``CN=...``), ``valid_from``/``valid_to``
    (ISO 8601, UTC). The browser gives no certificate: ``fingerprint``, ``cipher`` and ``chain_length``
    are None. ``verified``: True when Chromium verified the chain (``tls_verify`` on: it refuses an
    untrusted one), None when it was told to accept any."""
    if not details:
        return None
    protocol = str(details.get("protocol") or "") or None
    detail = ("verified (by Chromium)" if verified else
              "unchecked: browser capture with certificate errors ignored (tls_verify off); "
              "the browser gives no certificate chain to verify")

    def when(key: str) -> str | None:
        value = details.get(key)
        if not isinstance(value, int | float) or value <= 0:
            return None
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def name(key: str) -> str | None:
        value = details.get(key)
        return f"CN={value}" if value else None

    return {"verified": verified, "detail": detail, "fingerprint": None,
            "subject": name("subjectName"), "issuer": name("issuer"),
            "version": protocol.replace("TLS ", "TLSv") if protocol else None, "cipher": None,
            "chain_length": None, "valid_from": when("validFrom"), "valid_to": when("validTo"),
            "source": "browser"}


def _redirect_chain(request: Any) -> list[Any]:
    """``request`` and the requests it was redirected from, the first one first."""
    requests = [request]
    while requests[0].redirected_from is not None:
        requests.insert(0, requests[0].redirected_from)
    return requests


def decoded_headers(headers: list[tuple[str, str]], body_length: int) -> list[tuple[str, str]]:
    """Response headers for a body stored decoded: the encoding and length headers renamed
    ``X-Archive-Orig-<Name>`` and a ``Content-Length`` of ``body_length`` added."""
    out = []
    for name, value in headers:
        if name.lower() in _DECODED:
            title = "-".join(part.capitalize() for part in name.split("-"))
            out.append((f"X-Archive-Orig-{title}", value))
        else:
            out.append((name, value))
    out.append(("Content-Length", str(body_length)))
    return out


async def resolve_all(host: str) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as Chromium uses)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class RequestGuard:
    """The SSRF guard of a browser: which URLs a page may request."""

    def __init__(self, *, allow_private: bool = False, allow_hosts: frozenset[str] = frozenset(),
                 resolve: Resolver = resolve_all) -> None:
        self.allow_private = allow_private
        self.allow_hosts = allow_hosts
        self.resolve = resolve
        self._verdicts: dict[str, str | None] = {}  # host -> refusal (per page: names may move)

    async def refusal(self, url: str, *, navigation: bool = False) -> str | None:
        """Why ``url`` must not be requested (None: it may). ``navigation``: a top-level navigation."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            if scheme in _INNER_SCHEMES and not navigation:
                return None
            return f"unsupported scheme {scheme + ':'!r} (only http and https are fetched)"
        try:
            host = normalize_host(urlsplit(url).hostname or "")
        except ValueError:
            return "not a valid URL"
        if self.allow_private or host in self.allow_hosts:
            return None
        if host not in self._verdicts:
            self._verdicts[host] = await self._judge(host)
        return self._verdicts[host]

    async def _judge(self, host: str) -> str | None:
        address = host_address(host)
        if address is not None:
            if is_public_address(address):
                return None
            return f"{address} is a non-public address (use --allow-private to allow)"
        if is_private_name(host):
            return f"{host} is a local host name (use --allow-private to allow)"
        try:
            resolved = await self.resolve(host)
        except OSError:
            return None  # unresolvable here: Chromium fails it the same way
        private = [a for a in resolved if not is_public_address(a)]
        if private:
            return f"{host} resolves to non-public address {private[0]} (use --allow-private to allow)"
        return None


class PageRecorder:
    """Records one page's requests and responses, and guards them (see the module docstring)."""

    def __init__(self, guard: RequestGuard, *, max_resources: int = 500,
                 max_body_bytes: int = 50 * 2**20, verifies_tls: bool = False,
                 redaction: ProfileRedaction | None = None) -> None:
        self.guard = guard
        self.redaction = redaction  # a login profile's: its secrets leave no hop
        self.verifies_tls = verifies_tls  # Chromium refuses untrusted certificates (tls_verify)
        self.proxy: AddressBook | None = None  # the guard proxy Chromium runs behind
        self.robots: RobotsCheck | None = None  # set when the crawl obeys robots.txt
        self.robots_skipped: list[dict[str, str]] = []
        self.max_resources = max_resources
        self.max_body_bytes = max_body_bytes
        self.document: list[dict[str, Any]] | None = None
        self.resources: list[list[dict[str, Any]]] = []
        self.dropped = 0
        self.refused: list[dict[str, str]] = []
        self.failed: list[dict[str, str]] = []
        self.console_errors: list[str] = []
        self.blocked_navigations: list[str] = []
        self.downloads_refused: list[str] = []
        self.crashed = False
        self.loaded = False  # from here on, top-level navigations are refused
        self.inflight = 0
        self.last_activity = time.monotonic()
        self._activity = asyncio.Event()  # set at each request start or end (wakes wait_idle)
        self._responses: dict[Any, Any] = {}  # request -> its response, from the response event
        self.attached = False
        self._page: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._navigation_response: Any = None
        self._jar: dict[str, list[str]] = {}  # a profile's top document: cookies in the jar as it left
        self._redirects: set[int] = set()  # ids of the requests answered by a redirect
        self._main_frame: str | None = None  # the DevTools id of the page's main frame

    # -- wiring ---------------------------------------------------------------------------------
    async def attach(self, page: Any) -> None:
        """Install the guard and the listeners on ``page`` (before it navigates)."""
        self._page = page
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_finished)
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self._note_console(f"page error: {error}"))
        page.on("crash", self._on_crash)
        page.on("download", lambda download: self._spawn(self._refuse_download(download)))
        page.on("load", self._on_load)
        await page.route("**/*", self._route)  # runs before scrapy-playwright's (registered first)
        if self.robots is not None or not self.guard.allow_private:
            await self._intercept_redirects(page)
        self.attached = True

    async def _intercept_redirects(self, page: Any) -> None:
        """Pause every request of ``page`` in a DevTools session of our own (``Fetch``): Playwright
        routes only the first URL of a redirect chain, this session sees each redirect hop before it
        leaves (:meth:`_paused`); any other request goes on at once."""
        session = await page.context.new_cdp_session(page)
        tree = await session.send("Page.getFrameTree")
        self._main_frame = tree["frameTree"]["frame"]["id"]
        session.on("Fetch.requestPaused", lambda event: self._spawn(self._paused(session, event)))
        await session.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _is_top(self, request: Any) -> bool:
        try:
            return bool(request.is_navigation_request() and request.frame.parent_frame is None)
        except Exception:  # a frame already detached
            return False

    async def _route(self, route: Any, request: Any) -> None:
        top = self._is_top(request)
        if top and self.loaded:
            # answered "204 No Content": the browser stays on the page (an aborted navigation
            # would replace it with an error page)
            self.blocked_navigations.append(request.url)
            await _quietly(route.fulfill(status=204, body=b""))
            return
        reason = await self.guard.refusal(request.url, navigation=top)
        if reason is not None:
            self.refused.append({"url": request.url, "reason": reason})
            await _quietly(route.abort("blockedbyclient"))
            return
        if not top:
            skipped = await self._robots_refusal(request.url)
            if skipped is not None:
                self.robots_skipped.append({"url": request.url, "reason": skipped})
                await _quietly(route.abort("blockedbyclient"))
                return
        if top:
            if self.redaction is not None:
                await self._note_jar(request.url)
            await _quietly(route.fallback())  # scrapy-playwright's handler: the Scrapy request's headers
        else:
            await _quietly(route.continue_())  # as the page asked (one round trip less per request)

    async def _paused(self, session: Any, event: dict[str, Any]) -> None:
        """A request paused in our DevTools session: a sub-resource's redirect hop that the guard
        refuses (recorded in ``refused``) or robots.txt forbids (in ``robots_skipped``) fails there,
        never sent, as its first hop would be; anything else continues. The top document's redirects
        continue: they are checked when Chromium reports them (:meth:`_check_target`)."""
        request_id = event["requestId"]
        url = str(event.get("request", {}).get("url", ""))
        top = event.get("resourceType") == "Document" and event.get("frameId") == self._main_frame
        reason = None
        if event.get("redirectedRequestId") is not None and not top:
            reason = await self.guard.refusal(url)
            if reason is not None:
                if not any(r["url"] == url for r in self.refused):
                    self.refused.append({"url": url, "reason": f"redirect target: {reason}"})
            elif (reason := await self._robots_refusal(url)) is not None:
                self.robots_skipped.append({"url": url, "reason": reason})
        if reason is None:
            await _quietly(session.send("Fetch.continueRequest", {"requestId": request_id}))
        else:
            await _quietly(session.send("Fetch.failRequest",
                                        {"requestId": request_id, "errorReason": "BlockedByClient"}))

    async def _note_jar(self, url: str) -> None:
        """The names of the cookies the context holds for ``url`` as its top-level request leaves:
        Chromium adds them after scrapy-playwright's headers and does not report them for this
        request, so its record gets a ``Cookie`` header of these names, values redacted."""
        with contextlib.suppress(Exception):  # the page closed meanwhile: no header added
            cookies = await self._page.context.cookies(url)
            self._jar[url] = [str(c["name"]) for c in cookies]

    def _on_request(self, request: Any) -> None:
        self.inflight += 1
        self._active()
        if request.redirected_from is not None:  # not routed: check the redirect's target here
            self._spawn(self._check_redirect(request))

    async def _check_redirect(self, request: Any) -> None:
        await self._check_target(request.url, navigation=self._is_top(request))

    async def _check_target(self, url: str, *, navigation: bool) -> None:
        """Record a refusal of the redirect target ``url`` (by the guard, or for a top page by
        robots.txt) and stop the page when no proxy refused its connection."""
        reason = await self.guard.refusal(url, navigation=navigation)
        robots = (reason is None and navigation
                  and (reason := await self._robots_refusal(url)) is not None)
        if reason is not None and not any(r["url"] == url for r in self.refused):
            self.refused.append({"url": url, "reason": f"redirect target: {reason}"})
            if self._page is not None and (self.proxy is None or robots):
                # the request is out (no guard proxy refused its connection, or the proxy allowed
                # a host robots.txt forbids this path of): stop the page there
                with contextlib.suppress(Exception):
                    await self._page.evaluate("window.stop()")

    async def _robots_refusal(self, url: str) -> str | None:
        """Why robots.txt forbids the redirect target ``url`` (None: allowed, robots.txt unreadable,
        or the crawl does not obey it), as an HTTP capture's redirect is checked."""
        if self.robots is None:
            return None
        try:
            return await self.robots.refusal(url)
        except Exception:  # robots.txt could not be read: allowed, as for a plain request
            return None

    def _on_failed(self, request: Any) -> None:
        self.inflight = max(0, self.inflight - 1)
        self._active()
        response = self._responses.pop(request, None)
        location = response.headers.get("location") if response is not None else None
        if location and response.status in _REDIRECTS:
            # a redirect that failed (a CORS error on the refused target's answer): Chromium may
            # report no request for its target, which is checked here then
            self._spawn(self._check_target(urljoin(request.url, location),
                                           navigation=self._is_top(request)))
        failure = request.failure or "failed"
        if "ERR_BLOCKED_BY_CLIENT" not in failure and request.url not in self.blocked_navigations:
            self.failed.append({"url": request.url, "error": failure})

    def _active(self) -> None:
        self.last_activity = time.monotonic()
        self._activity.set()

    def _on_response(self, response: Any) -> None:
        if response.status in _REDIRECTS and "location" in response.headers:
            # followed by the browser: recorded with the chain of the request that follows it
            # (Playwright reports it finished before it links the next request to it)
            self._redirects.add(id(response.request))
        # kept for the recording (one round trip less per request than request.response())
        self._responses[response.request] = response
        if (self._navigation_response is None and self._is_top(response.request)
                and response.request.redirected_to is None and not 300 <= response.status < 400):
            self._navigation_response = response

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self._note_console(message.text)

    def _note_console(self, text: str) -> None:
        if len(self.console_errors) < 100:
            self.console_errors.append(str(text)[:1000])

    def _on_crash(self, _page: Any) -> None:
        self.crashed = True

    def _on_load(self, _page: Any) -> None:
        self.loaded = True

    async def _refuse_download(self, download: Any) -> None:
        self.downloads_refused.append(download.url)
        with contextlib.suppress(Exception):
            await download.cancel()

    # -- recording ------------------------------------------------------------------------------
    def _on_finished(self, request: Any) -> None:
        self.inflight = max(0, self.inflight - 1)
        self._active()
        self._spawn(self._finished(request))

    async def _finished(self, request: Any) -> None:
        scheme = urlsplit(request.url).scheme.lower()
        if scheme not in ("http", "https") or id(request) in self._redirects:
            self._redirects.discard(id(request))
            return  # a redirect is a hop of the chain its final request records
        try:
            chain = await self._chain(request)
        except Exception as exc:  # the page or context closed meanwhile
            self.failed.append({"url": request.url, "error": f"not recorded: {exc}"})
            return
        if await self._refused_hop(chain, top=self._is_top(request)):
            return  # a refused redirect target's response (or the proxy's answer) is not kept
        if self.document is None and self._is_top(request):
            self.document = await self._with_tls(request, chain)
        elif len(self.resources) < self.max_resources:
            self.resources.append(chain)
        else:
            self.dropped += 1

    async def _refused_hop(self, chain: list[dict[str, Any]], *, top: bool = False) -> bool:
        """True when a hop of ``chain`` was refused: by the guard (a redirect target, checked here
        too, whatever order the checks ran in), by robots.txt (a redirect target of the top
        document, when the crawl obeys it) or by the guard proxy (its answer is recorded as a
        refusal, never as the target's response)."""
        for hop in chain[1:]:
            if any(r["url"] == hop["url"] for r in self.refused):
                return True
            reason = await self.guard.refusal(hop["url"])
            if reason is None and top:
                reason = await self._robots_refusal(hop["url"])
            if reason is not None:
                self.refused.append({"url": hop["url"], "reason": f"redirect target: {reason}"})
                return True
        for hop in chain:
            marker = next((value for name, value in hop["response_headers"]
                           if name.lower() == GUARD_HEADER.lower()), None)
            if marker is not None and hop["ip_address"] is None:
                if not any(r["url"] == hop["url"] for r in self.refused):
                    self.refused.append({"url": hop["url"], "reason": f"guard proxy: {marker}"})
                return True
        return False

    async def _with_tls(self, request: Any, chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``chain`` (the top document's) with the TLS evidence of its https hops."""
        for hop, sent in zip(chain, _redirect_chain(request), strict=False):
            if urlsplit(hop["url"]).scheme != "https" or hop["status"] is None:
                continue
            try:
                response = await sent.response()
                details = await response.security_details() if response is not None else None
            except Exception:  # the page closed meanwhile: no evidence, the hop stands
                continue
            hop["tls"] = tls_record(details, verified=True if self.verifies_tls else None)
        return chain

    async def _chain(self, request: Any) -> list[dict[str, Any]]:
        """The hops of ``request``, its redirects first, as ``spiders.recording`` makes them."""
        return [await self._hop(r, final=r is request) for r in _redirect_chain(request)]

    async def _response(self, request: Any) -> Any:
        """The response of ``request``: the one its response event gave, else asked for."""
        response = self._responses.pop(request, None)
        return response if response is not None else await request.response()

    async def _hop(self, request: Any, *, final: bool) -> dict[str, Any]:
        response, sent_array = await asyncio.gather(self._response(request), request.headers_array())
        body = b""
        truncated = None
        raw: list[tuple[str, str]] = []
        address = None
        if response is not None:
            # the driver's answers at once (each is a round trip to Playwright's process)
            results = await asyncio.gather(
                response.body() if final else _nothing(), response.headers_array(),
                # behind the guard proxy Chromium's server address is the proxy's: not asked
                response.server_addr() if self.proxy is None else _nothing(),
                return_exceptions=True)
            if isinstance(results[0], BaseException):  # not kept (a redirect, an aborted stream)
                truncated = "unavailable"
            elif final:
                body = results[0] or b""
            if not isinstance(results[1], BaseException):
                raw = [(h["name"], h["value"]) for h in results[1]]
            if self.proxy is not None:  # Chromium's server address is the proxy's
                parts = urlsplit(request.url)
                with contextlib.suppress(ValueError):
                    address = self.proxy.address_of(
                        parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
            elif isinstance(results[2], dict):
                address = results[2].get("ipAddress")
        if len(body) > self.max_body_bytes:
            body, truncated = body[:self.max_body_bytes], "length"
        sent = [(h["name"], h["value"]) for h in sent_array]
        if self._jar.get(request.url) and not any(n.lower() == "cookie" for n, _ in sent):
            sent.append(("Cookie", "; ".join(f"{name}={REDACTED}" for name in self._jar[request.url])))
        if self.redaction is not None:
            sent = self.redaction.request_headers(sent)
            raw = self.redaction.response_headers(raw)
        if not any(name.lower() == "host" for name, _ in sent):
            sent.insert(0, ("Host", urlsplit(request.url).netloc))
        started = request.timing.get("startTime") if isinstance(request.timing, dict) else None
        requested_at = (datetime.fromtimestamp(started / 1000, UTC) if started and started > 0
                        else datetime.now(UTC))
        hop: dict[str, Any] = {
            "url": request.url, "method": request.method, "request_headers": sent,
            "request_body": request.post_data_buffer or b"", "requested_at": requested_at,
            "status": None, "protocol": "HTTP/1.1", "response_headers": [], "body": b"",
            "ip_address": None, "tls": None, "proxy": None, "truncated": truncated,
        }
        if response is not None:
            hop.update(status=response.status, reason_phrase=response.status_text or "",
                       response_headers=decoded_headers(raw, len(body)), body=body,
                       ip_address=address)
        return hop

    async def document_fallback(self, timeout: float) -> list[dict[str, Any]] | None:
        """The top document's hops when its request never finished (a page that never stops
        loading): its headers, with the body if the browser has it within ``timeout``."""
        if self.document is not None or self._navigation_response is None:
            return self.document
        request = self._navigation_response.request
        try:
            chain = await asyncio.wait_for(self._chain(request), timeout)
        except (TimeoutError, Exception):
            return None
        if await self._refused_hop(chain, top=self._is_top(request)):
            return None  # a refused redirect target: the proxy's answer is not the document
        chain[-1]["truncated"] = chain[-1].get("truncated") or "unfinished"
        return await self._with_tls(request, chain)

    async def settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for the responses being recorded."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=max(0.01, timeout))

    async def wait_idle(self, timeout: float, quiet: float = 0.5) -> bool:
        """Wait until no request has been in flight for ``quiet`` seconds (True), or ``timeout``
        passed (False)."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if self.inflight == 0 and now - self.last_activity >= quiet:
                return True
            if now >= deadline:
                return False
            # asleep until the quiet period would end, a request starts or ends, or the deadline
            wake = deadline if self.inflight else min(deadline, self.last_activity + quiet)
            self._activity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), max(0.001, wake - now))

    def refused_redirect(self) -> str | None:
        """The first refusal of a redirect target or by the guard proxy (None: there was none)."""
        return next((f"refused: {r['url']}: {r['reason']}" for r in self.refused
                     if r["reason"].startswith(("redirect target:", "guard proxy:"))), None)

    def info(self) -> dict[str, Any]:
        """What the page-info record says of the requests."""
        return {"resources": len(self.resources), "resources_dropped": self.dropped,
                "requests_refused": self.refused, "requests_failed": self.failed[:200],
                "robots_skipped": self.robots_skipped,
                "navigations_blocked": self.blocked_navigations,
                "downloads_refused": self.downloads_refused, "console_errors": self.console_errors,
                "crashed": self.crashed, "pending_requests": self.inflight}


async def _nothing() -> bytes:
    return b""


async def _quietly(action: Awaitable[Any]) -> None:
    """Await a route action; a page closed meanwhile is no error."""
    with contextlib.suppress(Exception):
        await action
