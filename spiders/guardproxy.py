"""The SSRF guard as a local HTTP proxy: every connection a browser (Chromium) or yt-dlp makes passes it.

Chromium and yt-dlp fetch on their own, outside Scrapy and its ``spiders.safety`` middleware, and both
follow redirects where no request interception sees them (Playwright routes only the first URL of a
redirect chain). Given this proxy (Chromium's ``--proxy-server``, yt-dlp's ``proxy``), each connection
they open, to any URL of any chain, meets the same rules: the host is normalized as
``spiders.safety`` reads it, private names are refused without a lookup, a name is resolved here and
refused if any address it has is not public, and the connection is made to the address that was
checked (a name that resolves elsewhere a moment later changes nothing). ``allow_private`` lets
everything through, ``allow_hosts`` the hosts named (tests, newsroom intranets).

- https (and WebSockets) arrive as ``CONNECT host:port`` and are tunnelled: TLS stays end to end.
- Plain http arrives in absolute form (``GET http://host/path``) and is forwarded on a kept-alive
  upstream connection (one per client connection, replaced when the client asks another host); the
  response bytes go back untouched (not even its ``Connection`` header), so what the client records
  is what the server sent.

A refused connection is answered ``403`` with the header ``X-Collector-Guard: refused: <why>``
(:data:`GUARD_HEADER`; an unreachable one ``502`` with ``unreachable: <why>``) and listed in
``refused``. One thread per client connection (a browser keeps its proxy connections alive).
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from spiders.safety import host_address, is_private_name, is_public_address, normalize_host

__all__ = ["GUARD_HEADER", "GuardProxy", "check_host"]

GUARD_HEADER = "X-Collector-Guard"  # on the proxy's own answers: "refused: <why>" or "unreachable: <why>"

_BUFFER = 64 * 1024
_MAX_HEAD = 64 * 1024
_IDLE_SECONDS = 120.0  # a client connection idle this long is closed
_HOP_HEADERS = (b"proxy-connection:", b"proxy-authorization:")


def check_host(host: str, port: int, *, allow_private: bool,
               allow_hosts: frozenset[str] = frozenset()) -> tuple[str, str | None]:
    """(address to connect to, None) when ``host`` may be reached, else (``""``, why not)."""
    name = normalize_host(host)
    if allow_private or name in allow_hosts:
        return name, None
    if is_private_name(name):
        return "", f"{host} is a private name (use --allow-private to allow)"
    literal = host_address(name)
    if literal is not None:
        if is_public_address(literal):
            return str(literal), None
        return "", f"{literal} is a non-public address (use --allow-private to allow)"
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return "", f"{host} does not resolve: {exc}"
    addresses = [str(info[4][0]) for info in infos]
    bad = [a for a in addresses if not is_public_address(a)]
    if bad or not addresses:
        return "", (f"{host} resolves to non-public address {', '.join(bad) or 'none'} "
                    "(use --allow-private to allow)")
    return addresses[0], None


@dataclass
class _Request:
    """A request head the client sent: method, target, the head's other lines, body framing."""

    method: str
    target: str
    lines: list[bytes]
    length: int
    chunked: bool

    @classmethod
    def parse(cls, head: bytes) -> _Request:
        first, *lines = head.split(b"\r\n")
        parts = first.decode("latin-1").split()
        if len(parts) != 3:
            raise ValueError(f"not a request line: {first[:100]!r}")
        length, chunked = 0, False
        for line in lines:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value.strip() or b"0")
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        return cls(parts[0].upper(), parts[1], lines, length, chunked)


