"""A browser capture's full-page screenshot, taken over Chromium's DevTools protocol.

Playwright's ``page.screenshot(full_page=True)`` takes several round trips to the page (the page's
size, a style that hides the caret, the capture, the style removed) and encodes the PNG at zlib's
default level. Here the capture is one ``Page.captureScreenshot`` call on a DevTools session opened
while the page settles (:meth:`Screenshooter.start`), clipped to the page's full size as Playwright
clips it, with ``optimizeForSpeed``: the same lossless PNG pixels, encoded with zlib's fastest
setting (a larger file: on a bench page 0.055 s and 31 KB instead of 0.14 s and 13 KB, load 19).
Where the session cannot be had, Playwright's screenshot is taken instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
from typing import Any

__all__ = ["Screenshooter"]


class Screenshooter:
    """The full-page PNG screenshot of one page (see the module docstring)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self._session: asyncio.Future[Any] | None = None

    def start(self) -> Screenshooter:
        """Open the DevTools session now, in the background (its round trip is then not waited for
        at the screenshot)."""
        self._session = asyncio.ensure_future(self.page.context.new_cdp_session(self.page))
        return self

    async def take(self, timeout: float) -> bytes:
        """The page's full-page PNG; raises when none can be taken within ``timeout`` seconds."""
        session = await self._opened()
        if session is None:
            return bytes(await self.page.screenshot(full_page=True, type="png", timeout=timeout * 1000))
        metrics = await asyncio.wait_for(session.send("Page.getLayoutMetrics"), timeout)
        view, content = metrics["cssLayoutViewport"], metrics["cssContentSize"]
        width = math.ceil(max(content["width"], view["clientWidth"]))
        height = math.ceil(max(content["height"], view["clientHeight"]))
        fits = width <= view["clientWidth"] and height <= view["clientHeight"]
        result = await asyncio.wait_for(session.send("Page.captureScreenshot", {
            "format": "png", "optimizeForSpeed": True, "captureBeyondViewport": not fits,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}), timeout)
        return base64.b64decode(result["data"])

    async def _opened(self) -> Any:
        """The DevTools session, or None when it could not be opened."""
        if self._session is None:
            self.start()
        assert self._session is not None
        try:
            return await self._session
        except Exception:  # not Chromium, or the page went away: Playwright's screenshot says which
            return None

    def close(self) -> None:
        """Forget the session (it ends with the page's context); a pending opening is cancelled."""
        if self._session is not None and not self._session.done():
            self._session.cancel()
        elif self._session is not None and not self._session.cancelled():
            with contextlib.suppress(Exception):
                self._session.exception()  # retrieved: no "never retrieved" warning
