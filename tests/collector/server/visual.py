"""What a person sees, measured in a real browser: CSP violations, colours and contrast (WCAG 2.x),
element boxes. The browser side only reports computed styles and boxes; the arithmetic is plain Python.
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CSP_LISTENER", "Box", "Seen", "box", "colours", "contrast", "hue_class", "parse_colour",
           "unreadable", "watch"]

# Runs in every frame before the page's own scripts: CSP violations become a list the test reads.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
                              + ' at line ' + e.lineNumber + ': ' + (e.sample || ''));
});
"""

# The background colour of the first ancestor-or-self that has one (transparent when none has).
_BACKGROUND = """
function backgroundOf(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (!/^rgba\\(.*,\\s*0\\)$/.test(c) && c !== 'transparent') { return c; }
  }
  return 'rgba(0, 0, 0, 0)';
}
"""

# The element's text colour and effective background.
_COLOURS = "el => {" + _BACKGROUND + """
  const s = getComputedStyle(el);
  return {text: s.color, background: backgroundOf(el), visibility: s.visibility, opacity: s.opacity};
}
"""

# Every rendered element that has text of its own: its text, colours and tag.
_TEXTS = "() => {" + _BACKGROUND + """
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = Array.from(el.childNodes).filter(n => n.nodeType === Node.TEXT_NODE)
      .map(n => n.textContent).join('').trim();
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    if (!own || r.width === 0 || r.height === 0 || s.visibility !== 'visible') { continue; }
    out.push({tag: el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''),
              text: own.slice(0, 40), colour: s.color, background: backgroundOf(el)});
  }
  return out;
}
"""

_RGB = re.compile(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+))?\s*\)")


def parse_colour(css: str) -> tuple[float, float, float, float]:
    """``rgb(r, g, b)`` / ``rgba(r, g, b, a)`` as computed by the browser -> (r, g, b, alpha)."""
    match = _RGB.fullmatch(css.strip())
    if match is None:
        raise ValueError(f"not a computed rgb() colour: {css!r}")
    r, g, b, alpha = match.groups()
    return float(r), float(g), float(b), 1.0 if alpha is None else float(alpha)


def _over(top: tuple[float, float, float, float], under: tuple[float, float, float]
          ) -> tuple[float, float, float]:
    alpha = top[3]
    return tuple(alpha * t + (1 - alpha) * u for t, u in zip(top[:3], under, strict=True))  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(text: str, background: str) -> float:
    """WCAG contrast ratio of computed ``text`` colour over computed ``background`` (on a white page)."""
    back = _over(parse_colour(background), (255.0, 255.0, 255.0))
    fore = _over(parse_colour(text), back)
    light, dark = sorted((_luminance(fore), _luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def hue_class(css: str) -> str:
    """``error`` (reds), ``warning`` (oranges, yellows), ``ok`` (greens), ``neutral`` (greys, blues...)."""
    r, g, b, _ = parse_colour(css)
    hue, light, saturation = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
    degrees = hue * 360
    if saturation < 0.25 or light < 0.08 or light > 0.95:
        return "neutral"
    if degrees < 15 or degrees >= 330:
        return "error"
    if degrees < 65:
        return "warning"
    if 80 <= degrees < 170:
        return "ok"
    return "neutral"


@dataclass
class Seen:
    """Console errors, uncaught exceptions and CSP violations of one tab."""

    errors: list[str]
    expected: list[tuple[int, str]] = field(default_factory=list)

    def expect(self, status: int, url: str) -> None:
        """Answers ``status`` from ``url`` are the point of what the test does: not errors, whether their
        console message came already or comes later (Chromium logs a failed load asynchronously)."""
        self.expected.append((status, url))

    def _unexpected(self) -> list[str]:
        return [e for e in self.errors
                if not any(url in e and f" {status}" in e for status, url in self.expected)]

    def check(self, page: Any) -> None:
        """Assert nothing went wrong on ``page`` (and in its frames' consoles) so far."""
        violations = page.evaluate("() => window.__cspViolations || []")
        assert violations == [], f"CSP violations on {page.url}: {violations}"
        unexpected = self._unexpected()
        assert unexpected == [], f"console errors on {page.url}: {unexpected}"


def watch(page: Any) -> Seen:
    """Record ``page``'s console errors, uncaught exceptions and failed loads (CSP reports itself in the
    console too)."""
    seen = Seen([])
    page.on("console", lambda msg: seen.errors.append(f"{msg.type}: {msg.text} ({msg.location['url']})")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(f"pageerror: {exc}"))
    page.on("response", lambda response: seen.errors.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400 else None)
    return seen


def unreadable(page: Any, minimum: float) -> list[str]:
    """Every rendered piece of text on ``page`` whose contrast with its background is below ``minimum``."""
    return [f"{t['tag']} {t['text']!r}: {contrast(t['colour'], t['background']):.2f}"
            for t in page.evaluate(_TEXTS) if contrast(t["colour"], t["background"]) < minimum]


def colours(locator: Any) -> dict[str, str]:
    """Computed text colour, effective background colour, visibility and opacity of one element."""
    found: dict[str, str] = locator.evaluate(_COLOURS)
    return found


@dataclass(frozen=True)
class Box:
    """An element's bounding box in CSS pixels."""

    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> float:
        """Horizontal centre."""
        return self.x + self.width / 2


def box(locator: Any) -> Box:
    """The bounding box of a visible element (fails when it has none)."""
    found = locator.bounding_box()
    assert found is not None, f"{locator} has no box (not rendered)"
    return Box(found["x"], found["y"], found["width"], found["height"])
