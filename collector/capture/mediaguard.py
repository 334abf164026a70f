"""The SSRF guard in front of yt-dlp: a local HTTP proxy that yt-dlp sends every connection through.

yt-dlp fetches on its own (the page, its API calls, manifests, every media segment, and every redirect
of each), outside Scrapy and its ``spiders.safety`` middleware. Giving it this proxy puts each of
those connections in front of the same rules: a host is normalized as ``spiders.safety`` reads it,
private names are refused without a lookup, a name is resolved here and refused if any address it
has is not public, and the connection is then made to the address that was checked (a name that
resolves elsewhere a moment later changes nothing). Only ports 80 and 443 and the target's own port
are reachable. ``allow_private`` lets everything through (tests, newsroom intranets).

Plain http requests arrive in absolute form (``GET http://host/path``) and are forwarded with
``Connection: close``; https arrives as ``CONNECT host:443`` and is tunnelled (yt-dlp verifies TLS end
to end). A refused connection is answered ``403`` and listed in ``refused``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from spiders.safety import host_address, is_private_name, is_public_address, normalize_host

__all__ = ["GuardProxy", "check_host"]

_BUFFER = 64 * 1024


def check_host(host: str, port: int, *, allow_private: bool) -> tuple[str, str | None]:
    """(address to connect to, None) when ``host`` may be reached, else (``""``, why not)."""
    name = normalize_host(host)
    if allow_private:
        return name, None
    if is_private_name(name):
        return "", f"{host} is a private name"
    literal = host_address(name)
    if literal is not None:
        return (str(literal), None) if is_public_address(literal) else ("", f"{host} is a private address")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return "", f"{host} does not resolve: {exc}"
    addresses = [str(info[4][0]) for info in infos]
    bad = [a for a in addresses if not is_public_address(a)]
    if bad or not addresses:
        return "", f"{host} resolves to a private address ({', '.join(bad) or 'none'})"
    return addresses[0], None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _refuse(self, target: str, why: str) -> None:
        self.server.owner.refused.append(f"{target}: {why}")
        body = f"refused by collector's SSRF guard: {why}\n".encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _connect(self, host: str, port: int, target: str) -> socket.socket | None:
        address, why = check_host(host, port, allow_private=self.server.owner.allow_private)
        if why is not None:
            self._refuse(target, why)
            return None
        try:
            return socket.create_connection((address, port), timeout=self.server.owner.timeout)
        except OSError as exc:
            self.send_error(502, f"cannot connect to {host}:{port}: {exc}")
            return None

    def do_CONNECT(self) -> None:
        host, _, port_text = self.path.rpartition(":")
        port = int(port_text) if port_text.isdigit() else 443
        upstream = self._connect(host.strip("[]"), port, f"https://{self.path}")
        if upstream is None:
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        _pipe(self.connection, upstream)

    def _forward(self) -> None:
        parts = urlsplit(self.path)
        if parts.scheme != "http" or not parts.hostname:
            self._refuse(self.path, "only absolute http:// URLs are proxied")
            return
        upstream = self._connect(parts.hostname, parts.port or 80, self.path)
        if upstream is None:
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        lines = [f"{self.command} {path} HTTP/1.1"]
        for name, value in self.headers.items():
            if name.lower() not in ("connection", "proxy-connection", "keep-alive", "proxy-authorization"):
                lines.append(f"{name}: {value}")
        lines.append("Connection: close")
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length)
        with upstream:
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = upstream.recv(_BUFFER)
                if not chunk:
                    break
                head += chunk
            self.wfile.write(_closing(head))
            while True:
                chunk = upstream.recv(_BUFFER)
                if not chunk:
                    break
                self.wfile.write(chunk)
        self.close_connection = True

    do_GET = do_HEAD = do_POST = _forward


def _closing(head: bytes) -> bytes:
    """The response head with ``Connection: close`` (this proxy closes after each response: a client
    that took the connection for kept alive would send its next request into a closed socket)."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return head
    lines = [line for line in head[:end].split(b"\r\n")
             if not line.lower().startswith((b"connection:", b"keep-alive:", b"proxy-connection:"))]
    return b"\r\n".join([*lines, b"Connection: close"]) + head[end:]


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    with upstream:
        sockets = [client, upstream]
        while True:
            readable, _, broken = select.select(sockets, [], sockets, 60)
            if broken or not readable:
                return
            for sock in readable:
                try:
                    data = sock.recv(_BUFFER)
                except OSError:
                    return
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: GuardProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client or upstream that goes away mid-transfer: yt-dlp reports it


class GuardProxy:
    """The guard proxy on 127.0.0.1 (an ephemeral port), for one media run: ``with GuardProxy(...) as
    proxy: ... proxy.url``."""

    def __init__(self, *, allow_private: bool, timeout: float = 30.0) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.refused: list[str] = []  # "<target>: <why>" of every connection refused
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="media-guard",
                                        daemon=True)

    @property
    def url(self) -> str:
        """The proxy URL to give yt-dlp."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> GuardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        with contextlib.suppress(OSError):
            self._server.server_close()
        self._thread.join(timeout=10)
