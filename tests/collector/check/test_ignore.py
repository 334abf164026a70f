"""Ignore rules, the pure part: what each kind of rule matches, what is removed, and the verdict made on
the filtered texts while the raw one still says ``changed``."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import pytest

from collector.check.ignore import Ignored, filter_text, ignored_spans, remove_spans, summarize, validate
from collector.check.verdict import decide
from collector.errors import InputError
from tests.collector.check.helpers import html_page


@dataclass(frozen=True)
class R:
    id: int
    kind: str
    pattern: str


TEXT = ("Council budget\nUpdated: 2 December 2026, 09:12\nThe council approved the budget.\n"
        "Views: 1,204\nThe new budget raises spending on libraries.")
HTML = ("<html><body><article><h1>Council budget</h1><p class='dateline'>Updated: 2 December 2026, "
        "09:12</p><p>The council approved the budget.</p><span id='views'>Views: 1,204</span>"
        "<p>The new budget raises spending on libraries.</p></article></body></html>")


@pytest.mark.parametrize("rule", [R(1, "regex", r"^Updated: .*$"), R(1, "css", "p.dateline"),
                                  R(1, "xpath", "//p[@class='dateline']"),
                                  R(1, "xpath", "//p[@class='dateline']/text()")])
def test_every_kind_removes_the_date_line_and_only_it(rule: R) -> None:
    filtered, spans = filter_text(TEXT, [rule], HTML)
    assert [s.text for s in spans] == ["Updated: 2 December 2026, 09:12"]
    assert filtered.split("\n") == [line for line in TEXT.split("\n") if not line.startswith("Updated")]


def test_css_without_html_removes_nothing_and_a_selector_matching_nothing_neither() -> None:
    assert filter_text(TEXT, [R(1, "css", "p.dateline")]) == (TEXT, [])
    assert filter_text(TEXT, [R(1, "css", "p.nowhere")], HTML) == (TEXT, [])


def test_an_element_the_extractor_dropped_removes_nothing_else() -> None:
    html = HTML.replace("</article>", "</article><aside class='more'>The council</aside>")
    # "The council" (short) is the aside's whole text: removed only where it is a line of its own
    assert ignored_spans(TEXT, [R(2, "css", "aside.more")], html) == []
    spans = ignored_spans(TEXT + "\nThe council", [R(2, "css", "aside.more")], html)
    assert [(s.start, s.text) for s in spans] == [(len(TEXT) + 1, "The council")]


def test_element_text_located_across_line_breaks_and_bullets() -> None:
    text = "Intro.\nRelated stories\n- Story one about ferries\n- Story two\nEnd."
    html = ("<p>Intro.</p><aside><h3>Related stories</h3><ul><li>Story one about ferries</li>"
            "<li>Story two</li></ul></aside><p>End.</p>")
    filtered, spans = filter_text(text, [R(3, "css", "aside")], html)
    assert filtered == "Intro.\nEnd."
    assert len(spans) == 1 and spans[0].rule_id == 3


def test_overlapping_rules_merge_and_blank_lines_of_the_original_stay() -> None:
    text = "A\n\nViews: 12 today\nB"
    spans = ignored_spans(text, [R(1, "regex", r"Views: \d+"), R(2, "regex", r"\d+ today")])
    assert len(spans) == 2
    assert remove_spans(text, spans) == "A\n\nB"
    assert summarize([R(1, "regex", "x"), R(2, "regex", "y"), R(3, "regex", "z")], spans) == [
        {"id": 1, "kind": "regex", "pattern": "x", "removed": ["Views: 12"]},
        {"id": 2, "kind": "regex", "pattern": "y", "removed": ["12 today"]}]


def test_part_of_a_line_is_removed_and_the_line_kept() -> None:
    assert filter_text("Seen by 1,204 readers. Good.", [R(1, "regex", r"Seen by [\d,]+ readers\. ")])[0] \
        == "Good."


@pytest.mark.parametrize(("kind", "pattern", "message"), [
    ("regex", "(unclosed", "not a valid regular expression"),
    ("regex", ".*", "matches the empty text"),
    ("css", "p[[", "CSS selector"),
    ("xpath", "//p[", "XPath"),
    ("glob", "*", "unknown rule kind"),
    ("regex", "  ", "empty regex pattern"),
])
def test_invalid_patterns_are_named(kind: str, pattern: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        validate(kind, pattern)
    assert kind == "glob" or pattern.strip() == "" or repr(pattern) in str(caught.value)


def test_verdict_changed_raw_unchanged_filtered() -> None:
    url = "https://news.example/budget"
    body = "The council approved the budget on Monday.\nThe new budget raises spending on libraries."
    old = html_page(url, "Updated: 1 December 2026\n" + body)
    new = html_page(url, "Updated: 2 December 2026\n" + body)
    raw = decide(old, new)
    assert raw.status == "changed" and raw.similarity is not None and raw.similarity < 1
    rules = [R(7, "regex", r"^Updated: .*$")]
    old_f, old_spans = filter_text(old.text or "", rules)
    new_f, new_spans = filter_text(new.text or "", rules)
    filtered = decide(replace(old, text=old_f, text_sha256=None), replace(new, text=new_f, text_sha256=None))
    assert filtered.status == "unchanged" and filtered.similarity == 1.0
    assert [s.text for s in old_spans + new_spans] == ["Updated: 1 December 2026", "Updated: 2 December 2026"]


def _reference_removal(text: str, spans: list[Ignored]) -> str:
    """remove_spans written the slow, obvious way: character by character."""
    cut = [False] * len(text)
    for span in spans:
        cut[span.start:span.end] = [True] * (span.end - span.start)
    out, pos = [], 0
    for line in text.split("\n"):
        end = pos + len(line)
        kept = "".join(ch for ch, gone in zip(line, cut[pos:end], strict=True) if not gone)
        if kept.strip(" \t-*•·|") or not any(cut[pos:end]):
            out.append(kept)
        pos = end + 1
    return "\n".join(out)


def test_remove_spans_agrees_with_the_obvious_way() -> None:
    rng = random.Random(17)
    for _ in range(3000):
        text = "".join(rng.choice("ab \n-") for _ in range(rng.randint(0, 30)))
        spans = []
        for _ in range(rng.randint(1, 4)):
            start = rng.randint(0, len(text))
            end = rng.randint(start, len(text))
            spans.append(Ignored(1, start, end, text[start:end]))
        assert remove_spans(text, spans) == _reference_removal(text, spans), (text, spans)
