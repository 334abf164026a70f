"""The guard proxy with real sockets: kept-alive forwarding of plain http, CONNECT tunnels, refusals
before any connection, the addresses it connected to."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from spiders.guardproxy import GUARD_HEADER, GuardProxy, check_host
from spiders.safety import allowed_hosts


class _Origin(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0

    def process_request(self, request: object, client_address: object) -> None:
        self.connections += 1
        super().process_request(request, client_address)  # type: ignore[arg-type]


class _Echo(BaseHTTPRequestHandler):
    """Answers with what it was asked: method, path, body and the request's headers (kept alive)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"method": self.command, "path": self.path,
                           "body": self.rfile.read(length).decode() if length else "",
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Origin", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


def _serve(host: str) -> Iterator[_Origin]:
    server = _Origin((host, 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def origin() -> Iterator[_Origin]:
    """An allowed origin on 127.0.0.1."""
    yield from _serve("127.0.0.1")


@pytest.fixture
def forbidden() -> Iterator[_Origin]:
    """An origin on 127.0.0.2: loopback, not allowed."""
    yield from _serve("127.0.0.2")


@pytest.fixture
def proxy() -> Iterator[GuardProxy]:
    with GuardProxy(allow_private=False, allow_hosts=allowed_hosts(["127.0.0.1"])) as running:
        yield running


def _client(proxy: GuardProxy) -> http.client.HTTPConnection:
    host, port = proxy.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _base(server: _Origin) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


def test_plain_http_is_forwarded_on_a_kept_alive_connection(proxy: GuardProxy, origin: _Origin) -> None:
    client = _client(proxy)
    seen = []
    for path, body in (("/first?x=1", None), ("/second", "form=1")):
        client.request("GET" if body is None else "POST", _base(origin) + path, body=body,
                       headers={"Proxy-Connection": "keep-alive"})
        response = client.getresponse()
        assert response.status == 200
        assert response.getheader("X-Origin") == "yes"  # the origin's headers, untouched
        assert response.getheader("Connection") is None
        seen.append(json.loads(response.read()))
    client.close()
    assert [(s["method"], s["path"], s["body"]) for s in seen] == [
        ("GET", "/first?x=1", ""), ("POST", "/second", "form=1")]
    assert all("proxy-connection" not in s["headers"] for s in seen)
    assert origin.connections == 1  # both requests over one upstream connection
    assert proxy.address_of("127.0.0.1", origin.server_address[1]) == "127.0.0.1"


def test_a_host_not_allowed_is_refused_before_any_connection(proxy: GuardProxy, origin: _Origin,
                                                             forbidden: _Origin) -> None:
    client = _client(proxy)
    client.request("GET", _base(forbidden) + "/secret")
    response = client.getresponse()
    assert response.status == 403
    assert "127.0.0.2" in (response.getheader(GUARD_HEADER) or "")
    client.close()
    tunnel = _client(proxy)
    tunnel.set_tunnel("127.0.0.2", forbidden.server_address[1])
    with pytest.raises(OSError, match="403"):
        tunnel.request("GET", "/secret")
    tunnel.close()
    assert forbidden.connections == 0
    assert len([entry for entry in proxy.refused if "127.0.0.2" in entry]) == 2
    assert proxy.address_of("127.0.0.2", forbidden.server_address[1]) is None


def test_switching_hosts_on_one_connection_checks_each(proxy: GuardProxy, origin: _Origin,
                                                       forbidden: _Origin) -> None:
    client = _client(proxy)
    client.request("GET", _base(origin) + "/ok")
    assert client.getresponse().read()
    client.request("GET", _base(forbidden) + "/secret")
    assert client.getresponse().status == 403
    client.close()
    assert forbidden.connections == 0


def test_connect_tunnels_bytes_both_ways(proxy: GuardProxy, origin: _Origin) -> None:
    tunnel = _client(proxy)
    tunnel.set_tunnel("127.0.0.1", origin.server_address[1])
    tunnel.request("GET", "/through")
    response = tunnel.getresponse()
    assert json.loads(response.read())["path"] == "/through"
    tunnel.close()


def test_check_host_rules() -> None:
    allow = allowed_hosts(["intranet.example", "127.0.0.1"])
    assert check_host("127.0.0.1", 80, allow_private=False, allow_hosts=allow) == ("127.0.0.1", None)
    assert check_host("0x7f.2", 80, allow_private=False, allow_hosts=allow)[1] is not None
    assert check_host("169.254.169.254", 80, allow_private=False)[1] is not None
    assert check_host("printer.local", 80, allow_private=False)[1] is not None
    assert check_host("Intranet.Example.", 80, allow_private=False, allow_hosts=allow)[1] is None
    assert check_host("10.0.0.1", 80, allow_private=True) == ("10.0.0.1", None)
