"""Ignore-rule benchmark (issue 17): what a rule adds to a verdict, against the verdict itself and against
the page's extraction (what every capture already pays).

    .venv/bin/python bench/ignore_bench.py [--paragraphs 120] [--rounds 200]

Builds an article of ``--paragraphs`` paragraphs (about 400 bytes each) with a date line, a view counter
and a "related stories" box, in two versions that differ only there; extracts both once (trafilatura, as
a capture does), then times per verdict, in the same process and run: the verdict alone (``decide``),
the verdict with a regex rule (filter both texts, decide twice: raw and filtered, as the judge does), and
with a CSS and an XPath rule (each capture's HTML parsed with lxml). Prints milliseconds per verdict and
the ratios to the verdict alone and to one extraction; writes bench/out/ignore_bench.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from collector.capture.extraction import extract_html, normalize_text, text_sha256
from collector.check.ignore import filter_text
from collector.check.verdict import Observation, decide

OUT = Path(__file__).resolve().parent / "out" / "ignore_bench.json"
WORDS = ["council", "budget", "library", "harbour", "river", "ferry", "school", "mayor", "vote", "debate",
         "tide", "gauge", "dredging", "minutes", "schedule", "crossing", "residents", "evening", "spending",
         "hours", "staff", "branches", "centre"]


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    pattern: str


def article(paragraphs: int, version: int) -> bytes:
    """An article whose date line, view counter and related box depend on ``version``."""
    body = []
    for n in range(paragraphs):
        words = [WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(60)]
        body.append(f"<p>Paragraph {n}: {' '.join(words)}.</p>")
    related = "".join(f"<li>Related story {version}-{i} about the harbour</li>" for i in range(5))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Council budget</title></head><body>"
            f"<article><h1>Council budget</h1><p class='dateline'>Updated: {version} December 2026</p>"
            f"<p class='views'>Read {1000 + version * 37} times</p>{''.join(body)}"
            f"<div class='box'><p>Also today: {related}</p></div></article></body></html>").encode()


def observation(url: str, html: bytes, text: str) -> Observation:
    normalized = normalize_text(text)
    return Observation(outcome="captured", http_status=200, url=url, final_url=url,
                       content_type="text/html; charset=utf-8", sha256=hashlib.sha256(html).hexdigest(),
                       text=normalized, text_sha256=text_sha256(normalized))


def per_call(fn: Any, rounds: int) -> float:
    """Milliseconds per call (best of three batches of ``rounds``)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paragraphs", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    url = "https://news.example/budget"
    html_a, html_b = article(args.paragraphs, 1), article(args.paragraphs, 2)
    text_a = extract_html(html_a, url)["text"]  # the first call warms trafilatura up
    fresh = iter(article(args.paragraphs, 10 + n) for n in range(10_000))  # distinct pages: no cache helps
    extraction_ms = per_call(lambda: extract_html(next(fresh), url), max(3, args.rounds // 20))
    text_b = extract_html(html_b, url)["text"]
    base, current = observation(url, html_a, text_a), observation(url, html_b, text_b)

    def judged(rules: list[Rule]) -> str:
        raw = decide(base, current)
        fa, sa = filter_text(base.text or "", rules, html_a)
        fb, sb = filter_text(current.text or "", rules, html_b)
        if not (sa or sb):
            return raw.status
        return decide(replace(base, text=fa, text_sha256=None),
                      replace(current, text=fb, text_sha256=None)).status

    regex = [Rule(1, "regex", r"^Updated: .*$"), Rule(2, "regex", r"^Read \d+ times$"),
             Rule(3, "regex", r"Also today: .*")]
    css = [Rule(1, "css", "p.dateline"), Rule(2, "css", "p.views"), Rule(3, "css", "div.box")]
    xpath = [Rule(1, "xpath", "//p[@class='dateline']"), Rule(2, "xpath", "//p[@class='views']"),
             Rule(3, "xpath", "//div[@class='box']")]
    verdicts = {"none": decide(base, current).status, "regex": judged(regex), "css": judged(css),
                "xpath": judged(xpath)}
    times = {"none": per_call(lambda: decide(base, current), args.rounds),
             "regex": per_call(lambda: judged(regex), args.rounds),
             "css": per_call(lambda: judged(css), args.rounds),
             "xpath": per_call(lambda: judged(xpath), args.rounds)}
    load = os.getloadavg()[0]
    result = {"html_bytes": len(html_a), "text_chars": len(text_a), "extraction_ms": round(extraction_ms, 2),
              "verdicts": verdicts, "ms_per_verdict": {k: round(v, 3) for k, v in times.items()},
              "ratio_to_verdict": {k: round(v / times["none"], 2) for k, v in times.items()},
              "ratio_to_extraction": {k: round(v / extraction_ms, 3) for k, v in times.items()},
              "load_average": round(load, 2)}
    print(f"page {len(html_a):,} bytes, text {len(text_a):,} chars; one extraction {extraction_ms:.1f} ms; "
          f"load average {load:.2f}")
    for kind in times:
        print(f"  {kind:<6} {verdicts[kind]:<10} {times[kind]:8.3f} ms/verdict  "
              f"x{times[kind] / times['none']:.2f} of the verdict alone, "
              f"{times[kind] / extraction_ms:.3f} of one extraction")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
