"""The read side over HTTP: Memento (RFC 7089), safe replay, the web interface, exports and the few
write endpoints (bearer token). ``create_app`` builds the Starlette application; ``collector serve`` runs
it under uvicorn."""

from __future__ import annotations

from collector.server.app import create_app
from collector.server.context import ServerContext

__all__ = ["ServerContext", "create_app"]