class _Session:
    """One client connection: its requests forwarded, or one CONNECT tunnel."""

    def __init__(self, owner: GuardProxy, client: socket.socket) -> None:
        self.owner = owner
        self.client = client
        self.upstream: socket.socket | None = None
        self.upstream_key: tuple[str, int] | None = None
        self.buffer = bytearray()
        self.body_left = 0
        self.raw = False  # a chunked request body: the rest of the connection goes as it is

    def run(self) -> None:
        """Relay until either side closes, the client idles, or a request is refused."""
        try:
            while True:
                sockets = [self.client] + ([self.upstream] if self.upstream is not None else [])
                readable, _, _ = select.select(sockets, [], [], _IDLE_SECONDS)
                if not readable:
                    return
                if self.upstream is not None and self.upstream in readable:
                    data = self.upstream.recv(_BUFFER)
                    if not data:  # the server closed: so does this connection (as a direct one would)
                        return
                    self.client.sendall(data)
                if self.client in readable:
                    data = self.client.recv(_BUFFER)
                    if not data:
                        return
                    self.buffer += data
                    if not self._forward():
                        return
        except OSError:
            return
        finally:
            if self.upstream is not None:
                self.upstream.close()

    def _forward(self) -> bool:
        """Send what the buffer holds upstream, request by request; False: close the connection."""
        while self.buffer:
            if self.raw or self.body_left:
                size = len(self.buffer) if self.raw else min(self.body_left, len(self.buffer))
                assert self.upstream is not None
                self.upstream.sendall(self.buffer[:size])
                del self.buffer[:size]
                self.body_left -= 0 if self.raw else size
                continue
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return len(self.buffer) <= _MAX_HEAD
            head = bytes(self.buffer[:end])
            del self.buffer[:end + 4]
            try:
                request = _Request.parse(head)
            except ValueError:
                return False
            if request.method == "CONNECT":
                self._tunnel(request.target)
                return False
            if not self._send(request):
                return False
        return True

    def _send(self, request: _Request) -> bool:
        parts = urlsplit(request.target)
        if parts.scheme != "http" or not parts.hostname:
            self._answer(403, f"refused: only absolute http:// URLs are proxied ({request.target[:200]})")
            return False
        key = (normalize_host(parts.hostname), parts.port or 80)
        if key != self.upstream_key:
            if self.upstream is not None:
                self.upstream.close()
                self.upstream, self.upstream_key = None, None
            self.upstream = self._open(parts.hostname, key[1], request.target)
            if self.upstream is None:
                return False
            self.upstream_key = key
        assert self.upstream is not None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        lines = [f"{request.method} {path} HTTP/1.1".encode("latin-1")]
        lines += [line for line in request.lines if not line.lower().startswith(_HOP_HEADERS)]
        self.upstream.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        self.body_left, self.raw = request.length, request.chunked
        return True

    def _tunnel(self, target: str) -> None:
        host, _, port_text = target.rpartition(":")
        port = int(port_text) if port_text.isdigit() else 443
        upstream = self._open(host.strip("[]"), port, f"https://{target}")
        if upstream is None:
            return
        with upstream:
            self.client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if self.buffer:  # the client's first bytes (a ClientHello) came with the CONNECT
                upstream.sendall(self.buffer)
                self.buffer.clear()
            _pipe(self.client, upstream)

    def _open(self, host: str, port: int, target: str) -> socket.socket | None:
        """A connection to ``host``:``port`` when the guard lets it through (else answered)."""
        address, why = check_host(host, port, allow_private=self.owner.allow_private,
                                  allow_hosts=self.owner.allow_hosts)
        if why is not None:
            self.owner.note_refused(target, why)
            self._answer(403, f"refused: {why}")
            return None
        try:
            upstream = socket.create_connection((address, port), timeout=self.owner.timeout)
        except OSError as exc:
            self._answer(502, f"unreachable: {host}:{port}: {exc}")
            return None
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.owner.note_address(host, port, str(upstream.getpeername()[0]))
        return upstream

    def _answer(self, status: int, why: str) -> None:
        body = f"collector's SSRF guard: {why}\n".encode()
        reason = "Forbidden" if status == 403 else "Bad Gateway"
        marker = why.replace("\r", " ").replace("\n", " ")[:500]
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\n{GUARD_HEADER}: {marker}\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(OSError):
            self.client.sendall(head.encode("latin-1", "replace") + body)


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes (or both idle ``_IDLE_SECONDS``)."""
    sockets = [client, upstream]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, _IDLE_SECONDS)
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


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _Session(self.server.owner, self.request).run()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    owner: GuardProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client or upstream that goes away mid-transfer: the client reports it


class GuardProxy:
    """The guard proxy on 127.0.0.1 (an ephemeral port): ``with GuardProxy(...) as proxy: ...
    proxy.url`` (or :meth:`start` and :meth:`close`)."""

    def __init__(self, *, allow_private: bool, allow_hosts: frozenset[str] = frozenset(),
                 timeout: float = 30.0, name: str = "guard-proxy") -> None:
        self.allow_private = allow_private
        self.allow_hosts = allow_hosts
        self.timeout = timeout
        self.refused: list[str] = []  # "<target>: <why>" of every connection refused
        self._addresses: dict[tuple[str, int], str] = {}  # (host, port) -> the address last connected
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        """The proxy URL to give the client."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def note_refused(self, target: str, why: str) -> None:
        """Remember a refused connection (kept to the latest 1,000)."""
        with self._lock:
            self.refused.append(f"{target}: {why}")
            del self.refused[:-1000]

    def note_address(self, host: str, port: int, address: str) -> None:
        """Remember the address a connection to ``host``:``port`` was made to."""
        with self._lock:
            self._addresses[(normalize_host(host), port)] = address
            if len(self._addresses) > 4096:
                self._addresses.pop(next(iter(self._addresses)))

    def address_of(self, host: str, port: int) -> str | None:
        """The IP address the latest connection to ``host``:``port`` went to (None: none made)."""
        with self._lock:
            return self._addresses.get((normalize_host(host), port))

    def start(self) -> GuardProxy:
        """Serve in a daemon thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the listening socket (open tunnels end with their clients)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self._server.server_close()

    def __enter__(self) -> GuardProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
