"""``collector demo``: the main job end to end, offline, on a local web of the project's own pages."""

from __future__ import annotations

import difflib
import json
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

from collector.capture.run import capture_urls
from collector.config import load_config
from collector.demo.localweb import LocalWeb, Page
from collector.inputs import parse_time
from storage import retrieve
from storage.archive import Archive
from storage.queries import closest_capture

__all__ = ["compare", "run_demo"]

OUT = Console(highlight=False, soft_wrap=True)
ERR = Console(stderr=True, highlight=False)


def _site(version: int) -> dict[str, Page]:
    files = resources.files("collector.demo") / "site"

    def page(name: str) -> Page:
        return Page((files / name).read_bytes())

    pages = {
        "/robots.txt": Page(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}),
        "/report.html": page("report.html"),
        "/ministry-statement.html": page(f"ministry-statement.v{version}.html"),
        "/news/river-low.html": page(f"river-low.v{version}.html"),
        "/old/river-story": Page(b"", 301, {"Location": "/news/river-low.html"}),
    }
    if version == 1:
        pages["/data/readings.html"] = page("readings.html")
    return pages


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """One-line verdict for two captures of the same URL."""
    if after.get("outcome") != "captured":
        return f"not captured now: {after.get('reason')}"
    if after.get("http_status") in (404, 410):
        return f"gone (HTTP {after['http_status']})"
    if before.get("sha256") == after.get("sha256"):
        return "identical bytes (stored as a revisit record, a few hundred bytes)"
    if before.get("text_sha256") and before.get("text_sha256") == after.get("text_sha256"):
        return "page chrome changed, main text identical (same text_sha256)"
    return "MAIN TEXT CHANGED"


def run_demo(home: Path, *, as_json: bool = False, keep: bool = False) -> None:
    """Capture the demo web, change it, capture again, and print what changed."""
    home = Path(home)
    if home.exists():
        shutil.rmtree(home)
    config = load_config({"home": home, "allow_private": True, "autothrottle_start_delay": 0.1,
                          "extract": True})  # the demo shows texts: never left pending
    say = (lambda *a: None) if as_json else OUT.print
    started = time.monotonic()
    with LocalWeb(_site(1)) as web:
        urls = [web.base_url + p for p in ("/report.html", "/ministry-statement.html",
                                           "/news/river-low.html", "/data/readings.html",
                                           "/old/river-story")]
        say(f"[bold]1. A local web of demo pages is up at {web.base_url}[/] (no internet needed)")
        say("[bold]2. First capture[/] (WARC 1.1 + SHA-256 + extracted text):")
        first = {r["url"]: r for r in capture_urls(config, urls, on_result=_line(as_json, say))}
        web.pages = _site(2)
        say("[bold]3. The web changes[/] (an ad and a date, a corrected article, a deleted page)")
        say("[bold]4. Second capture:[/]")
        second = {r["url"]: r for r in capture_urls(config, urls, on_result=_line(as_json, say))}
        if keep:
            ERR.print(f"serving {web.base_url} until Ctrl-C")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    say("[bold]5. What changed between the two captures:[/]")
    archive = Archive.open(config.db_url, config.warc_dir, worker=config.worker_label)
    summary = []
    try:
        for url in urls:
            verdict = compare(first[url], second[url])
            entry = {"url": url, "verdict": verdict, "before": first[url], "after": second[url]}
            summary.append(entry)
            say(f"  {url}\n     -> {verdict}")
            if verdict == "MAIN TEXT CHANGED":
                old = closest_capture(archive.sessions, url, _time(first[url]))
                new = closest_capture(archive.sessions, url, _time(second[url]))
                diff = difflib.unified_diff(
                    retrieve.capture_text(config.warc_dir, old)["text"].splitlines(),
                    retrieve.capture_text(config.warc_dir, new)["text"].splitlines(),
                    "first capture", "second capture", lineterm="", n=0)
                for line in diff:
                    style = "red" if line.startswith("-") else "green" if line.startswith("+") else ""
                    say(f"       [{style}]{line}[/]" if style else f"       {line}")
    finally:
        archive.close()
    warcs = sorted(p.name for p in config.warc_dir.glob("*.warc.gz"))
    elapsed = time.monotonic() - started
    if as_json:
        print(json.dumps({"home": str(home.resolve()), "warc_files": warcs, "urls": summary,
                          "seconds": round(elapsed, 2)}, default=str))
        return
    say(f"[bold]6. Where the evidence is[/] ({elapsed:.1f} s):")
    say(f"  archive home: {home.resolve()}")
    say(f"  metadata:     {config.db_url}")
    for name in warcs:
        say(f"  WARC file:    {config.warc_dir.resolve() / name}")
    example = urls[2]
    say("[bold]Try:[/]")
    say(f"  collector --home {home} snapshots {example}")
    say(f"  collector --home {home} get {example} --at {first[example]['captured_at']} --text")
    say(f"  collector --home {home} get {example} --raw | sha256sum")
    say(f"  collector --home {home} verify")


def _time(result: dict[str, Any]) -> Any:
    return parse_time(result["captured_at"])


def _line(as_json: bool, say: Any) -> Any:
    def show(result: dict[str, Any]) -> None:
        if as_json:
            return
        if result["outcome"] == "captured":
            say(f"  captured {result['url']}  HTTP {result['http_status']}  "
                f"sha256 {str(result['sha256'])[:16]}  text {str(result['text_sha256'])[:16]}")
        else:
            say(f"  {result['outcome']} {result['url']}  {result['reason']}")

    return show
