"""The browser's pure parts: decoded-body headers, the request guard, which URLs take the browser, how
browser errors and crashes become failed attempts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Error
from playwright.async_api import TimeoutError as PlaywrightTimeout
from scrapy import Request
from scrapy.http import HtmlResponse

from spiders.browser import RECORDER_KEY, PageRecorder, RequestGuard, decoded_headers, tls_record
from spiders.browsercapture import MODE_REASON_KEY, BrowserCapture, browser_mode, host_listed
from spiders.capture import TARGET_KEY, CaptureSpider
from spiders.outcomes import classify_exception
from spiders.safety import allowed_hosts

HOSTS = ["facebook.com", "x.com", "t.me"]


def test_decoded_headers_keep_the_originals_and_fix_the_length() -> None:
    headers = [("Content-Type", "text/html"), ("content-encoding", "br"),
               ("Transfer-Encoding", "chunked"), ("Content-Length", "120"), ("X-Other", "1")]
    assert decoded_headers(headers, 480) == [
        ("Content-Type", "text/html"), ("X-Archive-Orig-Content-Encoding", "br"),
        ("X-Archive-Orig-Transfer-Encoding", "chunked"), ("X-Archive-Orig-Content-Length", "120"),
        ("X-Other", "1"), ("Content-Length", "480")]


def _refusal(guard: RequestGuard, url: str, navigation: bool = False) -> str | None:
    return asyncio.run(guard.refusal(url, navigation=navigation))


async def _resolve_private(host: str) -> list[str]:
    return {"intranet.example": ["10.1.2.3"], "mixed.example": ["93.184.215.14", "127.0.0.1"]}.get(
        host, ["93.184.215.14"])


@pytest.mark.parametrize(("url", "refused"), [
    ("https://example.org/a.js", False),
    ("http://127.0.0.1:8080/", True),
    ("http://0x7f.1/", True),
    ("http://[::ffff:127.0.0.1]/", True),
    ("http://169.254.169.254/latest/meta-data", True),
    ("http://10.255.255.1/secret", True),
    ("http://localhost/", True),
    ("http://printer.local/", True),
    ("http://intranet.example/", True),  # resolves to a private address
    ("http://mixed.example/", True),  # one of its addresses is private
    ("ftp://example.org/file", True),
    ("data:image/png;base64,AAAA", False),  # a sub-resource that never leaves the browser
    ("blob:https://example.org/1234", False),
])
def test_guard_refuses_private_targets(url: str, refused: bool) -> None:
    guard = RequestGuard(resolve=_resolve_private)
    assert (_refusal(guard, url) is not None) is refused


def test_guard_refuses_file_and_data_navigations() -> None:
    guard = RequestGuard(resolve=_resolve_private)
    assert "unsupported scheme" in (_refusal(guard, "data:text/html,hi", navigation=True) or "")
    assert "unsupported scheme" in (_refusal(guard, "file:///etc/passwd", navigation=True) or "")
    # allow_private opens the private network, never other schemes
    opened = RequestGuard(allow_private=True, resolve=_resolve_private)
    assert _refusal(opened, "http://127.0.0.1/") is None
    assert _refusal(opened, "file:///etc/passwd", navigation=True) is not None


def test_allow_hosts_exempts_only_those_hosts() -> None:
    guard = RequestGuard(allow_hosts=allowed_hosts(["127.0.0.1", "Intranet.Example."]),
                         resolve=_resolve_private)
    assert _refusal(guard, "http://127.0.0.1:9000/page") is None
    assert _refusal(guard, "http://intranet.example/") is None
    assert _refusal(guard, "http://127.0.0.2/") is not None
    assert _refusal(guard, "http://169.254.169.254/") is not None


def test_which_urls_take_the_browser() -> None:
    assert host_listed("m.facebook.com", HOSTS)
    assert host_listed("FACEBOOK.COM.", HOSTS)
    assert not host_listed("notfacebook.com", HOSTS)
    assert browser_mode("https://www.facebook.com/post/1", "auto", HOSTS) == "browser_hosts"
    assert browser_mode("https://news.example/a", "auto", HOSTS) is None
    assert browser_mode("https://news.example/a", "always", HOSTS) == "--browser"
    assert browser_mode("https://x.com/a/status/1", "never", HOSTS) is None


@pytest.mark.parametrize(("message", "reason"), [
    ("Page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:1/", "connection-refused"),
    ("Page.goto: net::ERR_NAME_NOT_RESOLVED at http://nowhere.invalid/", "dns-failure"),
    ("Page.goto: net::ERR_CONNECTION_RESET at http://a.example/", "connection-lost"),
    ("Page.goto: net::ERR_CERT_AUTHORITY_INVALID at https://a.example/", "tls-error"),
    ("Page.goto: net::ERR_UNSAFE_PORT at http://127.0.0.1:9/", "browser-error"),
    ("Target page, context or browser has been closed", "browser-error"),
])
def test_browser_errors_get_collector_reasons(message: str, reason: str) -> None:
    assert classify_exception(Error(message))[0] == reason


def test_a_browser_timeout_is_a_timeout() -> None:
    reason, detail = classify_exception(PlaywrightTimeout("Page.goto: Timeout 5000ms exceeded."))
    assert reason == "timeout" and "browser_timeout" in detail


class _CrashingBrowser(BrowserCapture):
    async def page_item(self, response: Any) -> dict[str, Any]:
        raise Error("Target crashed")


def test_a_page_that_crashes_is_a_failed_attempt() -> None:
    spider = CaptureSpider(targets=[{"url": "https://x.com/a/status/1"}])
    spider._browser = _CrashingBrowser()
    recorder = PageRecorder(RequestGuard())
    recorder.crashed = True
    target = {"url": "https://x.com/a/status/1"}
    request = Request(target["url"], meta={TARGET_KEY: target, RECORDER_KEY: recorder,
                                           MODE_REASON_KEY: "browser_hosts"})
    response = HtmlResponse(target["url"], body=b"<html></html>", request=request)

    async def collect() -> list[dict[str, Any]]:
        return [item async for item in spider.parse_browser(response)]

    [item] = asyncio.run(collect())
    assert item["outcome"] == "failed" and item["reason"] == "browser-error"
    assert item["reason_detail"] == "the page crashed: Target crashed"
    assert item["mode"] == "browser" and item["mode_reason"] == "browser_hosts"
    assert item["target"] == target


def test_tls_record_maps_playwrights_security_details() -> None:
    details = {"issuer": "R11", "protocol": "TLS 1.3", "subjectName": "example.org",
               "validFrom": 1767225600, "validTo": 1775001600}
    record = tls_record(details, verified=None)
    assert record is not None
    assert (record["issuer"], record["subject"], record["version"]) == ("CN=R11", "CN=example.org",
                                                                        "TLSv1.3")
    assert record["valid_from"] == datetime.fromtimestamp(details["validFrom"], UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert record["verified"] is None and record["fingerprint"] is None
    assert record["detail"].startswith("unchecked")
    assert tls_record(details, verified=True)["detail"].startswith("verified")  # type: ignore[index]
    assert tls_record(None, verified=None) is None
    assert tls_record({}, verified=None) is None
class _Request:
    """What the recorder's request listeners read of a Playwright request that fails."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.redirected_from = None
        self.failure = "net::ERR_ABORTED"


def test_wait_idle_wakes_when_the_last_request_ends() -> None:
    async def scenario() -> tuple[bool, list[str]]:
        recorder = PageRecorder(RequestGuard())
        request = _Request("https://example.org/slow.js")
        recorder._on_request(request)
        order: list[str] = []
        waiter = asyncio.ensure_future(recorder.wait_idle(60.0, quiet=0.0))
        waiter.add_done_callback(lambda _: order.append("idle"))
        for _ in range(10):  # the waiter runs, finds a request in flight, and sleeps
            await asyncio.sleep(0)
        order.append("request ended")
        recorder._on_failed(request)
        return await waiter, order

    idle, order = asyncio.run(scenario())
    assert idle is True
    assert order == ["request ended", "idle"]


def test_wait_idle_gives_up_at_its_timeout_with_a_request_in_flight() -> None:
    async def scenario() -> tuple[bool, int]:
        recorder = PageRecorder(RequestGuard())
        recorder._on_request(_Request("https://example.org/hang"))
        return await recorder.wait_idle(0.05), recorder.inflight

    idle, inflight = asyncio.run(scenario())
    assert idle is False and inflight == 1
