"""Extraction benchmark (issue 18). Run from the repository root:

    .venv/bin/python bench/extraction_bench.py [--corpus ../shared/corpora/trafilatura-eval] [--limit N]

Over the real pages of trafilatura's evaluation corpus (990 documents with ground truth), one process,
calls interleaved page by page (A then B, B then A on the next page, so that neither side gets the warm
caches), CPU time per call (``time.process_time``):
- **default**: ``trafilatura.extract(html)`` with its defaults (no metadata), the issue's yardstick;
- **collector**: ``collector.capture.extraction.extract_html(html, url)``: text, title, date;
- **before**: the call collector made before issue 18, ``bare_extraction(with_metadata=True)`` with its
  options, normalized the same way; the bench counts the pages where its text, title or date differ
  from collector's.
Dateparser's and jusText's caches are warmed first the way the extraction fork server warms them for
every worker (importing ``collector.capture.extract_preload``), so the figures are a warm worker's.
Quality for both, as trafilatura's own evaluation scores it: ``with`` snippets found are TP, missed are
FN, ``without`` snippets found are FP, micro F1 = 2TP/(2TP+FP+FN) after collapsing whitespace; and for
collector, the share of the 851 pages with ground truth whose title and date it gets (title: equal after
whitespace folding, or one contains the other; date: the same YYYY-MM-DD).
No asserts: figures are printed and written to bench/out/extraction_bench.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trafilatura

import collector.capture.extract_preload  # noqa: F401  # warms as the fork server does
from collector.capture.extraction import extract_html, normalize_text

OUT = Path(__file__).resolve().parent / "out" / "extraction_bench.json"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "trafilatura-eval"
_SPACES = re.compile(r"\s+")


def _fold(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


def score(text: str, expected: dict[str, Any], counts: dict[str, int]) -> None:
    """Add one document's TP/FN/FP/TN to ``counts`` (trafilatura's evaluation metric)."""
    folded = _fold(text)
    for snippet in expected.get("with", []):
        counts["tp" if _fold(snippet) in folded else "fn"] += 1
    for snippet in expected.get("without", []):
        counts["fp" if _fold(snippet) in folded else "tn"] += 1


def f1(counts: dict[str, int]) -> float:
    """Micro F1 = 2TP / (2TP + FP + FN)."""
    denominator = 2 * counts["tp"] + counts["fp"] + counts["fn"]
    return 2 * counts["tp"] / denominator if denominator else 0.0


def metadata_hits(result: dict[str, Any], expected: dict[str, Any], hits: dict[str, int]) -> None:
    """Count title and date matches against the ground truth, where the corpus gives them."""
    if expected.get("title"):
        hits["title_n"] += 1
        got, want = _fold(result.get("title")).lower(), _fold(expected["title"]).lower()
        hits["title_ok"] += bool(got) and (got == want or want in got or got in want)
    if expected.get("date"):
        hits["date_n"] += 1
        hits["date_ok"] += (result.get("published") or "")[:10] == str(expected["date"])[:10]


def load(corpus: Path, limit: int | None) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(url, html bytes, ground truth) of every page of the corpus's manifest."""
    truth = json.loads((corpus / "evaldata.json").read_text())
    pages = []
    for line in (corpus / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        html = gzip.decompress((corpus / entry["stored_as"]).read_bytes())
        url = entry["url"] if entry["url"].startswith("http") else None
        pages.append((url or "", html, truth[entry["url"]]))
    return pages[:limit] if limit else pages


def before(html: bytes, url: str | None) -> dict[str, Any]:
    """The extraction call of collector before issue 18 (full metadata)."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True, deduplicate=False)
    if doc is None:
        return {"text": "", "title": None, "published": None}
    return {"text": normalize_text(doc.text or ""), "title": doc.title, "published": doc.date}


def _timed(call: Any, *args: Any) -> tuple[Any, float]:
    start = time.process_time()
    try:
        result = call(*args)
    except Exception:  # an extractor crash counts as an empty output
        result = None
    return result, time.process_time() - start


def main() -> None:
    """Run both extractors over the corpus and print CPU and quality figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    pages = load(args.corpus, args.limit)
    for url, html, _ in pages[:5]:  # warm imports and lazy tables of all three
        trafilatura.extract(html)
        extract_html(html, url or None)
        before(html, url or None)
    cpu = {"default": 0.0, "collector": 0.0, "before": 0.0}
    counts = {name: {"tp": 0, "fn": 0, "fp": 0, "tn": 0} for name in cpu}
    hits = {name: {"title_n": 0, "title_ok": 0, "date_n": 0, "date_ok": 0} for name in cpu}
    differ = {"text": 0, "title": 0, "published": 0}
    calls = {
        "default": lambda html, url: {"text": trafilatura.extract(html)},
        "collector": lambda html, url: extract_html(html, url),
        "before": before,
    }
    for number, (url, html, expected) in enumerate(pages):
        order = list(calls)[number % 3:] + list(calls)[:number % 3]  # each goes first in turn
        results: dict[str, dict[str, Any]] = {}
        for name in order:
            result, spent = _timed(calls[name], html, url or None)
            results[name] = result or {}
            score(results[name].get("text") or "", expected, counts[name])
            metadata_hits(results[name], expected, hits[name])
            cpu[name] += spent
        for field in differ:
            differ[field] += results["collector"].get(field) != results["before"].get(field)
    n = len(pages)
    figures = {
        "pages": n,
        "cpu_ms_per_page": {name: round(1000 * spent / n, 2) for name, spent in cpu.items()},
        "cpu_ratio_collector_over_default": round(cpu["collector"] / cpu["default"], 3),
        "cpu_ratio_before_over_default": round(cpu["before"] / cpu["default"], 3),
        "f1": {name: round(f1(c), 4) for name, c in counts.items()},
        "counts": counts,
        "title_accuracy": {name: round(h["title_ok"] / max(h["title_n"], 1), 4)
                           for name, h in hits.items() if name != "default"},
        "date_accuracy": {name: round(h["date_ok"] / max(h["date_n"], 1), 4)
                          for name, h in hits.items() if name != "default"},
        "metadata_pages": {"title": hits["collector"]["title_n"], "date": hits["collector"]["date_n"]},
        "pages_where_collector_differs_from_before": differ,
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
