"""A tiny local web server of fixed pages on 127.0.0.1 (for the demo; never exposed)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LocalWeb", "Page"]


@dataclass
class Page:
    """One route: status, body and headers."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})


class LocalWeb:
    """Serve ``pages`` (path -> Page, changeable while running) on an ephemeral loopback port."""

    def __init__(self, pages: dict[str, Page]) -> None:
        self.pages = pages
        web = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "collector-demo/1"

            def do_GET(self) -> None:
                page = web.pages.get(self.path.split("?", 1)[0]) or Page(b"not found", 404)
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LocalWeb:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
