"""A local webhook receiver, run as a subprocess; prints ``PORT <n>`` when ready.

  POST /hook/<name>        recorded; answered 500 while the name has failures left, else 204
  POST /_control           JSON {"name": n, "fail": k, "delay": s, "hold": b}: fail the next k posts
                           to /hook/<n>; wait s seconds before answering each failing one, or with
                           "hold", until POST /_release {"name": n} (60 s at most)
  POST /_release           JSON {"name": n}: answer the held posts of <n>
  GET  /_holding?name=n    JSON number of posts to <n> held right now
  GET  /_received?name=n   JSON list of {"headers", "body", "status"} received for <n>
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_lock = threading.Lock()
_received: dict[str, list[dict[str, Any]]] = {}
_fail: dict[str, int] = {}
_delay: dict[str, float] = {}
_hold: dict[str, threading.Event] = {}  # name -> released
_holding: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path = urlsplit(self.path).path
        if path == "/_control":
            data = json.loads(body)
            with _lock:
                _fail[data["name"]] = int(data.get("fail", 0))
                _delay[data["name"]] = float(data.get("delay", 0))
                if data.get("hold"):
                    _hold[data["name"]] = threading.Event()
            return self._send(200, b"{}")
        if path == "/_release":
            with _lock:
                _hold.get(json.loads(body)["name"], threading.Event()).set()
            return self._send(200, b"{}")
        if path.startswith("/hook/"):
            name = path.split("/", 2)[2]
            with _lock:
                failing = _fail.get(name, 0) > 0
                if failing:
                    _fail[name] -= 1
                status = 500 if failing else 204
            released = _hold.get(name)
            if failing and released is not None:
                with _lock:
                    _holding[name] = _holding.get(name, 0) + 1
                released.wait(60)
                with _lock:
                    _holding[name] -= 1
            elif failing:
                time.sleep(_delay.get(name, 0))
            with _lock:
                _received.setdefault(name, []).append(
                    {"headers": dict(self.headers.items()), "body": json.loads(body), "status": status})
            return self._send(status)
        return self._send(404)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/_received":
            name = parse_qs(parts.query)["name"][0]
            with _lock:
                data = json.dumps(_received.get(name, [])).encode()
            return self._send(200, data)
        if parts.path == "/_holding":
            name = parse_qs(parts.query)["name"][0]
            with _lock:
                data = json.dumps(_holding.get(name, 0)).encode()
            return self._send(200, data)
        return self._send(404)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
