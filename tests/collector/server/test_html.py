"""The interface's HTML building blocks: capture colours and CSP-safe positions."""

from __future__ import annotations

import re

import pytest

from collector.server.assets import CSS, position_css
from collector.server.html import capture_badge, capture_class, position_classes


@pytest.mark.parametrize(("outcome", "status", "cls"), [
    ("captured", 200, "ok"), ("captured", 304, "ok"), ("captured", 404, "bad"), ("captured", 500, "bad"),
    ("failed", None, "bad"), ("skipped", None, "muted"), (None, None, "muted")])
def test_capture_class_colours_error_pages_as_errors(outcome: str | None, status: int | None,
                                                     cls: str) -> None:
    assert capture_class(outcome, status) == cls


def test_capture_badge_names_the_status_or_the_reason() -> None:
    assert capture_badge("captured", 404, None) == (
        '<span class="badge bad" data-verdict="captured">captured 404</span>')
    assert ">failed timeout<" in capture_badge("failed", None, "timeout")


def _left(classes: str) -> float:
    """What the stylesheet makes of ``classes``: the sum of the custom properties they set."""
    values = dict(re.findall(r"\.(p[a-z]\d+) \{ --p[a-z]:([\d.]+)%; \}", position_css()))
    return sum(float(values[c]) for c in classes.split() if c != "pos")


@pytest.mark.parametrize("percent", [0.0, 2.0, 12.34, 37.56, 50.0, 98.0, 99.96, 100.0])
def test_position_classes_add_up_to_the_position(percent: float) -> None:
    classes = position_classes(percent)
    assert classes.split()[0] == "pos"
    assert _left(classes) == pytest.approx(round(percent, 1), abs=1e-9)


def test_positions_are_clamped_and_served() -> None:
    assert position_classes(-5) == "pos" and _left(position_classes(250)) == 100
    assert position_css() in CSS and ".pos { left:calc(" in CSS
