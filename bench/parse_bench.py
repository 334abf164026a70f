"""Report parsing speed: reports of 10,000 citations in text, Markdown and HTML (target: under 5 s).

Run: .venv/bin/python bench/parse_bench.py [--citations N]
Prints seconds per format and the ratio to the 5 s target; writes bench/out/parse_bench.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from collector.citations import parse_report

SENTENCE = ("The ministry said that \"permits were reduced by a third in {y}\" in a statement that was "
            "widely reported by regional media and discussed in parliament [{n}].")


def text_report(n: int) -> bytes:
    body = "\n".join(SENTENCE.format(y=2000 + i % 25, n=i) for i in range(1, n + 1))
    notes = "\n".join(f"[{i}] Author {i}, \u201cTitle number {i}\u201d, Site {i % 97}, March {1 + i % 28} "
                      f"2024; https://site{i % 97}.example/articles/{i}" for i in range(1, n + 1))
    return f"A report with {n} citations\n{body}\nNotes\n{notes}\n".encode()


def markdown_report(n: int) -> bytes:
    body = "\n\n".join(f"Claim number {i} is supported by a source[^{i}]." for i in range(1, n + 1))
    notes = "\n".join(f"[^{i}]: Author {i}, \"Title {i}\", https://site{i % 97}.example/a/{i}"
                      for i in range(1, n + 1))
    return f"# A report\n\n{body}\n\n{notes}\n".encode()


def html_report(n: int) -> bytes:
    body = "".join(f"<p>Claim {i}<sup><a href='#fn{i}'>{i}</a></sup>.</p>" for i in range(1, n + 1))
    notes = "".join(f"<li id='fn{i}'>Author {i}, \"Title {i}\", "
                    f"<a href='https://site{i % 97}.example/a/{i}'>link</a></li>" for i in range(1, n + 1))
    return (f"<html><head><title>R</title></head><body><article>{body}"
            f"<ol class='footnotes'>{notes}</ol></article></body></html>").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citations", type=int, default=10_000)
    args = parser.parse_args()
    results = {}
    for name, make, filename in (("text", text_report, "r.txt"), ("markdown", markdown_report, "r.md"),
                                 ("html", html_report, "r.html")):
        data = make(args.citations)
        start = time.perf_counter()
        parsed = parse_report(data, filename=filename)
        seconds = time.perf_counter() - start
        results[name] = {"seconds": round(seconds, 3), "citations": len(parsed.citations),
                         "bytes": len(data), "vs_5s_target": round(seconds / 5.0, 3)}
        print(f"{name:<9} {len(parsed.citations):>6} citations  {seconds:6.2f} s  "
              f"({seconds / 5.0:.2f} of the 5 s target)")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "parse_bench.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
