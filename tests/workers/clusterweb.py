"""A local web of many hosts for the worker tests and bench: one server on 127.0.0.1 ... 127.0.0.N.

Run as a subprocess: ``python clusterweb.py --hosts N [--latency S]``; prints ``PORT <n>`` once every
address listens (the same port on each). Every host answers:

  /page/<name>     a small HTML article (after ``--latency`` seconds)
  /robots.txt      allows everything (each fetch is counted)
  /_stats          JSON, per host: requests, robots fetches, the most connections in flight at once
                   (a request in flight from its arrival until its answer is sent)
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS: dict[str, dict[str, int]] = {}
LATENCY = 0.0


def _stat(host: str) -> dict[str, int]:
    return STATS.setdefault(host, {"requests": 0, "robots": 0, "in_flight": 0, "max_in_flight": 0})


class Handler(BaseHTTPRequestHandler):
    """The handler of every host."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """Answer one request."""
        host = self.server.server_address[0]
        if self.path == "/_stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            self._send(200, body, "application/json")
            return
        with LOCK:
            stat = _stat(str(host))
            stat["requests"] += 1
            stat["in_flight"] += 1
            stat["max_in_flight"] = max(stat["max_in_flight"], stat["in_flight"])
            if self.path == "/robots.txt":
                stat["robots"] += 1
        try:
            if LATENCY:
                time.sleep(LATENCY)
            if self.path == "/robots.txt":
                self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
            elif self.path.startswith("/page/"):
                name = self.path.removeprefix("/page/")
                body = (f"<html><head><title>{name}</title></head><body><article><h1>{name}</h1>"
                        f"<p>Page {name} of host {host}. " + "Some words of text. " * 40
                        + "</p></article></body></html>").encode()
                self._send(200, body)
            else:
                self._send(404, b"not found")
        finally:
            with LOCK:
                stat["in_flight"] -= 1

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    """Listen on 127.0.0.1 ... 127.0.0.N (one port) and serve until killed."""
    global LATENCY
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    LATENCY = args.latency
    first = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = first.server_address[1]
    servers = [first]
    for n in range(2, args.hosts + 1):
        servers.append(ThreadingHTTPServer((f"127.0.0.{n}", port), Handler))
    for server in servers:
        server.daemon_threads = True
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
